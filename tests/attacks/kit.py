"""Shared tools of the attack corpus: post over real HTTP (requests or a raw socket), read the
SOAP fault, prove that nothing was stored, forge signatures, and a canary listener that records
any connection the gateway might make on an attacker's behalf (XXE, XInclude, external URIs)."""
from __future__ import annotations

import base64
import copy
import dataclasses
import socket
import threading
from urllib.parse import urlsplit

import requests
from lxml import etree
from sqlalchemy import func, select

from envelopes import ns
from envelopes.build import send_request
from envelopes.client import parse_fault
from envelopes.demo_data import ROMASHKA
from envelopes.model import Fault
from envelopes.payloads.registration import build_organisation_registration
from gateway.storage.schema import applications, messages
from signing.algorithms import REGISTRY
from signing.c14n import canonicalize

T, B, DS, F = ns.SMEV_TYPES, ns.SMEV_BASIC, ns.DS, ns.SMEV_FAULTS
SOAP11 = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": "\"\""}  # empty: any operation (docs/protocol.md)
SOAP12 = {"Content-Type": "application/soap+xml; charset=utf-8"}
SOAP_CONTENT_TYPES = ("text/xml", "application/soap+xml")
_SAFE = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


# ---------------------------------------------------------------- the database


def stored(engine) -> tuple[int, int]:
    """(rows in messages, rows in applications): what an accepted request would change."""
    with engine.connect() as conn:
        return (conn.execute(select(func.count()).select_from(messages)).scalar_one(),
                conn.execute(select(func.count()).select_from(applications)).scalar_one())


# ---------------------------------------------------------------- HTTP


@dataclasses.dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: bytes
    fault: Fault | None
    root: etree._Element | None


def read_answer(status: int, content_type: str, body: bytes) -> Answer:
    root = fault = None
    if content_type.split(";")[0].strip().lower() in SOAP_CONTENT_TYPES:
        root = etree.fromstring(body, _SAFE)
        fault = parse_fault(status, root)
    return Answer(status, content_type, body, fault, root)


def post(url: str, body: bytes, headers: dict | None = None) -> Answer:
    reply = requests.post(url, data=body, headers=SOAP11 if headers is None else headers,
                          timeout=30)
    return read_answer(reply.status_code, reply.headers.get("Content-Type", ""), reply.content)


def refused(url: str, engine, body: bytes, element: str, code: str | None = None, *,
            status: int | None = None, headers: dict | None = None) -> Fault:
    """Post an attack; assert a client SOAP fault ``element``/``code`` (never an internal error)
    and that no message and no application was stored. Returns the fault."""
    before = stored(engine)
    answer = post(url, body, headers)
    return check_refused(answer, engine, before, element, code, status=status)


def refused_even_when_registered(url: str, engine, body: bytes, certificate, element: str,
                                 code: str | None = None, **kwargs) -> Fault:
    """Signed with ``certificate``, which no information system owns: refused cheaply, before
    any XSD or cryptography (SenderIsNotRegistered). Then registered to ROMASHKA (an operator's
    mistake, or an IS whose certificate went bad): the deeper check must still refuse it with
    ``element``/``code``. Returns that fault."""
    from gateway.pipeline.participants import add_system

    refused(url, engine, body, "SenderIsNotRegistered", "SENDER_IS_NOT_REGISTERED")
    add_system(engine, "ROMASHKA", "", [certificate])
    return refused(url, engine, body, element, code, **kwargs)


def accepted_once(url: str, engine, body: bytes, message_id: str) -> None:
    """``body`` is answered 200, stored once as received, and its application is ROMASHKA's."""
    before = stored(engine)
    answer = post(url, body)
    assert answer.status == 200 and answer.fault is None, answer.body[:2000]
    assert stored(engine) == (before[0] + 1, before[1] + 1)
    with engine.connect() as conn:
        pk, envelope = conn.execute(select(messages.c.id, messages.c.envelope)
                                    .where(messages.c.message_id == message_id)).one()
        inn = conn.execute(select(applications.c.organisation_inn)
                           .where(applications.c.message_pk == pk)).scalar_one()
    assert inn == ROMASHKA.inn
    assert envelope == body  # stored as received


def check_refused(answer: Answer, engine, before: tuple[int, int], element: str,
                  code: str | None = None, *, status: int | None = None) -> Fault:
    assert answer.fault is not None, (answer.status, answer.body[:2000])
    fault = answer.fault
    assert answer.status in (400, 411, 413, 415, 500), answer.status
    if status is not None:
        assert answer.status == status, (answer.status, fault)
    # a wrong envelope namespace is the one client error SOAP names otherwise (VersionMismatch)
    client_codes = ("soap:VersionMismatch",) if code == "VERSION_MISMATCH" else ("soap:Client",
                                                                                  "soap:Sender")
    assert fault.code != "INTERNAL_ERROR" and fault.faultcode in client_codes, fault
    assert fault.element == element, fault
    if code is not None:
        assert fault.code == code, fault
    assert stored(engine) == before, "an attack changed the database"
    return fault


def raw_http(url: str, request: bytes, *, half_close: bool = True, timeout: float = 10.0
             ) -> tuple[int, dict[str, str], bytes]:
    """Send ``request`` byte for byte on a fresh connection; read the whole answer."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        sock.sendall(request)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            chunks.append(chunk)
    data = b"".join(chunks)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines and lines[0] else 0
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body


def http_request(url: str, method: str, path: str, body: bytes = b"",
                 headers: dict[str, str] | None = None) -> bytes:
    """A raw HTTP/1.1 request; ``path`` is sent exactly as given (no normalisation)."""
    host = urlsplit(url).netloc
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


# ---------------------------------------------------------------- envelopes and signatures


def signed_bytes(demo_client, payload: etree._Element | None = None, **kwargs) -> bytes:
    key, cert, chain = demo_client
    payload = build_organisation_registration(ROMASHKA) if payload is None else payload
    return send_request(payload, key, cert, extra_certificates=chain, **kwargs)


def signed_tree(demo_client, **kwargs) -> etree._Element:
    return etree.fromstring(signed_bytes(demo_client, **kwargs))


@dataclasses.dataclass(frozen=True)
class Parts:
    envelope: etree._Element
    header: etree._Element
    body: etree._Element
    request: etree._Element          # SendRequestRequest
    data: etree._Element             # SenderProvidedRequestData (the signed element)
    holder: etree._Element           # CallerInformationSystemSignature
    signature: etree._Element        # its ds:Signature


def parts(root: etree._Element) -> Parts:
    soap = etree.QName(root).namespace
    request = root.find(f".//{{{T}}}SendRequestRequest")
    holder = request.find(f"{{{T}}}CallerInformationSystemSignature")
    return Parts(root, root.find(f"{{{soap}}}Header"), root.find(f"{{{soap}}}Body"), request,
                 request.find(f"{{{T}}}SenderProvidedRequestData"), holder,
                 holder.find(f"{{{DS}}}Signature"))


def ds(parent: etree._Element, path: str) -> etree._Element:
    """``ds:``-prefixed path below ``parent``, e.g. ``ds(sig, 'ds:SignedInfo/ds:Reference')``."""
    return parent.find(path, {"ds": DS})


def resign(signature: etree._Element, private_key) -> None:
    """Recompute SignatureValue over the (edited) SignedInfo, so that only the edit is 'wrong'
    and a verifier cannot refuse the forgery merely because SignedInfo was changed."""
    signed_info = ds(signature, "ds:SignedInfo")
    method = ds(signed_info, "ds:SignatureMethod").get("Algorithm")
    c14n = ds(signed_info, "ds:CanonicalizationMethod").get("Algorithm")
    value = REGISTRY.signature(method).sign(private_key, canonicalize(signed_info, c14n))
    ds(signature, "ds:SignatureValue").text = base64.b64encode(value).decode("ascii")


def attacker_copy(data: etree._Element, *, element_id: str | None = "keep",
                  full_name: str = "Evil Corp") -> etree._Element:
    """The attacker's SenderProvidedRequestData: the signed one with another organisation name;
    ``element_id``: "keep" the signed Id, None for no Id, or another value."""
    forged = copy.deepcopy(data)
    forged.find(f".//{{{ns.REGISTRATION}}}FullName").text = full_name
    if element_id is None:
        del forged.attrib["Id"]
    elif element_id != "keep":
        forged.set("Id", element_id)
    return forged


# ---------------------------------------------------------------- canary


class Canary:
    """A TCP listener on 127.0.0.1 that counts connections: any hit means the gateway fetched
    something an attacker named (an entity, an XInclude href, a Reference URI, an XSLT import)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/canary"
        self.hits = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.hits += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()
