"""``gateway messages list`` and ``show`` against requests sent over real HTTP: what was received
and answered, the verification verdict with the certificate path, and the journal entries."""
from __future__ import annotations

import json
import uuid

import pytest
from click.testing import CliRunner

from envelopes.build import send_request
from envelopes.demo_data import ROMASHKA, VASILEK
from envelopes.payloads.registration import build_organisation_registration
from gateway.ops.cli import main
from support import post


@pytest.fixture
def cli(demo_settings):
    env = {"GATEWAY_DATA_DIR": str(demo_settings.data_dir),
           "GATEWAY_DATABASE_URL": demo_settings.resolved_database_url}

    def run(*args, ok=True):
        result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
        assert (result.exit_code == 0) == ok, result.output
        return result.output
    return run


def test_a_request_and_a_refusal_are_listed_and_shown(gateway_url, demo_client, cli):
    key, cert, chain = demo_client
    message_id = str(uuid.uuid1())
    accepted, _ = post(gateway_url, send_request(build_organisation_registration(ROMASHKA), key, cert,
                                                 extra_certificates=chain, message_id=message_id))
    assert accepted.status_code == 200, accepted.text
    # the same MessageID over other content: refused, and journalled under that MessageID
    refused, _ = post(gateway_url, send_request(build_organisation_registration(VASILEK), key, cert,
                                                extra_certificates=chain, message_id=message_id))
    assert refused.status_code == 500 or refused.status_code == 400

    listed = json.loads(cli("messages", "list", "--sender", "ROMASHKA", "--format", "json",
                            "--limit", "500"))
    mine = [r for r in listed if r["message_id"] == message_id]
    assert [(r["operation"], r["outcome"]) for r in mine] == [("SendRequest", "fault"),
                                                              ("SendRequest", "accepted")]
    assert mine[1]["recipient"] and mine[1]["status"] == "requestIsQueued"
    assert mine[0]["fault"].endswith("/MESSAGE_ID_REUSED") and mine[0]["sender"] == "ROMASHKA"
    faults = json.loads(cli("messages", "list", "--status", "fault", "--format", "json", "--limit", "500"))
    assert all(r["outcome"] == "fault" for r in faults) and message_id in [r["message_id"] for r in faults]
    text = cli("messages", "list", "--operation", "SendRequest", "--status", "accepted",
               "--from", "2000-01-01", "--limit", "500")
    assert f"{message_id}\tSendRequest\tROMASHKA -> " in text
    assert cli("messages", "list", "--sender", "NOBODY") == ""

    shown = json.loads(cli("messages", "show", message_id, "--format", "json"))
    assert shown["message"]["operation"] == "SendRequest" and shown["message"]["sender"] == "ROMASHKA"
    verdict = shown["verification"]
    assert verdict["signature"] == "VALID" and verdict["indication"] == "TOTAL-PASSED"
    assert len(verdict["path"]) >= 2 and verdict["path"][0] == verdict["certificate"]
    assert [r["code"] for r in shown["refusals"]] == ["MESSAGE_ID_REUSED"]
    events = [e["event"] for e in shown["journal"]]
    assert events[:2] == ["request-accepted", "receipt"] and "rejected" in events
    text = cli("messages", "show", message_id)
    assert "verification   VALID TOTAL-PASSED" in text and "path[0]" in text and "refused" in text
