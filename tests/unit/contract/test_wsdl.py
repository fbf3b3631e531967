"""The WSDL as an unmodified SOAP toolkit (zeep) sees it, loaded over real HTTP from the URL
layout the gateway serves: all seven operations on a SOAP 1.1 and a SOAP 1.2 binding, the
soapActions and faults of the public SMEV 3 WSDL, and messages that fit the types XSD."""
from __future__ import annotations

import pytest
import zeep
from lxml import etree
from zeep.wsdl.bindings.soap import Soap11Binding, Soap12Binding

from envelopes import ns

TYPES = "smev-message-exchange-types-1.1.xsd"
SERVICE = "SMEVMessageExchangeService"
PORTS = {"SMEVMessageExchangeEndpoint": Soap11Binding,
         "SMEVMessageExchangeSoap12Endpoint": Soap12Binding}

COMMON = {"InvalidContent", "SignatureVerificationFault", "SenderIsNotRegistered", "SMEVFailure"}
SENDING = COMMON | {"BusinessDataTypeIsNotSupported", "AttachmentContentMiscoordination",
                    "AttachmentSizeLimitExceeded", "QuoteLimitExceeded", "RecipientIsNotFound",
                    "DestinationOverflow", "MessageIsAlreadySent", "InvalidMessageIdFormat",
                    "StaleMessageId"}
#: Faults per operation as the public SMEV 3 1.1 WSDL declares them (fault name = element + "Fault",
#: except EndOfLifeFault, whose element is EndOfLifeReached).
OFFICIAL_FAULTS = {
    "SendRequest": SENDING | {"TransactionCodeInvalid", "AccessDenied", "EndOfLife"},
    "SendResponse": SENDING | {"IncorrectResponseContentType"},
    "GetRequest": COMMON | {"UnknownMessageType"},
    "GetResponse": COMMON | {"UnknownMessageType"},
    "GetStatus": COMMON | {"UnknownMessageType"},
    "Ack": COMMON | {"TargetMessageIsNotFound"},
    "GetIncomingQueueStatistics": COMMON,
}


@pytest.fixture(scope="module")
def client(contract_server) -> zeep.Client:
    base, _ = contract_server
    return zeep.Client(f"{base}/ws?wsdl")


def test_zeep_fetches_the_schemas_from_the_gateway_xsd_route(client, contract_server):
    _, requested = contract_server
    assert "/ws?wsdl" in requested
    for name in (TYPES, "smev-message-exchange-faults-1.1.xsd", "smev-message-exchange-basic-1.1.xsd"):
        assert f"/ws/xsd/{name}" in requested
    assert client.wsdl.services[SERVICE]


@pytest.mark.parametrize("port", sorted(PORTS))
def test_every_operation_on_both_bindings(client, port):
    binding = client.wsdl.services[SERVICE].ports[port].binding
    assert isinstance(binding, PORTS[port])
    assert set(binding._operations) == set(OFFICIAL_FAULTS)
    for name, operation in binding._operations.items():
        assert operation.soapaction == f"urn:{name}"
        assert operation.input.body.qname == ns.q(ns.SMEV_TYPES, f"{name}Request")
        assert operation.output.body.qname == ns.q(ns.SMEV_TYPES, f"{name}Response")
        assert set(operation.faults) == {f"{fault}Fault" for fault in OFFICIAL_FAULTS[name]}


@pytest.mark.parametrize("port", sorted(PORTS))
def test_each_fault_carries_its_faults_namespace_element(client, port):
    binding = client.wsdl.services[SERVICE].ports[port].binding
    for operation in binding._operations.values():
        for fault_name, fault in operation.faults.items():
            element = fault.abstract.parts["parameters"].element
            expected = "EndOfLifeReached" if fault_name == "EndOfLifeFault" else fault_name[:-len("Fault")]
            assert element.qname == ns.q(ns.SMEV_FAULTS, expected)


@pytest.mark.parametrize("port", sorted(PORTS))
def test_ports_point_at_the_default_gateway_address(client, port):
    assert client.wsdl.services[SERVICE].ports[port].binding_options["address"] == \
        "http://127.0.0.1:8080/ws"


def _request_body(client: zeep.Client, port: str) -> etree._Element:
    payload = etree.Element("{urn://example/payload}Ping", nsmap={"p": "urn://example/payload"})
    payload.text = "ping"
    signature = etree.Element(ns.q(ns.DS, "Signature"))
    service = client.bind(SERVICE, port)
    envelope = client.create_message(
        service, "SendRequest",
        SenderProvidedRequestData={
            "Id": "SIGNED_BY_CONSUMER",
            "MessageID": "db0486d0-3c08-11e5-95e2-d4c9eff07b77",
            "MessagePrimaryContent": {"_value_1": payload},
            "TestMessage": {},
        },
        CallerInformationSystemSignature={"_value_1": signature})
    body = envelope.find("{*}Body")
    assert body is not None and len(body) == 1
    return body[0]


@pytest.mark.parametrize("port", sorted(PORTS))
def test_zeep_send_request_fits_the_types_schema(client, port, lxml_schemas, xmlschema_schemas):
    request = _request_body(client, port)
    assert request.tag == ns.q(ns.SMEV_TYPES, "SendRequestRequest")
    document = etree.ElementTree(etree.fromstring(etree.tostring(request)))
    assert lxml_schemas[TYPES].validate(document), lxml_schemas[TYPES].error_log
    assert xmlschema_schemas[TYPES].is_valid(document)
    data = document.getroot()[0]
    assert [etree.QName(child).localname for child in data] == \
        ["MessageID", "MessagePrimaryContent", "TestMessage"]


def test_zeep_reads_a_receipt(client):
    t = ns.SMEV_TYPES
    raw = f"""<ns:SendRequestResponse xmlns:ns="{t}"><ns:MessageMetadata Id="M">
      <ns:MessageId>db0486d0-3c08-11e5-95e2-d4c9eff07b77</ns:MessageId>
      <ns:MessageType>REQUEST</ns:MessageType>
      <ns:Sender><ns:Mnemonic>ROMASHKA</ns:Mnemonic><ns:HumanReadableName>R</ns:HumanReadableName></ns:Sender>
      <ns:SendingTimestamp>2024-05-17T10:15:30+03:00</ns:SendingTimestamp>
      <ns:DestinationName>registration</ns:DestinationName>
      <ns:SupplementaryData><ns:InteractionType>NotDetected</ns:InteractionType></ns:SupplementaryData>
      <ns:Status>requestIsQueued</ns:Status>
    </ns:MessageMetadata></ns:SendRequestResponse>"""
    element = client.get_element(ns.q(t, "SendRequestResponse"))
    receipt = element.parse(etree.fromstring(raw), client.wsdl.types)
    assert receipt.MessageMetadata.MessageId == "db0486d0-3c08-11e5-95e2-d4c9eff07b77"
    assert receipt.MessageMetadata.Status == "requestIsQueued"
    assert receipt.MessageMetadata.Sender.Mnemonic == "ROMASHKA"


def test_only_the_gateway_routes_were_needed(client, contract_server):
    """Nothing outside /ws?wsdl and /ws/xsd/ was asked for (the server answers 404 to anything
    else, which would have failed the load)."""
    _, requested = contract_server
    assert requested and all(path == "/ws?wsdl" or path.startswith("/ws/xsd/") for path in requested)
