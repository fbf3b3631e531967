"""Fixtures for the contract tests: the contract files, compiled schemas (once per session), and
a small HTTP server that serves the contract with the URL layout the gateway uses
(docs/contract.md): ``/ws?wsdl`` for the WSDL and ``/ws/xsd/<file>`` for the XSDs, nothing else.
"""
from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import xmlschema
from lxml import etree

ROOT = Path(__file__).resolve().parents[3]
XSD_DIR = ROOT / "xsd"
WSDL_FILE = ROOT / "wsdl" / "smev-message-exchange-service-1.1.wsdl"

TYPES_XSD = "smev-message-exchange-types-1.1.xsd"
BASIC_XSD = "smev-message-exchange-basic-1.1.xsd"
FAULTS_XSD = "smev-message-exchange-faults-1.1.xsd"
DSIG_XSD = "xmldsig-core-schema.xsd"
CONTRACT_XSDS = (BASIC_XSD, TYPES_XSD, FAULTS_XSD, DSIG_XSD)

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\.xsd$")


def hardened_parser() -> etree.XMLParser:
    """The parser settings the gateway uses: no DTD, no entities, no network."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


@pytest.fixture(scope="session")
def lxml_schemas() -> dict[str, etree.XMLSchema]:
    return {name: etree.XMLSchema(etree.parse(str(XSD_DIR / name), hardened_parser()))
            for name in CONTRACT_XSDS}


@pytest.fixture(scope="session")
def xmlschema_schemas() -> dict[str, xmlschema.XMLSchema10]:
    return {name: xmlschema.XMLSchema10(str(XSD_DIR / name)) for name in CONTRACT_XSDS}


class _ContractHandler(BaseHTTPRequestHandler):
    """Serves the repository's contract the way the gateway does; records every path asked."""

    requested: list[str]

    def do_GET(self):  # noqa: N802 (http.server naming)
        self.requested.append(self.path)
        parts = urlsplit(self.path)
        body = None
        if parts.path in ("/ws", "/ws/") and parts.query.lower() == "wsdl":
            body = WSDL_FILE.read_bytes()
        else:
            prefix = "/ws/xsd/"
            name = parts.path[len(prefix):] if parts.path.startswith(prefix) else ""
            if _SAFE_NAME.match(name) and (XSD_DIR / name).is_file():
                body = (XSD_DIR / name).read_bytes()
        if body is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/xml; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # keep test output readable
        pass


@pytest.fixture(scope="session")
def contract_server():
    """(base URL, list of requested paths) of a loopback server with the gateway's layout."""
    requested: list[str] = []
    handler = type("Handler", (_ContractHandler,), {"requested": requested})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", requested
    server.shutdown()
    server.server_close()
