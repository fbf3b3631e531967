"""``make demo``: talk to the running gateway as a demo organisation's ERP would."""
from __future__ import annotations

import dataclasses

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from lxml import etree

from envelopes import build, ns
from envelopes.build import send_request
from envelopes.client import GatewayClient, GatewayFault
from envelopes.demo_data import DEMO
from envelopes.registration import registration_request
from gateway.config import Settings
from gateway.setup import client_identity


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


def _r(element, tag):
    return element.findtext(ns.q(ns.REGISTRATION, tag))


def _result_for(client, key, cert, chain, message_id):
    """Take answers until the one for ``message_id``; acknowledge each."""
    for _ in range(100):
        _, root = client.post(build.get_response(key, cert, extra_certificates=chain))
        response = root.find(f".//{{{ns.SMEV_TYPES}}}Response")
        if response is None:
            raise SystemExit("no answer in the queue")
        data = response.find(f"{{{ns.SMEV_TYPES}}}SenderProvidedResponseData")
        client.post(build.ack(data.findtext(f"{{{ns.SMEV_TYPES}}}MessageID"), key, cert,
                              extra_certificates=chain))
        if response.findtext(f"{{{ns.SMEV_TYPES}}}OriginalMessageId") == message_id:
            return data.find(f".//{{{ns.REGISTRATION}}}RegistrationResult")
    raise SystemExit("the answer did not arrive")


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
