"""GOST R 34.10 verification on precomputed tables (signing.gost_tables) against the engine's own
``EVP_PKEY_verify``, on every parameter set: the same verdict for valid signatures, for broken
ones and for out-of-range r and s. gostcrypto, an independent implementation, is the third
voice in test_gost.py (its signatures go through the same ``gost.verify``)."""
from __future__ import annotations

import secrets
import threading

import pytest
from cryptography.exceptions import InvalidSignature

from signing import gost, gost_openssl, gost_tables

PARAMSETS = [(name, bits, engine_name) for oid, (name, bits, engine_name)
             in gost.PARAMSETS.items() if oid != gost.TEST_PARAMSET]
KEY_TYPES = {256: gost_openssl.KEY_2012_256, 512: gost_openssl.KEY_2012_512}
MD = {256: gost_openssl.DIGEST_256, 512: gost_openssl.DIGEST_512}
# OpenSSL spells the 512-bit sets "gost-3410-2012-512", the gateway's table "gost-3410-12-512"
OPENSSL_NAMES = {name: name.replace("3410-12-512", "3410-2012-512") for name, _, _ in PARAMSETS}


@pytest.fixture(scope="module", autouse=True)
def engine():
    return gost_openssl.load()


def _verdict(verify, signature: bytes, digest: bytes) -> bool:
    try:
        verify(signature, digest)
        return True
    except InvalidSignature:
        return False


def _both(key, signature: bytes, digest: bytes) -> bool:
    """The verdict of the path in use, after checking the engine gives the same one."""
    used = _verdict(key.verify_digest, signature, digest)
    assert used == _verdict(key.engine_verify_digest, signature, digest), \
        (key.key_type, signature.hex(), digest.hex())
    return used


def test_the_table_curves_are_named_as_openssl_names_them():
    assert gost_tables.TABLE_CURVES <= set(OPENSSL_NAMES.values())


@pytest.mark.parametrize("name, bits, engine_name", PARAMSETS, ids=[p[0] for p in PARAMSETS])
def test_tables_and_engine_agree(name, bits, engine_name):
    key = gost_openssl.PrivateKey.generate(KEY_TYPES[bits], engine_name)
    public = gost_openssl.PublicKey.from_der(key.public_key_der())
    assert public.verifies_on_tables == (OPENSSL_NAMES[name] in gost_tables.TABLE_CURVES)
    size = bits // 8
    q = int.from_bytes(bytes.fromhex("ff" * size), "big")   # an upper bound; real q below
    for _ in range(12):
        digest = gost.digest(MD[bits], secrets.token_bytes(200))
        value = key.sign_digest(digest)
        assert _both(public, value, digest)
        assert _both(key, value, digest)                   # a private key verifies the same way
        flipped = bytearray(value)
        flipped[secrets.randbelow(len(value))] ^= 1 << secrets.randbelow(8)
        assert not _both(public, bytes(flipped), digest)
        other = bytearray(digest)
        other[secrets.randbelow(len(digest))] ^= 1
        assert not _both(public, value, bytes(other))
    s, r = value[:size], value[size:]
    zero, top = bytes(size), q.to_bytes(size, "big")
    for broken in (zero + r, s + zero, top + r, s + top, r + s):
        assert not _both(public, broken, digest)
    if public.verifies_on_tables:
        order = public._curve.order
        assert not _both(public, s + order.to_bytes(size, "big"), digest)
        # r + q names the same residue; only r itself is accepted
        r_int = int.from_bytes(r, "big")
        if r_int + order < 1 << bits:
            assert not _both(public, s + (r_int + order).to_bytes(size, "big"), digest)


def test_an_all_zero_digest_is_taken_as_one():
    """e = 0 mod q becomes 1 (the standard's rule); a signature made over it verifies."""
    key = gost_openssl.PrivateKey.generate(gost_openssl.KEY_2012_512, "A")
    digest = bytes(64)
    value = key.sign_digest(digest)
    public = gost_openssl.PublicKey.from_der(key.public_key_der())
    assert public.verifies_on_tables and _both(public, value, digest)


def test_dropped_tables_are_rebuilt_and_freed_keys_forgotten(monkeypatch):
    lib = gost_openssl.load()
    monkeypatch.setattr(gost_tables, "KEY_TABLES", 2)
    keys = [gost_openssl.PrivateKey.generate(gost_openssl.KEY_2012_256, "B") for _ in range(3)]
    digest = gost.digest(MD[256], b"data")
    values = [key.sign_digest(digest) for key in keys]
    for _ in range(2):
        for key, value in zip(keys, values):
            key.verify_digest(value, digest)
            assert int(key._pkey) in lib.tables._keys
    assert len(lib.tables._keys) <= 2
    pointer = int(keys[-1]._pkey)
    del key, keys[-1]
    assert pointer not in lib.tables._keys


def test_one_512_bit_key_verifies_from_many_threads_at_once():
    """Each thread has its own BN_CTX and numbers; the tables are shared, read-only."""
    key = gost_openssl.PrivateKey.generate(gost_openssl.KEY_2012_512, "A")
    public = gost_openssl.PublicKey.from_der(key.public_key_der())
    work = []
    for n in range(40):
        digest = gost.digest(MD[512], n.to_bytes(4, "big") * 50)
        work.append((digest, key.sign_digest(digest)))
    problems: list[str] = []

    def run(seed: int) -> None:
        try:
            for i, (digest, value) in enumerate(work * 3):
                public.verify_digest(value, digest)
                wrong = work[(i + seed + 1) % len(work)][1]
                if wrong != value and _verdict(public.verify_digest, wrong, digest):
                    problems.append(f"thread {seed}: another message's signature verified")
        except Exception as exc:  # noqa: BLE001 - reported below
            problems.append(f"thread {seed}: {exc!r}")

    threads = [threading.Thread(target=run, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert problems == []
