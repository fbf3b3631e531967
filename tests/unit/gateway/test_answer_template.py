"""The gateway's own answer from a template (gateway.exchange.delivery.gateway_answer) is the
tree builder's bytes, for every payload shape a handler may return; answers without a payload,
and a payload that names the wrapper's Id, take the tree builder itself."""
from __future__ import annotations

import copy
import dataclasses
from datetime import datetime, timezone

import pytest
from lxml import etree

from envelopes.model import Party
from envelopes.payloads.registration import (Mismatch, RegistrationResult,
                                             build_registration_result)
from gateway.exchange import delivery
from gateway.pipeline.receipt import ReceiptData

NOW = datetime(2026, 12, 6, 12, 0, 0, 123456, tzinfo=timezone.utc)
MESSAGE_ID = "0f5d2c1e-b3a4-11ef-8a48-0242ac120002"
T = "urn://x-artefacts-smev-gov-ru/services/message-exchange/types/1.1"


def _meta(message_id: str, **changes) -> ReceiptData:
    base = ReceiptData(message_id, "RESPONSE", Party("GATEWAY", "Шлюз «СМЭВ»"),
                       Party("ROMASHKA", "ООО «Ромашка»"), NOW, None, None, None, None,
                       destination="ROMASHKA")
    return dataclasses.replace(base, **changes)


def _nested() -> etree._Element:
    outer = etree.fromstring('<o:outer xmlns:o="urn:o" xmlns:p="urn:p"><o:x>1</o:x>'
                             '<p:inner a="1"><o:y>2</o:y></p:inner>tail</o:outer>')
    return outer[1]  # an element inside another tree, with ancestors' namespaces


PAYLOADS = {
    "registration result": lambda: build_registration_result(RegistrationResult(
        "7707083893", "rejected", None,
        (Mismatch("ИНН", "/r:A/r:B[2]", "1 < 2 & 3", "\"2\"", "rule\r\n> x"),))),
    "default namespace": lambda: etree.fromstring('<R xmlns="urn:r"><A>т</A><B/><C></C></R>'),
    "prefixes and attributes": lambda: etree.fromstring(
        '<p:R xmlns:p="urn:p" xmlns:q="urn:q" q:a="x &amp; y" b="&lt;&quot;"><q:C>1</q:C></p:R>'),
    "the ns prefix bound elsewhere": lambda: etree.fromstring(
        '<ns:R xmlns:ns="urn:other"><ns:A>1</ns:A></ns:R>'),
    "the b and ns prefixes of the wrapper": lambda: etree.fromstring(
        f'<b:R xmlns:b="urn://x-artefacts-smev-gov-ru/services/message-exchange/types/basic/1.1"'
        f' xmlns:ns="{T}"><ns:A>1</ns:A></b:R>'),
    "Cyrillic tags": lambda: etree.fromstring(
        '<Доверенность xmlns="urn:emchd"><Номер>1</Номер></Доверенность>'),
    "comments, PIs and CDATA": lambda: etree.fromstring(
        '<R xmlns="urn:r"><!-- c --><?pi x?><A><![CDATA[<&>]]></A></R>'),
    "inside another tree": _nested,
    "its own Id attribute": lambda: etree.fromstring('<R xmlns="urn:r" Id="SIGNED_BY_GATEWAY_PROVIDER"/>'),
}
CALLS = {
    "plain": dict(reply_to="reply-1", original="orig-1", reference=None, meta={}),
    "reference and escaping": dict(reply_to="a&b<c>\r", original="o>1", reference="ref & 1",
                                   meta=dict(sender=Party("A & B", "]]> x\r\ny"),
                                             status="s<", content_type_name="{urn:r}R")),
    "empty reference": dict(reply_to="r", original="o", reference="", meta={}),
}


@pytest.fixture(autouse=True)
def fixed_id(monkeypatch):
    monkeypatch.setattr(delivery, "new_message_id", lambda: MESSAGE_ID)


def _tree(payload, call) -> bytes:
    message_id, data = delivery.gateway_response_data(call["reply_to"], payload=payload)
    return delivery.response_message(data, None, _meta(message_id, **call["meta"]),
                                     call["original"], call["reference"], None)


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize("payload", PAYLOADS)
def test_template_bytes_equal_the_tree_builders(payload, call):
    call = CALLS[call]
    built = PAYLOADS[payload]()
    message_id, body = delivery.gateway_answer(
        call["reply_to"], lambda i: _meta(i, **call["meta"]), call["original"], call["reference"],
        payload=copy.deepcopy(built) if built.getparent() is None else built)
    assert message_id == MESSAGE_ID
    assert body == _tree(PAYLOADS[payload](), call)
    assert body.startswith(delivery.PENDING)


def test_a_payload_naming_the_wrappers_id_takes_the_tree_builder():
    payload = etree.fromstring('<R xmlns="urn:r"><A Id="SIGNED_BY_SMEV"/></R>')
    call = CALLS["plain"]
    _, body = delivery.gateway_answer(call["reply_to"], _meta, call["original"], None,
                                      payload=copy.deepcopy(payload))
    assert b'<ns:Response Id="SIGNED_BY_SMEV_1">' in body
    assert body == _tree(payload, call)


@pytest.mark.parametrize("answer", [dict(rejections=[("NO_DATA", "nothing & <none>")]),
                                    dict(status=(0, "registration: verified", {"state": "verified"}))])
def test_answers_without_a_payload_are_the_tree_builders(answer):
    _, body = delivery.gateway_answer("r", _meta, "o", "ref", **answer)
    message_id, data = delivery.gateway_response_data("r", **answer)
    assert body == delivery.response_message(data, None, _meta(message_id), "o", "ref", None)


def test_text_xml_cannot_hold_is_refused_as_lxml_refuses_it():
    with pytest.raises(ValueError):
        delivery.gateway_answer("r\x01", _meta, "o", None, payload=etree.fromstring("<R/>"))
    with pytest.raises(ValueError):
        etree.Element("x").text = "r\x01"
