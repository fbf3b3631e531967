"""TestMessage on SendRequest and SendResponse, over real HTTP, for every domain: the message is
checked and journaled, nothing else happens (no application, no queue item, no outbox row, no
webhook event, no attachment, no register write), and the signed receipt's ``gw:TestPreview``
says what the same message sent for real does — which the live send then confirms."""
from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from envelopes import build, ns
from envelopes.demo_data import ROMASHKA
from envelopes.payloads import codec, licensing as lic, reporting
from envelopes.payloads.details import (Address, DetailsChange, DetailsChangeConfirmation,
                                         build_details_change, build_details_change_confirmation)
from envelopes.payloads.poa import (PowerOfAttorney, PowerOfAttorneyRegistration, Principal,
                                     Representative)
from envelopes.payloads.registration import build_organisation_registration
from gateway.ops.demo import load_client
from gateway.pipeline.validate import SchemaSet
from gateway.registers import Registers
from gateway.storage.schema import (application_transitions, applications, attachments, journal,
                                    messages, outbox, queue_items, webhook_events)
from registry_stubs.registers import FIXTURES
from support import T, answers, ok, taken

GW = ns.RECEIPT
UNTOUCHED = (applications, application_transitions, queue_items, outbox, webhook_events, attachments)


@pytest.fixture(scope="module")
def head(demo_client):
    key, cert, chain = demo_client
    return key, cert, {"extra_certificates": chain}


@pytest.fixture(scope="module")
def provider(demo_settings):
    def creds(name):
        key, cert, chain = load_client(demo_settings, name)  # made by `gateway setup`
        return key, cert, {"extra_certificates": chain}
    return creds


def counts(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                for t in UNTOUCHED + (messages, journal)}


def state_of(engine, number):
    with engine.connect() as conn:
        return conn.execute(select(applications.c.state)
                            .where(applications.c.registration_number == number)).scalar_one()


def send_test(url, engine, body_of):
    """Send ``body_of(message_id)`` (a TestMessage); prove it changed nothing but the message
    and its journal; its receipt's preview as a dict."""
    before = counts(engine)
    message_id = build.new_message_id()
    receipt = ok(url, body_of(message_id))
    after = counts(engine)
    assert {k: after[k] for k in after if k not in ("messages", "journal")} == \
        {k: before[k] for k in before if k not in ("messages", "journal")}
    assert after["messages"] == before["messages"] + 1
    assert after["journal"] == before["journal"] + 2  # accepted (as a test) and its receipt
    with engine.connect() as conn:
        assert conn.execute(select(messages.c.test_message)
                            .where(messages.c.message_id == message_id)).scalar_one() is True
        detail = conn.execute(select(journal.c.detail).where(journal.c.message_id == message_id)
                              .where(journal.c.direction == "IN")).scalar_one()
    assert (detail if isinstance(detail, dict) else json.loads(detail))["test"] is True
    element = receipt.find(f".//{{{T}}}MessageMetadata/{{{GW}}}TestPreview")
    assert element is not None and element.get("Done") == "false"
    assert SchemaSet().get("gateway-receipt-1.0.xsd").errors(element) == []
    return message_id, receipt, read(element)


def read(preview) -> dict:
    def text(el, tag):
        return el.findtext(f"{{{GW}}}{tag}")
    return {
        "changes": [{tag: text(c, tag) for tag in ("Domain", "Kind", "OrganisationINN", "ApplicationId",
                                                   "FromState", "ToState", "RegistrationNumber")}
                    | {"Issued": c.find(f"{{{GW}}}RegistrationNumber").get("Issued")
                       if c.find(f"{{{GW}}}RegistrationNumber") is not None else None}
                    for c in preview.findall(f"{{{GW}}}StateChange")],
        "queued": [{"Kind": text(q, "Kind"), "Recipient": text(q, "Recipient"),
                    "ContentType": text(q, "ContentType"), "Status": text(q, "Status"),
                    "content": q.find(f"{{{GW}}}Content")[0] if q.find(f"{{{GW}}}Content") is not None else None}
                   for q in preview.findall(f"{{{GW}}}Queued")],
        "writes": [(text(w, "Action"), json.loads(text(w, "Arguments")))
                   for w in preview.findall(f"{{{GW}}}RegisterWrite")],
    }


def test_registration_request(gateway_url, engine, head):
    key, cert, kw = head
    _, receipt, preview = send_test(gateway_url, engine, lambda mid: build.send_request(
        build_organisation_registration(ROMASHKA), key, cert, message_id=mid, test_message=True, **kw))
    number = receipt.findtext(f".//{{{GW}}}RegistrationNumber")
    [change] = preview["changes"]
    assert (change["Domain"], change["OrganisationINN"], change["FromState"], change["ApplicationId"]) == \
        ("registration", ROMASHKA.inn, None, None)
    assert (change["RegistrationNumber"], change["Issued"]) == (number, "false")
    [answer] = preview["queued"]
    assert (answer["Kind"], answer["Recipient"]) == ("RESPONSE", "ROMASHKA")
    assert preview["writes"] == []

    live_id = build.new_message_id()  # the same request for real: the state the preview named
    live = ok(gateway_url, build.send_request(build_organisation_registration(ROMASHKA), key, cert,
                                              message_id=live_id, **kw))
    assert state_of(engine, live.findtext(f".//{{{GW}}}RegistrationNumber")) == change["ToState"]
    [real] = answers(gateway_url, head, live_id)
    assert answer["ContentType"] == f"{{{etree_ns(real)}}}{real.tag.split('}')[1]}"


def etree_ns(element) -> str:
    return element.tag[1:].split("}")[0]


def submission(year, period):
    balance = reporting.canonical(reporting.build_balance(reporting.Balance(1, 2, 3, 0)))
    return reporting.build_report_submission(reporting.ReportSubmission(
        ROMASHKA.inn, ROMASHKA.kpp, "BALANCE", year, period, balance))


def take_all(url, creds, namespace, root) -> dict[str, str]:
    key, cert, kw = creds
    reply_to = {}
    while (got := taken(ok(url, build.get_request(key, cert, namespace=namespace, root=root, **kw)),
                        "Request")) is not None:
        inner, data = got
        ok(url, build.ack(data.findtext(f"{{{T}}}MessageID"), key, cert, **kw))
        reply_to[data.findtext(f"{{{T}}}MessageID")] = inner.findtext(f"{{{T}}}ReplyTo")
    return reply_to


def test_reporting_request_and_the_tax_offices_response(gateway_url, engine, head, provider):
    key, cert, kw = head
    year = 2100 + uuid.uuid4().int % 6900  # a period no other test reports (1 in 6,900 per other report)
    _, _, preview = send_test(gateway_url, engine, lambda mid: build.send_request(
        submission(year, "21"), key, cert, message_id=mid, test_message=True, **kw))
    [change] = preview["changes"]
    assert (change["Domain"], change["ToState"]) == ("reporting", "accepted")
    kinds = {(q["Kind"], q["Recipient"]) for q in preview["queued"]}
    assert kinds == {("REQUEST", "TAXOFFICE"), ("RESPONSE", "ROMASHKA")}  # forwarded, answered
    [answer] = [q for q in preview["queued"] if q["Kind"] == "RESPONSE"]
    assert isinstance(codec.parse(answer["content"]), reporting.ReportReceipt)

    tax = provider("TAXOFFICE")
    live_id = build.new_message_id()
    ok(gateway_url, build.send_request(submission(year, "21"), key, cert, message_id=live_id, **kw))
    [receipt] = answers(gateway_url, head, live_id)
    number = codec.parse(receipt).registration_number
    reply_to = take_all(gateway_url, tax, ns.REPORTING, "ReportSubmission")[live_id]
    tk, tc, tkw = tax
    processed = reporting.build_report_processed(reporting.ReportProcessed(number, datetime.now(timezone.utc)))
    _, _, preview = send_test(gateway_url, engine, lambda mid: build.send_response(
        reply_to, tk, tc, payload=processed, message_id=mid, test_message=True, **tkw))
    [change] = preview["changes"]
    assert (change["FromState"], change["ToState"], change["RegistrationNumber"]) == \
        ("accepted", "processed", None)
    assert [(q["Kind"], q["Recipient"], q["ContentType"]) for q in preview["queued"]] == \
        [("RESPONSE", "ROMASHKA", f"{{{ns.REPORTING}}}ReportProcessed")]
    assert state_of(engine, number) == "accepted" and answers(gateway_url, head, live_id) == []

    ok(gateway_url, build.send_response(reply_to, tk, tc, payload=processed, **tkw))  # for real
    assert state_of(engine, number) == change["ToState"]
    assert [a.tag for a in answers(gateway_url, head, live_id)] == [f"{{{ns.REPORTING}}}ReportProcessed"]


DOCS = {"CHARTER": b"charter", "PREMISES_RIGHT": b"lease", "STATE_FEE": b"fee", "CASH_REGISTER": b"kkt"}


def test_licensing_request_and_the_authoritys_grant(gateway_url, engine, demo_settings, head, provider):
    key, cert, kw = head
    request = lic.build_licence_application(lic.LicenceApplication(
        ROMASHKA.inn, "ALCOHOL_RETAIL", "Розничная продажа алкоголя", ("г. Москва, ул. Тверская, д. 1",),
        tuple(lic.Document.of(k, f"{k.lower()}.pdf", v) for k, v in DOCS.items())))
    _, _, preview = send_test(gateway_url, engine, lambda mid: build.send_request(
        request, key, cert, message_id=mid, test_message=True, **kw))
    [change] = preview["changes"]
    assert (change["Domain"], change["ToState"]) == ("licensing", "submitted")
    assert ("REQUEST", "LICENSOR") in {(q["Kind"], q["Recipient"]) for q in preview["queued"]}

    authority = provider("LICENSOR")
    ak, ac, akw = authority
    live_id = build.new_message_id()
    live = ok(gateway_url, build.send_request(request, key, cert, message_id=live_id, **kw))
    number = live.findtext(f".//{{{GW}}}RegistrationNumber")
    assert state_of(engine, number) == "submitted"
    reply_to = take_all(gateway_url, authority, ns.LICENSING, "LicenceApplication")[live_id]
    ok(gateway_url, build.send_response(reply_to, ak, ac, payload=lic.build_licence_application_status(
        lic.LicenceApplicationStatus(number, "under_review")), **akw))
    licence_number = f"77РПА{uuid.uuid4().int % 10**7:07d}"
    grant = lic.build_licence_decision(lic.LicenceDecision(
        number, granted=lic.LicenceGrant(licence_number, date.today())))
    _, _, preview = send_test(gateway_url, engine, lambda mid: build.send_response(
        reply_to, ak, ac, payload=grant, message_id=mid, test_message=True, **akw))
    [change] = preview["changes"]
    assert (change["FromState"], change["ToState"]) == ("under_review", "granted")
    [(action, args)] = preview["writes"]
    assert action == "enter_licence" and args["record"]["number"] == licence_number
    registers = Registers(demo_settings.registers_url)
    assert registers.licence(licence_number) is None and state_of(engine, number) == "under_review"

    ok(gateway_url, build.send_response(reply_to, ak, ac, payload=grant, **akw))
    assert state_of(engine, number) == "granted"
    assert registers.licence(licence_number).holder_inn == args["record"]["holder_inn"]


def test_power_of_attorney_registration(gateway_url, engine, demo_settings, head):
    key, cert, kw = head
    person = json.loads((FIXTURES / "persons.json").read_text("utf-8"))[-1]
    number = str(uuid.uuid4())
    request = codec.build(PowerOfAttorneyRegistration(PowerOfAttorney(
        number, date.today(), date.today() + timedelta(days=30), Principal.of(ROMASHKA),
        Representative(person["last_name"], person["first_name"], person["middle_name"],
                       person["inn"], person["snils"]), ("REGISTRATION_CHANGE",), False, None)))
    _, _, preview = send_test(gateway_url, engine, lambda mid: build.send_request(
        request, key, cert, message_id=mid, test_message=True, **kw))
    [change] = preview["changes"]
    assert (change["Domain"], change["ToState"]) == ("poa", "registered")
    [(action, args)] = preview["writes"]
    assert (action, args["record"]["number"]) == ("register_power_of_attorney", number)
    registers = Registers(demo_settings.registers_url)
    assert registers.power_of_attorney(number) is None  # no register call

    ok(gateway_url, build.send_request(request, key, cert, **kw))
    assert registers.power_of_attorney(number).representative_inn == person["inn"]


def test_details_change_and_its_confirmation(gateway_url, engine, demo_settings, head):
    key, cert, kw = head
    phone = f"+7495{uuid.uuid4().int % 10**7:07d}"
    change = build_details_change(DetailsChange(ROMASHKA.inn, ROMASHKA.ogrn, ROMASHKA.kpp,
                                                Address("г. Москва, ул. Новый Арбат, д. 15", "119019"),
                                                phone, "office@romashka.example"))
    _, _, preview = send_test(gateway_url, engine, lambda mid: build.send_request(
        change, key, cert, message_id=mid, test_message=True, **kw))
    [moved] = preview["changes"]
    assert (moved["Domain"], moved["ToState"]) == ("details", "verified")

    live = ok(gateway_url, build.send_request(change, key, cert, **kw))
    number = live.findtext(f".//{{{GW}}}RegistrationNumber")
    assert state_of(engine, number) == "verified"
    confirm = build_details_change_confirmation(DetailsChangeConfirmation(ROMASHKA.inn, number))
    _, _, preview = send_test(gateway_url, engine, lambda mid: build.send_request(
        confirm, key, cert, message_id=mid, test_message=True, **kw))
    [moved] = preview["changes"]
    assert (moved["FromState"], moved["ToState"], moved["RegistrationNumber"]) == ("verified", "applied", None)
    [(action, args)] = preview["writes"]
    assert action == "change_legal_entity_details" and args["inn"] == ROMASHKA.inn
    assert state_of(engine, number) == "verified"
    assert Registers(demo_settings.registers_url).legal_entity(ROMASHKA.inn) is not None

    ok(gateway_url, build.send_request(confirm, key, cert, **kw))
    assert state_of(engine, number) == "applied"


def test_the_sdk_reads_the_preview_and_the_gateways_signature_covers_it(gateway_url, engine, head,
                                                                         gateway_trust):
    from envelopes.client import UntrustedReceipt, read_receipt

    key, cert, kw = head
    _, receipt, preview = send_test(gateway_url, engine, lambda mid: build.send_request(
        build_organisation_registration(ROMASHKA), key, cert, message_id=mid, test_message=True, **kw))
    metadata, _ = read_receipt(receipt, gateway_trust)
    assert read(metadata.test_preview)["changes"] == preview["changes"] != []
    metadata.test_preview.find(f"{{{GW}}}StateChange/{{{GW}}}ToState").text = "active"  # a forged promise
    with pytest.raises(UntrustedReceipt):
        read_receipt(receipt, gateway_trust)
    live = ok(gateway_url, build.send_request(build_organisation_registration(ROMASHKA), key, cert, **kw))
    assert read_receipt(live, gateway_trust)[0].test_preview is None
