"""Run the conformance corpus: offline through the validator, or online against any gateway that
implements the contract (``gateway conformance run``), and write JUnit XML and a JSON summary.

Online, each case is signed with a test participant's key (given by the caller: the CLI reads it
from the gateway's data dir), sent as a ``SendRequest`` and the answer compared with the
manifest's ``online`` outcome: ``accepted`` (a receipt) or a fault element and code. A sequence
sends its steps in order, carrying the registration numbers its steps ``save`` into the later
steps' files, and reads a step's business ``answer`` with GetResponse (acknowledging what it
takes: run it as a test participant whose answers nobody else waits for).
"""
from __future__ import annotations

import dataclasses
import json
import time
from datetime import datetime, timedelta, timezone
from typing import Callable

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from lxml import etree

from envelopes import build, ns
from envelopes.client import parse_fault
from envelopes.mtom import answer_root
from gateway.qa.corpus import TAMPERS, Case, ManifestError, fill, matches, offline_values, run_values
from gateway.qa.engine import Validator


@dataclasses.dataclass(frozen=True)
class Signer:
    """Whose key signs the cases: (private key, certificate, the chain sent beside it)."""

    key: object
    certificate: x509.Certificate
    chain: tuple = ()


@dataclasses.dataclass
class Result:
    case: Case
    status: str  # passed | failed | skipped
    expected: dict | None = None
    actual: dict | None = None
    message: str = ""
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {"id": self.case.id, "kind": self.case.kind, "folder": str(self.case.folder),
                "status": self.status, "expected": self.expected, "actual": self.actual,
                "message": self.message, "seconds": round(self.seconds, 4)}


def untrusted_signer() -> Signer:
    """A self-signed key no trusted CA issued and no information system registered."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "conformance untrusted signer")])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1)).sign(key, hashes.SHA256()))
    return Signer(key, cert)


def _envelope(payload: bytes, signer: Signer, message_id: str | None = None) -> bytes:
    element = etree.fromstring(payload, etree.XMLParser(resolve_entities=False, no_network=True,
                                                         remove_blank_text=True))
    return build.send_request(element, signer.key, signer.certificate, message_id=message_id,
                              extra_certificates=list(signer.chain))


def signed_case(case: Case, signer: Signer, untrusted: Signer | None = None) -> bytes:
    """The envelope of a ``signed`` case: signed, then changed as its ``tamper`` says."""
    who = (untrusted or untrusted_signer()) if case.tamper == "untrusted-signer" else signer
    return TAMPERS[case.tamper](_envelope(case.document(), who))


# -- offline ---------------------------------------------------------------------------------------

def _first_match(expect: dict, report) -> dict | None:
    """The problem ``expect`` names (``signature``, if given, is the report's verdict on the
    caller's signature: VALID, NOT_CHECKED or a code)."""
    expect = dict(expect)
    if "signature" in expect and expect.pop("signature") != report.signature:
        return None
    if expect.get("valid"):
        return {"valid": True} if report.valid else None
    for problem in report.problems:
        got = problem.as_dict()
        if matches(expect, got):
            return got
    return None


def run_offline(cases: list[Case], validator: Validator, signer: Signer | None = None) -> list[Result]:
    """Each case's documents through the validator (made with ``require_signature``, as a gateway
    refuses unsigned envelopes): ``expect`` must match a reported problem
    (or ``{"valid": true}`` no problem at all); each step of a sequence must be valid on its own
    (its illegal transition is a matter for a gateway)."""
    results = []
    untrusted = untrusted_signer()
    for case in cases:
        started = time.perf_counter()
        if case.kind == "sequence":
            values = offline_values(case)  # the saved numbers as a number the gateway gives
            reports = [validator.validate(fill(case.document(step["file"]), values), step["file"])
                       for step in case.steps]
            bad = [r for r in reports if not r.valid]
            result = Result(case, "failed" if bad else "passed", {"valid": True},
                            {"valid": not bad, "problems": [p.as_dict() for r in bad for p in r.problems]},
                            f"step {bad[0].name} is not valid" if bad else "")
        elif case.kind == "signed" and signer is None:
            result = Result(case, "skipped", case.expect, None, "no signer given")
        else:
            document = signed_case(case, signer, untrusted) if case.kind == "signed" else case.document()
            report = validator.validate(document, case.file)
            found = _first_match(case.expect, report)
            actual = found or ({"valid": True} if report.valid else
                               {"problems": [p.as_dict() for p in report.problems]})
            result = Result(case, "passed" if found else "failed", case.expect, actual,
                            "" if found else f"expected {_short(case.expect)}, got {_short_report(report)}")
        result.seconds = time.perf_counter() - started
        results.append(result)
    return results


# -- online ----------------------------------------------------------------------------------------

def send(target: str, envelope: bytes, timeout: float = 30.0) -> dict:
    """POST one envelope; the outcome as the manifest spells it."""
    reply = requests.post(target, data=envelope, headers={"Content-Type": "text/xml; charset=utf-8"},
                          timeout=timeout)
    try:
        root = answer_root(reply.headers.get("Content-Type", ""), reply.content)
    except etree.XMLSyntaxError:
        return {"outcome": "error", "http_status": reply.status_code, "body": reply.text[:500]}
    fault = parse_fault(reply.status_code, root)
    if fault is not None:
        return {"outcome": "fault", "fault": fault.element, "code": fault.code,
                "http_status": reply.status_code, "description": fault.description}
    if reply.status_code == 200:
        number = root.findtext(f".//{{{ns.RECEIPT}}}RegistrationNumber")
        return {"outcome": "accepted", "http_status": 200,
                **({"registration_number": number} if number else {})}
    return {"outcome": "error", "http_status": reply.status_code, "body": reply.text[:500]}


def answer_to(target: str, signer: Signer, message_id: str, timeout: float = 30.0,
              attempts: int = 20) -> etree._Element | None:
    """The business answer to ``message_id`` from the signer's GetResponse queue (every message
    taken is acknowledged); None when none comes within ``attempts`` polls."""
    T = ns.SMEV_TYPES
    kw = {"extra_certificates": list(signer.chain)}

    def post(envelope: bytes) -> etree._Element:
        reply = requests.post(target, data=envelope, timeout=timeout,
                              headers={"Content-Type": "text/xml; charset=utf-8"})
        return answer_root(reply.headers.get("Content-Type", ""), reply.content)

    for attempt in range(attempts):
        while (message := post(build.get_response(signer.key, signer.certificate, **kw))
               .find(f".//{{{T}}}ResponseMessage")) is not None:
            data = message.find(f"{{{T}}}Response/{{{T}}}SenderProvidedResponseData")
            post(build.ack(data.findtext(f"{{{T}}}MessageID"), signer.key, signer.certificate, **kw))
            if message.findtext(f"{{{T}}}Response/{{{T}}}OriginalMessageId") == message_id:
                content = data.find(f"{{{ns.SMEV_BASIC}}}MessagePrimaryContent")
                return content[0] if content is not None and len(content) else data
        time.sleep(min(0.05 * 2 ** attempt, 1.0))  # an external provider may answer later
    return None


def _answer_outcome(answer: etree._Element | None, wanted: dict) -> dict:
    """The answer as the manifest spells it: its root's local name and the texts of the
    children ``wanted`` names."""
    if answer is None:
        return {"root": None}
    got = {"root": etree.QName(answer).localname}
    for child in wanted:
        if child != "root":
            got[child] = next((e.text for e in answer if isinstance(e.tag, str)
                               and etree.QName(e).localname == child), None)
    return got


def run_online(cases: list[Case], target: str, signer: Signer,
               send_one: Callable[[str, bytes], dict] = send,
               take_answer: Callable[[str, Signer, str], etree._Element | None] = answer_to
               ) -> list[Result]:
    """Every case with an ``online`` outcome (and every sequence) sent to ``target``; the others
    are skipped (offline only)."""
    results = []
    untrusted = untrusted_signer()
    for case in cases:
        started = time.perf_counter()
        try:
            result = _online(case, target, signer, untrusted, send_one, take_answer)
        except (requests.RequestException, OSError) as exc:
            result = Result(case, "failed", case.online, {"outcome": "error"}, f"could not send: {exc}")
        result.seconds = time.perf_counter() - started
        results.append(result)
    return results


def _online(case: Case, target: str, signer: Signer, untrusted: Signer, send_one,
            take_answer=answer_to) -> Result:
    if case.kind == "sequence":
        return _sequence(case, target, signer, send_one, take_answer)
    if not case.online:
        return Result(case, "skipped", None, None, "offline only")
    envelope = signed_case(case, signer, untrusted) if case.kind == "signed" else _envelope(case.document(), signer)
    got = send_one(target, envelope)
    if matches(case.online, got):
        return Result(case, "passed", case.online, got)
    return Result(case, "failed", case.online, got, f"expected {_short(case.online)}, got {_short(got)}")


def _sequence(case: Case, target: str, signer: Signer, send_one, take_answer) -> Result:
    """The steps in order; the first whose outcome (or answer) differs fails the case."""
    values = run_values()
    got: dict = {}
    for number, step in enumerate(case.steps, 1):
        where = f"step {number} ({step['file']})"
        try:
            payload = fill(case.document(step["file"]), values)
        except ManifestError as exc:
            return Result(case, "failed", step["online"], None, f"{where}: {exc}")
        message_id = build.new_message_id()
        got = send_one(target, _envelope(payload, signer, message_id))
        if not matches(step["online"], got):
            return Result(case, "failed", step["online"], got,
                          f"{where}: expected {_short(step['online'])}, got {_short(got)}")
        if step.get("save"):
            if not got.get("registration_number"):
                return Result(case, "failed", {"registration_number": "…"}, got,
                              f"{where}: the receipt carries no registration number to save")
            values[step["save"]] = got["registration_number"]
        if step.get("answer"):
            answer = _answer_outcome(take_answer(target, signer, message_id), step["answer"])
            if not matches(step["answer"], answer):
                return Result(case, "failed", step["answer"], answer,
                              f"{where}: expected the answer {_short_answer(step['answer'])}, "
                              f"got {_short_answer(answer)}")
    return Result(case, "passed", case.steps[-1]["online"], got)


def _short_answer(answer: dict) -> str:
    return " ".join(f"{k}={v}" for k, v in answer.items())


# -- reports ---------------------------------------------------------------------------------------

def _short(outcome: dict | None) -> str:
    if not outcome:
        return "nothing"
    return " ".join(f"{k}={v}" for k, v in outcome.items() if k in
                    ("valid", "signature", "outcome", "fault", "code", "rule", "xpath",
                                          "http_status"))


def _short_report(report) -> str:
    if report.valid:
        return "valid"
    return "; ".join(_short(p.as_dict()) for p in report.problems[:5])


def junit(results: list[Result], suite: str) -> bytes:
    """One testcase per case (classname: its folder), a failure naming expected vs actual."""
    root = etree.Element("testsuites")
    failed = sum(r.status == "failed" for r in results)
    skipped = sum(r.status == "skipped" for r in results)
    ts = etree.SubElement(root, "testsuite", name=suite, tests=str(len(results)), failures=str(failed),
                          errors="0", skipped=str(skipped),
                          time=f"{sum(r.seconds for r in results):.3f}")
    for r in results:
        case = etree.SubElement(ts, "testcase", classname=f"{suite}.{r.case.folder.name}", name=r.case.id,
                                time=f"{r.seconds:.3f}")
        if r.status == "failed":
            failure = etree.SubElement(case, "failure", type="outcome", message=r.message[:1000])
            failure.text = (f"{r.case.description}\nexpected: {json.dumps(r.expected, ensure_ascii=False)}\n"
                            f"actual:   {json.dumps(r.actual, ensure_ascii=False)}")
        elif r.status == "skipped":
            etree.SubElement(case, "skipped", message=r.message)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def summary(results: list[Result], **about) -> dict:
    counts = {s: sum(r.status == s for r in results) for s in ("passed", "failed", "skipped")}
    return {**about, "cases": len(results), **counts, "results": [r.as_dict() for r in results]}
