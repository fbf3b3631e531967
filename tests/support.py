"""Helpers shared by the tests: posting envelopes and reading what comes back, and forming a
group commit's batch."""
from __future__ import annotations

import threading
import time

import requests
from lxml import etree

from envelopes import ns
from envelopes.client import parse_fault
from envelopes.mtom import answer_root
from signing.xmldsig import verify_detached

T, B = ns.SMEV_TYPES, ns.SMEV_BASIC
SOAP11 = {"Content-Type": "text/xml; charset=utf-8"}


_STORING = (b"SendRequestRequest", b"SendResponseRequest")


def post(url: str, body: bytes):
    """The reply and its envelope (an MTOM answer's parts inlined: envelopes.mtom.answer_root).

    Every accepted SendRequest/SendResponse is sent a second time, byte for byte, as an ERP
    retries after a lost connection: the retry must get the same receipt bytes (the original
    outcome, before any handler runs again), so every flow of the integration tests also proves
    that a retry of each of its state-advancing messages changes nothing."""
    reply = requests.post(url, data=body, headers=SOAP11, timeout=30)
    if reply.status_code == 200 and any(op in body[:4096] for op in _STORING):
        again = requests.post(url, data=body, headers=SOAP11, timeout=30)
        assert (again.status_code, again.content) == (200, reply.content), \
            f"a retry got another answer: {again.status_code} {again.text[:2000]}"
    return reply, answer_root(reply.headers.get("Content-Type", ""), reply.content)


def ok(url: str, body: bytes) -> etree._Element:
    reply, root = post(url, body)
    assert reply.status_code == 200, reply.text
    return root


def fault(url: str, body: bytes):
    reply, root = post(url, body)
    found = parse_fault(reply.status_code, root)
    assert found is not None, reply.text
    return found


def taken(root: etree._Element, kind: str):
    """(inner message element, its data element) of a GetRequest/GetResponse answer, after
    checking the gateway's SMEVSignature and the original sender's signature; or None."""
    wrapper = root.find(f".//{{{T}}}{kind}Message")
    if wrapper is None:
        return None
    inner = wrapper.find(f"{{{T}}}{kind}")
    verify_detached(wrapper.find(f"{{{T}}}SMEVSignature/{{{ns.DS}}}Signature"), inner)
    data_tag = "SenderProvidedRequestData" if kind == "Request" else "SenderProvidedResponseData"
    data = inner.find(f"{{{T}}}{data_tag}")
    original = inner.find(f"{{{T}}}SenderInformationSystemSignature/{{{ns.DS}}}Signature")
    if original is not None:
        verify_detached(original, data)
    else:  # the gateway answered as a built-in provider: its SMEVSignature covers the data
        assert data.get("Id") == "SIGNED_BY_GATEWAY_PROVIDER"
    return inner, data


def answers(url: str, creds, message_id: str) -> list[etree._Element]:
    """Every answer to ``message_id`` waiting in the consumer's queue (all taken are acknowledged);
    ``creds`` = (key, certificate, build keyword arguments)."""
    from envelopes import build

    key, cert, kw = creds
    found = []
    while (got := taken(ok(url, build.get_response(key, cert, **kw)), "Response")) is not None:
        inner, data = got
        ok(url, build.ack(data.findtext(f"{{{T}}}MessageID"), key, cert, **kw))
        if inner.findtext(f"{{{T}}}OriginalMessageId") == message_id:
            found.append(data.find(f"{{{B}}}MessagePrimaryContent")[0])
    return found


def batch_behind_a_slow_commit(group, works: list) -> dict[int, object]:
    """The first work holds its (lone) commit until all the others are queued behind it, so
    they form one batch. Returns each work's result or exception by index."""
    outcomes: dict[int, object] = {}
    release = threading.Event()
    first = works[0]

    def slow_first(conn):
        result = first(conn)
        release.wait(10)
        return result

    def call(index: int, work) -> None:
        try:
            outcomes[index] = group.run(work)
        except Exception as exc:  # noqa: BLE001 - the outcome under test
            outcomes[index] = exc

    leader = threading.Thread(target=call, args=(0, slow_first))
    leader.start()
    while not group._leading:
        time.sleep(0.001)
    others = [threading.Thread(target=call, args=(i, w)) for i, w in enumerate(works) if i]
    for thread in others:
        thread.start()
    deadline = time.monotonic() + 10
    while len(group._queue) < len(others) and time.monotonic() < deadline:
        time.sleep(0.001)
    assert len(group._queue) == len(others), "the requests did not queue behind the commit"
    assert outcomes == {}, "an outcome was known before its COMMIT"
    release.set()
    for thread in [leader, *others]:
        thread.join(10)
    return outcomes
