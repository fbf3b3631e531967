"""The register stubs over real HTTP, their seed data, and the gateway's client (timeouts,
retries, one exception for 'unknown')."""
from __future__ import annotations

import json
import threading
import time
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIServer, make_server

import pytest
import requests

from envelopes.demo_data import DEMO, ROMASHKA
from gateway.registers import Registers, RegisterUnavailable
from gateway.validate import identifiers
from registry_stubs.registers import FIXTURES, serve


@pytest.fixture(scope="module")
def stub(tmp_path_factory):
    server = serve(state_file=tmp_path_factory.mktemp("state") / "state.json")
    yield server
    server.shutdown()


def load(name):
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def test_seed_data_passes_every_checksum():
    organisations, persons = load("legal_entities.json"), load("persons.json")
    assert len(organisations) >= 20
    assert {"active", "liquidating", "liquidated"} <= {o["status"] for o in organisations}
    person_inns = {p["inn"] for p in persons}
    for org in organisations:
        assert identifiers.inn_legal_entity(org["inn"]) is None, org["inn"]
        assert identifiers.ogrn(org["ogrn"]) is None, org["ogrn"]
        assert org["head"]["inn"] in person_inns
    for person in persons:
        assert identifiers.inn_person(person["inn"]) is None, person["inn"]
        assert identifiers.snils(person["snils"]) is None, person["snils"]
    inns = {o["inn"]: o for o in organisations}
    for mnemonic, (org, snils) in DEMO.items():
        assert inns[org.inn]["ogrn"] == org.ogrn and inns[org.inn]["status"] == "active"


def test_client_reads_every_register(stub):
    client = Registers(stub.url)
    org = client.legal_entity(ROMASHKA.inn)
    assert org.ogrn == ROMASHKA.ogrn and org.head.inn == ROMASHKA.head.inn
    assert client.legal_entity("7707083893") is None
    assert client.person(ROMASHKA.head.inn)["snils"] == DEMO["ROMASHKA"][1]
    powers = client.powers_of_attorney(principal_inn=ROMASHKA.inn)
    assert {p.status for p in powers} == {"active", "revoked"}
    assert client.power_of_attorney(powers[0].number) == powers[0]


def test_writes_are_kept(stub):
    base = stub.url
    poa = load("powers_of_attorney.json")[0] | {"number": "00000000-0000-4000-8000-000000000001"}
    assert requests.post(f"{base}/poa/powers-of-attorney", json=poa, timeout=5).status_code == 201
    assert requests.post(f"{base}/poa/powers-of-attorney", json=poa, timeout=5).status_code == 409
    revoked = requests.post(f"{base}/poa/powers-of-attorney/{poa['number']}/revoke", json={}, timeout=5)
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert Registers(base).power_of_attorney(poa["number"]).status == "revoked"
    assert requests.post(f"{base}/licences/licences", json={"number": "X-1"}, timeout=5).status_code == 400


def test_closed_port_is_unavailable_quickly():
    started = time.monotonic()
    with pytest.raises(RegisterUnavailable):
        Registers("http://127.0.0.1:9", timeout=0.5, retries=1).legal_entity(ROMASHKA.inn)
    assert time.monotonic() - started < 5


class _Threaded(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def _serve(app):
    server = make_server("127.0.0.1", 0, app, server_class=_Threaded)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def test_slow_register_times_out():
    def slow(environ, start_response):
        time.sleep(2)
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b"{}"]

    server, url = _serve(slow)
    try:
        with pytest.raises(RegisterUnavailable):
            Registers(url, timeout=0.3, retries=0).legal_entity(ROMASHKA.inn)
    finally:
        server.shutdown()


def test_5xx_is_retried_then_unavailable():
    calls = []

    def failing(environ, start_response):
        calls.append(1)
        start_response("503 Service Unavailable", [("Content-Type", "application/json")])
        return [b"{}"]

    server, url = _serve(failing)
    try:
        with pytest.raises(RegisterUnavailable):
            Registers(url, timeout=1, retries=2).legal_entity(ROMASHKA.inn)
        assert len(calls) == 3  # the first try and two retries
    finally:
        server.shutdown()


def test_cache_reuses_legal_entities_but_never_powers():
    calls = []

    def counting(environ, start_response):
        calls.append(environ["PATH_INFO"])
        body = json.dumps({"inn": ROMASHKA.inn, "kpp": ROMASHKA.kpp, "ogrn": ROMASHKA.ogrn,
                           "full_name": "x", "address": "y", "status": "active",
                           "head": {"inn": "1", "last_name": "a", "first_name": "b", "position": "c"},
                           "number": "n", "principal": {"inn": ROMASHKA.inn}, "issued_on": "2026-01-01",
                           "valid_until": "2027-01-01", "powers": [], "status_": "active",
                           "representative": {"inn": "2"}}).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]

    server, url = _serve(counting)
    try:
        client = Registers(url, cache_seconds=0.5)
        client.legal_entity(ROMASHKA.inn)
        client.legal_entity(ROMASHKA.inn)
        assert len(calls) == 1
        time.sleep(0.6)
        client.legal_entity(ROMASHKA.inn)
        assert len(calls) == 2
        client.power_of_attorney("00000000-0000-4000-8000-000000000000")
        client.power_of_attorney("00000000-0000-4000-8000-000000000000")
        assert len(calls) == 4
    finally:
        server.shutdown()
