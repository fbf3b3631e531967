"""The conformance corpus: folders of documents with a ``manifest.json`` beside them saying what
each must give. The shipped corpus is ``conformance/`` at the repository root; QA teams add
their own folders in the same format (``--corpus`` may be given several times). docs/qa.md
describes the format.

A case is one of:

* ``payload`` — a business payload (``file``); offline it is validated as it is, online it is
  sent in a ``SendRequest`` signed by the test participant;
* ``signed`` — the same, with ``tamper`` naming what is done to the envelope after signing (the
  signature faults; :data:`TAMPERS`);
* ``sequence`` — ``steps``, each a payload sent in turn with its own ``online`` outcome (the
  state machines' illegal transitions: register, then confirm twice). A step may ``save`` the
  registration number of its receipt under a name, and check the business ``answer`` its
  GetResponse brings (``{"root": local name, child: text, ...}``); a later step's file refers to
  a saved number as ``{{name}}``. Files may also use ``{{uuid}}`` (fresh per run of the case),
  ``{{year}}`` (a reporting year no earlier run used, most likely) and ``{{today}}`` /
  ``{{today+N}}`` (dates), so a sequence can run again against the same target.

``expect`` is the offline verdict (``{"valid": true}`` or the first problem's ``code`` and,
optionally, ``xpath``, ``rule``, ``fault``); ``online`` is what a gateway answers (``{"outcome":
"accepted"}`` or ``{"outcome": "fault", "fault": element, "code": code}``), absent when the case
is offline only (a valid request would change the target's state; an answer root cannot be sent).
"""
from __future__ import annotations

import dataclasses
import json
import random
import re
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Iterable

from lxml import etree

from envelopes import ns

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "conformance"
MANIFEST = "manifest.json"
KINDS = ("payload", "signed", "sequence")


@dataclasses.dataclass(frozen=True)
class Case:
    folder: Path
    id: str
    kind: str
    description: str
    file: str | None = None
    expect: dict | None = None
    online: dict | None = None
    tamper: str | None = None
    steps: tuple[dict, ...] = ()
    schema: str | None = None  # for the domain column of reports: the manifest's own name

    def path(self, name: str | None = None) -> Path:
        return self.folder / (name or self.file)

    def document(self, name: str | None = None) -> bytes:
        return self.path(name).read_bytes()


class ManifestError(ValueError):
    pass


def load(folders: Iterable[Path]) -> list[Case]:
    """Every case of every ``manifest.json`` at or below each folder; ids must be unique."""
    cases: list[Case] = []
    for folder in folders:
        manifests = [folder / MANIFEST] if (folder / MANIFEST).is_file() else sorted(folder.rglob(MANIFEST))
        if not manifests:
            raise ManifestError(f"no {MANIFEST} in or below {folder}")
        for manifest in manifests:
            cases.extend(_cases(manifest))
    seen: set[str] = set()
    for case in cases:
        if case.id in seen:
            raise ManifestError(f"case id {case.id} is used twice")
        seen.add(case.id)
    return cases


def _cases(manifest: Path) -> list[Case]:
    try:
        data = json.loads(manifest.read_text("utf-8"))
    except ValueError as exc:
        raise ManifestError(f"{manifest}: {exc}") from None
    found = []
    for raw in data.get("cases", []):
        kind = raw.get("kind", "payload")
        if kind not in KINDS or "id" not in raw:
            raise ManifestError(f"{manifest}: a case needs an id and a kind of {', '.join(KINDS)}: {raw}")
        case = Case(manifest.parent, raw["id"], kind, raw.get("description", ""), raw.get("file"),
                    raw.get("expect"), raw.get("online"), raw.get("tamper"),
                    tuple(raw.get("steps", ())), data.get("schema"))
        for name in [case.file] + [s.get("file") for s in case.steps]:
            if name is not None and not case.path(name).is_file():
                raise ManifestError(f"{manifest}: case {case.id}: no file {name}")
        if kind == "sequence" and not case.steps:
            raise ManifestError(f"{manifest}: sequence {case.id} has no steps")
        if kind == "sequence":
            _check_steps(manifest, case)
        if kind != "sequence" and (case.file is None or case.expect is None):
            raise ManifestError(f"{manifest}: case {case.id} needs a file and expect")
        if kind == "signed" and case.tamper not in TAMPERS:
            raise ManifestError(f"{manifest}: case {case.id}: tamper must be one of {', '.join(TAMPERS)}")
        found.append(case)
    return found


def _check_steps(manifest: Path, case: Case) -> None:
    saved: set[str] = set()
    for number, step in enumerate(case.steps, 1):
        where = f"{manifest}: sequence {case.id} step {number}"
        if not isinstance(step.get("online"), dict):
            raise ManifestError(f"{where}: needs an online outcome")
        if "answer" in step and not (isinstance(step["answer"], dict) and step["answer"].get("root")):
            raise ManifestError(f"{where}: answer must name its root")
        used = {m.group(1).decode() for m in VARIABLE.finditer(case.document(step["file"]))}
        unknown = used - saved - {"uuid", "year", "today"}
        if unknown:
            raise ManifestError(f"{where}: {step['file']} uses {', '.join(sorted(unknown))}, "
                                "saved by no earlier step")
        if step.get("save"):
            saved.add(step["save"])


# -- the variables of a sequence's files ------------------------------------------------------

VARIABLE = re.compile(rb"\{\{([a-z_][a-z0-9_]*)(?:\+([0-9]+))?\}\}")
#: what an unsaved registration number reads as offline: the form the gateway gives them
SAMPLE_NUMBER = "20260101-AAAAAAAAAAAAAAAAAAAAAAAAAA"


def run_values(today: date | None = None) -> dict[str, str]:
    """The built-in variables for one run of a sequence: fresh each time it is sent."""
    return {"uuid": str(uuid.uuid4()), "year": str(random.randint(2100, 8999)),
            "today": (today or date.today()).isoformat()}


def offline_values(case: Case) -> dict[str, str]:
    """Stand-ins for a sequence's variables when it is only validated: the saved numbers as a
    registration number the gateway could give."""
    saved = {step["save"]: SAMPLE_NUMBER for step in case.steps if step.get("save")}
    return {**run_values(), **saved}


def fill(data: bytes, values: dict[str, str]) -> bytes:
    """``{{name}}`` replaced by its value (XML-escaped); ``{{today+N}}`` is N days after today.
    An unknown name is a manifest error, not a silent blank."""
    def one(m: re.Match) -> bytes:
        name, days = m.group(1).decode(), m.group(2)
        if name not in values:
            raise ManifestError(f"no value for {{{{{name}}}}} (saved by no earlier step)")
        if days is not None:
            if name != "today":
                raise ManifestError(f"only today takes +N days, not {name}")
            return (date.fromisoformat(values["today"]) + timedelta(days=int(days))).isoformat().encode()
        return (values[name].replace("&", "&amp;").replace("<", "&lt;")).encode("utf-8")
    return VARIABLE.sub(one, data)


# -- what the signed cases do to an envelope after signing ---------------------------------------

T, B, DS = ns.SMEV_TYPES, ns.SMEV_BASIC, ns.DS


def _tree(envelope: bytes) -> etree._Element:
    return etree.fromstring(envelope, etree.XMLParser(resolve_entities=False, no_network=True))


def _out(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _change_payload(envelope: bytes) -> bytes:
    """A character of the signed business content changes after signing."""
    root = _tree(envelope)
    content = root.find(f".//{{{B}}}MessagePrimaryContent")
    leaf = next(e for e in content.iter() if isinstance(e.tag, str) and (e.text or "").strip())
    leaf.text = leaf.text.strip() + " "
    return _out(root)


def _break_signature_value(envelope: bytes) -> bytes:
    root = _tree(envelope)
    value = root.find(f".//{{{DS}}}SignatureValue")
    text = "".join((value.text or "").split())
    flipped = "A" if text[10] != "A" else "B"
    value.text = text[:10] + flipped + text[11:]
    return _out(root)


def _unsigned(envelope: bytes) -> bytes:
    root = _tree(envelope)
    holder = root.find(f".//{{{T}}}CallerInformationSystemSignature")
    holder.getparent().remove(holder)
    return _out(root)


def _no_certificate(envelope: bytes) -> bytes:
    root = _tree(envelope)
    key_info = root.find(f".//{{{T}}}CallerInformationSystemSignature/{{{DS}}}Signature/{{{DS}}}KeyInfo")
    for child in list(key_info):
        key_info.remove(child)
    etree.SubElement(key_info, f"{{{DS}}}KeyName").text = "not a certificate"
    return _out(root)


def _other_reference(envelope: bytes) -> bytes:
    """The signature points at another Id than the signed element's (a wrapping attempt)."""
    root = _tree(envelope)
    reference = root.find(f".//{{{T}}}CallerInformationSystemSignature//{{{DS}}}Reference")
    reference.set("URI", "#somewhere-else")
    return _out(root)


def _extra_element(envelope: bytes) -> bytes:
    """An element the message-exchange XSD does not allow, outside the signed data."""
    root = _tree(envelope)
    request = root.find(f".//{{{T}}}SendRequestRequest")
    request.insert(1, etree.Element(f"{{{T}}}Unexpected"))
    return _out(root)


TAMPERS: dict[str, Any] = {
    "none": lambda envelope: envelope,
    "untrusted-signer": lambda envelope: envelope,  # signed with a key no CA issued (the runner's)
    "payload-changed": _change_payload,
    "signature-value-broken": _break_signature_value,
    "unsigned": _unsigned,
    "no-certificate": _no_certificate,
    "reference-elsewhere": _other_reference,
    "envelope-extra-element": _extra_element,
}


def matches(expect: dict, got: dict) -> bool:
    """Every key the manifest names has the same value in ``got`` (an xpath may be given relative
    to the payload root: it matches the end of the reported one)."""
    for key, wanted in expect.items():
        value = got.get(key)
        if key == "xpath" and isinstance(value, str) and isinstance(wanted, str):
            if not (value == wanted or value.endswith(wanted)):
                return False
        elif value != wanted:
            return False
    return True
