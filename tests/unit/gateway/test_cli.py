"""The administration commands (click), on a throw-away data folder and SQLite database."""
import pytest
from click.testing import CliRunner

from gateway.ops.cli import main


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    env = {"GATEWAY_DATA_DIR": str(tmp_path_factory.mktemp("cli")), "GATEWAY_DATABASE_URL": "",
           "GATEWAY_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8"}  # the tests subscribe loopback URLs
    runner = CliRunner()

    def invoke(*args, ok=True):
        result = runner.invoke(main, list(args), env=env, catch_exceptions=False)
        assert (result.exit_code == 0) == ok, result.output
        return result.output

    invoke("setup")
    return invoke


def test_setup_is_idempotent(run):
    assert "issued" not in run("setup")


def test_information_systems_and_permissions(run):
    assert "ROMASHKA\tenabled" in run("is", "list")
    run("is", "disable", "VASILEK")
    assert "VASILEK\tdisabled" in run("is", "list")
    run("is", "enable", "VASILEK")
    run("is", "allow", "VASILEK", "serve", "urn://x/1.0", "Query")
    assert "VASILEK\tserve\t{urn://x/1.0}Query" in run("is", "permissions", "VASILEK")
    run("is", "deny", "VASILEK", "serve", "urn://x/1.0", "Query")
    assert "urn://x/1.0" not in run("is", "permissions", "VASILEK")
    assert "no such permission" in run("is", "deny", "VASILEK", "serve", "urn://x/1.0", ok=False)
    assert "no information system" in run("is", "disable", "NOBODY", ok=False)


def test_pki_issue_and_revoke(run):
    out = run("pki", "issue", "clerk", "--cn", "Клерк", "--inn-le", "7702123454", "--key-type", "ec-p256")
    serial = out.split("serial:")[1].split()[0]
    assert f"revoked serial {serial}" in run("pki", "revoke", "clerk")
    assert "no certificate named" in run("pki", "revoke", "nobody-at-all", ok=False)


def test_journal_verify_and_db_upgrade(run):
    assert "database at head" in run("db", "upgrade")
    assert "journal intact" in run("journal", "verify")


def test_webhooks_subscribe_list_deliveries_remove(run):
    out = run("webhooks", "add", "ROMASHKA", "http://127.0.0.1:9/hook", "--event",
              "application.created", "--event", "licence.decided")
    sub_id = out.split()[1].rstrip(":")
    assert "secret (shown once" in out
    assert f"{sub_id}\tROMASHKA\thttp://127.0.0.1:9/hook\tapplication.created licence.decided" \
        in run("webhooks", "list")
    assert "unknown event" in run("webhooks", "add", "ROMASHKA", "http://127.0.0.1:9/x",
                                  "--event", "nothing.happened", ok=False)
    assert "no information system" in run("webhooks", "add", "NOBODY", "http://127.0.0.1:9/x",
                                          "--event", "poa.revoked", ok=False)
    assert run("webhooks", "deliveries", "--system", "ROMASHKA") == ""
    assert "no done or dead delivery" in run("webhooks", "replay", "123456", ok=False)
    run("webhooks", "remove", sub_id)
    assert f"{sub_id}\tROMASHKA" not in run("webhooks", "list")
    assert "removed" in run("webhooks", "list", "--all")
    assert "0 webhook delivery attempt(s)" in run("webhooks", "dispatch")


def test_keys_issue_list_rotate_revoke(run):
    key_id, key = run("keys", "issue", "ROMASHKA", "--scope", "history:read", "--scope",
                      "webhooks:manage").split()
    assert f"{key_id}\tROMASHKA\thistory:read webhooks:manage" in run("keys", "list", "ROMASHKA")
    new_id, new_key = run("keys", "rotate", key_id).split()
    assert new_key != key
    listing = run("keys", "list")
    assert f"{key_id}\tROMASHKA" in listing and "revoked" in listing.split(key_id)[1].split("\n")[0]
    run("keys", "revoke", new_id)
    assert "no unrevoked key" in run("keys", "revoke", new_id, ok=False)


def test_operators_and_the_journal_of_administrative_actions(run):
    run("operators", "add", "alice", "--role", "controller", "--password", "a long password here")
    assert "short" not in run("operators", "list")
    assert "alice\tcontroller" in run("operators", "list")
    assert "at least 12" in run("operators", "add", "bob", "--role", "operator",
                                "--password", "short", ok=False)
    run("operators", "disable", "alice")
    assert "alice\tcontroller\tdisabled" in run("operators", "list")
    assert "journal intact" in run("journal", "verify")


def test_webhooks_to_loopback_need_the_allow_list(tmp_path):
    env = {"GATEWAY_DATA_DIR": str(tmp_path), "GATEWAY_DATABASE_URL": ""}
    runner = CliRunner()
    assert runner.invoke(main, ["setup"], env=env).exit_code == 0
    refused = runner.invoke(main, ["webhooks", "add", "ROMASHKA", "http://127.0.0.1:9/hook",
                                   "--event", "application.created"], env=env)
    assert refused.exit_code != 0 and "GATEWAY_WEBHOOK_ALLOWED_NETWORKS" in refused.output


def test_notifications_scan_and_list(run):
    out = run("notifications", "scan", "--at", "2026-04-27T00:00:00")  # 3 days before 30 April
    assert "deadline.approaching\t" in out and "certificate.expiring\t" in out
    listed = run("notifications", "--kind", "deadline.approaching")
    lines = [line.split("\t") for line in listed.splitlines()]
    # the demo organisations have filed nothing: each gets the 3-day notice of Q1, once
    assert {(kind, subject.rsplit(":", 1)[1], days) for _, kind, subject, days, _, _ in lines} == \
        {("deadline.approaching", "2026-21", "3d")}
    assert len(lines) >= 2 and all(went == "not fanned out yet" for *_, went in lines)
    run("webhooks", "dispatch")  # fanned out: no subscription of this data folder wants them
    lines = [line.split("\t") for line in run("notifications", "--inn", "7702123454").splitlines()]
    assert [went for *_, went in lines] == ["no subscription wanted it"]
    assert "0 new" in run("notifications", "scan", "--at", "2026-04-27T01:00:00").split("deadline.approaching\t")[1]
    import json
    data = json.loads(run("notifications", "--format", "json", "--from", "2020-01-01"))
    assert data and all(d["threshold_days"] == 3 for d in data if d["kind"] == "deadline.approaching")


def test_messages_list_and_show(run):
    import json
    assert run("messages", "list") == ""  # nothing received yet in this data folder
    assert "nothing is known" in run("messages", "show", "00000000-0000-1000-8000-000000000000", ok=False)
    assert json.loads(run("messages", "list", "--format", "json", "--sender", "ROMASHKA")) == []
