"""The offline validator (gateway/qa/engine.py) and ``gateway validate``: what it finds, where it
says it is, and the exit codes and formats CI reads."""
from __future__ import annotations

import dataclasses
import json

import pytest
from click.testing import CliRunner
from lxml import etree

from envelopes import build
from envelopes.demo_data import ROMASHKA
from envelopes.payloads.registration import build_organisation_registration
from envelopes.payloads.samples import SAMPLES_DIR
from gateway.ops.cli import main
from gateway.qa.engine import Validator
from gateway.qa.trust import verifier

BAD_OGRN = "1027700132194"  # 13 digits, wrong check digit


@pytest.fixture(scope="module")
def engine():
    return Validator()


def _registration(**changes) -> bytes:
    element = build_organisation_registration(dataclasses.replace(ROMASHKA, **changes))
    return etree.tostring(element, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def test_every_shipped_sample_is_valid_by_its_root_element(engine):
    samples = [p for p in SAMPLES_DIR.rglob("*.xml") if "invalid" not in p.parts]
    assert len(samples) > 20
    for path in samples:
        report = engine.validate(path.read_bytes(), str(path))
        assert report.valid, (path, report.problems)
        assert report.kind == "payload" and report.schemas


def _line_of(data: bytes, text: str) -> int:
    return next(i for i, line in enumerate(data.split(b"\n"), 1) if text.encode() in line)


def test_a_checksum_is_named_with_rule_xpath_line_and_column(engine):
    data = _registration(ogrn=BAD_OGRN)
    report = engine.validate(data, "bad.xml")
    [problem] = report.problems
    assert (problem.code, problem.rule, problem.fault) == ("FIELD_RULE", "ogrn", "InvalidContent")
    assert problem.xpath == "/reg:OrganisationRegistrationRequest/reg:OGRN"
    assert (problem.line, problem.column) == (_line_of(data, BAD_OGRN), 3)
    assert "check digit" in problem.message


def test_xsd_problems_come_before_checksums_as_at_the_gateway(engine):
    report = engine.validate(_registration(ogrn="12"), "short.xml")
    assert [p.code for p in report.problems] == ["XSD_VIOLATION"]
    assert report.problems[0].xpath.endswith("reg:OGRN")


def test_malformed_and_unknown_documents(engine):
    assert engine.validate(b"<a><b></a>", "x").problems[0].code == "MALFORMED_XML"
    [unknown] = engine.validate(b"<x xmlns='urn:nobody'/>", "x").problems
    assert unknown.code == "NO_SCHEMA"


def test_a_signed_envelope_is_checked_whole(engine, demo_settings, demo_client):
    key, cert, chain = demo_client
    envelope = build.send_request(build_organisation_registration(ROMASHKA), key, cert,
                                  extra_certificates=chain)
    with_path = Validator(verifier=verifier(demo_settings))
    report = with_path.validate(envelope, "env.xml")
    assert report.valid, report.problems
    assert (report.kind, report.signed, report.signature) == ("envelope", True, "VALID")
    assert report.schemas == ["smev-message-exchange-types-1.1.xsd", "organisation-registration-1.0.xsd"]
    tampered = envelope.replace(ROMASHKA.ogrn.encode(), BAD_OGRN.encode())
    codes = [p.code for p in with_path.validate(tampered, "t.xml").problems]
    assert codes[0] in ("DIGEST_FAILURE", "HASH_FAILURE", "REFERENCE_FAILURE") and "FIELD_RULE" in codes


def test_no_trust_checks_the_signature_but_not_the_path(engine, demo_client):
    key, cert, chain = demo_client
    envelope = build.send_request(build_organisation_registration(ROMASHKA), key, cert)  # no chain
    assert engine.validate(envelope, "e").valid  # the signature alone holds
    unsigned = build.send_request(build_organisation_registration(ROMASHKA), key, cert, sign=False)
    assert engine.validate(unsigned, "u").signature == "NOT_CHECKED"
    strict = Validator(require_signature=True)
    # the contract requires the signature element too: the XSD says so, and the gateway's code
    assert "NO_SIGNATURE" in [p.code for p in strict.validate(unsigned, "u").problems]


@pytest.fixture
def cli(tmp_path):
    def invoke(*args, code, stdin=None):
        result = CliRunner().invoke(main, ["validate", *args], input=stdin,
                                    env={"GATEWAY_DATA_DIR": str(tmp_path / "none")})
        assert result.exit_code == code, result.output
        return result.output
    return invoke


def test_cli_exit_codes_and_formats(cli, tmp_path):
    good = tmp_path / "in" / "good.xml"
    good.parent.mkdir()
    good.write_bytes(_registration())
    assert "1 files, 1 valid, 0 invalid" in cli(str(good.parent), code=0)
    bad = _registration(ogrn=BAD_OGRN)
    (good.parent / "bad.xml").write_bytes(bad)
    text = cli(str(good.parent), code=1)
    assert f"{good.parent / 'bad.xml'}:{_line_of(bad, BAD_OGRN)}:3: FIELD_RULE/ogrn at /reg:OrganisationRegistrationRequest/reg:OGRN" in text
    report = json.loads(cli(str(good.parent), "--format", "json", code=1))
    assert (report["files"], report["invalid"]) == (2, 1)
    assert report["reports"][0]["problems"][0]["rule"] == "ogrn"
    junit = etree.fromstring(cli(str(good.parent), "--format", "junit", code=1).encode())
    suite = junit.find("testsuite")
    assert (suite.get("tests"), suite.get("failures")) == ("2", "1")
    assert suite.find("testcase/failure").get("type") == "FIELD_RULE"
    assert "-:" in cli("-", code=1, stdin=bad) and "1 files, 0 valid, 1 invalid" in cli("-", code=1, stdin=bad)
    cli(str(tmp_path / "missing.xml"), code=2)
    cli(str(good), "--format", "yaml", code=2)


def test_cli_signed_envelope_without_anchors_says_so(cli, tmp_path, demo_client):
    key, cert, chain = demo_client
    path = tmp_path / "env.xml"
    path.write_bytes(build.send_request(build_organisation_registration(ROMASHKA), key, cert))
    assert "NO_TRUST_ANCHORS" in cli(str(path), code=1)
    assert "signature VALID" in cli(str(path), "--no-trust", code=0)


def test_schema_option_forces_the_xsd_of_bare_payloads(cli, tmp_path):
    from gateway.config import CONTRACT_DIRS

    path = tmp_path / "doc.xml"
    path.write_bytes(_registration())
    right, wrong = (CONTRACT_DIRS["xsd"] / name for name in
                    ("organisation-registration-1.0.xsd", "licensing-1.0.xsd"))
    assert "valid (organisation-registration-1.0.xsd)" in cli(str(path), "--schema", str(right), code=0)
    assert "XSD_VIOLATION" in cli(str(path), "--schema", str(wrong), code=1)
