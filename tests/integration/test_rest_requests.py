"""SendRequest over REST (``POST /api/v1/messages``) over real HTTP on loopback: each domain's main
request as JWS-signed JSON goes through SendRequest's stages (its answer is then in the SOAP
GetResponse queue, like a SOAP request's), the answer is JSON signed by the gateway, a repeat
gets the original answer and changes nothing, and the JWS rules refuse what they must; the
answers are taken and acknowledged over REST too (GetResponse, Ack). A JWS made by an
independent implementation (jwcrypto) is accepted, and jwcrypto verifies the gateway's answer;
under the GOST ``smev`` profile requests and answers are GOST JWSs and RSA is refused."""
from __future__ import annotations

import base64
import dataclasses
import json
import uuid

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import Encoding
from jwcrypto import jwk, jws as jw
from sqlalchemy import func, select

from envelopes import build, ns, rest
from envelopes.demo_data import ROMASHKA
from envelopes.payloads import samples
from gateway.storage.schema import journal, messages
from signing import jws as jose
from support import answers

JOSE = {"Content-Type": "application/jose"}


@pytest.fixture(scope="module")
def api(gateway_url):
    return gateway_url[:-len("/ws")] + "/api/v1/messages"


@pytest.fixture(scope="module")
def romashka(demo_client):
    key, cert, chain = demo_client
    return key, cert, tuple(chain)


@pytest.fixture(scope="module")
def gateway_cert(demo_settings):
    return x509.load_pem_x509_certificates(demo_settings.signing_cert_path.read_bytes())[0]


def sample(name: str):
    """A sample payload of envelopes/samples/; a change of details without the new head, as in
    tests/integration/test_details.py (other tests of the session sign as ROMASHKA's head)."""
    payload = samples.payloads()[name]
    if name.startswith("details/"):
        payload = dataclasses.replace(payload, new_head=None)
    return payload


def post(api, body, headers=JOSE):
    return requests.post(api, data=body, headers=headers, timeout=30)


def submit(api, creds, payload, gateway_cert, **fields):
    """Sign and send; (HTTP status, verified JSON answer, the JWS sent)."""
    key, cert, chain = creds
    token = rest.sign_request(rest.request_document(payload, **fields), key, cert, chain=chain)
    reply = post(api, token)
    assert reply.headers["Content-Type"] == "application/jose", reply.text
    return reply.status_code, rest.read_answer(reply.content, gateway_cert), token, reply


def stored(engine, message_id: str) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(messages)
                            .where(messages.c.message_id == message_id)).scalar_one()


MAIN_REQUESTS = [
    ("registration/OrganisationRegistrationRequest.xml", "RegistrationResult"),
    ("reporting/ReportSubmission.xml", None),
    ("licensing/LicenceApplication.xml", None),
    ("power-of-attorney/PowerOfAttorneyRegistration.xml", None),
    ("details/DetailsChangeRequest.xml", "DetailsChangeResult"),
]


@pytest.mark.parametrize("name,answer_root", MAIN_REQUESTS, ids=[n.split("/")[0] for n, _ in MAIN_REQUESTS])
def test_each_domains_main_request_over_rest(api, romashka, gateway_cert, gateway_url, engine,
                                             demo_client, name, answer_root):
    payload = sample(name)
    if hasattr(payload, "attachments"):  # REST carries no SMEV attachments
        payload = dataclasses.replace(payload, attachments=())
    status, answer, token, reply = submit(api, romashka, payload, gateway_cert)
    assert status == 200, answer
    message_id = answer["messageId"]
    assert answer["status"] == "requestIsQueued"
    assert answer["registrationNumber"].startswith(answer["sendingTimestamp"][:10].replace("-", ""))
    assert answer["sender"]["mnemonic"] == "ROMASHKA"
    assert answer["businessType"].endswith("}" + name.split("/")[1].split(".")[0])
    # the XML receipt inside is the gateway's XMLDSig-signed SOAP receipt of this message
    receipt = base64.b64decode(answer["receipt"])
    assert message_id.encode() in receipt and b"SMEVSignature" in receipt
    assert stored(engine, message_id) == 1
    # the same JWS again: the original answer (the same JSON; an ECDSA or PSS signature over it
    # differs each time) and nothing stored twice
    again = post(api, token)
    assert again.status_code == 200
    assert rest.read_answer(again.content, gateway_cert) == answer
    assert stored(engine, message_id) == 1
    # the domain's built-in handler answered, in the consumer's SOAP GetResponse queue
    key, cert, chain = demo_client
    found = answers(gateway_url, (key, cert, {"extra_certificates": chain}), message_id)
    assert len(found) == 1
    if answer_root:
        assert found[0].tag.endswith("}" + answer_root)


def test_registration_opens_an_application_named_in_the_answer(api, romashka, gateway_cert):
    org = dataclasses.replace(sample("registration/OrganisationRegistrationRequest.xml"))
    status, answer, _, _ = submit(api, romashka, org, gateway_cert)
    assert status == 200, answer
    assert answer["application"]["domain"] == "registration"
    assert isinstance(answer["application"]["id"], int)


def test_same_message_id_other_content_is_refused(api, romashka, gateway_cert):
    change = sample("details/DetailsChangeRequest.xml")
    message_id = build.new_message_id()
    status, first, _, _ = submit(api, romashka, change, gateway_cert, messageId=message_id)
    assert status == 200, first
    other = dataclasses.replace(change, phone="+74951112233")
    status, answer, _, _ = submit(api, romashka, other, gateway_cert, messageId=message_id)
    assert status == 400
    assert answer["error"]["fault"] == "MessageIsAlreadySent"


def test_soap_and_rest_share_message_ids(api, romashka, gateway_cert, gateway_url):
    """A MessageID first sent over SOAP, then the same content over REST: the SOAP receipt."""
    key, cert, chain = romashka
    change = sample("details/DetailsChangeRequest.xml")
    message_id = build.new_message_id()
    from envelopes.payloads import codec
    soap = requests.post(gateway_url, data=build.send_request(
        codec.build(change), key, cert, message_id=message_id, extra_certificates=chain),
        headers={"Content-Type": "text/xml; charset=utf-8"}, timeout=30)
    assert soap.status_code == 200, soap.text
    status, answer, _, _ = submit(api, romashka, change, gateway_cert, messageId=message_id)
    assert status == 200, answer
    assert base64.b64decode(answer["receipt"]) in soap.content


def test_bad_signature_is_refused_and_journaled(api, romashka, gateway_cert, engine):
    key, cert, chain = romashka
    document = rest.request_document(sample("details/DetailsChangeRequest.xml"))
    header, payload, signature = rest.sign_request(document, key, cert, chain=chain).split(".")
    forged = dict(document, payload=dict(document["payload"], phone="+70000000000"))
    tampered = ".".join([header, jose.b64url(json.dumps(forged).encode()), signature])
    reply = post(api, tampered)
    assert reply.status_code == 400
    error = rest.read_answer(reply.content, gateway_cert)["error"]
    assert (error["fault"], error["code"]) == ("SignatureVerificationFault", "SIG_CRYPTO_FAILURE")
    assert stored(engine, document["messageId"]) == 0
    with engine.connect() as conn:
        refused = conn.execute(select(journal.c.detail).where(journal.c.event == "rejected")
                               .order_by(journal.c.id.desc()).limit(1)).scalar_one()
    detail = refused if isinstance(refused, dict) else json.loads(refused)
    assert detail["code"] == "SIG_CRYPTO_FAILURE"


def test_wrong_sender_certificate_is_refused(api, demo_settings, gateway_cert):
    """A certificate registered to no IS (the gateway's own) signs: SenderIsNotRegistered."""
    from signing.algorithms import load_private_key
    key = load_private_key(demo_settings.signing_key_path.read_bytes())
    status, answer, _, _ = submit(api, (key, gateway_cert, ()),
                                  sample("details/DetailsChangeRequest.xml"), gateway_cert)
    assert status == 400
    assert answer["error"]["fault"] == "SenderIsNotRegistered"


def test_another_organisations_data_is_refused_by_the_domain(api, demo_settings, gateway_cert):
    """VASILEK (a registered IS, its signature valid) sends ROMASHKA's change under ROMASHKA's
    power of attorney: refused by the same authorization as over SOAP."""
    from gateway.ops.demo import load_client
    key, cert, chain = load_client(demo_settings, "VASILEK")
    status, answer, _, _ = submit(api, (key, cert, tuple(chain)),
                                  sample("details/DetailsChangeRequest.xml"), gateway_cert)
    assert status == 400
    assert answer["error"]["fault"] == "AccessDenied", answer


@pytest.mark.parametrize("header,code", [
    ({"alg": "none"}, "CRYPTO_CONSTRAINTS_FAILURE"),
    ({"alg": "HS256"}, "CRYPTO_CONSTRAINTS_FAILURE"),
    ({"alg": "RS256", "crit": ["exp"], "exp": 1}, "CRYPTO_CONSTRAINTS_FAILURE"),
    ({"alg": "RS256", "jku": "http://127.0.0.1:1/keys"}, "CRYPTO_CONSTRAINTS_FAILURE"),
])
def test_unknown_alg_none_and_critical_headers_are_refused(api, romashka, gateway_cert, header, code):
    key, cert, chain = romashka
    document = rest.request_document(sample("details/DetailsChangeRequest.xml"))
    token = rest.sign_request(document, key, cert, chain=chain)
    x5c = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))["x5c"]
    protected = jose.b64url(json.dumps({**header, "x5c": x5c}).encode())
    payload = token.split(".")[1]
    signature = token.split(".")[2] if header.get("alg") != "none" else ""
    reply = post(api, f"{protected}.{payload}.{signature}")
    assert reply.status_code == 400
    error = rest.read_answer(reply.content, gateway_cert)["error"]
    assert (error["fault"], error["code"]) == ("SignatureVerificationFault", code), error


def test_json_field_errors_name_the_field(api, romashka, gateway_cert):
    key, cert, chain = romashka
    document = rest.request_document(sample("details/DetailsChangeRequest.xml"))
    document["payload"]["colour"] = "red"
    reply = post(api, rest.sign_request(document, key, cert, chain=chain))
    assert reply.status_code == 400
    error = rest.read_answer(reply.content, gateway_cert)["error"]
    assert error["code"] == "JSON_FIELD" and error["validationErrors"][0]["xpath"] == "payload.colour"


def test_wrong_content_type_is_415(api):
    assert requests.post(api, data=b"{}", headers={"Content-Type": "application/json"},
                         timeout=10).status_code == 415


def _jwcrypto_key(private_key) -> jwk.JWK:
    pem = private_key.private_bytes(Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    return jwk.JWK.from_pem(pem)


def test_a_jws_made_by_jwcrypto_is_accepted_and_jwcrypto_verifies_the_answer(
        api, romashka, gateway_cert, demo_settings):
    key, cert, chain = romashka
    document = rest.request_document(sample("details/DetailsChangeRequest.xml"))
    x5c = [base64.b64encode(c.public_bytes(Encoding.DER)).decode() for c in (cert, *chain)]
    token = jw.JWS(json.dumps(document).encode())
    alg = jose.default_alg(key)
    token.add_signature(_jwcrypto_key(key), alg=alg, protected=json.dumps({"alg": alg, "x5c": x5c}))
    reply = post(api, token.serialize(compact=True))
    assert reply.status_code == 200, reply.text
    # the flattened JSON serialization, as jwcrypto writes it, is accepted too (a new MessageID)
    document2 = dict(document, messageId=build.new_message_id())
    flat = jw.JWS(json.dumps(document2).encode())
    flat.add_signature(_jwcrypto_key(key), alg=alg, protected=json.dumps({"alg": alg, "x5c": x5c}))
    reply2 = requests.post(api, data=flat.serialize(), timeout=30,
                           headers={"Content-Type": "application/jose+json"})
    assert reply2.status_code == 200, reply2.text
    # jwcrypto verifies the gateway's answer with the gateway's public key
    public = jwk.JWK.from_pem(gateway_cert.public_key().public_bytes(
        Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    answer = jw.JWS()
    answer.deserialize(reply.content.decode())
    answer.verify(public)
    assert json.loads(answer.payload)["messageId"] == document["messageId"]


def take_over_rest(base, creds, gateway_cert, original: str) -> dict:
    """Every answer in the caller's queue taken with POST /responses and acknowledged with POST
    /acks, until the one answering ``original``; that one."""
    key, cert, chain = creds
    while True:
        reply = post(f"{base}/responses", rest.sign_request(rest.selector_document(), key, cert, chain=chain))
        assert reply.status_code == 200, reply.text
        found = rest.read_answer(reply.content, gateway_cert)["response"]
        assert found is not None, f"no answer to {original}"
        acked = post(f"{base}/acks", rest.sign_request(rest.ack_document(found["messageId"]), key, cert,
                                                       chain=chain))
        assert acked.status_code == 200, acked.text
        assert rest.read_answer(acked.content, gateway_cert) == {"acknowledged": found["messageId"],
                                                                 "accepted": True}
        if found["originalMessageId"] == original:
            return found


def test_answers_are_taken_and_acknowledged_over_rest(api, romashka, gateway_cert):
    """The details change's DetailsChangeResult, through POST /responses as JSON, then Ack."""
    base = api[:-len("/messages")]
    status, receipt, _, _ = submit(api, romashka, sample("details/DetailsChangeRequest.xml"), gateway_cert)
    assert status == 200, receipt
    found = take_over_rest(base, romashka, gateway_cert, receipt["messageId"])
    assert found["type"] == "DetailsChangeResult"
    assert found["payload"]["inn"] == sample("details/DetailsChangeRequest.xml").inn
    assert found["payload"]["state"] in ("verified", "rejected")
    # the signed ResponseMessage itself travels too, verifiable as over SOAP
    from lxml import etree
    from signing.xmldsig import verify_detached
    message = etree.fromstring(base64.b64decode(found["message"]))
    T = ns.SMEV_TYPES
    verify_detached(message.find(f"{{{T}}}SMEVSignature/{{{ns.DS}}}Signature"), message.find(f"{{{T}}}Response"))
    # the same Ack again is a replayed signed request; acknowledged, the answer is never
    # delivered again, even after a late "not accepted" (as over SOAP, an Ack of an acknowledged
    # message changes nothing)
    key, cert, chain = romashka
    again = post(f"{base}/acks", rest.sign_request(rest.ack_document(found["messageId"]), key, cert, chain=chain))
    assert again.status_code == 400
    assert rest.read_answer(again.content, gateway_cert)["error"]["code"] == "REPLAYED_REQUEST"
    late = post(f"{base}/acks", rest.sign_request(rest.ack_document(found["messageId"], accepted=False),
                                                  key, cert, chain=chain))
    assert late.status_code == 200, late.text
    while True:
        reply = post(f"{base}/responses", rest.sign_request(rest.selector_document(
            namespace=ns.DETAILS, type="DetailsChangeResult"), key, cert, chain=chain))
        left = rest.read_answer(reply.content, gateway_cert)["response"]
        if left is None:
            break
        assert left["messageId"] != found["messageId"]
        post(f"{base}/acks", rest.sign_request(rest.ack_document(left["messageId"]), key, cert, chain=chain))
    unknown = post(f"{base}/acks", rest.sign_request(rest.ack_document(build.new_message_id()), key, cert,
                                                     chain=chain))
    assert unknown.status_code == 400
    assert rest.read_answer(unknown.content, gateway_cert)["error"]["fault"] == "TargetMessageIsNotFound"


def test_an_ack_sent_before_its_answer_was_delivered_counts_once_it_is(api, romashka, gateway_cert,
                                                                      engine):
    """An Ack of an answer still queued is TargetMessageIsNotFound and is not remembered: the
    same signed Ack, sent again once /responses delivered the answer, acknowledges it (its
    signer could sign nothing else: the Ack's JSON is the message id and the verdict)."""
    from sqlalchemy import select

    from gateway.storage.schema import queue_items

    base = api[:-len("/messages")]
    key, cert, chain = romashka
    status, receipt, _, _ = submit(api, romashka, sample("details/DetailsChangeRequest.xml"), gateway_cert)
    assert status == 200, receipt
    with engine.connect() as conn:
        answer_id = conn.execute(select(queue_items.c.message_id).where(
            queue_items.c.related_message_id == receipt["messageId"],
            queue_items.c.kind == "RESPONSE")).scalar_one()
    early = rest.sign_request(rest.ack_document(answer_id), key, cert, chain=chain)
    for _ in range(2):
        refused = post(f"{base}/acks", early)
        assert refused.status_code == 400
        assert rest.read_answer(refused.content, gateway_cert)["error"]["fault"] == "TargetMessageIsNotFound"
    while True:  # answers other tests left come first
        reply = post(f"{base}/responses", rest.sign_request(rest.selector_document(), key, cert, chain=chain))
        found = rest.read_answer(reply.content, gateway_cert)["response"]
        assert found is not None, "the answer was not delivered"
        if found["messageId"] == answer_id:
            break
        post(f"{base}/acks", rest.sign_request(rest.ack_document(found["messageId"]), key, cert, chain=chain))
    carried_out = post(f"{base}/acks", early)
    assert carried_out.status_code == 200, carried_out.text
    assert rest.read_answer(carried_out.content, gateway_cert) == {"acknowledged": answer_id,
                                                                   "accepted": True}
    copy = post(f"{base}/acks", early)
    assert rest.read_answer(copy.content, gateway_cert)["error"]["code"] == "REPLAYED_REQUEST"


def test_a_signed_read_is_accepted_once(api, romashka, gateway_cert):
    base = api[:-len("/messages")]
    key, cert, chain = romashka
    token = rest.sign_request(rest.selector_document(), key, cert, chain=chain)
    first = post(f"{base}/responses", token)
    assert first.status_code == 200, first.text
    taken = rest.read_answer(first.content, gateway_cert)["response"]
    if taken is not None:  # give it back: due again at once
        post(f"{base}/acks", rest.sign_request(rest.ack_document(taken["messageId"], accepted=False),
                                               key, cert, chain=chain))
    second = post(f"{base}/responses", token)
    assert second.status_code == 400
    assert rest.read_answer(second.content, gateway_cert)["error"]["code"] == "REPLAYED_REQUEST"
    stale = rest.sign_request(rest.selector_document(timestamp="2020-01-01T00:00:00+00:00"), key, cert,
                              chain=chain)
    reply = post(f"{base}/responses", stale)
    assert reply.status_code == 400
    assert rest.read_answer(reply.content, gateway_cert)["error"]["code"] == "STALE_TIMESTAMP"


def test_message_id_must_be_a_uuid1(api, romashka, gateway_cert):
    status, answer, _, _ = submit(api, romashka, sample("details/DetailsChangeRequest.xml"),
                                  gateway_cert, messageId=str(uuid.uuid4()))
    assert status == 400
    assert answer["error"]["fault"] == "InvalidMessageIdFormat"


@pytest.fixture(scope="module")
def gost_api(tmp_path_factory):
    """A gateway on an all-GOST demo PKI under the ``smev`` profile (as tests/integration/test_gost.py)."""
    from conftest import demo_environment, new_database, serve_wsgi
    from gateway.storage.db import make_engine
    from gateway.wiring import build_app

    with new_database(tmp_path_factory) as url, \
            demo_environment(tmp_path_factory, url, demo_algorithm="gost2012-256",
                             algorithms="smev") as settings:
        engine = make_engine(settings.resolved_database_url)
        server, base = serve_wsgi(build_app(settings, engine=engine))
        yield settings, f"{base}/api/v1/messages"
        server.shutdown()
        engine.dispose()


def test_gost_jws_request_and_gost_signed_answer_under_smev(gost_api):
    from gateway.ops.demo import load_client
    from gateway.ops.setup import open_pki
    from gateway.pipeline.participants import add_system
    from gateway.storage.db import make_engine

    settings, url = gost_api
    gateway_cert = x509.load_pem_x509_certificates(settings.signing_cert_path.read_bytes())[0]
    key, cert, chain = load_client(settings, "ROMASHKA")
    status, answer, token, reply = submit(url, (key, cert, tuple(chain)),
                                          sample("details/DetailsChangeRequest.xml"), gateway_cert)
    assert status == 200, answer
    sent = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert sent["alg"] == "GOST3410-2012-256"
    answered = jose.parse(reply.content, json_serialization=False).header
    assert answered["alg"] == "GOST3410-2012-256"
    # an RSA certificate of the same organisation, registered, is refused by the smev profile
    pki = open_pki(settings)
    issued = pki.issue(f"rsa-{uuid.uuid4().hex[:8]}", common_name="RSA signer", inn_le=ROMASHKA.inn,
                       ogrn=ROMASHKA.ogrn, key_type="rsa2048")
    engine = make_engine(settings.resolved_database_url)
    add_system(engine, "ROMASHKA", "", [issued.certificate])
    engine.dispose()
    status, answer, _, _ = submit(url, (issued.private_key, issued.certificate, tuple(pki.intermediates())),
                                  sample("details/DetailsChangeRequest.xml"), gateway_cert)
    assert status == 400
    assert answer["error"]["code"] == "CRYPTO_CONSTRAINTS_FAILURE", answer
    assert "smev" in answer["error"]["description"]


def test_a_jws_signed_for_one_endpoint_is_refused_by_the_others(api, romashka, gateway_cert, engine):
    base = api[:-len("/messages")]
    key, cert, chain = romashka
    request = rest.request_document(sample("details/DetailsChangeRequest.xml"))
    signed_request = rest.sign_request(request, key, cert, chain=chain)
    signed_ack = rest.sign_request(rest.ack_document(build.new_message_id()), key, cert, chain=chain)
    signed_read = rest.sign_request(rest.selector_document(), key, cert, chain=chain)
    for path, token in (("/acks", signed_request), ("/responses", signed_request),
                        ("/messages", signed_ack), ("/messages", signed_read), ("/acks", signed_read)):
        reply = post(base + path, token)
        assert reply.status_code == 400, (path, reply.text)
        error = rest.read_answer(reply.content, gateway_cert)["error"]
        assert error["fault"] in ("InvalidContent", "BusinessDataTypeIsNotSupported",
                                  "InvalidMessageIdFormat"), (path, error)
    assert stored(engine, request["messageId"]) == 0
