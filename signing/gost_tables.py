"""GOST R 34.10-2012 verification on precomputed tables, in OpenSSL's own elliptic-curve code.

Why this exists (figures in docs/gost.md, «Speed»): gost-engine 3.0.1 verifies with its generic
double-scalar multiplication, which on the 512-bit TC26 A and B curves and on five of the 256-bit
curves costs 0.27-1.9 ms. A verification computes C = z1·P + z2·Q where P is the curve's base
point and Q the signer's key; both repeat (a signer sends many messages), so a table of multiples
of each, computed once, removes almost all point doublings. OpenSSL keeps such a table for a
group's generator (``EC_GROUP_precompute_mult``); a copy of the curve group whose generator is Q
holds Q's. Measured: TC26 512 A 0.80 -> 0.47 ms, 512 B 1.9 -> 0.43 ms, CryptoPro B/C/XchB
0.27-0.32 -> 0.17 ms. The curves where the engine's own arithmetic is as fast or faster (TC26 256
A, CryptoPro A = XchA = TC26 256 B, TC26 512 C) keep the engine path: ``TABLE_CURVES``.

The arithmetic is the standard's (GOST R 34.10-2012 §6.2), as the engine does it: e = digest
read little-endian mod q (1 if 0), v = e⁻¹, z1 = s·v, z2 = -r·v (mod q), valid iff r, s ∈ [1, q)
and x(C) mod q = r. Keys are the engine's (parsed and checked by it); only the verification
arithmetic moves. Signing stays in the engine. Tests compare both paths on every curve,
with valid and broken signatures (tests/unit/signing/test_gost_tables.py).

Variable time is fine here: a verification handles only public values.
"""
from __future__ import annotations

import collections
import ctypes
import threading

__all__ = ["TABLE_CURVES", "Tables"]

#: curves (OpenSSL short names) verified on tables; measured faster than the engine there
TABLE_CURVES = frozenset({
    "id-GostR3410-2001-CryptoPro-B-ParamSet",
    "id-GostR3410-2001-CryptoPro-C-ParamSet",
    "id-GostR3410-2001-CryptoPro-XchB-ParamSet",
    "id-tc26-gost-3410-2012-256-paramSetC",
    "id-tc26-gost-3410-2012-256-paramSetD",
    "id-tc26-gost-3410-2012-512-paramSetA",
    "id-tc26-gost-3410-2012-512-paramSetB",
})

#: signers' tables kept (≈ 80 KB for a 256-bit key, ≈ 210 KB for a 512-bit one); a key whose
#: table was dropped gets a new one (1.4 / 4.4 ms) at its next verification
KEY_TABLES = 256

_vp, _int = ctypes.c_void_p, ctypes.c_int
_PROTOTYPES = {
    "EVP_PKEY_get0": (_vp, _vp),
    "EC_KEY_get0_group": (_vp, _vp),
    "EC_KEY_get0_public_key": (_vp, _vp),
    "EC_GROUP_get_curve_name": (_int, _vp),
    "OBJ_nid2sn": (ctypes.c_char_p, _int),
    "EC_GROUP_dup": (_vp, _vp),
    "EC_GROUP_free": (None, _vp),
    "EC_GROUP_get0_order": (_vp, _vp),
    "EC_GROUP_get0_cofactor": (_vp, _vp),
    "EC_GROUP_get0_generator": (_vp, _vp),
    "EC_GROUP_set_generator": (_int, _vp, _vp, _vp, _vp),
    "EC_GROUP_precompute_mult": (_int, _vp, _vp),
    "EC_POINT_new": (_vp, _vp),
    "EC_POINT_free": (None, _vp),
    "EC_POINTs_mul": (_int, _vp, _vp, _vp, ctypes.c_size_t, ctypes.POINTER(_vp),
                      ctypes.POINTER(_vp), _vp),
    "EC_POINT_add": (_int, _vp, _vp, _vp, _vp, _vp),
    "EC_POINT_get_affine_coordinates": (_int, _vp, _vp, _vp, _vp, _vp),
    "BN_new": (_vp,),
    "BN_free": (None, _vp),
    "BN_bin2bn": (_vp, ctypes.c_char_p, _int, _vp),
    "BN_bn2binpad": (_int, _vp, ctypes.c_char_p, _int),
    "BN_num_bits": (_int, _vp),
    "BN_CTX_new": (_vp,),
    "BN_CTX_free": (None, _vp),
    "ERR_clear_error": (None,),
}


class _Group:
    """An EC_GROUP* copied from ``group`` and owned by Python: freed when the object goes."""

    def __init__(self, c, group):
        self.c = c
        self.group = c.EC_GROUP_dup(group)
        if not self.group:
            raise MemoryError("EC_GROUP_dup")

    def __del__(self):
        group, self.group = getattr(self, "group", None), None
        if group:
            self.c.EC_GROUP_free(group)


class _Curve(_Group):
    """A curve group copied from the engine, with its base point's table."""

    def __init__(self, c, group, name: str):
        super().__init__(c, group)
        self.name = name
        order = c.EC_GROUP_get0_order(self.group)
        self.size = (c.BN_num_bits(order) + 7) // 8
        self.order = c.bn_int(order, self.size)
        self.order_bn, self.cofactor_bn = order, c.EC_GROUP_get0_cofactor(self.group)
        if c.EC_GROUP_precompute_mult(self.group, None) != 1:
            raise RuntimeError(f"precomputing the base point table of {name} failed")


class _KeyTable(_Group):
    """A copy of the curve group whose generator is the signer's point Q, with Q's table."""

    def __init__(self, c, curve: _Curve, point):
        super().__init__(c, curve.group)
        self.curve = curve
        if (c.EC_GROUP_set_generator(self.group, point, curve.order_bn, curve.cofactor_bn) != 1
                or c.EC_GROUP_precompute_mult(self.group, None) != 1):
            raise RuntimeError(f"precomputing a key table on {curve.name} failed")


class Tables:
    """The tables of one libcrypto (the engine's): curves by NID, keys in a bounded LRU."""

    def __init__(self, cdll: ctypes.CDLL):
        for name, (restype, *argtypes) in _PROTOTYPES.items():
            function = getattr(cdll, name)
            function.restype, function.argtypes = restype, argtypes
            setattr(self, name, function)
        self._curves: dict[int, _Curve | None] = {}
        self._keys: collections.OrderedDict[int, _KeyTable] = collections.OrderedDict()
        self._lock = threading.Lock()
        self._local = threading.local()

    def bn_int(self, bn, size: int) -> int:
        out = ctypes.create_string_buffer(size)
        self.BN_bn2binpad(bn, out, size)
        return int.from_bytes(out.raw, "big")

    # ------------------------------------------------------------------ tables
    def curve_of(self, pkey) -> _Curve | None:
        """The table curve of an engine key, or None when the engine verifies on it."""
        ec_key = self.EVP_PKEY_get0(pkey)
        group = self.EC_KEY_get0_group(ec_key) if ec_key else None
        if not group:                      # not an EC key the engine filled in: its own path
            return None
        nid = self.EC_GROUP_get_curve_name(group)
        try:
            return self._curves[nid]
        except KeyError:
            pass
        with self._lock:
            if nid not in self._curves:
                name = (self.OBJ_nid2sn(nid) or b"").decode("ascii", "replace")
                self._curves[nid] = _Curve(self, group, name) if name in TABLE_CURVES else None
            return self._curves[nid]

    def key_table(self, pkey, curve: _Curve) -> _KeyTable:
        """Q's table, built at the key's first verification and kept while it is recent."""
        key = int(pkey)
        with self._lock:
            table = self._keys.get(key)
            if table is not None:
                self._keys.move_to_end(key)
                return table
        point = self.EC_KEY_get0_public_key(self.EVP_PKEY_get0(pkey))
        table = _KeyTable(self, curve, point)
        with self._lock:
            self._keys[key] = table
            while len(self._keys) > KEY_TABLES:
                self._keys.popitem(last=False)
        return table

    def forget(self, pkey) -> None:
        """Drop a freed key's table (its address may be reused by another key)."""
        with self._lock:
            self._keys.pop(int(pkey), None)

    # ------------------------------------------------------------------ verify
    def _scratch(self):
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = _Scratch(self)
        return scratch

    def verify(self, pkey, curve: _Curve, signature: bytes, digest: bytes) -> bool:
        """True iff ``signature`` (s || r, big-endian) is the key's over ``digest``."""
        q, size = curve.order, curve.size
        if len(signature) != 2 * size:
            return False
        s = int.from_bytes(signature[:size], "big")
        r = int.from_bytes(signature[size:], "big")
        if not (0 < r < q and 0 < s < q):
            return False
        e = int.from_bytes(digest, "little") % q or 1
        v = pow(e, -1, q)
        z1, z2 = s * v % q, (q - r * v % q) % q
        table = self.key_table(pkey, curve)
        x = self._scratch().combine(curve, table, z1.to_bytes(size, "big"),
                                    z2.to_bytes(size, "big"))
        return x is not None and int.from_bytes(x, "big") % q == r


class _Scratch:
    """One thread's BN_CTX and numbers (OpenSSL's are not shareable between threads)."""

    def __init__(self, c: Tables):
        self.c = c
        self.ctx = c.BN_CTX_new()
        self.z1, self.z2, self.x, self.zero = c.BN_new(), c.BN_new(), c.BN_new(), c.BN_new()
        if not all((self.ctx, self.z1, self.z2, self.x, self.zero)):
            raise MemoryError("BN_new")

    def combine(self, curve: _Curve, table: _KeyTable, z1: bytes, z2: bytes) -> bytes | None:
        """x(z1·P + z2·Q), or None at infinity.

        Each product is one ``EC_POINTs_mul`` with the table's generator scalar and one extra
        point with scalar 0: with no other point OpenSSL takes its constant-time ladder and
        ignores the table; the zero point keeps it on the table's wNAF path.
        """
        c = self.c
        c.BN_bin2bn(z1, len(z1), self.z1)
        c.BN_bin2bn(z2, len(z2), self.z2)
        zero = (_vp * 1)(self.zero)
        left, right = c.EC_POINT_new(curve.group), c.EC_POINT_new(table.group)
        try:
            if not left or not right:
                raise MemoryError("EC_POINT_new")
            base = (_vp * 1)(c.EC_GROUP_get0_generator(curve.group))
            key = (_vp * 1)(c.EC_GROUP_get0_generator(table.group))
            if (c.EC_POINTs_mul(curve.group, left, self.z1, 1, key, zero, self.ctx) != 1
                    or c.EC_POINTs_mul(table.group, right, self.z2, 1, base, zero,
                                       self.ctx) != 1
                    or c.EC_POINT_add(curve.group, left, left, right, self.ctx) != 1):
                c.ERR_clear_error()
                raise RuntimeError("elliptic-curve arithmetic failed")
            if c.EC_POINT_get_affine_coordinates(curve.group, left, self.x, None,
                                                 self.ctx) != 1:
                c.ERR_clear_error()
                return None                       # the point at infinity
            out = ctypes.create_string_buffer(curve.size)
            c.BN_bn2binpad(self.x, out, curve.size)
            return out.raw
        finally:
            c.EC_POINT_free(left)
            c.EC_POINT_free(right)

    def __del__(self):
        c = self.c
        for bn in (self.z1, self.z2, self.x, self.zero):
            c.BN_free(bn)
        c.BN_CTX_free(self.ctx)
