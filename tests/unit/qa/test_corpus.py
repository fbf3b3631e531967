"""The shipped conformance corpus (conformance/): what gateway/qa/corpus_build.py writes, enough
cases per schema, every checksum rule and enumeration value covered, and every case's offline
verdict as its manifest says."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from lxml import etree

from envelopes.payloads.identifiers import IDENTIFIERS
from gateway.qa import corpus, corpus_build
from gateway.qa.conformance import Signer, run_offline
from gateway.qa.engine import Validator
from gateway.qa.trust import verifier

BUSINESS = ("registration", "reporting", "licensing", "power-of-attorney", "details")
#: identifier fields no sample carries (an EMCHD_1 of an individual entrepreneur is not among
#: envelopes/samples/emchd/): not covered yet
NOT_COVERED = {"ОГРНИП доверителя (EMCHD_1)", "ОГРНИП представителя (EMCHD_1)",
               "ИНН организации-представителя (EMCHD_1)", "ОГРН организации-представителя (EMCHD_1)"}


@pytest.fixture(scope="module")
def cases():
    return corpus.load([corpus.SHIPPED])


def test_the_shipped_files_are_what_the_builder_writes(tmp_path):
    corpus_build.write(tmp_path)
    shipped = sorted(p.relative_to(corpus.SHIPPED) for p in corpus.SHIPPED.rglob("*") if p.is_file())
    built = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert shipped == built
    for name in built:
        assert (corpus.SHIPPED / name).read_bytes() == (tmp_path / name).read_bytes(), name


def test_at_least_fifteen_cases_per_business_schema(cases):
    for folder in BUSINESS:
        assert sum(c.folder.name == folder for c in cases) >= 15, folder


def test_every_checksum_rule_has_a_case(cases):
    expected = {(root, f.name) for root, fields in IDENTIFIERS.items() for f in fields} - \
        {(root, name) for root, fields in IDENTIFIERS.items() for name in NOT_COVERED}
    covered = set()
    for case in cases:
        if case.expect and case.expect.get("code") == "FIELD_RULE" and case.kind == "payload":
            root = etree.parse(str(case.path())).getroot().tag
            xpath = case.expect["xpath"]
            for field in IDENTIFIERS[root]:
                if any(xpath.endswith(x.split("/", 1)[-1] if "/" in x else x) for x in field.xpaths[:1]):
                    covered.add((root, field.name))
    assert expected <= covered, sorted(expected - covered)


def test_every_enumeration_value_is_in_a_valid_case(cases):
    xsd = Path(corpus.ROOT / "xsd")
    for folder, schema in (("registration", "organisation-registration-1.0.xsd"), ("reporting", "reporting-1.0.xsd"),
                           ("licensing", "licensing-1.0.xsd"), ("power-of-attorney", "power-of-attorney-1.0.xsd"),
                           ("details", "organisation-details-1.0.xsd")):
        values = re.findall(r'<xs:enumeration value="([^"]+)"', (xsd / schema).read_text("utf-8"))
        valid = b"".join(c.document() for c in cases if c.folder.name == folder and c.kind == "payload"
                         and c.expect == {"valid": True})
        missing = [v for v in values if f">{v}<".encode() not in valid]
        assert not missing, (folder, missing)


def test_every_case_gives_its_offline_verdict(cases, demo_settings, demo_client):
    key, cert, chain = demo_client
    results = run_offline(cases, Validator(verifier=verifier(demo_settings), require_signature=True), Signer(key, cert, tuple(chain)))
    failed = [(r.case.id, r.message) for r in results if r.status != "passed"]
    assert not failed, "\n".join(f"{i}: {m}" for i, m in failed)
    assert len(results) == len(cases) > 100


def test_sequence_variables_are_filled_and_an_unsaved_one_is_a_manifest_error(tmp_path):
    from gateway.qa.corpus import ManifestError, fill, load

    values = {"reg": "20260101-X", "today": "2026-12-06", "uuid": "u"}
    assert fill(b"<a>{{reg}}</a><b>{{today+90}}</b><c>{{uuid}}</c>", values) == \
        b"<a>20260101-X</a><b>2027-03-06</b><c>u</c>"
    (tmp_path / "one.xml").write_bytes(b"<x>{{reg}}</x>")
    (tmp_path / "manifest.json").write_text(json.dumps({"cases": [
        {"id": "uses-before-saving", "kind": "sequence",
         "steps": [{"file": "one.xml", "online": {"outcome": "accepted"}, "save": "reg"},
                   {"file": "one.xml", "online": {"outcome": "accepted"}}]}]}), "utf-8")
    with pytest.raises(ManifestError, match="uses reg, saved by no earlier step"):
        load([tmp_path])
