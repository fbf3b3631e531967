"""The ``openssl`` command with the GOST engine: the independent implementation the GOST tests
check the ctypes binding against (digests, signatures, keys, certificates, CRLs, OCSP, CMS).

The engine is enabled through a private OPENSSL_CONF given to each child process only, so
every subcommand (``req``, ``ca``, ``ocsp``, ``cms`` ...) sees the GOST algorithms. A missing
engine makes these calls fail; nothing here skips.
"""
from __future__ import annotations

import functools
import os
import subprocess
import tempfile
from pathlib import Path

CONF = """\
openssl_conf = openssl_init
[openssl_init]
engines = engine_section
[engine_section]
gost = gost_section
[gost_section]
engine_id = gost
default_algorithms = ALL
"""


@functools.lru_cache(maxsize=1)
def _conf() -> str:
    path = Path(tempfile.mkdtemp(prefix="gost-openssl-")) / "openssl.cnf"
    path.write_text(CONF)
    return str(path)


def openssl(*args: str | os.PathLike, input: bytes | None = None,
            cwd: str | os.PathLike | None = None) -> bytes:
    """Run ``openssl args...`` with the GOST engine; stdout, or AssertionError with stderr."""
    env = dict(os.environ, OPENSSL_CONF=_conf())
    done = subprocess.run(["openssl", *map(str, args)], input=input, cwd=cwd, env=env,
                          capture_output=True, timeout=60)
    if done.returncode != 0:
        raise AssertionError(f"openssl {' '.join(map(str, args))} failed "
                             f"({done.returncode}): {done.stderr.decode(errors='replace')}")
    return done.stdout


def openssl_ok(*args: str | os.PathLike, input: bytes | None = None) -> bool:
    """True when the command exits 0 (for verifications expected to fail)."""
    env = dict(os.environ, OPENSSL_CONF=_conf())
    done = subprocess.run(["openssl", *map(str, args)], input=input, env=env,
                          capture_output=True, timeout=60)
    return done.returncode == 0


def pem(kind: str, der: bytes) -> bytes:
    import base64
    body = base64.encodebytes(der).replace(b"\n", b"")
    lines = b"\n".join(body[i:i + 64] for i in range(0, len(body), 64))
    return b"-----BEGIN " + kind.encode() + b"-----\n" + lines + b"\n-----END " + \
        kind.encode() + b"-----\n"
