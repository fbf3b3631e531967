"""POST /api/v1/validate: the validator over HTTP — token, one document or many, the same codes
as ``gateway validate``, and nothing stored."""
from __future__ import annotations

import dataclasses

import pytest
import requests
from lxml import etree
from sqlalchemy import func, select

from envelopes import build
from envelopes.demo_data import ROMASHKA
from envelopes.payloads.registration import build_organisation_registration
from gateway.http.access import issue_key
from gateway.http.history import new_token
from gateway.storage.schema import journal, messages

BAD_OGRN = "1027700132194"


@pytest.fixture(scope="module")
def url(gateway_url):
    return gateway_url.replace("/ws", "/api/v1/validate")


@pytest.fixture(scope="module")
def auth(engine):
    _, key = issue_key(engine, "ROMASHKA", ["validate"], "test")
    return {"Authorization": f"Bearer {key}"}


def _payload(**changes) -> bytes:
    return etree.tostring(build_organisation_registration(dataclasses.replace(ROMASHKA, **changes)))


def _rows(engine) -> tuple[int, int]:
    with engine.connect() as conn:
        return (conn.scalar(select(func.count()).select_from(messages)),
                conn.scalar(select(func.count()).select_from(journal)))


def test_needs_a_token(url):
    reply = requests.post(url, data=_payload(), headers={"Content-Type": "text/xml"}, timeout=10)
    assert reply.status_code == 401 and reply.headers["WWW-Authenticate"] == "Bearer"
    assert requests.get(url, timeout=10).status_code == 405


def test_one_signed_envelope_is_checked_and_nothing_is_stored(url, auth, engine, demo_client):
    key, cert, chain = demo_client
    envelope = build.send_request(build_organisation_registration(dataclasses.replace(ROMASHKA, ogrn=BAD_OGRN)),
                                  key, cert, extra_certificates=chain)
    before = _rows(engine)
    reply = requests.post(url, data=envelope, headers={**auth, "Content-Type": "text/xml"}, timeout=30)
    assert reply.status_code == 200, reply.text
    [report] = reply.json()["reports"]
    assert (report["kind"], report["signed"], report["signature"]) == ("envelope", True, "VALID")
    [problem] = report["problems"]
    assert (problem["code"], problem["rule"], problem["fault"]) == ("FIELD_RULE", "ogrn", "InvalidContent")
    assert problem["xpath"].endswith("/reg:OrganisationRegistrationRequest/reg:OGRN")
    assert _rows(engine) == before  # no message, no journal entry


def test_many_files_in_one_multipart_request(url, auth):
    files = [("file", ("good.xml", _payload(), "text/xml")),
             ("file", ("bad.xml", _payload(ogrn="12"), "text/xml")),
             ("file", ("broken.xml", b"<a>", "text/xml"))]
    reply = requests.post(url, files=files, headers=auth, timeout=30)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert (body["files"], body["valid"], body["invalid"]) == (3, 1, 2)
    by_name = {r["file"]: r for r in body["reports"]}
    assert by_name["good.xml"]["valid"]
    assert by_name["bad.xml"]["problems"][0]["code"] == "XSD_VIOLATION"
    assert by_name["broken.xml"]["problems"][0]["code"] == "MALFORMED_XML"


def test_other_media_types_are_refused(url, auth):
    reply = requests.post(url, data=b"{}", headers={**auth, "Content-Type": "application/json"}, timeout=10)
    assert reply.status_code == 415 and "error" in reply.json()


def test_open_on_loopback_only_when_configured(engine, demo_settings):
    from gateway.http import validate
    from gateway.http.history import HistoryError

    open_ = dataclasses.replace(demo_settings, validate_open_on_loopback=True)
    validate.authorized(engine, open_, {"REMOTE_ADDR": "127.0.0.1"})  # no token needed
    for settings, addr in ((open_, "10.0.0.7"), (demo_settings, "127.0.0.1")):
        with pytest.raises(HistoryError) as refused:
            validate.authorized(engine, settings, {"REMOTE_ADDR": addr})
        assert refused.value.status == 401


def test_a_key_without_the_validate_scope_is_refused(url, engine):
    """Keys carry scopes: a history token (history:read) may not use the validator."""
    reply = requests.post(url, data=_payload(), timeout=10, headers={
        "Content-Type": "text/xml", "Authorization": f"Bearer {new_token(engine, 'ROMASHKA')}"})
    assert reply.status_code == 403
