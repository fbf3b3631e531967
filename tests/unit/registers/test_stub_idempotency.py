"""The registers stub carries out a keyed write once (what the gateway's outbox relies on)."""
from __future__ import annotations

import json
import uuid

import requests

from registry_stubs.registers import FIXTURES, serve


def _poa():
    record = json.loads((FIXTURES / "powers_of_attorney.json").read_text("utf-8"))[0]
    return {k: v for k, v in record.items() if k not in ("status", "revoked_at")} | \
        {"number": str(uuid.uuid4())}


def test_a_repeated_key_gets_the_first_answer_and_writes_nothing(tmp_path):
    stub = serve(state_file=tmp_path / "state.json")
    try:
        poa, key = _poa(), str(uuid.uuid4())
        first = requests.post(f"{stub.url}/poa/powers-of-attorney", json=poa,
                              headers={"Idempotency-Key": key}, timeout=5)
        again = requests.post(f"{stub.url}/poa/powers-of-attorney", json=poa,
                              headers={"Idempotency-Key": key}, timeout=5)
        unkeyed = requests.post(f"{stub.url}/poa/powers-of-attorney", json=poa, timeout=5)
        assert first.status_code == again.status_code == 201
        assert first.json() == again.json()
        assert unkeyed.status_code == 409  # without a key, a second write is a conflict
        assert (stub.app.store.applied[key], stub.app.store.replayed[key]) == (1, 1)

        revoke = f"{stub.url}/poa/powers-of-attorney/{poa['number']}/revoke"
        body, rkey = {"revoked_at": "2026-12-01"}, str(uuid.uuid4())
        assert requests.post(revoke, json=body, headers={"Idempotency-Key": rkey},
                             timeout=5).status_code == 200
        assert requests.post(revoke, json=body, headers={"Idempotency-Key": rkey},
                             timeout=5).status_code == 200  # not 409 "revoked already"
        other = requests.post(revoke, json={"revoked_at": "2026-12-02"},
                              headers={"Idempotency-Key": rkey}, timeout=5)
        assert other.status_code == 422
    finally:
        stub.shutdown()


def test_keys_survive_a_restart(tmp_path):
    state = tmp_path / "state.json"
    poa, key = _poa(), str(uuid.uuid4())
    stub = serve(state_file=state)
    try:
        assert requests.post(f"{stub.url}/poa/powers-of-attorney", json=poa,
                             headers={"Idempotency-Key": key}, timeout=5).status_code == 201
    finally:
        stub.shutdown()
    stub = serve(state_file=state)
    try:
        again = requests.post(f"{stub.url}/poa/powers-of-attorney", json=poa,
                              headers={"Idempotency-Key": key}, timeout=5)
        assert again.status_code == 201 and stub.app.store.applied[key] == 0
    finally:
        stub.shutdown()
