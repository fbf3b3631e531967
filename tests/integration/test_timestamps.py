"""Trusted time over real HTTP: receipts get one RFC 3161 token per batch from the TSA stub,
off the request path, and `gateway receipts verify FILE --at DATE` proves a stored receipt was
signed while the gateway's certificate was valid — also at a date after it expired."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
import requests
from click.testing import CliRunner

from envelopes import build
from envelopes.demo_data import ROMASHKA
from envelopes.payloads.registration import build_organisation_registration
from gateway.ops.cli import main
from gateway.ops.setup import demo_tsa
from gateway.ops.timestamps import stamp_round
from gateway.storage import timestamps as store
from registry_stubs.tsa import serve

SOAP11 = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": "urn:SendRequest"}


def send(gateway_url, demo_client) -> tuple[bytes, str]:
    """A fresh signed SendRequest; (the receipt as returned, its MessageId)."""
    key, cert, chain = demo_client
    envelope = build.send_request(build_organisation_registration(ROMASHKA), key, cert,
                                  extra_certificates=chain)
    reply = requests.post(gateway_url, data=envelope, headers=SOAP11, timeout=30)
    assert reply.status_code == 200, reply.text
    message_id = reply.text.split("MessageId>")[1].split("<")[0]
    return reply.content, message_id


def verify(settings, path, *extra):
    env = {"GATEWAY_DATA_DIR": str(settings.data_dir),
           "GATEWAY_DATABASE_URL": settings.resolved_database_url,
           "GATEWAY_ALGORITHMS": settings.algorithms}
    return CliRunner().invoke(main, ["receipts", "verify", str(path), *extra], env=env)


@pytest.fixture(scope="module")
def tsa(demo_settings):
    server = serve(demo_tsa(demo_settings))
    yield server
    server.stop()


def test_receipts_are_stamped_in_one_batch_and_proven(gateway_url, demo_settings, engine,
                                                       demo_client, tsa, tmp_path):
    receipts = [send(gateway_url, demo_client) for _ in range(3)]
    before = tsa.app.issued
    covered = stamp_round(engine, tsa.url, datetime.now(timezone.utc))
    assert covered >= 3 and tsa.app.issued == before + 1     # one token for the whole batch
    assert stamp_round(engine, tsa.url, datetime.now(timezone.utc)) == 0   # nothing left
    roots = {store.stamp_of(engine, message_id).merkle_root for _r, message_id in receipts}
    assert len(roots) == 1
    for receipt, message_id in receipts:
        path = tmp_path / f"{message_id}.xml"
        path.write_bytes(receipt)
        result = verify(demo_settings, path)
        assert result.exit_code == 0, result.output
        assert "PROVEN" in result.output and "token          valid" in result.output


def test_the_proof_holds_after_the_certificate_expired(gateway_url, demo_settings, engine,
                                                       demo_client, tsa, tmp_path):
    receipt, _message_id = send(gateway_url, demo_client)
    stamp_round(engine, tsa.url, datetime.now(timezone.utc))
    path = tmp_path / "receipt.xml"
    path.write_bytes(receipt)
    result = verify(demo_settings, path, "--at", "2100-01-01T00:00:00+00:00")
    assert result.exit_code == 0, result.output
    assert "it has expired by 2100-01-01" in result.output
    result = verify(demo_settings, path, "--at", "2000-01-01T00:00:00+00:00")
    assert result.exit_code == 1 and "genTime is after 2000-01-01" in result.output


def test_no_token_yet_and_a_tampered_receipt_are_not_proven(gateway_url, demo_settings, engine,
                                                            demo_client, tsa, tmp_path):
    receipt, message_id = send(gateway_url, demo_client)
    path = tmp_path / "receipt.xml"
    path.write_bytes(receipt)
    result = verify(demo_settings, path)
    assert result.exit_code == 1 and f"no time-stamp token for MessageId {message_id}" in result.output
    stamp_round(engine, tsa.url, datetime.now(timezone.utc))
    path.write_bytes(receipt.replace(b"requestIsQueued", b"requestIsRejected"))
    result = verify(demo_settings, path)
    assert result.exit_code == 1 and "signature does not verify" in result.output


def test_a_tsa_that_is_down_delays_only_the_proof(gateway_url, demo_settings, engine,
                                                  demo_client, tsa):
    tsa.app.offline = True
    try:
        _receipt, message_id = send(gateway_url, demo_client)   # the receipt comes at once
        with pytest.raises(requests.HTTPError):
            stamp_round(engine, tsa.url, datetime.now(timezone.utc))
        assert store.stamp_of(engine, message_id) is None
    finally:
        tsa.app.offline = False
    stamp_round(engine, tsa.url, datetime.now(timezone.utc))
    assert store.stamp_of(engine, message_id) is not None


def test_an_answer_without_a_signature_is_covered_as_its_bytes():
    """A round must not stall on a stored answer it cannot parse (none is expected)."""
    from gateway.ops.timestamps import leaf_data

    assert leaf_data(b"<receipt/>") == b"<receipt/>"
    assert leaf_data(b"not xml") == b"not xml"


def test_revocation_data_is_archived_with_the_token_and_rechecked_offline(
        gateway_url, demo_settings, engine, demo_client, tsa, tmp_path):
    """The CRLs/OCSP answers that validated the gateway's and the TSA's paths at stamping are
    stored with the token; `receipts verify --at` re-checks revocation against them alone."""
    from gateway.ops.timestamps import revocation_evidence
    from signing.chain import ChainValidator

    receipt, message_id = send(gateway_url, demo_client)
    stamp_round(engine, tsa.url, datetime.now(timezone.utc), evidence=revocation_evidence(demo_settings))
    stamp = store.stamp_of(engine, message_id)
    assert stamp.revocation is not None
    crls, ocsps = stamp.revocation
    assert crls or ocsps
    path = tmp_path / "receipt.xml"
    path.write_bytes(receipt)
    result = verify(demo_settings, path, "--at", "2100-01-01T00:00:00+00:00")
    assert result.exit_code == 0, result.output
    assert "revocation checked offline against the" in result.output
    assert result.output.count("archived with the token") == 2     # the TSA's and the signer's path

    # the archive alone decides: without it (nothing archived, nothing fetched) hard-fail cannot
    # establish the status at genTime, so the verdict really rests on the archived data
    from cryptography import x509 as crypto_x509
    anchors = [crypto_x509.load_pem_x509_certificate(p.read_bytes())
               for p in sorted((demo_settings.trust_dir / "anchors").glob("*.pem"))]
    own = crypto_x509.load_pem_x509_certificates(demo_settings.signing_cert_path.read_bytes())
    gen_time = stamp.gen_time if stamp.gen_time.tzinfo else stamp.gen_time.replace(tzinfo=timezone.utc)
    empty = ChainValidator(anchors, own[1:], revocation="hard-fail", archived_revocation=([], []),
                           clock=lambda: gen_time)
    assert not empty.validate(own[0], own[1:]).passed
    archived = ChainValidator(anchors, own[1:], revocation="hard-fail",
                              archived_revocation=stamp.revocation, clock=lambda: gen_time)
    assert archived.validate(own[0], own[1:]).passed


def test_a_token_stored_without_revocation_data_says_so(gateway_url, demo_settings, engine,
                                                        demo_client, tsa, tmp_path):
    receipt, message_id = send(gateway_url, demo_client)
    stamp_round(engine, tsa.url, datetime.now(timezone.utc))
    assert store.stamp_of(engine, message_id).revocation is None
    path = tmp_path / "receipt.xml"
    path.write_bytes(receipt)
    result = verify(demo_settings, path)
    assert result.exit_code == 0, result.output
    assert "revocation not checked: no revocation data archived with this token" in result.output


def test_the_background_round_archives_revocation_data(gateway_url, demo_settings, engine,
                                                       demo_client, tsa):
    """What a serving process does when GATEWAY_TSA_URL is set: its background thread stamps
    the receipts and keeps the revocation data with the token."""
    import dataclasses
    import time

    from gateway.ops.background import Background

    class NoOutbox:
        def dispatch_due(self):
            return 0

    settings = dataclasses.replace(demo_settings, tsa_url=tsa.url, timestamp_interval_seconds=0.2,
                                   outbox_poll_seconds=0.2)
    _receipt, message_id = send(gateway_url, demo_client)
    background = Background(engine, settings, NoOutbox(), lambda: datetime.now(timezone.utc))
    background.start()
    try:
        deadline = time.monotonic() + 30
        while store.stamp_of(engine, message_id) is None and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        background.stop()
    stamp = store.stamp_of(engine, message_id)
    assert stamp is not None and stamp.revocation is not None
    assert stamp.revocation[0] or stamp.revocation[1]
