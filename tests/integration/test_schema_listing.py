"""GET /ws/xsd/ and ``gateway schemas export``: every schema of the contract with its version and
SHA-256, the same bytes as served."""
from __future__ import annotations

import hashlib
import json

import requests
from click.testing import CliRunner

from gateway.config import CONTRACT_DIRS
from gateway.ops.cli import main


def test_listing_names_every_schema_with_its_digest(gateway_url):
    reply = requests.get(f"{gateway_url}/xsd/", timeout=10)
    assert reply.status_code == 200 and reply.headers["Content-Type"] == "application/json"
    entries = {e["file"]: e for e in reply.json()}
    xsds = {p.name for p in CONTRACT_DIRS["xsd"].glob("*.xsd")}
    assert xsds <= set(entries) and any(e["kind"] == "wsdl" for e in entries.values())
    for name in xsds:
        served = requests.get(f"{gateway_url}/xsd/{name}", timeout=10).content
        assert entries[name]["sha256"] == hashlib.sha256(served).hexdigest()
    assert entries["reporting-1.0.xsd"]["version"] == "1.0"
    assert entries["reporting-1.0.xsd"]["targetNamespace"].startswith("urn://")


def test_export_copies_the_files_and_the_index(tmp_path):
    result = CliRunner().invoke(main, ["schemas", "export", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    index = json.loads((tmp_path / "out" / "index.json").read_text("utf-8"))
    for entry in index:
        assert hashlib.sha256((tmp_path / "out" / entry["file"]).read_bytes()).hexdigest() == entry["sha256"]
