"""``make demo``: talk to the running gateway as a demo organisation's ERP would."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

from cryptography import x509

from lxml import etree

from envelopes import build, ns
from envelopes.build import send_request
from envelopes.client import GatewayClient, GatewayFault
from envelopes.demo_data import DEMO
from envelopes.payloads import details, licensing, poa, registration, reporting
from envelopes.trust import GatewayTrust
from gateway.config import Settings
from gateway.ops.setup import client_identity
from signing.algorithms import load_private_key


def load_client(settings: Settings, mnemonic: str):
    ident = client_identity(settings, mnemonic)
    key = load_private_key(ident.key_path.read_bytes())  # RSA, EC or GOST
    certs = x509.load_pem_x509_certificates(ident.cert_path.read_bytes())
    return key, certs[0], tuple(certs[1:])


def gateway_trust(settings: Settings) -> GatewayTrust:
    """What a demo client believes: the gateway certificate of ``settings`` (pinned), chaining
    to the demo anchors, with the gateway's own revocation mode."""
    return GatewayTrust.from_files(settings.trust_dir / "anchors",
                                   gateway_certificate=settings.signing_cert_path,
                                   intermediates=[settings.trust_dir / "intermediates"],
                                   revocation=settings.revocation,
                                   fetch_timeout=settings.revocation_timeout)


def run_demo(settings: Settings, url: str | None, sender: str, *, echo=print) -> None:
    key, cert, chain = load_client(settings, sender)
    org, _snils = DEMO[sender]
    client = GatewayClient(url or settings.endpoint, gateway_trust(settings))

    echo(f"1. {sender} sends a signed registration request for {org.short_name} (ИНН {org.inn})")
    envelope = send_request(registration.build_organisation_registration(org), key, cert,
                            extra_certificates=chain)
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
        client.send_request(send_request(registration.build_organisation_registration(bad), key, cert,
                                         extra_certificates=chain))
        echo("   unexpectedly accepted!")
    except GatewayFault as exc:
        fault = exc.fault
        echo(f"   fault {fault.element}/{fault.code}: {fault.description}")
        for error in fault.validation_errors:
            echo(f"   - {error.get('xpath')} (line {error.get('line')}, column {error.get('column')}): "
                 f"{error.get('message')}")

    echo("\n4. the result comes through GetResponse (checked against ЕГРЮЛ), acknowledged with Ack")
    result = registration.parse_registration_result(_answer(client, (key, cert, chain), first.message_id))
    echo(f"   organisation {result.inn}: {result.state}")

    echo("5. the head confirms the registration (signed by the head); the organisation becomes active")
    confirm = registration.build_head_confirmation(registration.HeadConfirmation(
        org.inn, org.ogrn, org.head.inn, first.registration_number))
    confirmed, _ = client.send_request(send_request(confirm, key, cert, extra_certificates=chain))
    result = registration.parse_registration_result(
        _answer(client, (key, cert, chain), confirmed.message_id))
    echo(f"   organisation {result.inn}: {result.state}")
    for mismatch in result.mismatches:
        echo(f"   - {mismatch.field}: {mismatch.rule}")

    _reporting_story(client, settings, org, (key, cert, chain), echo)
    _licensing_story(client, settings, org, (key, cert, chain), echo)
    _poa_story(client, settings, org, (key, cert, chain), echo)
    _details_story(client, settings, org, (key, cert, chain), echo)


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


def _report(org, year: int, balance: reporting.Balance, correction: int = 0) -> etree._Element:
    return reporting.build_report_submission(reporting.ReportSubmission(
        org.inn, org.kpp, "BALANCE", year, "34", reporting.canonical(reporting.build_balance(balance)),
        correction))


def _reporting_story(client, settings, org, creds, echo):
    first, corrected = reporting.Balance(900, 300, 1000, 200), reporting.Balance(900, 300, 1100, 100)
    year = datetime.now(timezone.utc).year - 2  # surely past its deadline: accepted, flagged late
    echo(f"\n6. the head submits the {year} annual balance sheet after its deadline")
    _, answer = _ask(client, creds, _report(org, year, first))
    if etree.QName(answer).localname != "ReportReceipt":
        refusal = reporting.parse_report_refusal(answer)
        echo("   refused: " + "; ".join(e.code for e in refusal.errors))
        echo("   (make demo ran before: a report is accepted once; the correction below follows it)")
    else:
        receipt = reporting.parse_report_receipt(answer)
        echo(f"   receipt {receipt.registration_number}, control code {receipt.control_code}, "
             f"late: {'true' if receipt.late else 'false'} (deadline {receipt.deadline.isoformat()})")
    echo("7. the same report again is refused; a correction supersedes the accepted one")
    _, answer = _ask(client, creds, _report(org, year, first))
    refusal = reporting.parse_report_refusal(answer)
    echo("   " + "; ".join(f"{e.code}: {e.description}" for e in refusal.errors))
    for correction in range(1, 100):
        meta, answer = _ask(client, creds, _report(org, year, corrected, correction))
        if etree.QName(answer).localname == "ReportReceipt":
            receipt = reporting.parse_report_receipt(answer)
            echo(f"   correction {correction}: receipt {receipt.registration_number}, "
                 f"supersedes {receipt.supersedes}")
            break
    else:
        return
    echo("   the tax office takes the correction with GetRequest and processes it (SendResponse)")
    office = load_client(settings, "TAXOFFICE")
    reply_to = _provider_takes(client, office, ns.REPORTING, "ReportSubmission", meta.message_id)
    if reply_to is None:
        echo("   (the report is not in the tax office's queue)")
        return
    okey, ocert, ochain = office
    client.post(build.send_response(reply_to, okey, ocert, extra_certificates=ochain,
                                    payload=reporting.build_report_processed(reporting.ReportProcessed(
                                        receipt.registration_number, datetime.now(timezone.utc),
                                        "обработан"))))
    word = _answer(client, creds, meta.message_id)
    processed = reporting.parse_report_processed(word)
    echo(f"   the consumer reads {etree.QName(word).localname}: report "
         f"{processed.registration_number} at {processed.processed_at.isoformat()}")


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


def _documents(**files: bytes) -> tuple[licensing.Document, ...]:
    return tuple(licensing.Document.of(kind, f"{kind.lower()}.pdf", data) for kind, data in files.items())


def _licensing_story(client, settings, org, creds, echo):
    echo("\n8. the head applies for an alcohol retail licence without two documents")
    meta, answer = _ask(client, creds, licensing.build_licence_application(licensing.LicenceApplication(
        org.inn, "ALCOHOL_RETAIL", "Розничная продажа алкогольной продукции", (org.legal_address,),
        _documents(CHARTER=b"charter", STATE_FEE=b"fee"))))
    number = meta.registration_number
    checklist = licensing.parse_missing_documents_checklist(answer)
    echo(f"   application {number}: checklist of missing documents: "
         f"{', '.join(kind for kind, _ in checklist.missing)}")
    _, answer = _ask(client, creds, licensing.build_licence_application_supplement(
        licensing.LicenceApplicationSupplement(org.inn, number,
                                               _documents(PREMISES_RIGHT=b"lease", CASH_REGISTER=b"kkt"))))
    status = licensing.parse_licence_application_status(answer)
    echo(f"9. supplemented: {status.state}; the licensing authority takes it")
    authority = load_client(settings, "LICENSOR")
    akey, acert, achain = authority
    reply_to = _provider_takes(client, authority, ns.LICENSING, "LicenceApplication", meta.message_id)
    if reply_to is None:
        echo("   (the application is not in the authority's queue)")
        return
    client.post(build.send_response(reply_to, akey, acert, extra_certificates=achain,
                                    payload=licensing.build_licence_application_status(
                                        licensing.LicenceApplicationStatus(number, "under_review"))))
    licence_number = f"77РПА{int(meta.message_id.replace('-', ''), 16) % 10**7:07d}"
    client.post(build.send_response(reply_to, akey, acert, extra_certificates=achain,
                                    payload=licensing.build_licence_decision(licensing.LicenceDecision(
                                        number, granted=licensing.LicenceGrant(
                                            licence_number, datetime.now(timezone.utc).date())))))
    echo(f"   the authority granted licence {licence_number}; it is in the licence register: "
         f"{_in_register(settings, licence_number)}")


def _in_register(settings, licence_number) -> bool:
    from gateway.registers import Registers

    return Registers(settings.registers_url).licence(licence_number) is not None


def _poa_story(client, settings, org, creds, echo):
    import uuid
    from datetime import timedelta

    from envelopes.demo_data import DEMO_REPRESENTATIVE_INN
    from gateway.registers import Registers

    # the representative as the persons register knows them (asked over its API, like the gateway)
    person = Registers(settings.registers_url).person(DEMO_REPRESENTATIVE_INN)
    if person is None:
        raise SystemExit(f"the persons register does not know {DEMO_REPRESENTATIVE_INN}")
    rep = poa.Representative(person.last_name, person.first_name, person.middle_name,
                             person.inn, person.snils)
    number = str(uuid.uuid4())
    today = datetime.now(timezone.utc).date()
    echo(f"\n10. the head issues a power of attorney to {rep.last_name} {rep.first_name} "
         "(REPORTS_SUBMIT)")
    _, answer = _ask(client, creds, poa.build_power_of_attorney_registration(poa.PowerOfAttorneyRegistration(
        poa.PowerOfAttorney(number, today, today + timedelta(days=365), poa.Principal.of(org), rep,
                            ("REPORTS_SUBMIT",)))))
    if etree.QName(answer).localname == "PowerOfAttorneyRegistered":
        registered = poa.parse_power_of_attorney_registered(answer)
        echo(f"   power {number}: registered, registration number {registered.registration_number}, "
             f"valid until {registered.valid_until.isoformat()}")
    else:
        rejected = poa.parse_power_of_attorney_rejected(answer)
        echo(f"   power {number}: rejected: " + "; ".join(
            f"{r.code} {r.description}" for r in rejected.reasons))
    _, answer = _ask(client, creds, poa.build_power_of_attorney_revocation(
        poa.PowerOfAttorneyRevocation(number, org.inn, today, "поручение выполнено")))
    echo(f"11. revoked by the head: {poa.parse_power_of_attorney_result(answer).state}")


def _details_story(client, settings, org, creds, echo):
    import requests

    phone = f"+7495{datetime.now(timezone.utc):%H%M%S}0"  # another number on every run
    address = details.Address("г. Москва, ул. Новый Арбат, д. 15", "119019")
    echo(f"\n12. the head changes the phone to {phone} and the legal address to «{address.text}»")
    meta, answer = _ask(client, creds, details.build_details_change(details.DetailsChange(
        org.inn, org.ogrn, org.kpp, legal_address=address, phone=phone)))
    result = details.parse_details_change_result(answer)
    echo(f"   change {meta.registration_number}: {result.state} (checked against ЕГРЮЛ)")
    _, answer = _ask(client, creds, details.build_details_change_confirmation(
        details.DetailsChangeConfirmation(org.inn, meta.registration_number)))
    result = details.parse_details_change_result(answer)
    record = requests.get(f"{settings.registers_url}/egrul/legal-entities/{org.inn}", timeout=5).json()
    echo(f"   confirmed: {result.state}; ЕГРЮЛ now has phone {record.get('phone')}, "
         f"address «{record.get('address')}»")
    wrong = next(o for o, _ in DEMO.values() if o.inn != org.inn).ogrn  # a real ОГРН, not this one's
    echo(f"13. a change naming another organisation's ОГРН ({wrong}) is rejected, naming the field")
    _, answer = _ask(client, creds, details.build_details_change(details.DetailsChange(
        org.inn, wrong, org.kpp, phone=phone)))
    result = details.parse_details_change_result(answer)
    echo(f"   {result.state}: " + "; ".join(f"{m.field} at {m.xpath.rsplit('/', 2)[-1]}: submitted "
                                          f"{m.submitted}, ЕГРЮЛ {m.register}" for m in result.mismatches))


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
