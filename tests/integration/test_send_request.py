"""The walking skeleton over real HTTP: a signed SendRequest in, a signed receipt out."""
from __future__ import annotations

import base64
import dataclasses
import hashlib
import uuid

import pytest
import requests
from lxml import etree
from sqlalchemy import func, select

from envelopes import ns
from envelopes.build import send_request
from envelopes.client import GatewayClient, GatewayFault, parse_fault, read_receipt
from envelopes.demo_data import ROMASHKA
from envelopes.payloads.registration import build_organisation_registration
from gateway.config import CONTRACT_DIRS
from gateway.storage import journal
from gateway.storage.schema import applications, messages
from registry_stubs.pki import Pki
from signing.c14n import exc_c14n
from signing.xmldsig import Profile

SOAP11 = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": "urn:SendRequest"}


def post(url, body, headers=SOAP11):
    reply = requests.post(url, data=body, headers=headers, timeout=30)
    return reply, etree.fromstring(reply.content)


def signed(demo_client, org=ROMASHKA, **kwargs) -> bytes:
    key, cert, chain = demo_client
    return send_request(build_organisation_registration(org), key, cert, extra_certificates=chain, **kwargs)


def fault_of(reply, root):
    fault = parse_fault(reply.status_code, root)
    assert fault is not None, reply.text
    return fault


def test_signed_request_gets_a_signed_receipt_after_a_durable_commit(gateway_url, demo_client, engine,
                                                                    gateway_trust):
    message_id = str(uuid.uuid1())
    reply, root = post(gateway_url, signed(demo_client, message_id=message_id))
    assert reply.status_code == 200, reply.text
    assert reply.headers["Content-Type"].startswith("text/xml")
    meta, verified = read_receipt(root, gateway_trust)  # raises unless the gateway signed it
    assert meta.message_id == message_id
    assert meta.message_type == "REQUEST"
    assert meta.sender.mnemonic == "ROMASHKA"
    assert meta.status == "requestIsQueued"
    assert verified.element.get("Id") == "SIGNED_BY_SMEV"
    assert meta.registration_number and meta.content_digest
    with engine.connect() as conn:
        row = conn.execute(select(messages).where(messages.c.message_id == message_id)).one()
        app = conn.execute(select(applications).where(applications.c.message_pk == row.id)).one()
        events = conn.execute(select(journal.journal.c.event)
                              .where(journal.journal.c.message_id == message_id)).scalars().all()
        assert journal.verify_chain(conn).intact
    assert row.receipt in reply.content
    assert (app.domain, app.state, app.organisation_inn) == ("registration", "verified", ROMASHKA.inn)
    assert sorted(events) == ["receipt", "request-accepted"]


@pytest.mark.parametrize("profile", list(Profile))
def test_the_content_digest_is_of_the_exc_c14n_of_the_data_as_sent(gateway_url, demo_client,
                                                                     gateway_trust, engine, profile):
    """The receipt's ContentDigest (and the replay check's) is SHA-256 over the exclusive c14n
    of SenderProvidedRequestData, whichever profile signed it: the gateway takes those bytes
    from the signature check when it made them, and must get the same ones it would make."""
    body = signed(demo_client, profile=profile)
    data = etree.fromstring(body).find(f".//{{{ns.SMEV_TYPES}}}SenderProvidedRequestData")
    expected = hashlib.sha256(exc_c14n(data)).digest()
    reply, root = post(gateway_url, body)
    assert reply.status_code == 200, reply.text
    meta, _ = read_receipt(root, gateway_trust)
    assert base64.b64decode(meta.content_digest) == expected
    message_id = data.findtext(f"{{{ns.SMEV_TYPES}}}MessageID")
    with engine.connect() as conn:
        stored = conn.execute(select(messages.c.content_digest)
                              .where(messages.c.message_id == message_id)).scalar_one()
    assert stored == expected.hex()


def test_request_is_stored_byte_for_byte(gateway_url, demo_client, engine):
    body = signed(demo_client)
    reply, _ = post(gateway_url, body)
    assert reply.status_code == 200
    message_id = etree.fromstring(body).findtext(f".//{{{ns.SMEV_TYPES}}}MessageID")
    with engine.connect() as conn:
        stored = conn.execute(select(messages.c.envelope).where(messages.c.message_id == message_id)).scalar_one()
    assert stored == body


def test_soap12_request_gets_a_soap12_receipt(gateway_url, demo_client, gateway_trust):
    reply, root = post(gateway_url, signed(demo_client, soap_version="1.2"),
                       {"Content-Type": "application/soap+xml; charset=utf-8"})
    assert reply.status_code == 200, reply.text
    assert root.tag == ns.q(ns.SOAP12_ENV, "Envelope")
    read_receipt(root, gateway_trust)


def test_repeated_message_id_returns_the_original_receipt_and_changes_nothing(gateway_url, demo_client, engine):
    body = signed(demo_client)
    first, _ = post(gateway_url, body)
    with engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(applications)).scalar_one()
    second, _ = post(gateway_url, body)
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(applications)).scalar_one() == before


def test_reused_message_id_with_other_content_is_refused(gateway_url, demo_client):
    message_id = str(uuid.uuid1())
    assert post(gateway_url, signed(demo_client, message_id=message_id))[0].status_code == 200
    other = dataclasses.replace(ROMASHKA, phone="+74950000000")
    reply, root = post(gateway_url, signed(demo_client, org=other, message_id=message_id))
    fault = fault_of(reply, root)
    assert fault.element == "MessageIsAlreadySent"


def test_wrong_ogrn_checksum_is_invalid_content_naming_the_field(gateway_url, demo_client):
    bad = dataclasses.replace(ROMASHKA, ogrn=ROMASHKA.ogrn[:-1] + "9")
    reply, root = post(gateway_url, signed(demo_client, org=bad))
    fault = fault_of(reply, root)
    assert reply.status_code == 500 and fault.faultcode == "soap:Client"
    assert fault.element == "InvalidContent"
    [error] = fault.validation_errors
    assert error["xpath"].endswith("/b:MessagePrimaryContent/reg:OrganisationRegistrationRequest/reg:OGRN")
    assert "ОГРН" in error["message"]
    assert int(error["line"]) >= 1 and int(error["column"]) >= 1


def test_schema_violation_lists_every_error_with_xpath_line_and_column(gateway_url, demo_client):
    bad = dataclasses.replace(ROMASHKA, kpp="12", phone="8-800", inn="77")
    reply, root = post(gateway_url, signed(demo_client, org=bad))
    fault = fault_of(reply, root)
    assert fault.element == "InvalidContent"
    paths = {e["xpath"].rsplit("/", 1)[-1] for e in fault.validation_errors}
    assert {"reg:KPP", "reg:Phone", "reg:INN"} <= paths
    assert all(e.get("line") and e.get("column") for e in fault.validation_errors)


def test_tampered_content_fails_signature_verification(gateway_url, demo_client):
    body = signed(demo_client).replace(ROMASHKA.email.encode(), b"evil@example.org")
    reply, root = post(gateway_url, body)
    fault = fault_of(reply, root)
    assert fault.element == "SignatureVerificationFault"
    assert fault.code == "HASH_FAILURE"


def test_unsigned_request_is_refused(gateway_url, demo_client):
    reply, root = post(gateway_url, signed(demo_client, sign=False))
    assert fault_of(reply, root).element in ("SignatureVerificationFault", "InvalidContent")


def test_certificate_from_unknown_ca_is_refused(gateway_url, engine, tmp_path):
    from gateway.pipeline.participants import add_system

    rogue = Pki.init(tmp_path / "rogue", base_url="http://127.0.0.1:9")
    issued = rogue.issue("rogue", common_name="Rogue", inn_le=ROMASHKA.inn, ogrn=ROMASHKA.ogrn)
    body = send_request(build_organisation_registration(ROMASHKA), issued.private_key, issued.certificate,
                        extra_certificates=tuple(rogue.intermediates()))
    reply, root = post(gateway_url, body)
    assert fault_of(reply, root).code == "SENDER_IS_NOT_REGISTERED"  # refused before any crypto
    add_system(engine, "ROMASHKA", "", [issued.certificate])  # registered by mistake: the chain decides
    reply, root = post(gateway_url, body)
    fault = fault_of(reply, root)
    assert fault.element == "SignatureVerificationFault"
    assert "NO_CERTIFICATE_CHAIN_FOUND" in fault.code or "NO_CERTIFICATE_CHAIN_FOUND" in fault.description


def test_trusted_but_unregistered_signer_is_refused(gateway_url, demo_settings):
    from gateway.ops.setup import open_pki

    issued = open_pki(demo_settings).issue(f"stranger-{uuid.uuid4().hex[:6]}", common_name="Stranger",
                                           inn_le=ROMASHKA.inn, ogrn=ROMASHKA.ogrn)
    body = send_request(build_organisation_registration(ROMASHKA), issued.private_key, issued.certificate,
                        extra_certificates=tuple(open_pki(demo_settings).intermediates()))
    reply, root = post(gateway_url, body)
    assert fault_of(reply, root).element == "SenderIsNotRegistered"


def test_invalid_message_id_format(gateway_url, demo_client):
    reply, root = post(gateway_url, signed(demo_client, message_id=str(uuid.uuid4())))
    fault = fault_of(reply, root)
    assert fault.element == "InvalidMessageIdFormat"


@pytest.mark.parametrize("body", [b"<not-closed>", b"", b"\xff\xfe garbage"])
def test_malformed_xml_is_a_client_fault_not_a_500(gateway_url, body):
    reply, root = post(gateway_url, body)
    assert reply.status_code == 400
    fault = fault_of(reply, root)
    assert fault.faultcode == "soap:Client"


def test_xxe_is_refused(gateway_url):
    body = (b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>&x;</soap:Body></soap:Envelope>')
    reply, root = post(gateway_url, body)
    assert reply.status_code == 400 and b"root:" not in reply.content
    assert fault_of(reply, root).code == "DTD_FORBIDDEN"


def test_wrong_content_type_and_oversized_bodies(gateway_url, demo_client):
    reply, root = post(gateway_url, signed(demo_client), {"Content-Type": "application/json"})
    assert reply.status_code == 415 and fault_of(reply, root).faultcode == "soap:Client"
    reply = requests.post(gateway_url, data=b"x" * (11 * 1024 * 1024), headers=SOAP11, timeout=30)
    assert reply.status_code == 413


def test_unknown_payload_type_is_not_supported(gateway_url, demo_client):
    key, cert, chain = demo_client
    payload = etree.Element("{urn://nobody/1.0}Whatever")
    reply, root = post(gateway_url, send_request(payload, key, cert, extra_certificates=chain))
    assert fault_of(reply, root).element == "BusinessDataTypeIsNotSupported"
    detail = root.find(f".//{{{ns.SMEV_FAULTS}}}BusinessDataTypeIsNotSupported")
    assert detail.findtext(f"{{{ns.SMEV_FAULTS}}}RootElementLocalName") == "Whatever"
    assert detail.findtext(f"{{{ns.SMEV_FAULTS}}}RootElementNamespaceURI") == "urn://nobody/1.0"


def test_contract_files_are_served_as_they_are(gateway_url):
    reply = requests.get(gateway_url + "?wsdl", timeout=10)
    wsdl = CONTRACT_DIRS["wsdl"] / "smev-message-exchange-service-1.1.wsdl"
    assert reply.status_code == 200 and reply.content == wsdl.read_bytes()
    for xsd in CONTRACT_DIRS["xsd"].glob("*.xsd"):
        reply = requests.get(f"{gateway_url}/xsd/{xsd.name}", timeout=10)
        assert reply.status_code == 200 and reply.content == xsd.read_bytes(), xsd.name
    assert requests.get(f"{gateway_url}/xsd/../setup.cfg", timeout=10).status_code == 404
    moved = requests.get(gateway_url + "/?wsdl", timeout=10, allow_redirects=False)
    assert moved.status_code == 301 and moved.headers["Location"] == "/ws?wsdl"


def test_client_sdk_round_trip(gateway_url, demo_client, gateway_trust):
    meta, verified = GatewayClient(gateway_url, gateway_trust).send_request(signed(demo_client))
    assert meta.status == "requestIsQueued"
    with pytest.raises(GatewayFault) as err:
        GatewayClient(gateway_url, gateway_trust).send_request(signed(demo_client, message_id="nope"))
    assert err.value.fault.element in ("InvalidMessageIdFormat", "InvalidContent")


def test_health(gateway_url):
    reply = requests.get(gateway_url.replace("/ws", "/health"), timeout=10)
    assert reply.status_code == 200 and reply.json() == {
        "status": "ok", "gost": {"available": True, "backend": "openssl-engine"}}  # never skipped


def test_receipt_is_valid_against_the_contract(gateway_url, demo_client):
    from gateway.pipeline.validate import SchemaSet

    reply, root = post(gateway_url, signed(demo_client))
    assert reply.status_code == 200
    response = root.find(f".//{{{ns.SMEV_TYPES}}}SendRequestResponse")
    schemas = SchemaSet()
    assert schemas.get("smev-message-exchange-types-1.1.xsd").errors(response) == []
    registration = response.find(f".//{{{ns.RECEIPT}}}Registration")
    assert schemas.get("gateway-receipt-1.0.xsd").errors(registration) == []
    assert registration.findtext(f"{{{ns.RECEIPT}}}RegistrationNumber")


def test_fault_details_are_valid_against_the_contract(gateway_url, demo_client):
    from gateway.pipeline.validate import SchemaSet

    bad = dataclasses.replace(ROMASHKA, kpp="12")
    reply, root = post(gateway_url, signed(demo_client, org=bad))
    detail = root.find(f".//{{{ns.SMEV_FAULTS}}}InvalidContent")
    assert SchemaSet().get("smev-message-exchange-faults-1.1.xsd").errors(detail) == []
