"""/metrics, /health/live, /health/ready and the JSON request log, in process and under gunicorn
with several workers (whose counts /metrics must add up, whichever worker answers)."""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import subprocess
import sys
import time

import requests

from conftest import free_port
from gateway.http import health, metrics

# a SOAP envelope with no operation in it: a client fault with HTTP 400 (a root that is no
# envelope at all is a VersionMismatch, HTTP 500: docs/protocol.md)
GARBAGE = (b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
           b'<not-soap/></soap:Body></soap:Envelope>')


def _value(text: str, name: str, **labels) -> float:
    """The sample ``name{labels}`` of an exposition text (0 when absent)."""
    total = 0.0
    for line in text.splitlines():
        match = re.match(rf"^{re.escape(name)}(?:\{{(.*)\}})? (\S+)$", line)
        if not match:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(match.group(2))
    return total


def test_metrics_count_requests_faults_and_report_the_backlog(gateway_url):
    base = gateway_url[:-len("/ws")]
    before = requests.get(f"{base}/metrics", timeout=10).text
    reply = requests.post(gateway_url, data=GARBAGE, headers={"Content-Type": "text/xml"},
                          timeout=10)
    assert reply.status_code == 400  # a SOAP fault (the client's)
    after = requests.get(f"{base}/metrics", timeout=10)
    assert after.headers["Content-Type"].startswith("text/plain")
    text = after.text
    assert _value(text, "gateway_requests_total", outcome="fault") == \
        _value(before, "gateway_requests_total", outcome="fault") + 1
    assert sum(_value(text, "gateway_faults_total", code=c) for c in
               set(re.findall(r'gateway_faults_total\{code="([^"]+)"', text))) >= 1
    assert _value(text, "gateway_request_duration_seconds_count") >= 1
    for gauge in ("gateway_queue_depth", "gateway_oldest_undelivered_message_age_seconds",
                  "gateway_outbox_pending", "gateway_webhook_backlog",
                  "gateway_webhook_oldest_pending_age_seconds"):
        assert re.search(rf"^{gauge}(\{{| )", text, re.M), gauge


def test_metrics_count_write_transactions_and_their_lock_hold(gateway_url, demo_client):
    """A stored SendRequest is at least one write transaction; its hold time is counted too
    (make bench divides the two). Seconds stay far below the request's own duration."""
    from envelopes.build import send_request
    from envelopes.demo_data import ROMASHKA
    from envelopes.payloads.registration import build_organisation_registration

    base = gateway_url[:-len("/ws")]
    before = requests.get(f"{base}/metrics", timeout=10).text
    body = send_request(build_organisation_registration(ROMASHKA), demo_client[0], demo_client[1],
                        extra_certificates=demo_client[2])
    started = time.perf_counter()
    reply = requests.post(gateway_url, data=body, headers={"Content-Type": "text/xml"}, timeout=30)
    took = time.perf_counter() - started
    assert reply.status_code == 200, reply.text[:300]
    after = requests.get(f"{base}/metrics", timeout=10).text
    count = _value(after, "gateway_write_transactions_total") - \
        _value(before, "gateway_write_transactions_total")
    held = _value(after, "gateway_write_lock_seconds_total") - \
        _value(before, "gateway_write_lock_seconds_total")
    assert count >= 1
    assert held > 0 and held / count < took


def test_every_soap_request_is_one_json_log_line(gateway_url, caplog):
    with caplog.at_level(logging.INFO, logger="gateway.requests"):
        requests.post(gateway_url, data=GARBAGE, headers={"Content-Type": "text/xml"}, timeout=10)
    [line] = [r.getMessage() for r in caplog.records if r.name == "gateway.requests"]
    entry = json.loads(line)
    assert entry["outcome"] == "fault" and entry["status"] == 400 and entry["fault"]
    assert {"message_id", "participant", "operation", "duration_ms"} <= set(entry)


def test_liveness_and_readiness(gateway_url, engine, demo_settings):
    base = gateway_url[:-len("/ws")]
    assert requests.get(f"{base}/health/live", timeout=10).json() == {"status": "alive"}
    ready = requests.get(f"{base}/health/ready", timeout=10)
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": "ok", "registers": "ok", "ca": "ok"}
    down = dataclasses.replace(demo_settings, registers_url=f"http://127.0.0.1:{free_port()}")
    is_ready, checks = health.readiness(engine, down)
    assert not is_ready and checks["registers"].startswith("unreachable")


def test_counting_a_request_costs_microseconds():
    """The per-request cost of metrics and the log line (the log handler disabled, as the
    measure is of this module): well under 1% of a request's ~4 ms of CPU (make bench)."""
    from gateway.pipeline.dispatch import RequestFacts

    facts = RequestFacts("SendRequest", "ROMASHKA", "00000000-0000-1000-8000-000000000000")
    runs = 2000
    started = time.perf_counter()
    for _ in range(runs):
        metrics.observe(facts, 200, 0.004)
    per_request = (time.perf_counter() - started) / runs
    assert per_request < 100e-6, f"{per_request * 1e6:.1f} µs per request"


def test_under_gunicorn_metrics_add_up_over_the_workers(demo_settings):
    port = free_port()
    env = dict(os.environ, GATEWAY_DATA_DIR=str(demo_settings.data_dir),
               GATEWAY_DATABASE_URL=demo_settings.resolved_database_url,
               GATEWAY_PORT=str(port), GATEWAY_CA_URL=demo_settings.ca_url,
               GATEWAY_REGISTERS_URL=demo_settings.registers_url)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    proc = subprocess.Popen([sys.executable, "-m", "gateway.ops.cli", "serve", "--workers", "3"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{base}/health/live", timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, \
                proc.stderr.read().decode()[-2000:] if proc.poll() is not None else "no start"
            time.sleep(0.2)
        sent = 12
        for _ in range(sent):  # a new connection each: the workers share them out
            requests.post(f"{base}/ws", data=GARBAGE, headers={"Content-Type": "text/xml",
                                                               "Connection": "close"}, timeout=10)
        counts = set()
        for _ in range(6):  # whichever worker answers the scrape reports all of them
            text = requests.get(f"{base}/metrics", headers={"Connection": "close"}, timeout=10).text
            counts.add(_value(text, "gateway_requests_total", outcome="fault"))
        assert counts == {float(sent)}
        folders = list((demo_settings.data_dir / "prometheus").iterdir())
        assert any(f.name == str(proc.pid) for f in folders)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert not (demo_settings.data_dir / "prometheus" / str(proc.pid)).exists()


def test_the_served_wsdl_follows_the_public_url_and_the_file_stays(demo_settings, engine):
    from gateway.config import CONTRACT_DIRS
    from gateway.http.app import WSDL_FILE
    from gateway.wiring import build_app

    original = (CONTRACT_DIRS["wsdl"] / WSDL_FILE).read_bytes()
    settings = dataclasses.replace(demo_settings, public_url="https://gw.example.org/smev/")
    app = build_app(settings, engine=engine)
    served = app.contract[("wsdl", WSDL_FILE)]
    assert served.count(b'location="https://gw.example.org/smev/ws"') == 2
    assert b"127.0.0.1:8080" not in served
    assert served.replace(b"https://gw.example.org/smev/ws", b"http://127.0.0.1:8080/ws") == original
    assert (CONTRACT_DIRS["wsdl"] / WSDL_FILE).read_bytes() == original


def test_the_index_page_links_the_contract_and_the_api(gateway_url):
    page = requests.get(gateway_url[:-len("/ws")] + "/", timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert 'href="/ws?wsdl"' in page.text and "/api/v1/openapi.yaml" in page.text


def test_gateway_version():
    from click.testing import CliRunner

    from gateway.ops.cli import main

    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and re.match(r"^gateway, version \d+\.\d+", result.output)
