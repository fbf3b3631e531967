"""The ЕГРЮЛ change-of-details write over real HTTP: the client's method, the stub's own input
checks, its Idempotency-Key and its state file (a private stub: the shared one stays unchanged)."""
from __future__ import annotations

import uuid

import pytest
import requests

from envelopes.demo_data import ROMASHKA
from gateway.registers import RegisterRejected, Registers
from registry_stubs.registers import serve

CHANGES = {"address": "г. Москва, ул. Новый Арбат, д. 15", "postal_code": "119019", "phone": "+74951112233",
           "email": "office@romashka.example"}


@pytest.fixture
def private_stub(tmp_path):
    stub = serve(state_file=tmp_path / "state.json")
    yield stub
    stub.shutdown()


def test_a_change_is_entered_once_per_key_and_survives_a_restart(private_stub, tmp_path):
    key = str(uuid.uuid4())
    with Registers(private_stub.url, cache_seconds=60) as client:
        assert client.legal_entity(ROMASHKA.inn).address != CHANGES["address"]  # now cached
        changed = client.change_legal_entity_details(ROMASHKA.inn, CHANGES, idempotency_key=key)
        assert changed.address == CHANGES["address"]
        assert client.legal_entity(ROMASHKA.inn).address == CHANGES["address"]  # its cache entry dropped
        again = client.change_legal_entity_details(ROMASHKA.inn, CHANGES, idempotency_key=key)
        assert again == changed
    store = private_stub.app.store
    assert (store.applied[key], store.replayed[key]) == (1, 1)
    private_stub.shutdown()
    restarted = serve(state_file=tmp_path / "state.json")
    try:
        record = restarted.app.store.legal_entity(ROMASHKA.inn)
        assert {k: record[k] for k in CHANGES} == CHANGES
        assert record["ogrn"] == ROMASHKA.ogrn  # the rest as it was
    finally:
        restarted.shutdown()


def test_an_unknown_organisation_is_none(private_stub):
    with Registers(private_stub.url) as client:
        assert client.change_legal_entity_details("7707083893", {"phone": "+74950000000"}) is None


@pytest.mark.parametrize("body,fields", [
    ({}, [""]),
    ({"phone": "84951112233", "email": "nobody"}, ["phone", "email"]),
    ({"fax": "+74951112233"}, ["fax"]),
    ({"postal_code": "12345"}, ["postal_code"]),
    ({"head": {"inn": "770701164152", "last_name": "Яковлев", "first_name": "Ксения",
               "middle_name": "Владимировна", "position": "Директор"}}, ["head.last_name"]),
    ({"head": {"inn": "770701164150", "last_name": "Яковлева", "first_name": "Ксения",
               "position": "Директор"}}, ["head.inn"]),
])
def test_the_stub_checks_its_input(private_stub, body, fields):
    reply = requests.post(f"{private_stub.url}/egrul/legal-entities/{ROMASHKA.inn}/details", json=body, timeout=5)
    assert reply.status_code == 400
    assert [p["field"] for p in reply.json()["problems"]] == fields
    with Registers(private_stub.url) as client, pytest.raises(RegisterRejected):
        client.change_legal_entity_details(ROMASHKA.inn, body)
