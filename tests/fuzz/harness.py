"""The fuzz harness over parse → verify → route: real signed envelopes of all seven operations,
mutated (tests/fuzz/mutate.py) and posted to the in-process WSGI app (gateway.wiring.build_app).

The oracle: every answer is a SOAP fault or a success, and never ``INTERNAL_ERROR`` nor a 5xx
that is not a SOAP fault. An input that breaks it is saved under tests/fuzz/regressions/ (named
by its SHA-256) and replayed by tests/fuzz/test_fuzz.py on every run.
"""
from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import logging
import random
import re
import time
import traceback
from pathlib import Path
from typing import Callable

from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

from envelopes import build, ns
from envelopes.client import parse_fault
from envelopes.payloads.samples import SAMPLES_DIR, read_xml
from fuzz.mutate import mutate
from signing.xmldsig import sign_detached

T, DS = ns.SMEV_TYPES, ns.DS

REGRESSIONS = Path(__file__).resolve().parent / "regressions"
DEFAULT_SEED = 20261206
#: one sample payload per domain for SendRequest seeds
PAYLOADS = ["registration/OrganisationRegistrationRequest.xml", "licensing/LicenceApplication.xml",
            "power-of-attorney/PowerOfAttorneyRegistration.xml"]


@dataclasses.dataclass(frozen=True)
class Outcome:
    status: int
    content_type: str
    body: bytes

    @property
    def crash(self) -> str | None:
        """Why this answer breaks the oracle, or None."""
        try:
            root = etree.fromstring(self.body) if self.body.lstrip().startswith(b"<") else None
        except etree.XMLSyntaxError:
            root = None
        fault = parse_fault(self.status, root) if root is not None else None
        if fault is not None and fault.code == "INTERNAL_ERROR":
            return f"INTERNAL_ERROR ({self.status})"
        if self.status >= 500 and fault is None:
            return f"HTTP {self.status} without a SOAP fault"
        return None


def content_type_of(body: bytes) -> str:
    """SOAP 1.2 when the bytes name its namespace, else SOAP 1.1: a saved input replays with the
    same Content-Type it was found with."""
    if ns.SOAP12_ENV.encode() in body:
        return "application/soap+xml; charset=utf-8"
    return "text/xml; charset=utf-8"


def post(app, body: bytes) -> Outcome:
    """POST ``body`` to /ws of the WSGI ``app`` in-process, as gunicorn would hand it over."""
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/ws", "QUERY_STRING": "",
               "CONTENT_TYPE": content_type_of(body), "CONTENT_LENGTH": str(len(body)),
               "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8080", "SERVER_PROTOCOL": "HTTP/1.1",
               # empty: names no operation (docs/protocol.md), so every mutation reaches the body
               "HTTP_SOAPACTION": '""', "wsgi.input": io.BytesIO(body),
               "wsgi.errors": io.StringIO(), "wsgi.url_scheme": "http", "wsgi.version": (1, 0),
               "wsgi.multithread": False, "wsgi.multiprocess": False, "wsgi.run_once": False}
    started: list = []

    def start_response(status, headers, exc_info=None):
        started.append((status, headers))

    chunks = app(environ, start_response)
    body_out = b"".join(chunks)
    close = getattr(chunks, "close", None)
    if close:
        close()
    status, headers = started[0]
    return Outcome(int(status.split()[0]), dict(headers).get("Content-Type", ""), body_out)


def seeds(consumer, provider, report: etree._Element, reply_to: str,
          answer: etree._Element) -> list[bytes]:
    """Freshly signed envelopes of all seven operations (SOAP 1.1 and some 1.2): ``consumer`` and
    ``provider`` are (key, certificate, chain); ``report`` a ReportSubmission (the second
    envelope), ``reply_to`` the address of a request the provider took, ``answer`` its answer."""
    key, cert, chain = consumer
    pkey, pcert, pchain = provider
    response_id = build.new_message_id()  # the answer's MessageID, which the Ack seed names
    out = [build.send_request(read_xml(SAMPLES_DIR / name), key, cert, extra_certificates=chain)
           for name in PAYLOADS]
    out.insert(1, build.send_request(report, key, cert, extra_certificates=chain))
    out.append(build.send_request(read_xml(SAMPLES_DIR / PAYLOADS[0]), key, cert,
                                  extra_certificates=chain, soap_version="1.2"))
    out += [
        build.get_request(pkey, pcert, extra_certificates=pchain),
        build.send_response(reply_to, pkey, pcert, extra_certificates=pchain,
                            payload=answer, message_id=response_id),
        build.get_response(key, cert, extra_certificates=chain),
        build.get_response(key, cert, extra_certificates=chain, soap_version="1.2"),
        build.ack(response_id, key, cert, extra_certificates=chain),
        build.get_status(key, cert, extra_certificates=chain),
        build.get_incoming_queue_statistics(pkey, pcert, extra_certificates=pchain),
    ]
    return out


def save(body: bytes, resigned: bool) -> Path:
    """Keep a crashing input; ``.resigned.xml`` marks one that carried a valid signature, which
    :func:`replay` signs again with the keys of the session that replays it."""
    REGRESSIONS.mkdir(parents=True, exist_ok=True)
    suffix = ".resigned.xml" if resigned else ".xml"
    path = REGRESSIONS / f"{hashlib.sha256(body).hexdigest()[:20]}{suffix}"
    path.write_bytes(body)
    return path


@dataclasses.dataclass(frozen=True)
class Session:
    """What a saved input needs from the session that replays it: the tests make a new PKI,
    database and queue each run, so keys, reply addresses and registration numbers differ."""

    resign: Callable[[etree._Element], None]
    reply_to: str
    registration_number: str


_REPLY_TO = re.compile(r"[0-9a-f]{32}")
_REGISTRATION = re.compile(r"\d{8}-[A-Z0-9]{26}")


def replay(app, path: Path, session: Session) -> Outcome:
    """Post a saved input again. A ``.resigned.xml`` one gets this session's reply address and
    registration number where it held the finding session's, fresh MessageIDs and timestamps,
    and this session's signature (its signer's role decides the key); others go as they are."""
    body = path.read_bytes()
    if path.name.endswith(".resigned.xml"):
        root = etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True))
        for el in root.iter(f"{{{T}}}To"):
            if el.text and _REPLY_TO.fullmatch(el.text):
                el.text = session.reply_to
        for el in root.iter("{*}RegistrationNumber"):
            if el.text and _REGISTRATION.fullmatch(el.text):
                el.text = session.registration_number
        session.resign(root)
        body = etree.tostring(root)
    return post(app, body)


@dataclasses.dataclass
class Report:
    inputs: int = 0
    seconds: float = 0.0
    crashes: list[tuple[Path, str]] = dataclasses.field(default_factory=list)
    statuses: dict[int, int] = dataclasses.field(default_factory=dict)


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}")
_STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+\+00:00")


def _refresh(signed: etree._Element) -> None:
    """A fresh MessageID and selector timestamp where the mutation left well-formed ones: else
    the replay checks (a MessageID, a signed read request, is accepted once) refuse nearly every
    re-signed input before the stages behind them."""
    for el in signed.iter(f"{{{T}}}MessageID", f"{{{ns.SMEV_BASIC}}}Timestamp"):
        if el.text and _UUID.fullmatch(el.text) and el.getparent() is signed:
            el.text = build.new_message_id()
        elif el.text and _STAMP.fullmatch(el.text):
            el.text = build._now()
    if signed.tag == f"{{{ns.SMEV_BASIC}}}Timestamp" and signed.text and _STAMP.fullmatch(signed.text):
        signed.text = build._now()


#: operations a provider signs (the others: the consumer)
PROVIDER_OPERATIONS = frozenset({f"{{{T}}}GetRequestRequest", f"{{{T}}}SendResponseRequest",
                                 f"{{{T}}}GetIncomingQueueStatisticsRequest"})


def resigner(consumer: tuple, provider: tuple) -> Callable[[etree._Element], None]:
    """Re-signs an envelope in place with the key of whichever signer (key, certificate, chain)
    signed it, found by the certificate it carries, else by the operation's role (an input saved
    by another session): the edit is the only thing wrong."""
    by_cert = {base64.b64encode(cert.public_bytes(Encoding.DER)).decode(): (key, cert, chain)
               for key, cert, chain in (consumer, provider)}

    def resign(root: etree._Element) -> None:
        for holder in root.iter(f"{{{T}}}CallerInformationSystemSignature"):
            found = holder.find(f".//{{{DS}}}X509Certificate")
            signer = by_cert.get((found.text or "").strip()) if found is not None else None
            if signer is None:
                signer = provider if holder.getparent().tag in PROVIDER_OPERATIONS else consumer
            targets = [el for el in holder.itersiblings(preceding=True) if el.get("Id")]
            if not targets:
                continue
            key, cert, chain = signer
            _refresh(targets[0])
            for old in list(holder):
                holder.remove(old)
            sign_detached(targets[0], holder, key, cert, extra_certificates=chain)

    return resign


def fuzz(app, corpus: list[bytes], *, seed: int = DEFAULT_SEED, inputs: int | None = None,
         seconds: float | None = None, refresh: Callable[[], list[bytes]] | None = None,
         refresh_every: int = 2000, resign: Callable[[etree._Element], None] | None = None
         ) -> Report:
    """Mutate ``corpus`` with ``random.Random(seed)`` until ``inputs`` inputs or ``seconds``
    passed; every crash is saved. ``refresh`` re-signs the corpus now and then in long runs, so
    the timestamps stay inside the gateway's window and deep stages stay reachable."""
    rng = random.Random(seed)
    report = Report()
    started = time.monotonic()
    failures = _Failures()
    logging.getLogger("gateway").addHandler(failures)
    try:
        _loop(app, corpus, rng, report, started, failures, inputs, seconds, refresh,
              refresh_every, resign)
    finally:
        logging.getLogger("gateway").removeHandler(failures)
    report.seconds = time.monotonic() - started
    return report


class _Failures(logging.Handler):
    """The last exception the gateway logged, so a crash report says where it broke."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.last: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.last = "".join(traceback.format_exception(*record.exc_info)[-3:]).strip()


def _loop(app, corpus, rng, report, started, failures, inputs, seconds, refresh, refresh_every,
          resign) -> None:
    while True:
        if inputs is not None and report.inputs >= inputs:
            break
        if seconds is not None and time.monotonic() - started >= seconds:
            break
        if refresh is not None and report.inputs and report.inputs % refresh_every == 0:
            corpus = refresh()
        body, resigned = mutate(rng.choice(corpus), rng, resign)
        failures.last = None
        outcome = post(app, body)
        report.inputs += 1
        report.statuses[outcome.status] = report.statuses.get(outcome.status, 0) + 1
        why = outcome.crash
        if why:
            report.crashes.append((save(body, resigned), f"{why}: {failures.last}"))
