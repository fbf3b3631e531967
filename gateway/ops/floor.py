"""``perfcheck --floor``: the instructions of the C-level work one SendRequest cannot do without.

The issue that set the 2.0 M instructions target named the work an envelope really needs:
parse, two XSDs, two exc-c14n, SHA-256, an RSA verify, an ECDSA sign, a durable commit. This
module does exactly that work on the same pre-signed envelopes ``make perf-check`` sends, each
step one direct call into libxml2, OpenSSL or SQLite, with none of the gateway around it, so
that callgrind's count of it is a floor that no implementation of the gateway can go under
(docs/performance.md, «The floor under the instruction target»):

- the gateway's own hardened parse of the envelope with its limits (size, depth, element
  count: docs/security.md), the operation element against the message-exchange XSD and the
  registration payload against its XSD;
- the SMEV transform of the signed data (native, over libxml2's exc-c14n) and its SHA-256, the
  exc-c14n of ``SignedInfo`` and the RSA-2048 verify of the request's signature;
- a receipt's costs at a receipt's sizes (a registration's receipt: 1.27 KB of signed
  metadata, 0.69 KB of ``SignedInfo``, 4.18 KB on the wire): the metadata's SHA-256 and an
  ECDSA P-256 signature;
- the journal's SHA-256 of the envelope and of the receipt;
- one SQLite transaction (WAL, ``synchronous=FULL``) storing the envelope and receipt in one
  row and two journal rows.

Every check must pass (the XSDs, the digest, the signature), so the floor cannot be measured on
work that was skipped."""
from __future__ import annotations

import base64
import hashlib
import sqlite3
import sys
import time

WARMUP = 3  # first-use costs (imports, the XSDs, the database file) before the counted ones
#: the sizes of what a receipt hashes and signs, and of the receipt itself (module docstring)
RECEIPT_METADATA, RECEIPT_SIGNED_INFO, RECEIPT_BYTES = 1270, 690, 4180


def run(count: int) -> None:
    """The measured process: :data:`WARMUP` envelopes, then ``count`` more, from
    ``$GATEWAY_DATA_DIR/bodies.bin`` (written by ``perfcheck._prepared``)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding

    from envelopes import ns
    from envelopes.payloads.schemas import lxml_schema
    from gateway.config import Settings
    from gateway.ops.demo import load_client
    from gateway.ops.perfcheck import read_bodies
    from gateway.pipeline.parse import parse_envelope
    from signing.c14n import exc_c14n
    from signing.smev_transform import smev_transform_and_c14n

    settings = Settings.from_env()
    bodies = read_bodies(settings.data_dir / "bodies.bin")
    _key, cert, _chain = load_client(settings, "ROMASHKA")
    client_key = cert.public_key()
    receipt_key = ec.generate_private_key(ec.SECP256R1())
    envelope_xsd = lxml_schema("smev-message-exchange-types-1.1.xsd")
    payload_xsd = lxml_schema("organisation-registration-1.0.xsd")
    t, ds = ns.SMEV_TYPES, ns.DS
    request_tag, signature_tag = ns.q(t, "SendRequestRequest"), ns.q(ds, "Signature")
    payload_tag = ns.q(ns.REGISTRATION, "OrganisationRegistrationRequest")
    digest_tag, value_tag = ns.q(ds, "DigestValue"), ns.q(ds, "SignatureValue")
    metadata, signed_info_out, receipt = (b"m" * RECEIPT_METADATA, b"s" * RECEIPT_SIGNED_INFO,
                                          b"r" * RECEIPT_BYTES)
    db = sqlite3.connect(settings.data_dir / "floor.sqlite", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY, "
               "message_id TEXT UNIQUE, envelope BLOB, receipt BLOB)")
    db.execute("CREATE TABLE IF NOT EXISTS journal (id INTEGER PRIMARY KEY, "
               "entry_hash TEXT UNIQUE, content_digest TEXT)")

    def envelope(number: int, body: bytes) -> None:
        request = parse_envelope(body).body_child
        if request.tag != request_tag:
            raise SystemExit(f"envelope {number}: not a SendRequest")
        if not envelope_xsd.validate(request):
            raise SystemExit(f"envelope {number}: not valid against the message-exchange XSD")
        data, signature = request[0], next(request.iter(signature_tag))
        _c14n, transformed = smev_transform_and_c14n(data)
        digest = base64.b64encode(hashlib.sha256(transformed).digest()).decode("ascii")
        if digest != next(signature.iter(digest_tag)).text.strip():
            raise SystemExit(f"envelope {number}: the reference digest does not match")
        client_key.verify(base64.b64decode(next(signature.iter(value_tag)).text),
                          exc_c14n(signature[0]), padding.PKCS1v15(), hashes.SHA256())
        if not payload_xsd.validate(next(data.iter(payload_tag))):
            raise SystemExit(f"envelope {number}: the payload is not valid against its XSD")
        hashlib.sha256(metadata).digest()  # the receipt's reference digest
        receipt_key.sign(signed_info_out, ec.ECDSA(hashes.SHA256()))
        journal = (hashlib.sha256(body).hexdigest(), hashlib.sha256(receipt).hexdigest())
        unique = f"{number}-{time.time_ns()}"
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO messages (message_id, envelope, receipt) VALUES (?, ?, ?)",
                   (unique, body, receipt))
        db.executemany("INSERT INTO journal (entry_hash, content_digest) VALUES (?, ?)",
                       [(unique + digest, unique + ":" + digest) for digest in journal])
        db.execute("COMMIT")

    for number, body in enumerate(bodies[:WARMUP + count]):
        envelope(number, body)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "--run":
        raise SystemExit("usage: python -m gateway.ops.perfcheck --floor (this module is its "
                         "measured process)")
    run(int(sys.argv[2]))
