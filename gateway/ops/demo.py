"""``make demo``: talk to the running gateway as a demo organisation's ERP would."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from lxml import etree

from envelopes import build, ns
from envelopes.build import send_request
from envelopes.client import GatewayClient, GatewayFault
from envelopes.demo_data import DEMO
from envelopes.registration import registration_request
from gateway.config import Settings
from gateway.ops.setup import client_identity


def load_client(settings: Settings, mnemonic: str):
    ident = client_identity(settings, mnemonic)
    key = serialization.load_pem_private_key(ident.key_path.read_bytes(), password=None)
    certs = x509.load_pem_x509_certificates(ident.cert_path.read_bytes())
    return key, certs[0], tuple(certs[1:])


def run_demo(settings: Settings, url: str | None, sender: str, *, echo=print) -> None:
    key, cert, chain = load_client(settings, sender)
    org, _snils = DEMO[sender]
    client = GatewayClient(url or settings.endpoint)

    echo(f"1. {sender} sends a signed registration request for {org.short_name} (ИНН {org.inn})")
    envelope = send_request(registration_request(org), key, cert, extra_certificates=chain)
    meta, verified = client.send_request(envelope)
    _print_receipt(meta, verified, echo)
    first = meta

    echo("2. the same request again: the original receipt comes back, nothing changes")
    again, _ = client.send_request(envelope)
    echo(f"   same MessageId {again.message_id}, status {again.status}, "
         f"sent at {again.sending_timestamp.isoformat()}\n")

    echo("3. a request with a wrong ОГРН check digit is refused, naming the field")
    bad = dataclasses.replace(org, ogrn=org.ogrn[:-1] + str((int(org.ogrn[-1]) + 1) % 10))
    try:
        client.send_request(send_request(registration_request(bad), key, cert, extra_certificates=chain))
        echo("   unexpectedly accepted!")
    except GatewayFault as exc:
        fault = exc.fault
        echo(f"   fault {fault.element}/{fault.code}: {fault.description}")
        for error in fault.validation_errors:
            echo(f"   - {error.get('xpath')} (line {error.get('line')}, column {error.get('column')}): "
                 f"{error.get('message')}")

    echo("\n4. the result comes through GetResponse (checked against ЕГРЮЛ), acknowledged with Ack")
    result = _result_for(client, key, cert, chain, first.message_id)
    echo(f"   organisation {_r(result, 'INN')}: {_r(result, 'State')}")

    echo("5. the head confirms the registration (signed by the head); the organisation becomes active")
    confirm = etree.Element(ns.q(ns.REGISTRATION, "HeadConfirmationRequest"), nsmap={None: ns.REGISTRATION})
    for tag, value in (("INN", org.inn), ("OGRN", org.ogrn), ("HeadINN", org.head.inn),
                       ("RegistrationNumber", first.registration_number)):
        etree.SubElement(confirm, ns.q(ns.REGISTRATION, tag)).text = value
    confirmed, _ = client.send_request(send_request(confirm, key, cert, extra_certificates=chain))
    result = _result_for(client, key, cert, chain, confirmed.message_id)
    echo(f"   organisation {_r(result, 'INN')}: {_r(result, 'State')}")
    for mismatch in result.findall(ns.q(ns.REGISTRATION, "Mismatch")):
        echo(f"   - {_r(mismatch, 'Field')}: {_r(mismatch, 'Rule')}")

    _reporting_story(client, settings, org, (key, cert, chain), echo)
    _licensing_story(client, settings, org, (key, cert, chain), echo)
    _poa_story(client, org, (key, cert, chain), echo)


def _ask(client, creds, payload):
    """Send a request, take its answer from GetResponse (acknowledging every answer taken)."""
    key, cert, chain = creds
    meta, _ = client.send_request(send_request(payload, key, cert, extra_certificates=chain))
    return meta, _answer(client, creds, meta.message_id)


def _answer(client, creds, message_id):
    key, cert, chain = creds
    for _ in range(200):
        _, root = client.post(build.get_response(key, cert, extra_certificates=chain))
        response = root.find(f".//{{{ns.SMEV_TYPES}}}Response")
        if response is None:
            raise SystemExit("no answer in the queue")
        data = response.find(f"{{{ns.SMEV_TYPES}}}SenderProvidedResponseData")
        client.post(build.ack(data.findtext(f"{{{ns.SMEV_TYPES}}}MessageID"), key, cert,
                              extra_certificates=chain))
        if response.findtext(f"{{{ns.SMEV_TYPES}}}OriginalMessageId") == message_id:
            return data.find(f"{{{ns.SMEV_BASIC}}}MessagePrimaryContent")[0]
    raise SystemExit("the answer did not arrive")


def _reporting_story(client, settings, org, creds, echo):
    from envelopes.payloads import reporting as codec
    from envelopes.reporting import balance, submission

    R = ns.REPORTING
    year = datetime.now(timezone.utc).year - 2  # surely past its deadline: accepted, flagged late
    echo(f"\n6. the head submits the {year} annual balance sheet after its deadline")
    _, receipt = _ask(client, creds, submission(org.inn, org.kpp, year, "34", balance(900, 300, 1000, 200)))
    if receipt.tag != f"{{{R}}}ReportReceipt":
        echo("   refused: " + "; ".join(e.findtext(f"{{{R}}}Code") for e in receipt.iter(f"{{{R}}}Error")))
        echo("   (make demo ran before: a report is accepted once; the correction below follows it)")
    else:
        echo(f"   receipt {receipt.findtext(f'{{{R}}}RegistrationNumber')}, control code "
             f"{receipt.findtext(f'{{{R}}}ControlCode')}, late: {receipt.findtext(f'{{{R}}}Late')} "
             f"(deadline {receipt.findtext(f'{{{R}}}Deadline')})")
    echo("7. the same report again is refused; a correction supersedes the accepted one")
    _, refusal = _ask(client, creds, submission(org.inn, org.kpp, year, "34", balance(900, 300, 1000, 200)))
    echo("   " + "; ".join(f"{e.findtext(f'{{{R}}}Code')}: {e.findtext(f'{{{R}}}Description')}"
                          for e in refusal.iter(f"{{{R}}}Error")))
    for correction in range(1, 100):
        meta, answer = _ask(client, creds, submission(org.inn, org.kpp, year, "34",
                                                      balance(900, 300, 1100, 100), correction=correction))
        if answer.tag == f"{{{R}}}ReportReceipt":
            echo(f"   correction {correction}: receipt {answer.findtext(f'{{{R}}}RegistrationNumber')}, "
                 f"supersedes {answer.findtext(f'{{{R}}}Supersedes')}")
            break
    else:
        return
    echo("   the tax office takes the correction with GetRequest and processes it (SendResponse)")
    office = load_client(settings, "TAXOFFICE")
    reply_to = _provider_takes(client, office, R, "ReportSubmission", meta.message_id)
    if reply_to is None:
        echo("   (the report is not in the tax office's queue)")
        return
    okey, ocert, ochain = office
    number = answer.findtext(f"{{{R}}}RegistrationNumber")
    client.post(build.send_response(reply_to, okey, ocert, extra_certificates=ochain,
                                    payload=codec.build_report_processed(codec.ReportProcessed(
                                        number, datetime.now(timezone.utc), "обработан"))))
    word = _answer(client, creds, meta.message_id)
    echo(f"   the consumer reads {etree.QName(word).localname}: report "
         f"{word.findtext(f'{{{R}}}RegistrationNumber')} at {word.findtext(f'{{{R}}}ProcessedAt')}")


def _provider_takes(client, provider, namespace, root, message_id):
    """A provider works through its queue (GetRequest, Ack) up to ``message_id``; its ReplyTo,
    or None if the queue runs out first."""
    key, cert, chain = provider
    while True:
        _, answer = client.post(build.get_request(key, cert, extra_certificates=chain,
                                                  namespace=namespace, root=root))
        request = answer.find(f".//{{{ns.SMEV_TYPES}}}Request")
        if request is None:
            return None
        data = request.find(f"{{{ns.SMEV_TYPES}}}SenderProvidedRequestData")
        taken_id = data.findtext(f"{{{ns.SMEV_TYPES}}}MessageID")
        client.post(build.ack(taken_id, key, cert, extra_certificates=chain))
        if taken_id == message_id:
            return request.findtext(f"{{{ns.SMEV_TYPES}}}ReplyTo")


def _licensing_story(client, settings, org, creds, echo):
    from envelopes import licensing

    L = ns.LICENSING
    echo("\n8. the head applies for an alcohol retail licence without two documents")
    meta, checklist = _ask(client, creds, licensing.application(
        org.inn, "ALCOHOL_RETAIL", "Розничная продажа алкогольной продукции", [org.legal_address],
        {"CHARTER": b"charter", "STATE_FEE": b"fee"}))
    number = meta.registration_number
    missing = [m.findtext(f"{{{L}}}Kind") for m in checklist.iter(f"{{{L}}}MissingDocument")]
    echo(f"   application {number}: checklist of missing documents: {', '.join(missing)}")
    _, status = _ask(client, creds, licensing.supplement(
        org.inn, number, {"PREMISES_RIGHT": b"lease", "CASH_REGISTER": b"kkt"}))
    echo(f"9. supplemented: {status.findtext(f'{{{L}}}State')}; the licensing authority takes it")
    authority = load_client(settings, "LICENSOR")
    akey, acert, achain = authority
    reply_to = _provider_takes(client, authority, L, "LicenceApplication", meta.message_id)
    if reply_to is None:
        echo("   (the application is not in the authority's queue)")
        return
    client.post(build.send_response(reply_to, akey, acert, extra_certificates=achain,
                                    payload=licensing.status(number, "under_review")))
    licence_number = f"77РПА{int(meta.message_id.replace('-', ''), 16) % 10**7:07d}"
    client.post(build.send_response(reply_to, akey, acert, extra_certificates=achain,
                                    payload=licensing.decision_granted(
                                        number, licence_number,
                                        datetime.now(timezone.utc).date().isoformat())))
    echo(f"   the authority granted licence {licence_number}; it is in the licence register: "
         f"{_in_register(settings, licence_number)}")


def _in_register(settings, licence_number) -> bool:
    from gateway.registers import Registers

    return Registers(settings.registers_url).licence(licence_number) is not None


def _poa_story(client, org, creds, echo):
    import json
    import uuid
    from datetime import timedelta

    from envelopes.poa import Representative, registration, revocation
    from registry_stubs.registers import FIXTURES

    P = ns.POWER_OF_ATTORNEY
    person = json.loads((FIXTURES / "persons.json").read_text("utf-8"))[-1]
    rep = Representative(person["last_name"], person["first_name"], person["middle_name"],
                         person["inn"], person["snils"])
    number = str(uuid.uuid4())
    today = datetime.now(timezone.utc).date()
    echo(f"\n10. the head issues a power of attorney to {rep.last_name} {rep.first_name} "
         "(REPORTS_SUBMIT)")
    _, result = _ask(client, creds, registration(number, org, rep, ["REPORTS_SUBMIT"], today,
                                                 today + timedelta(days=365)))
    if result.tag == f"{{{P}}}PowerOfAttorneyRegistered":
        echo(f"   power {number}: registered, registration number "
             f"{result.findtext(f'{{{P}}}RegistrationNumber')}, valid until "
             f"{result.findtext(f'{{{P}}}ValidUntil')}")
    else:
        echo(f"   power {number}: rejected: " + "; ".join(
            f"{r.findtext(f'{{{P}}}Code')} {r.findtext(f'{{{P}}}Description')}"
            for r in result.findall(f"{{{P}}}Reason")))
    _, result = _ask(client, creds, revocation(number, org.inn, today, "поручение выполнено"))
    echo(f"11. revoked by the head: {result.findtext(f'{{{P}}}State')}")


def _r(element, tag):
    return element.findtext(ns.q(ns.REGISTRATION, tag))


def _result_for(client, key, cert, chain, message_id):
    """The RegistrationResult answering ``message_id``."""
    return _answer(client, (key, cert, chain), message_id)


def _print_receipt(meta, verified, echo) -> None:
    echo("   receipt (MessageMetadata signed by the gateway, signature verified):")
    echo(f"     MessageId        {meta.message_id}")
    echo(f"     MessageType      {meta.message_type}")
    echo(f"     Sender           {meta.sender.mnemonic} ({meta.sender.human_readable_name})")
    echo(f"     Recipient        {meta.recipient.mnemonic} ({meta.recipient.human_readable_name})")
    echo(f"     SendingTimestamp {meta.sending_timestamp.isoformat()}")
    echo(f"     Status           {meta.status}")
    echo(f"     Registration no. {meta.registration_number}")
    echo(f"     Content digest   {meta.content_digest} (SHA-256 of what the gateway received)")
    echo(f"     signed by        {verified.certificate.subject.rfc4514_string()} "
         f"({verified.signature_method})\n")
