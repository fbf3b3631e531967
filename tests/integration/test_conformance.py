"""The conformance corpus against the test gateway: every message-level case gives the fault the
manifest names, and ``gateway conformance run`` writes JUnit XML and a JSON summary CI can read."""
from __future__ import annotations

import json

from click.testing import CliRunner
from lxml import etree
from sqlalchemy import func, select

from gateway.ops.cli import main
from gateway.qa.conformance import Signer, run_online
from gateway.qa.corpus import SHIPPED, load
from gateway.storage.schema import applications


def _applications(engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(applications))


def _multi_step(case) -> bool:
    return case.kind == "sequence" and len(case.steps) > 1


def test_every_message_level_case_gives_its_outcome(gateway_url, demo_client, engine):
    key, cert, chain = demo_client
    cases = [c for c in load([SHIPPED]) if not _multi_step(c)]
    before = _applications(engine)
    results = run_online(cases, gateway_url, Signer(key, cert, tuple(chain)))
    failed = [f"{r.case.id}: {r.message}" for r in results if r.status == "failed"]
    assert not failed, "\n".join(failed)
    sent = [r for r in results if r.status == "passed"]
    assert len(sent) >= 60 and {r.case.kind for r in sent} == {"payload", "signed", "sequence"}
    # every folder's message-level cases reach the gateway, a new domain's included
    assert {r.case.folder.name for r in sent} == {c.folder.name for c in cases}
    assert _applications(engine) == before  # every case is refused: nothing changes at the target


def test_every_state_machine_refuses_its_illegal_transitions_step_by_step(gateway_url, demo_client, engine):
    """The multi-step sequences: each step's receipt or fault and its business answer as the
    manifest says; the legal steps really moved applications (the illegal one is refused by the
    state machine, not by a check before it). Run twice: the variables make them repeatable."""
    key, cert, chain = demo_client
    cases = [c for c in load([SHIPPED]) if _multi_step(c)]
    assert {c.folder.name for c in cases} == {"registration", "reporting", "licensing",
                                              "power-of-attorney", "details"}
    for _ in range(2):
        before = _applications(engine)
        results = run_online(cases, gateway_url, Signer(key, cert, tuple(chain)))
        failed = [f"{r.case.id}: {r.message}" for r in results if r.status != "passed"]
        assert not failed, "\n".join(failed)
        assert _applications(engine) >= before + len(cases)  # each opened at least one


def test_cli_writes_junit_and_summary(gateway_url, demo_settings, tmp_path):
    out = tmp_path / "conformance.xml"
    env = {"GATEWAY_DATA_DIR": str(demo_settings.data_dir)}
    result = CliRunner().invoke(main, ["conformance", "run", "--target", gateway_url, "--only", "reg-",
                                       "--junit", str(out)], env=env)
    assert result.exit_code == 0, result.output
    suite = etree.parse(str(out)).getroot().find("testsuite")
    cases = suite.findall("testcase")
    assert int(suite.get("tests")) == len(cases) == sum(c.id.startswith("reg-") for c in load([SHIPPED]))
    assert int(suite.get("failures")) == 0
    skipped = [c for c in cases if c.find("skipped") is not None]
    assert int(suite.get("skipped")) == len(skipped) > 0  # the valid payloads: offline only
    assert all(c.get("classname") == "conformance.registration" and c.get("name") for c in cases)
    summary = json.loads(out.with_suffix(".json").read_text("utf-8"))
    assert summary["cases"] == len(cases) and summary["failed"] == 0
    assert {r["status"] for r in summary["results"]} == {"passed", "skipped"}


def test_a_case_that_fails_names_expected_and_actual(gateway_url, demo_settings, tmp_path):
    """A QA team's own folder with a wrong expectation: the failure says what was expected and
    what came back, and the exit code is 1."""
    folder = tmp_path / "ours"
    folder.mkdir()
    (folder / "bad-ogrn.xml").write_bytes((SHIPPED / "registration" / "reg-ogrn-checksum.xml").read_bytes())
    (folder / "manifest.json").write_text(json.dumps({"cases": [
        {"id": "ours-wrong-expectation", "kind": "payload", "file": "bad-ogrn.xml",
         "expect": {"code": "FIELD_RULE"}, "online": {"outcome": "accepted"}}]}), "utf-8")
    out = tmp_path / "ours.xml"
    result = CliRunner().invoke(main, ["conformance", "run", "--target", gateway_url, "--corpus", str(folder),
                                       "--junit", str(out)], env={"GATEWAY_DATA_DIR": str(demo_settings.data_dir)})
    assert result.exit_code == 1, result.output
    failure = etree.parse(str(out)).getroot().find("testsuite/testcase/failure")
    assert "expected outcome=accepted" in failure.get("message")
    assert "got outcome=fault fault=InvalidContent code=FIELD_RULE" in failure.get("message")
    assert "expected:" in failure.text and "actual:" in failure.text


def test_a_sequence_step_whose_answer_differs_fails_naming_both(gateway_url, demo_settings, tmp_path):
    """A QA team's own sequence: a saved registration number is carried into the next step, and
    a wrong expectation about a step's business answer fails the case at that step."""
    folder = tmp_path / "ours"
    folder.mkdir()
    shipped = SHIPPED / "registration"
    for name in ("seq-register.xml", "seq-confirm.xml"):
        (folder / name).write_bytes((shipped / name).read_bytes())
    (folder / "manifest.json").write_text(json.dumps({"cases": [
        {"id": "ours-confirm-expects-suspended", "kind": "sequence", "steps": [
            {"file": "seq-register.xml", "online": {"outcome": "accepted"}, "save": "reg"},
            {"file": "seq-confirm.xml", "online": {"outcome": "accepted"},
             "answer": {"root": "RegistrationResult", "State": "suspended"}}]}]}), "utf-8")
    out = tmp_path / "ours.xml"
    result = CliRunner().invoke(main, ["conformance", "run", "--target", gateway_url, "--corpus", str(folder),
                                       "--junit", str(out)], env={"GATEWAY_DATA_DIR": str(demo_settings.data_dir)})
    assert result.exit_code == 1, result.output
    failure = etree.parse(str(out)).getroot().find("testsuite/testcase/failure")
    assert failure.get("message") == ("step 2 (seq-confirm.xml): expected the answer root=RegistrationResult "
                                      "State=suspended, got root=RegistrationResult State=active")
