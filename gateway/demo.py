"""``make demo``: talk to the running gateway as a demo organisation's ERP would."""
from __future__ import annotations

import dataclasses

from cryptography import x509
from cryptography.hazmat.primitives import serialization

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
