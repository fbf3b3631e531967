"""An independent SOAP client (zeep, no tweaks) loads the served WSDL and sends a signed request.

zeep builds the envelope from the WSDL; a zeep plugin signs SenderProvidedRequestData just
before the envelope leaves, as an ERP's SOAP stack with a signing handler would.
"""
from __future__ import annotations

import uuid

import pytest
from lxml import etree
from zeep import Client, Plugin
from zeep.exceptions import Fault

from envelopes import ns
from envelopes.client import read_receipt
from envelopes.demo_data import ROMASHKA
from envelopes.registration import registration_request
from signing.xmldsig import sign_detached


class SigningPlugin(Plugin):
    def __init__(self, key, cert, chain):
        self.key, self.cert, self.chain = key, cert, chain

    def egress(self, envelope, http_headers, operation, binding_options):
        data = envelope.find(f".//{{{ns.SMEV_TYPES}}}SenderProvidedRequestData")
        holder = envelope.find(f".//{{{ns.SMEV_TYPES}}}CallerInformationSystemSignature")
        for old in list(holder):
            holder.remove(old)
        sign_detached(data, holder, self.key, self.cert, extra_certificates=self.chain)
        return envelope, http_headers


class RawReply(Plugin):
    def ingress(self, envelope, http_headers, operation):
        self.last = envelope
        return envelope, http_headers


def _client(gateway_url, demo_client):
    raw = RawReply()
    client = Client(gateway_url + "?wsdl", plugins=[SigningPlugin(*demo_client), raw])
    client.gateway_url = gateway_url
    return client, raw


BINDING = "{urn://x-artefacts-smev-gov-ru/services/message-exchange/1.1}SMEVMessageExchangeSoap11Binding"


def _call(client, message_id, payload):
    # The WSDL's port address is the default deployment's; clients point it at theirs.
    service = client.create_service(BINDING, client.gateway_url)
    return service.SendRequest(
        SenderProvidedRequestData={
            "Id": "SIGNED_BY_CONSUMER",
            "MessageID": message_id,
            "MessagePrimaryContent": {"_value_1": payload},
        },
        CallerInformationSystemSignature={"_value_1": etree.Element(f"{{{ns.DS}}}Signature")},
    )


def test_zeep_loads_the_served_wsdl_and_sends_a_signed_request(gateway_url, demo_client):
    client, raw = _client(gateway_url, demo_client)
    message_id = str(uuid.uuid1())
    result = _call(client, message_id, registration_request(ROMASHKA))
    assert result.MessageMetadata.MessageId == message_id
    assert result.MessageMetadata.Status == "requestIsQueued"
    meta, _ = read_receipt(raw.last)  # the gateway's signature verifies on what zeep received
    assert meta.message_id == message_id


def test_zeep_sees_a_typed_fault(gateway_url, demo_client):
    client, _ = _client(gateway_url, demo_client)
    with pytest.raises(Fault) as err:
        _call(client, str(uuid.uuid4()), registration_request(ROMASHKA))
    detail = err.value.detail
    assert detail is not None and etree.QName(detail[0]).localname == "InvalidMessageIdFormat"
