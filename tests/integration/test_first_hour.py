"""The first hour of a new user (issue 14, item 5), each bullet as the user meets it: the HTTP
rules of POST /ws (SOAPAction and the SOAP 1.2 action, VersionMismatch, a Content-Type that
contradicts the envelope), the CLI's help and warnings, and what `make run`/`make demo` say."""
from __future__ import annotations

import re

import pytest
import requests
from lxml import etree

from envelopes import build, ns
from envelopes.client import parse_fault
from gateway.faults import soap_action

SOAP11_TYPE = "text/xml; charset=utf-8"
SOAP12_TYPE = "application/soap+xml; charset=utf-8"


def get_status(demo_client, soap_version="1.1") -> bytes:
    key, cert, chain = demo_client
    return build.get_status(key, cert, extra_certificates=chain, soap_version=soap_version)


def post(url, body, content_type, **headers):
    reply = requests.post(url, data=body, headers={"Content-Type": content_type, **headers},
                          timeout=30)
    return reply, etree.fromstring(reply.content)


# ------------------------------------------------------------ SOAPAction / the action parameter

def test_the_wsdl_soap_actions_are_the_ones_the_gateway_checks(demo_settings):
    """Both bindings of wsdl/ give every operation soapAction urn:<operation>."""
    from gateway.config import CONTRACT_DIRS

    wsdl = etree.parse(str(next(CONTRACT_DIRS["wsdl"].glob("*.wsdl"))))
    found = {}
    for binding_op in wsdl.iterfind(".//{http://schemas.xmlsoap.org/wsdl/}binding/"
                                    "{http://schemas.xmlsoap.org/wsdl/}operation"):
        for child in binding_op:
            if etree.QName(child).localname == "operation":
                found.setdefault(binding_op.get("name"), set()).add(child.get("soapAction"))
    assert len(found) == 7
    for name, actions in found.items():
        assert actions == {soap_action(name)}, (name, actions)


@pytest.mark.parametrize("header", [None, '""', "", '"urn:GetStatus"', "urn:GetStatus"])
def test_a_matching_empty_or_absent_soapaction_is_accepted(gateway_url, demo_client, header):
    extra = {} if header is None else {"SOAPAction": header}
    reply, root = post(gateway_url, get_status(demo_client), SOAP11_TYPE, **extra)
    assert reply.status_code == 200, reply.text[:1000]
    assert parse_fault(reply.status_code, root) is None


def test_a_soapaction_naming_another_operation_is_a_client_fault(gateway_url, demo_client):
    reply, root = post(gateway_url, get_status(demo_client), SOAP11_TYPE,
                       SOAPAction='"urn:SendRequest"')
    fault = parse_fault(reply.status_code, root)
    assert reply.status_code == 500 and fault.faultcode == "soap:Client"
    assert (fault.element, fault.code) == ("InvalidContent", "ACTION_MISMATCH")
    assert "urn:SendRequest" in fault.description and "'urn:GetStatus'" in fault.description


def test_a_soap12_action_parameter_naming_another_operation_is_a_sender_fault(gateway_url,
                                                                              demo_client):
    body = get_status(demo_client, "1.2")
    reply, root = post(gateway_url, body, SOAP12_TYPE + '; action="urn:Ack"')
    fault = parse_fault(reply.status_code, root)
    assert reply.status_code == 400 and fault.faultcode == "soap:Sender"
    assert fault.code == "ACTION_MISMATCH"
    good, root = post(gateway_url, get_status(demo_client, "1.2"),
                      SOAP12_TYPE + '; action="urn:GetStatus"')
    assert good.status_code == 200 and parse_fault(200, root) is None


def test_the_sdk_names_each_operation_it_posts(gateway_url, gateway_trust, demo_client):
    """GatewayClient.post sends the WSDL's soapAction of the envelope's own operation (it used
    to send urn:SendRequest for everything, which the check would now refuse)."""
    from envelopes.client import GatewayClient

    key, cert, chain = demo_client
    client = GatewayClient(gateway_url, gateway_trust)
    for soap_version in ("1.1", "1.2"):
        for envelope in (build.get_status(key, cert, extra_certificates=chain,
                                          soap_version=soap_version),
                         build.get_incoming_queue_statistics(key, cert, extra_certificates=chain,
                                                             soap_version=soap_version)):
            status, root = client.post(envelope, soap_version)
            assert status == 200 and parse_fault(status, root) is None, parse_fault(status, root)


# ------------------------------------------------------------ envelope versions

def test_an_unknown_envelope_namespace_gets_version_mismatch_with_upgrade(gateway_url,
                                                                         demo_client):
    tree = etree.fromstring(get_status(demo_client))
    envelope = etree.Element("{http://www.w3.org/2001/12/soap-envelope}Envelope")
    for child in list(tree):
        envelope.append(child)
    for content_type in (SOAP11_TYPE, SOAP12_TYPE):
        reply, root = post(gateway_url, etree.tostring(envelope), content_type)
        assert reply.status_code == 500
        assert reply.headers["Content-Type"].startswith("text/xml")  # SOAP 1.1 form, always
        assert root.tag == f"{{{ns.SOAP11_ENV}}}Envelope"
        assert root.findtext(f".//{{{ns.SOAP11_ENV}}}Fault/faultcode") == "soap:VersionMismatch"
        supported = root.findall(f"{{{ns.SOAP11_ENV}}}Header/{{{ns.SOAP12_ENV}}}Upgrade/"
                                 f"{{{ns.SOAP12_ENV}}}SupportedEnvelope")
        names = []
        for item in supported:
            prefix, local = item.get("qname").split(":")
            names.append((item.nsmap[prefix], local))
        assert names == [(ns.SOAP12_ENV, "Envelope"), (ns.SOAP11_ENV, "Envelope")]


@pytest.mark.parametrize("envelope_version, content_type, answer_type", [
    ("1.2", SOAP11_TYPE, "application/soap+xml"),  # text/xml carrying a SOAP 1.2 envelope
    ("1.1", SOAP12_TYPE, "text/xml"),              # application/soap+xml carrying SOAP 1.1
])
def test_the_envelope_decides_the_version_when_the_content_type_contradicts_it(
        gateway_url, demo_client, envelope_version, content_type, answer_type):
    """The documented rule (docs/protocol.md): accepted, processed and answered as the
    envelope's own version says, in that version's content type."""
    reply, root = post(gateway_url, get_status(demo_client, envelope_version), content_type)
    assert reply.status_code == 200 and parse_fault(200, root) is None, reply.text[:1000]
    assert reply.headers["Content-Type"].startswith(answer_type)
    expected = ns.SOAP12_ENV if envelope_version == "1.2" else ns.SOAP11_ENV
    assert root.tag == f"{{{expected}}}Envelope"


def test_index_page_links_what_a_new_user_looks_for(gateway_url):
    page = requests.get(gateway_url.replace("/ws", "/"), timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    for link in ("/ws?wsdl", "/ws/xsd/", "/api/v1/openapi.yaml", "/health/ready"):
        assert f'href="{link}"' in page.text, link
    assert re.search(r"SOAP 1\.1.*SOAP 1\.2", page.text)


# ------------------------------------------------------------ the CLI

def _cli(demo_settings, *args):
    """`gateway ARGS` as a user runs it, configured by the environment (Settings.from_env)."""
    from click.testing import CliRunner

    from gateway.ops.cli import main

    env = {"GATEWAY_DATA_DIR": str(demo_settings.data_dir),
           "GATEWAY_DATABASE_URL": demo_settings.resolved_database_url,
           "GATEWAY_CA_URL": demo_settings.ca_url, "GATEWAY_REVOCATION_TIMEOUT": "2"}
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def _commands(command, path=("gateway",)):
    import click

    yield path, command
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from _commands(sub, (*path, name))


def test_every_command_option_and_argument_has_help():
    """Every command has a help text, every option its help=, and every argument is named
    (as its metavar, e.g. MNEMONIC) in its command's help."""
    import click

    from gateway.ops.cli import main

    missing = []
    walked = list(_commands(main))
    assert len(walked) > 40
    for path, command in walked:
        text = command.help or ""
        if not text.strip():
            missing.append(" ".join(path))
        for param in command.params:
            if isinstance(param, click.Option) and param.name not in ("help", "version") \
                    and not (param.help or "").strip():
                missing.append(f"{' '.join(path)} {param.opts[0]}")
            if isinstance(param, click.Argument) and param.human_readable_name not in text:
                missing.append(f"{' '.join(path)} {param.human_readable_name}")
    assert not missing, missing


def test_version_and_help_work(demo_settings):
    from importlib.metadata import version

    assert _cli(demo_settings, "--version").output.strip() == \
        f"gateway, version {version('smev-gateway')}"
    assert "webhooks" in _cli(demo_settings, "--help").output


def test_is_allow_warns_about_a_namespace_or_root_no_xsd_defines(demo_settings):
    registration = "urn://smev-gateway/services/organisation-registration/1.0"
    typo = _cli(demo_settings, "is", "allow", "ROMASHKA", "send", "urn://example/licensing/1.0")
    assert typo.exit_code == 0  # granted all the same: the XSD may come later
    assert "warning: no XSD in xsd/ defines the namespace urn://example/licensing/1.0" in typo.stderr
    wrong_root = _cli(demo_settings, "is", "allow", "ROMASHKA", "send", registration, "Nope")
    assert "declare no global element Nope" in wrong_root.stderr
    good = _cli(demo_settings, "is", "allow", "ROMASHKA", "send", registration)
    assert good.exit_code == 0 and good.stderr == ""
    assert _cli(demo_settings, "is", "deny", "ROMASHKA", "send",
                "urn://example/licensing/1.0").exit_code == 0


@pytest.mark.parametrize("kind", ["expired", "not-yet-valid", "untrusted", "valid"])
def test_is_add_warns_about_a_certificate_that_does_not_validate_now(demo_settings, kind):
    import uuid
    from datetime import datetime, timedelta, timezone

    from gateway.ops.setup import open_pki

    now = datetime.now(timezone.utc)
    windows = {"expired": (now - timedelta(days=30), now - timedelta(days=1)),
               "not-yet-valid": (now + timedelta(days=1), now + timedelta(days=30)),
               "untrusted": (now - timedelta(minutes=5), now + timedelta(days=30)),
               "valid": (now - timedelta(minutes=5), now + timedelta(days=30))}
    name = f"fh-{kind}-{uuid.uuid4().hex[:6]}"
    issued = open_pki(demo_settings).issue(
        name, common_name=name, not_before=windows[kind][0], not_after=windows[kind][1],
        issuer="self" if kind == "untrusted" else "intermediate")
    result = _cli(demo_settings, "is", "add", name.upper(), "--name", name,
                  "--cert", str(issued.cert_path))
    assert result.exit_code == 0 and f"registered {name.upper()}" in result.output
    expected = {"expired": "EXPIRED", "not-yet-valid": "NOT_YET_VALID",
                "untrusted": "NO_CERTIFICATE_CHAIN_FOUND", "valid": None}[kind]
    if expected is None:
        assert result.stderr == ""
    else:
        assert result.stderr.startswith(f"warning: the certificate CN={name},C=RU does not validate now")
        assert expected in result.stderr, result.stderr


# ------------------------------------------------------------ make run / make demo / two gateways

def _gateway(env, *args, timeout=60):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "gateway.ops.cli", *args], env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_demo_without_a_gateway_says_to_start_one(tmp_path):
    """`make demo` runs `gateway demo`: with nothing listening, one line and exit 1."""
    import os

    from gateway.ops.cluster import free_port

    env = dict(os.environ, GATEWAY_DATA_DIR=str(tmp_path), GATEWAY_PORT=str(free_port()))
    result = _gateway(env, "demo")
    assert result.returncode == 1 and result.stdout == ""
    assert "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("Error: no gateway answers at http://127.0.0.1:") and "`make run`" in line


@pytest.fixture(scope="module")
def two_gateways(tmp_path_factory):
    """Two `gateway serve` (gunicorn) on one data dir and one host, on different ports."""
    from gateway.ops.cluster import Stack

    stack = Stack(data_dir=tmp_path_factory.mktemp("two")).start()
    nodes = []
    try:
        nodes = [stack.node(workers=1).start(), stack.node(workers=1).start()]
        yield stack, nodes
    finally:
        for node in nodes:
            node.stop()
        stack.stop()


def test_two_gateways_on_one_host_each_have_their_own_control_socket(two_gateways):
    import json
    import subprocess
    import sys
    from pathlib import Path

    from gateway.config import Settings
    from gateway.http.server import control_socket

    stack, nodes = two_gateways
    gunicornc = Path(sys.executable).parent / "gunicornc"
    sockets = []
    for node in nodes:
        assert requests.get(node.url.replace("/ws", "/health"), timeout=10).status_code == 200
        path = control_socket(Settings.from_env(node.env))
        assert Path(path).is_socket() and str(node.port) in path
        sockets.append(path)
        # the socket answers for this node's own master: gunicornc sees its worker
        shown = subprocess.run([str(gunicornc), "-s", path, "-c", "show workers", "-j"],
                               capture_output=True, text=True, timeout=30)
        assert shown.returncode == 0, shown.stderr
        workers = json.loads(shown.stdout)
        pids = {w["pid"] for w in workers.get("workers", workers if isinstance(workers, list)
                                                else [])}
        assert pids and pids <= set(node.worker_pids()), (pids, node.worker_pids())
    assert len(set(sockets)) == 2


def test_a_second_gateway_on_a_taken_port_says_so_before_any_banner(two_gateways):
    from gateway.ops.cluster import free_port

    stack, nodes = two_gateways
    env = dict(nodes[0].env)  # the same GATEWAY_PORT as the running node
    for command in (["run"], ["serve"]):
        result = _gateway(env, *command)
        assert result.returncode == 1, (command, result.stdout, result.stderr)
        assert result.stdout == ""  # no setup lines, no WSDL/Endpoint banner
        assert "Traceback" not in result.stderr
        [line] = result.stderr.splitlines()
        assert f"127.0.0.1:{nodes[0].port}" in line and "already running" in line
    # the stubs' ports are checked too: the CA stub of the stack runs
    env = dict(nodes[0].env, GATEWAY_PORT=str(free_port()))
    result = _gateway(env, "run")
    assert result.returncode == 1 and result.stdout == ""
    assert "GATEWAY_CA_URL" in result.stderr and "Traceback" not in result.stderr


def test_the_first_install_shows_progress(tmp_path):
    """`make run` on a fresh checkout goes through the install rule: it announces each step and
    lets pip print what it collects (no --quiet on the long step). Dry run in a copy without
    .venv, so nothing is installed."""
    import shutil
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    for name in ("Makefile", "setup.cfg", "pyproject.toml", "setup.py", "signing/_smev_native.c"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(root / name, tmp_path / name)
    plan = subprocess.run(["make", "-n", "run"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60, check=True).stdout.splitlines()
    steps = [line for line in plan if line.startswith("echo \"==> ")]
    assert len(steps) >= 3, plan
    [install] = [line for line in plan if "pip install" in line and "-e '.[test]'" in line]
    assert "--quiet" not in install and " -q" not in install
    assert plan.index(steps[-1]) < plan.index(".venv/bin/gateway run")


@pytest.mark.parametrize("overrides, address", [
    ({"port": 18080}, b"http://127.0.0.1:18080/ws"),
    ({"host": "0.0.0.0", "port": 9000}, b"http://127.0.0.1:9000/ws"),
    ({"port": 18080, "public_url": "https://gw.example.org/"}, b"https://gw.example.org/ws"),
])
def test_the_wsdl_address_follows_the_port_without_a_public_url(demo_settings, engine, overrides,
                                                                 address):
    """A gateway started on another port (GATEWAY_PORT) must not send zeep to :8080."""
    import dataclasses

    from gateway.http.app import WSDL_FILE
    from gateway.wiring import build_app

    app = build_app(dataclasses.replace(demo_settings, **overrides), engine=engine)
    served = app.contract[("wsdl", WSDL_FILE)]
    assert served.count(b'location="' + address + b'"') == 2


def test_a_setup_refusal_is_one_line(tmp_path):
    """A PKI made for another CA URL (GATEWAY_CA_URL changed between two runs) used to end in a
    traceback; now `gateway setup` / `run` say what to change."""
    import os

    env = dict(os.environ, GATEWAY_DATA_DIR=str(tmp_path / "var"))
    env.pop("GATEWAY_DATABASE_URL", None)
    assert _gateway(env, "setup", timeout=120).returncode == 0
    moved = _gateway(dict(env, GATEWAY_CA_URL="http://127.0.0.1:18999"), "setup")
    assert moved.returncode == 1 and "Traceback" not in moved.stderr
    [line] = moved.stderr.splitlines()
    assert "serves http://127.0.0.1:8090, not http://127.0.0.1:18999" in line


@pytest.mark.parametrize("headers, content_type, expected", [
    ({}, "text/xml", ()),
    ({"HTTP_SOAPACTION": '""'}, "text/xml", ()),
    ({"HTTP_SOAPACTION": ' "urn:Ack" '}, "text/xml", ("urn:Ack",)),
    ({}, 'application/soap+xml; charset=utf-8; action="urn:GetStatus"', ("urn:GetStatus",)),
    ({}, 'multipart/related; type="application/xop+xml"; start="<root>"; '
         'start-info="application/soap+xml; action=\\"urn:SendRequest\\""', ("urn:SendRequest",)),
    ({"HTTP_SOAPACTION": "urn:Ack"}, 'application/soap+xml; action="urn:GetStatus"',
     ("urn:Ack", "urn:GetStatus")),
])
def test_the_actions_read_from_the_http_level(headers, content_type, expected):
    """Every place a client can name the operation (MTOM's start-info too) is read; empty ones
    are left out, so they are accepted."""
    from gateway.http.app import _actions

    assert _actions(headers, content_type) == expected
