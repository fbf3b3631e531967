"""An independent SOAP client (zeep, no tweaks) loads the served WSDL and sends a signed request.

zeep builds the envelope from the WSDL; the SDK's zeep plugin (envelopes/zeep_plugin.py) signs
SenderProvidedRequestData just before the envelope leaves, as an ERP's SOAP stack with a signing
handler would, and checks the gateway's signature on what comes back.
"""
from __future__ import annotations

import uuid

import pytest
import requests
from lxml import etree
from zeep import Client, Plugin
from zeep.exceptions import Fault

from envelopes import ns
from envelopes.client import read_receipt
from envelopes.zeep_plugin import GatewayPlugin
from envelopes.demo_data import ROMASHKA
from envelopes.payloads.registration import build_organisation_registration


class RawReply(Plugin):
    def ingress(self, envelope, http_headers, operation):
        self.last, self.headers = envelope, http_headers
        return envelope, http_headers


def _client(gateway_url, demo_client, gateway_trust):
    raw = RawReply()
    client = Client(gateway_url + "?wsdl",
                    plugins=[GatewayPlugin(*demo_client, trust=gateway_trust), raw])
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


def test_zeep_loads_the_served_wsdl_and_sends_a_signed_request(gateway_url, demo_client, gateway_trust):
    client, raw = _client(gateway_url, demo_client, gateway_trust)
    message_id = str(uuid.uuid1())
    result = _call(client, message_id, build_organisation_registration(ROMASHKA))
    assert result.MessageMetadata.MessageId == message_id
    assert result.MessageMetadata.Status == "requestIsQueued"
    meta, _ = read_receipt(raw.last, gateway_trust)  # the gateway signed what zeep received
    assert meta.message_id == message_id


def test_zeep_sees_a_typed_fault(gateway_url, demo_client, gateway_trust):
    client, _ = _client(gateway_url, demo_client, gateway_trust)
    with pytest.raises(Fault) as err:
        _call(client, str(uuid.uuid4()), build_organisation_registration(ROMASHKA))
    detail = err.value.detail
    assert detail is not None and etree.QName(detail[0]).localname == "InvalidMessageIdFormat"


def test_zeep_calls_every_operation(gateway_url, demo_client, gateway_trust):
    """GetResponse, Ack, GetStatus and GetIncomingQueueStatistics through zeep's own objects
    (SendRequest and the faults above; GetRequest/SendResponse are answered by a provider)."""
    from datetime import datetime, timezone

    client, raw = _client(gateway_url, demo_client, gateway_trust)
    service = client.create_service(BINDING, gateway_url)
    placeholder = {"_value_1": etree.Element(f"{{{ns.DS}}}Signature")}
    now = datetime.now(timezone.utc)
    _call(client, str(uuid.uuid1()), build_organisation_registration(ROMASHKA))

    from zeep import xsd

    # zeep flattens the selector's optional (NamespaceURI, RootElementLocalName) group into two
    # plain elements; xsd.SkipValue is zeep's documented way to leave them out.
    got = service.GetResponse(MessageTypeSelector={"Id": "SEL", "Timestamp": now,
                                                   "NamespaceURI": xsd.SkipValue,
                                                   "RootElementLocalName": xsd.SkipValue},
                              CallerInformationSystemSignature=placeholder)
    response_id = got.Response.SenderProvidedResponseData.MessageID  # zeep unwraps the choice
    assert response_id
    service.Ack(AckTargetMessage={"Id": "ACK", "accepted": True, "_value_1": response_id},
                CallerInformationSystemSignature=placeholder)
    assert raw.last.find(f".//{{{ns.SMEV_TYPES}}}AckResponse") is not None
    status = service.GetStatus(Timestamp={"Id": "TS", "_value_1": now},
                               CallerInformationSystemSignature=placeholder)
    assert raw.last.find(f".//{{{ns.SMEV_TYPES}}}GetStatusResponse") is not None
    assert status is None or status.AsyncProcessingStatusData.AsyncProcessingStatus.OriginalMessageId
    service.GetIncomingQueueStatistics(Timestamp={"Id": "TS", "_value_1": now},
                                       CallerInformationSystemSignature=placeholder)
    assert raw.last.find(f".//{{{ns.SMEV_TYPES}}}GetIncomingQueueStatisticsResponse") is not None
    with pytest.raises(Fault) as err:  # GetRequest for a type this IS does not serve
        service.GetRequest(MessageTypeSelector={"Id": "SEL", "NamespaceURI": "urn://x/1.0",
                                                "RootElementLocalName": "X", "Timestamp": now},
                           CallerInformationSystemSignature=placeholder)
    assert etree.QName(err.value.detail[0]).localname == "UnknownMessageType"


def test_zeep_takes_a_request_with_files_delivered_as_mtom(gateway_url, demo_settings, engine, demo_client,
                                                           gateway_trust):
    """A provider on zeep: GetRequest's answer is multipart/related with the files as XOP parts;
    zeep resolves them and hands over each file's bytes."""
    import os
    from datetime import datetime, timezone

    from envelopes.mtom import File, send_request_with_files
    from gateway.pipeline.participants import SEND, SERVE, add_system, grant
    from gateway.ops.setup import open_pki

    namespace = f"urn://test/zeep-files/{uuid.uuid4().hex[:8]}"
    pki = open_pki(demo_settings)
    issued = pki.issue(f"zeep-provider-{uuid.uuid4().hex[:6]}", common_name="ZEEPPROV", key_type="ec-p256")
    add_system(engine, "ZEEPPROV", "zeep provider", [issued.certificate])
    grant(engine, "ZEEPPROV", SERVE, namespace)
    grant(engine, "ROMASHKA", SEND, namespace)
    # zeep strips CR and LF from both ends of a part marked Content-Transfer-Encoding: binary
    # (zeep/wsdl/attachments.py, Attachment.content; docs/attachments.md): random bytes that
    # happened to start with b"\r" made this test fail about once in a hundred runs
    files = [File("a1", "application/pdf", b"%PDF-1.7 " + os.urandom(70_000) + b" %%EOF"),
             File("a2", "text/plain", b"hello")]
    payload = etree.Element(f"{{{namespace}}}Files")
    content_type, body = send_request_with_files(payload, files, *demo_client[:2],
                                                 extra_certificates=demo_client[2])
    sent = requests.post(gateway_url, data=body, headers={"Content-Type": content_type}, timeout=30)
    assert sent.status_code == 200, sent.text[:500]

    client, raw = _client(gateway_url, (issued.private_key, issued.certificate, tuple(pki.intermediates())),
                          gateway_trust)
    service = client.create_service(BINDING, gateway_url)
    got = service.GetRequest(MessageTypeSelector={"Id": "SEL", "NamespaceURI": namespace,
                                                  "RootElementLocalName": "Files",
                                                  "Timestamp": datetime.now(timezone.utc)},
                             CallerInformationSystemSignature={"_value_1": etree.Element(f"{{{ns.DS}}}Signature")})
    assert raw.headers["Content-Type"].startswith("multipart/related")
    contents = got.AttachmentContentList.AttachmentContent  # beside Request, outside its signature
    assert {c.Id: c.Content for c in contents} == {f.attachment_id: f.data for f in files}
