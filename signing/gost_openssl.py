"""GOST R 34.10-2012 / 34.11-2012 from C: the system OpenSSL 3 with the GOST engine, via ctypes.

Why this binding (measured figures in docs/gost.md): ``cryptography`` ships its own OpenSSL
without any way to reach an engine or a GOST key type; the ``openssl`` command costs 6-11 ms a
call; pure Python (gostcrypto) costs ~100 ms a verification. ctypes reaches the very library the
Debian package ``libengine-gost-openssl`` plugs into, needs no compiler and no new dependency,
and releases the GIL during each C call. The engine (not the ``gostprov`` provider) is used
because the provider of gost-engine 3.0.1 offers digests and ciphers only, no signature keys.

Byte order is OpenSSL's and is passed through untouched: a digest is the bytes OpenSSL outputs,
a signature is ``s || r`` (each big-endian, 32 or 64 bytes), keys travel as DER
SubjectPublicKeyInfo / PKCS#8 (inside which X and Y are little-endian). Tests settle all three
against the ``openssl`` command, gostcrypto and the standards' examples.

The engine is loaded once per process, lazily and under a lock (``load()``); every failure to
load is remembered and reported by ``load()`` / ``status()`` with its reason.

Verification on seven curves runs on precomputed tables in libcrypto's own EC code instead of
the engine's arithmetic (``signing.gost_tables``: why, and the measurements).
"""
from __future__ import annotations

import base64
import ctypes
import ctypes.util
import functools
import os
import threading

from cryptography.exceptions import InvalidSignature

from signing import gost_tables

__all__ = ["GostUnavailable", "Library", "PrivateKey", "PublicKey", "load", "status",
           "DIGEST_256", "DIGEST_512", "DIGEST_94", "KEY_2012_256", "KEY_2012_512", "KEY_2001"]

# OpenSSL short names of the engine's digests and key types
DIGEST_256 = "md_gost12_256"
DIGEST_512 = "md_gost12_512"
DIGEST_94 = "md_gost94"
KEY_2012_256 = "gost2012_256"
KEY_2012_512 = "gost2012_512"
KEY_2001 = "gost2001"

_SIZES = {DIGEST_256: 32, DIGEST_512: 64, DIGEST_94: 32}
_KEY_SIZES = {KEY_2012_256: 64, KEY_2012_512: 128, KEY_2001: 64}   # signature bytes
#: the one digest each key type signs with (the engine refuses other pairs in EVP_DigestSign)
_KEY_DIGESTS = {KEY_2012_256: DIGEST_256, KEY_2012_512: DIGEST_512, KEY_2001: DIGEST_94}


class GostUnavailable(RuntimeError):
    """libcrypto 3 or its GOST engine cannot be loaded in this process."""


class OpenSSLError(ValueError):
    """An OpenSSL call failed for a reason other than a wrong signature."""


_vp, _cp, _int, _size = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_size_t
_PROTOTYPES = {
    "OpenSSL_version": (_cp, _int),
    "OpenSSL_version_num": (ctypes.c_ulong,),
    "ERR_get_error": (ctypes.c_ulong,),
    "ERR_error_string_n": (None, ctypes.c_ulong, _cp, _size),
    "ERR_clear_error": (None,),
    "ENGINE_by_id": (_vp, _cp),
    "ENGINE_init": (_int, _vp),
    "ENGINE_get_name": (_cp, _vp),
    "ENGINE_register_digests": (_int, _vp),
    "ENGINE_register_pkey_meths": (_int, _vp),
    "ENGINE_register_pkey_asn1_meths": (_int, _vp),
    "ENGINE_free": (_int, _vp),
    "OBJ_sn2nid": (_int, _cp),
    "EVP_get_digestbyname": (_vp, _cp),
    "EVP_MD_CTX_new": (_vp,),
    "EVP_MD_CTX_free": (None, _vp),
    "EVP_Digest": (_int, _cp, _size, _cp, ctypes.POINTER(ctypes.c_uint), _vp, _vp),
    "EVP_DigestInit_ex": (_int, _vp, _vp, _vp),
    "EVP_DigestUpdate": (_int, _vp, _cp, _size),
    "EVP_DigestFinal_ex": (_int, _vp, _cp, ctypes.POINTER(ctypes.c_uint)),
    "EVP_DigestSignInit": (_int, _vp, _vp, _vp, _vp, _vp),
    "EVP_DigestSign": (_int, _vp, _cp, ctypes.POINTER(_size), _cp, _size),
    "EVP_DigestVerifyInit": (_int, _vp, _vp, _vp, _vp, _vp),
    "EVP_DigestVerify": (_int, _vp, _cp, _size, _cp, _size),
    "EVP_PKEY_CTX_new": (_vp, _vp, _vp),
    "EVP_PKEY_CTX_new_id": (_vp, _int, _vp),
    "EVP_PKEY_CTX_free": (None, _vp),
    "EVP_PKEY_CTX_ctrl_str": (_int, _vp, _cp, _cp),
    "EVP_PKEY_keygen_init": (_int, _vp),
    "EVP_PKEY_keygen": (_int, _vp, ctypes.POINTER(_vp)),
    "EVP_PKEY_sign_init": (_int, _vp),
    "EVP_PKEY_sign": (_int, _vp, _cp, ctypes.POINTER(_size), _cp, _size),
    "EVP_PKEY_verify_init": (_int, _vp),
    "EVP_PKEY_verify": (_int, _vp, _cp, _size, _cp, _size),
    "EVP_PKEY_free": (None, _vp),
    "EVP_PKEY_get_base_id": (_int, _vp),
    "d2i_PUBKEY": (_vp, _vp, ctypes.POINTER(_cp), ctypes.c_long),
    "i2d_PUBKEY": (_int, _vp, ctypes.POINTER(ctypes.POINTER(ctypes.c_ubyte))),
    "d2i_AutoPrivateKey": (_vp, _vp, ctypes.POINTER(_cp), ctypes.c_long),
    "EVP_PKEY2PKCS8": (_vp, _vp),
    "i2d_PKCS8_PRIV_KEY_INFO": (_int, _vp, ctypes.POINTER(ctypes.POINTER(ctypes.c_ubyte))),
    "PKCS8_PRIV_KEY_INFO_free": (None, _vp),
    "BIO_new_mem_buf": (_vp, _cp, _int),
    "BIO_free": (_int, _vp),
    "PEM_read_bio_PrivateKey": (_vp, _vp, _vp, _vp, _vp),
    "CRYPTO_free": (None, _vp, _cp, _int),
}


class Library:
    """libcrypto.so.3 with the GOST engine registered for its digests and key types."""

    def __init__(self, path: str | None = None, engine_id: str = "gost"):
        candidates = [path] if path else ["libcrypto.so.3", ctypes.util.find_library("crypto")]
        errors = []
        lib = None
        for candidate in filter(None, candidates):
            try:
                lib = ctypes.CDLL(candidate)
                break
            except OSError as exc:
                errors.append(str(exc))
        if lib is None:
            raise GostUnavailable(f"libcrypto (OpenSSL 3) not found: {'; '.join(errors)}")
        self._lib = lib
        for name, (restype, *argtypes) in _PROTOTYPES.items():
            try:
                function = getattr(lib, name)
            except AttributeError:
                raise GostUnavailable(f"{candidate} lacks {name}: not OpenSSL 3 with the "
                                      f"engine API") from None
            function.restype, function.argtypes = restype, argtypes
            setattr(self, name, function)
        number = self.OpenSSL_version_num()
        self.openssl_version = self.OpenSSL_version(0).decode("ascii", "replace")
        if number < 0x30000000:
            raise GostUnavailable(f"{candidate} is {self.openssl_version}; OpenSSL 3 is required")
        self.path = candidate
        engine = self.ENGINE_by_id(engine_id.encode())
        if not engine:
            raise GostUnavailable(f"the OpenSSL engine {engine_id!r} cannot be loaded "
                                  f"({self.errors() or 'not installed'}); install the Debian "
                                  f"package libengine-gost-openssl")
        if self.ENGINE_init(engine) != 1:
            raise GostUnavailable(f"the OpenSSL engine {engine_id!r} does not initialise: "
                                  f"{self.errors()}")
        # Registered only for the engine's own algorithms (GOST NIDs); nothing else changes.
        for register in (self.ENGINE_register_digests, self.ENGINE_register_pkey_meths,
                         self.ENGINE_register_pkey_asn1_meths):
            if register(engine) != 1:
                raise GostUnavailable(f"registering the {engine_id!r} engine failed: "
                                      f"{self.errors()}")
        self.engine = engine            # kept initialised for the life of the process
        self.engine_name = self.ENGINE_get_name(engine).decode("utf-8", "replace")
        self._digests = {}
        for name in _SIZES:
            md = self.EVP_get_digestbyname(name.encode())
            if not md:
                raise GostUnavailable(f"the engine provides no digest {name}")
            self._digests[name] = md
        self._nids = {name: self.OBJ_sn2nid(name.encode()) for name in _KEY_SIZES}
        self._key_names = {nid: name for name, nid in self._nids.items()}
        self.tables = gost_tables.Tables(lib)
        self.errors()

    # ------------------------------------------------------------------ plumbing
    def errors(self) -> str:
        """Drain OpenSSL's error queue of this thread into one line."""
        out = []
        while True:
            code = self.ERR_get_error()
            if not code:
                return "; ".join(out)
            buffer = ctypes.create_string_buffer(256)
            self.ERR_error_string_n(code, buffer, len(buffer))
            out.append(buffer.value.decode("ascii", "replace"))

    def _fail(self, what: str) -> OpenSSLError:
        return OpenSSLError(f"{what} failed: {self.errors() or 'no detail'}")

    def md(self, name: str):
        try:
            return self._digests[name]
        except KeyError:
            raise ValueError(f"unknown GOST digest {name!r}") from None

    def key_name(self, pkey) -> str | None:
        return self._key_names.get(self.EVP_PKEY_get_base_id(pkey))

    # ------------------------------------------------------------------ digests
    def digest(self, name: str, data: bytes) -> bytes:
        """One ``EVP_Digest`` call (no context to allocate, init, update, finalise and free)."""
        out = ctypes.create_string_buffer(64)
        length = ctypes.c_uint()
        if self.EVP_Digest(data, len(data), out, ctypes.byref(length), self.md(name), None) != 1:
            raise self._fail(f"digest {name}")
        return out.raw[:length.value]

    # ------------------------------------------------------------------ sign / verify
    def sign(self, pkey, digest_name: str, data: bytes) -> bytes:
        ctx = self.EVP_MD_CTX_new()
        try:
            if self.EVP_DigestSignInit(ctx, None, self.md(digest_name), None, pkey) != 1:
                raise self._fail("EVP_DigestSignInit")
            length = _size(0)
            if self.EVP_DigestSign(ctx, None, ctypes.byref(length), data, len(data)) != 1:
                raise self._fail("EVP_DigestSign (size)")
            out = ctypes.create_string_buffer(length.value)
            if self.EVP_DigestSign(ctx, out, ctypes.byref(length), data, len(data)) != 1:
                raise self._fail("EVP_DigestSign")
            return out.raw[:length.value]
        finally:
            self.EVP_MD_CTX_free(ctx)

    def verify(self, pkey, digest_name: str, signature: bytes, data: bytes) -> bool:
        ctx = self.EVP_MD_CTX_new()
        try:
            if self.EVP_DigestVerifyInit(ctx, None, self.md(digest_name), None, pkey) != 1:
                raise self._fail("EVP_DigestVerifyInit")
            ok = self.EVP_DigestVerify(ctx, signature, len(signature), data, len(data)) == 1
            self.errors()  # a mismatch leaves "signature mismatch" in the queue
            return ok
        finally:
            self.EVP_MD_CTX_free(ctx)

    def sign_digest(self, pkey, digest: bytes) -> bytes:
        """Sign a ready digest (bytes as OpenSSL outputs them)."""
        ctx = self.EVP_PKEY_CTX_new(pkey, None)
        try:
            if self.EVP_PKEY_sign_init(ctx) != 1:
                raise self._fail("EVP_PKEY_sign_init")
            length = _size(0)
            if self.EVP_PKEY_sign(ctx, None, ctypes.byref(length), digest, len(digest)) != 1:
                raise self._fail("EVP_PKEY_sign (size)")
            out = ctypes.create_string_buffer(length.value)
            if self.EVP_PKEY_sign(ctx, out, ctypes.byref(length), digest, len(digest)) != 1:
                raise self._fail("EVP_PKEY_sign")
            return out.raw[:length.value]
        finally:
            self.EVP_PKEY_CTX_free(ctx)

    def verify_digest(self, pkey, signature: bytes, digest: bytes) -> bool:
        ctx = self.EVP_PKEY_CTX_new(pkey, None)
        try:
            if self.EVP_PKEY_verify_init(ctx) != 1:
                raise self._fail("EVP_PKEY_verify_init")
            ok = self.EVP_PKEY_verify(ctx, signature, len(signature), digest, len(digest)) == 1
            self.errors()
            return ok
        finally:
            self.EVP_PKEY_CTX_free(ctx)

    def pkey_ctx(self, pkey, operation: str):
        """An EVP_PKEY_CTX* of ``pkey`` initialised for "sign" or "verify", for reuse."""
        ctx = self.EVP_PKEY_CTX_new(pkey, None)
        if not ctx:
            raise self._fail("EVP_PKEY_CTX_new")
        init = self.EVP_PKEY_sign_init if operation == "sign" else self.EVP_PKEY_verify_init
        if init(ctx) != 1:
            self.EVP_PKEY_CTX_free(ctx)
            raise self._fail(f"EVP_PKEY_{operation}_init")
        return ctx

    # ------------------------------------------------------------------ keys
    def _der_out(self, function, obj) -> bytes:
        pointer = ctypes.POINTER(ctypes.c_ubyte)()
        length = function(obj, ctypes.byref(pointer))
        if length <= 0:
            raise self._fail(function.__name__)
        try:
            return ctypes.string_at(pointer, length)
        finally:
            self.CRYPTO_free(pointer, b"gost_openssl", 0)

    def public_key_from_der(self, spki: bytes):
        pointer = _cp(spki)
        pkey = self.d2i_PUBKEY(None, ctypes.byref(pointer), len(spki))
        if not pkey:
            raise self._fail("loading the SubjectPublicKeyInfo")
        return pkey

    def public_key_der(self, pkey) -> bytes:
        return self._der_out(self.i2d_PUBKEY, pkey)

    def private_key_from_der(self, der: bytes):
        pointer = _cp(der)
        pkey = self.d2i_AutoPrivateKey(None, ctypes.byref(pointer), len(der))
        if not pkey:
            raise self._fail("loading the private key")
        return pkey

    def private_key_from_pem(self, pem: bytes):
        bio = self.BIO_new_mem_buf(pem, len(pem))
        try:
            pkey = self.PEM_read_bio_PrivateKey(bio, None, None, None)
        finally:
            self.BIO_free(bio)
        if not pkey:
            raise self._fail("loading the PEM private key")
        return pkey

    def private_key_pkcs8(self, pkey) -> bytes:
        info = self.EVP_PKEY2PKCS8(pkey)
        if not info:
            raise self._fail("EVP_PKEY2PKCS8")
        try:
            return self._der_out(self.i2d_PKCS8_PRIV_KEY_INFO, info)
        finally:
            self.PKCS8_PRIV_KEY_INFO_free(info)

    def generate(self, key_type: str, paramset: str):
        nid = self._nids.get(key_type)
        if not nid:
            raise ValueError(f"unknown GOST key type {key_type!r}")
        ctx = self.EVP_PKEY_CTX_new_id(nid, None)
        if not ctx:
            raise self._fail(f"EVP_PKEY_CTX_new_id({key_type})")
        try:
            pkey = _vp()
            if (self.EVP_PKEY_keygen_init(ctx) != 1
                    or self.EVP_PKEY_CTX_ctrl_str(ctx, b"paramset", paramset.encode()) <= 0
                    or self.EVP_PKEY_keygen(ctx, ctypes.byref(pkey)) != 1):
                raise self._fail(f"generating a {key_type} key with paramset {paramset!r}")
            return pkey.value
        finally:
            self.EVP_PKEY_CTX_free(ctx)


_lock = threading.Lock()
_library: Library | None = None
_failure: str | None = None


def load() -> Library:
    """The process's Library; loaded on first use. Raises GostUnavailable (remembered)."""
    global _library, _failure
    if _library is not None:
        return _library
    with _lock:
        if _library is None:
            if _failure is not None:
                raise GostUnavailable(_failure)
            try:
                _library = Library(os.environ.get("SIGNING_LIBCRYPTO") or None)
            except GostUnavailable as exc:
                _failure = str(exc)
                raise
    return _library


def status() -> tuple[bool, str]:
    """(available, one line saying what is loaded, or why not)."""
    try:
        lib = load()
    except GostUnavailable as exc:
        return False, str(exc)
    return True, (f"{lib.engine_name} (engine 'gost') in {lib.openssl_version}, "
                  f"{lib.path} via ctypes; verification on precomputed tables for "
                  f"{len(gost_tables.TABLE_CURVES)} curves")


class _PkeyCtx:
    """One thread's EVP_PKEY_CTX* of one key, initialised once and reused for every call."""

    __slots__ = ("lib", "ptr")

    def __init__(self, lib: Library, ptr):
        self.lib, self.ptr = lib, ptr

    def __del__(self):
        ptr, self.ptr = self.ptr, None
        if ptr:
            self.lib.EVP_PKEY_CTX_free(ptr)


class _Key:
    """An EVP_PKEY* owned by Python; freed when the object goes.

    Why the contexts are cached: sign and verify are the message digest (one ``EVP_Digest``
    call) and then ``EVP_PKEY_sign`` / ``EVP_PKEY_verify`` on an EVP_PKEY_CTX that each thread
    creates once per key -- what ``EVP_DigestSign`` does inside, without its per-call context
    allocation, engine lookup, context copy and size query (docs/gost.md, «Speed»). A context
    holds per-operation state, so it is never shared between threads.
    """

    def __init__(self, pkey, lib: Library):
        self._lib, self._pkey = lib, pkey
        self.key_type = lib.key_name(pkey)
        if self.key_type is None:
            lib.EVP_PKEY_free(pkey)
            self._pkey = None
            raise ValueError("not a GOST R 34.10 key")
        self.signature_size = _KEY_SIZES[self.key_type]
        self.digest_name = _KEY_DIGESTS[self.key_type]
        self._local = threading.local()
        #: the curve's precomputed tables when verifying on them beats the engine, else None
        self._curve = lib.tables.curve_of(pkey) if self.key_type != KEY_2001 else None

    def _ctx(self, operation: str):
        ctx = getattr(self._local, operation, None)
        if ctx is None:
            ctx = _PkeyCtx(self._lib, self._lib.pkey_ctx(self._pkey, operation))
            setattr(self._local, operation, ctx)
        return ctx.ptr

    def _check_digest(self, digest_name: str) -> None:
        if digest_name != self.digest_name:
            raise ValueError(f"a {self.key_type} key signs with {self.digest_name}, "
                             f"not {digest_name}")

    def __del__(self):
        pkey, self._pkey = getattr(self, "_pkey", None), None
        if pkey:
            self._lib.tables.forget(pkey)   # before the address can be reused
            self._lib.EVP_PKEY_free(pkey)

    def public_key_der(self) -> bytes:
        """DER SubjectPublicKeyInfo (RFC 4491 / RFC 9215)."""
        return self._lib.public_key_der(self._pkey)

    def verify(self, signature: bytes, data: bytes, digest_name: str) -> None:
        if len(signature) != self.signature_size:
            raise InvalidSignature(f"a {self.key_type} signature has {self.signature_size} "
                                   f"bytes, not {len(signature)}")
        if digest_name != self.digest_name:
            raise InvalidSignature(f"a {self.key_type} key verifies {self.digest_name} "
                                   f"signatures, not {digest_name}")
        self.verify_digest(signature, self._lib.digest(digest_name, data))

    def verify_digest(self, signature: bytes, digest: bytes) -> None:
        """On the curve's tables where they are faster (signing.gost_tables), else the engine."""
        if len(signature) != self.signature_size:
            raise InvalidSignature("GOST R 34.10 signature mismatch")
        if self._curve is None:
            self.engine_verify_digest(signature, digest)
        elif not self._lib.tables.verify(self._pkey, self._curve, signature, digest):
            raise InvalidSignature("GOST R 34.10 signature mismatch")

    def engine_verify_digest(self, signature: bytes, digest: bytes) -> None:
        """The engine's own ``EVP_PKEY_verify`` (the tables' oracle in tests and benchmarks)."""
        lib = self._lib
        if lib.EVP_PKEY_verify(self._ctx("verify"), signature, len(signature), digest,
                               len(digest)) != 1:
            lib.ERR_clear_error()  # a mismatch leaves "signature mismatch" in the queue
            raise InvalidSignature("GOST R 34.10 signature mismatch")

    @property
    def verifies_on_tables(self) -> bool:
        return self._curve is not None


class PublicKey(_Key):
    @classmethod
    def from_der(cls, spki: bytes) -> "PublicKey":
        lib = load()
        return cls(lib.public_key_from_der(spki), lib)


class PrivateKey(_Key):
    """A GOST R 34.10 private key held by OpenSSL (``cryptography`` cannot hold one)."""

    @classmethod
    def generate(cls, key_type: str = KEY_2012_256, paramset: str = "A") -> "PrivateKey":
        """``paramset`` as the engine names it: A, B, C, D (TC26 256 A = "TCA"...), XA, XB."""
        lib = load()
        return cls(lib.generate(key_type, paramset), lib)

    @classmethod
    def from_pem(cls, pem: bytes) -> "PrivateKey":
        lib = load()
        return cls(lib.private_key_from_pem(pem), lib)

    @classmethod
    def from_der(cls, der: bytes) -> "PrivateKey":
        lib = load()
        return cls(lib.private_key_from_der(der), lib)

    def pkcs8_der(self) -> bytes:
        """Unencrypted PKCS#8 (for tests and the demo CA; never for real parties' keys)."""
        return self._lib.private_key_pkcs8(self._pkey)

    def pkcs8_pem(self) -> bytes:
        body = base64.encodebytes(self.pkcs8_der()).replace(b"\n", b"")
        lines = [body[i:i + 64] for i in range(0, len(body), 64)]
        return b"-----BEGIN PRIVATE KEY-----\n" + b"\n".join(lines) + \
            b"\n-----END PRIVATE KEY-----\n"

    def sign(self, data: bytes, digest_name: str) -> bytes:
        self._check_digest(digest_name)
        return self.sign_digest(self._lib.digest(digest_name, data))

    def sign_digest(self, digest: bytes) -> bytes:
        """Sign a ready digest (bytes as OpenSSL outputs them): ``s || r``."""
        lib = self._lib
        out = ctypes.create_string_buffer(self.signature_size)
        length = _size(self.signature_size)
        if lib.EVP_PKEY_sign(self._ctx("sign"), out, ctypes.byref(length), digest,
                             len(digest)) != 1:
            raise lib._fail("EVP_PKEY_sign")
        return out.raw[:length.value]

    def __repr__(self) -> str:
        return f"<gost PrivateKey {self.key_type}>"


@functools.lru_cache(maxsize=1024)
def public_key(spki: bytes) -> PublicKey:
    """Parsed keys by DER SubjectPublicKeyInfo: a signer's key is loaded once, not per message."""
    return PublicKey.from_der(spki)
