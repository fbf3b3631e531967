"""The administration commands (click), on a throw-away data folder and SQLite database."""
import pytest
from click.testing import CliRunner

from gateway.ops.cli import main


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    env = {"GATEWAY_DATA_DIR": str(tmp_path_factory.mktemp("cli")), "GATEWAY_DATABASE_URL": ""}
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
