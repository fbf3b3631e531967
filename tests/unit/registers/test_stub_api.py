"""The registers stub over real HTTP: every endpoint, its errors, writes that persist, and
concurrent writers."""
from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import pytest
import requests

from envelopes.demo_data import ROMASHKA, VASILEK
from registry_stubs.registers import STATE_FILE_NAME, make_app, serve, serve_all

HTTP = requests.Session()
HTTP.trust_env = False


def get(url, **params):
    return HTTP.get(url, params=params or None, timeout=5)


def post(url, body=None, **kwargs):
    return HTTP.post(url, json=body, timeout=5, **kwargs)


def new_poa(fixture_data, **changes):
    base = {k: v for k, v in fixture_data["powers_of_attorney"][0].items() if k not in ("status", "revoked_at")}
    return base | {"number": str(uuid.uuid4())} | changes


def test_health(stub):
    reply = get(f"{stub.url}/health")
    assert reply.status_code == 200 and reply.headers["Content-Type"].startswith("application/json")
    assert reply.json()["status"] == "ok" and reply.json()["legal_entities"] >= 20


def test_legal_entity_by_inn_and_by_ogrn(stub):
    reply = get(f"{stub.url}/egrul/legal-entities/{ROMASHKA.inn}")
    assert reply.status_code == 200
    org = reply.json()
    assert (org["ogrn"], org["kpp"], org["status"], org["head"]["inn"]) == \
           (ROMASHKA.ogrn, ROMASHKA.kpp, "active", ROMASHKA.head.inn)
    assert org["full_name"] == ROMASHKA.full_name  # UTF-8 JSON, not \u escapes lost on the way
    found = get(f"{stub.url}/egrul/legal-entities", ogrn=VASILEK.ogrn).json()
    assert [o["inn"] for o in found] == [VASILEK.inn]
    assert get(f"{stub.url}/egrul/legal-entities", ogrn="1027700132195").json() == []


def test_unknown_keys_are_404_and_bad_keys_400(stub):
    unknown = get(f"{stub.url}/egrul/legal-entities/7707083893")  # a valid ИНН nobody seeded
    assert unknown.status_code == 404 and unknown.json() == {"error": "not found"}
    assert get(f"{stub.url}/fns/persons/500100732259").status_code == 404
    assert get(f"{stub.url}/poa/powers-of-attorney/{uuid.uuid4()}").status_code == 404
    assert get(f"{stub.url}/licences/licences/77РПА9999999").status_code == 404
    for path in ("/egrul/legal-entities/770212345", "/egrul/legal-entities/7702123455",
                 "/fns/persons/7702123454", "/poa/powers-of-attorney/not-a-uuid"):
        reply = get(f"{stub.url}{path}")
        assert reply.status_code == 400, path
        assert reply.json()["problems"][0]["field"] in ("inn", "number")
    assert get(f"{stub.url}/egrul/legal-entities", ogrn="123").status_code == 400
    assert get(f"{stub.url}/egrul/legal-entities").status_code == 400  # ogrn is required
    assert get(f"{stub.url}/egrul/legal-entities", ogrn=ROMASHKA.ogrn, inn="1").status_code == 400
    nowhere = get(f"{stub.url}/egrul/nowhere")
    assert nowhere.status_code == 404 and nowhere.json() == {"error": "no such resource"}
    wrong_method = HTTP.delete(f"{stub.url}/egrul/legal-entities/{ROMASHKA.inn}", timeout=5)
    assert wrong_method.status_code == 405 and wrong_method.headers["Allow"] == "GET"


def test_person(stub, fixture_data):
    person = get(f"{stub.url}/fns/persons/{ROMASHKA.head.inn}").json()
    assert person["passport"] == {"series": ROMASHKA.head.passport_series,
                                  "number": ROMASHKA.head.passport_number}
    assert person["birth_date"] == ROMASHKA.head.birth_date.isoformat()
    assert set(person) >= {"inn", "last_name", "first_name", "middle_name", "birth_date", "passport", "snils"}


def test_powers_of_attorney_lookups(stub, fixture_data):
    first = fixture_data["powers_of_attorney"][0]
    assert get(f"{stub.url}/poa/powers-of-attorney/{first['number']}").json() == first
    upper = get(f"{stub.url}/poa/powers-of-attorney/{first['number'].upper()}")
    assert upper.json()["number"] == first["number"]  # numbers are compared in canonical form
    of_romashka = get(f"{stub.url}/poa/powers-of-attorney", principal_inn=ROMASHKA.inn).json()
    assert {p["number"] for p in fixture_data["powers_of_attorney"][:3]} <= {p["number"] for p in of_romashka}
    rep = first["representative"]["inn"]
    both = get(f"{stub.url}/poa/powers-of-attorney", principal_inn=ROMASHKA.inn, representative_inn=rep)
    assert [p["number"] for p in both.json()] == [first["number"]]
    assert get(f"{stub.url}/poa/powers-of-attorney", principal_inn=VASILEK.inn,
               representative_inn=rep).json() == []
    assert get(f"{stub.url}/poa/powers-of-attorney").status_code == 400  # never "all of them"
    assert get(f"{stub.url}/poa/powers-of-attorney", principal="x").status_code == 400


def test_licences_lookups(stub, fixture_data):
    for lic in fixture_data["licences"]:  # Cyrillic numbers travel percent-encoded as UTF-8
        assert get(f"{stub.url}/licences/licences/{quote(lic['number'], safe='')}").json() == lic
    held = get(f"{stub.url}/licences/licences", holder_inn=VASILEK.inn).json()
    assert [lic["kind"] for lic in held] == ["ALCOHOL_RETAIL"]
    assert get(f"{stub.url}/licences/licences", holder_inn="12").status_code == 400


def test_register_then_revoke_a_power_of_attorney(stub, fixture_data):
    body = new_poa(fixture_data, number=str(uuid.uuid4()).upper(), status="revoked")
    created = post(f"{stub.url}/poa/powers-of-attorney", body)
    assert created.status_code == 201
    record = created.json()
    number = body["number"].lower()
    assert record["number"] == number and record["status"] == "active" and record["revoked_at"] is None
    assert get(f"{stub.url}/poa/powers-of-attorney/{number}").json() == record
    again = post(f"{stub.url}/poa/powers-of-attorney", body)
    assert again.status_code == 409 and again.json()["existing"] == record

    revoked = post(f"{stub.url}/poa/powers-of-attorney/{number}/revoke", {"revoked_at": "2026-11-20"})
    assert revoked.status_code == 200
    assert revoked.json() == record | {"status": "revoked", "revoked_at": "2026-11-20"}
    assert get(f"{stub.url}/poa/powers-of-attorney/{number}").json()["status"] == "revoked"
    twice = post(f"{stub.url}/poa/powers-of-attorney/{number}/revoke", {"revoked_at": "2026-11-21"})
    assert twice.status_code == 409 and twice.json()["existing"]["revoked_at"] == "2026-11-20"
    assert post(f"{stub.url}/poa/powers-of-attorney/{uuid.uuid4()}/revoke", {}).status_code == 404
    bad_date = post(f"{stub.url}/poa/powers-of-attorney/{uuid.uuid4()}/revoke", {"revoked_at": "20.11.2026"})
    assert bad_date.status_code == 400


def test_revocation_without_a_date_is_dated_today(stub, fixture_data):
    from datetime import datetime, timezone

    number = post(f"{stub.url}/poa/powers-of-attorney", new_poa(fixture_data)).json()["number"]
    revoked = HTTP.post(f"{stub.url}/poa/powers-of-attorney/{number}/revoke", timeout=5)  # no body
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] == datetime.now(timezone.utc).date().isoformat()


@pytest.mark.parametrize("change,field", [
    ({"number": "123"}, "number"),
    ({"principal": {"inn": "7702123455", "ogrn": ROMASHKA.ogrn, "kpp": ROMASHKA.kpp, "name": "x",
                    "head_inn": ROMASHKA.head.inn}}, "principal.inn"),
    ({"powers": ["REPORTS_SUBMIT", "EVERYTHING"]}, "powers"),
    ({"powers": "REPORTS_SUBMIT"}, "powers"),
    ({"valid_until": "2020-01-01"}, "valid_until"),
    ({"issued_on": "2026-02-30"}, "issued_on"),
    ({"substitution": "yes"}, "substitution"),
    ({"representative": {"last_name": "Петров", "first_name": "Пётр", "inn": "771234567859",
                         "snils": "11223344590"}}, "representative.snils"),
])
def test_a_bad_power_of_attorney_is_refused_naming_the_field(stub, fixture_data, change, field):
    reply = post(f"{stub.url}/poa/powers-of-attorney", new_poa(fixture_data, **change))
    assert reply.status_code == 400
    assert field in [p["field"] for p in reply.json()["problems"]]


def test_bodies_that_are_not_json_objects_are_400(stub):
    url = f"{stub.url}/poa/powers-of-attorney"
    assert post(url, [1, 2]).status_code == 400
    assert HTTP.post(url, data=b"{not json", timeout=5).status_code == 400
    assert HTTP.post(url, data="\xff".encode("latin-1"), timeout=5).status_code == 400
    assert HTTP.post(url, data=b"x" * (64 * 1024 + 1), timeout=5).status_code == 400


def test_enter_a_licence(stub):
    body = {"number": "77РПА0777001", "holder_inn": ROMASHKA.inn, "kind": "ALCOHOL_RETAIL",
            "activity": "Розничная продажа алкогольной продукции", "address": ROMASHKA.legal_address,
            "valid_from": "2026-11-23", "valid_until": "2031-11-22", "application_number": "A-1",
            "granted_on": "2026-11-23", "status": "revoked", "unexpected": "dropped"}
    created = post(f"{stub.url}/licences/licences", body)
    assert created.status_code == 201
    record = created.json()
    assert record["status"] == "active" and "unexpected" not in record
    assert record["application_number"] == "A-1"
    assert get(f"{stub.url}/licences/licences/{quote(body['number'])}").json() == record
    assert post(f"{stub.url}/licences/licences", body).status_code == 409
    slashed = body | {"number": "RU-77/2026-0001"}  # "/" in a number is found all the same
    assert post(f"{stub.url}/licences/licences", slashed).status_code == 201
    assert get(f"{stub.url}/licences/licences/{quote(slashed['number'], safe='')}").json()["number"] == \
           slashed["number"]
    missing = post(f"{stub.url}/licences/licences", {"number": "X-1"})
    assert missing.status_code == 400
    assert {p["field"] for p in missing.json()["problems"]} >= {"holder_inn", "kind", "valid_from"}
    backwards = post(f"{stub.url}/licences/licences", body | {"number": "X-2", "valid_until": "2020-01-01"})
    assert backwards.status_code == 400


def test_writes_survive_a_restart_and_overlay_the_fixtures(tmp_path, fixture_data):
    first = serve_all("127.0.0.1", 0, state_dir=tmp_path)
    try:
        created = post(f"{first.url}/poa/powers-of-attorney", new_poa(fixture_data)).json()
        fixture_poa = fixture_data["powers_of_attorney"][0]["number"]
        post(f"{first.url}/poa/powers-of-attorney/{fixture_poa}/revoke", {"revoked_at": "2026-11-01"})
    finally:
        first.shutdown()
    state = json.loads((tmp_path / STATE_FILE_NAME).read_text(encoding="utf-8"))
    assert set(state["powers_of_attorney"]) == {created["number"], fixture_poa}  # only the writes
    second = serve("127.0.0.1", 0, state_file=tmp_path / STATE_FILE_NAME)
    try:
        assert get(f"{second.url}/poa/powers-of-attorney/{created['number']}").json() == created
        assert get(f"{second.url}/poa/powers-of-attorney/{fixture_poa}").json()["status"] == "revoked"
    finally:
        second.shutdown()
    fresh = serve_all("127.0.0.1", 0)  # no state: the fixtures as they are
    try:
        assert get(f"{fresh.url}/poa/powers-of-attorney/{fixture_poa}").json()["status"] == "active"
    finally:
        fresh.shutdown()


def test_an_unreadable_state_file_stops_the_start(tmp_path):
    (tmp_path / STATE_FILE_NAME).write_text("[]", encoding="utf-8")
    with pytest.raises(ValueError, match="not a registers state file"):
        serve_all("127.0.0.1", 0, state_dir=tmp_path)


def test_concurrent_writers(stub, fixture_data):
    """Thirty threads register distinct powers, ten race for one number, ten revoke one power:
    every distinct one is there, exactly one racer wins, exactly one revocation takes effect."""
    distinct = [new_poa(fixture_data) for _ in range(30)]
    contested = new_poa(fixture_data)
    with ThreadPoolExecutor(max_workers=20) as pool:
        created = list(pool.map(lambda b: post(f"{stub.url}/poa/powers-of-attorney", b).status_code,
                                distinct))
        raced = list(pool.map(lambda _: post(f"{stub.url}/poa/powers-of-attorney", contested).status_code,
                              range(10)))
        revoked = list(pool.map(lambda _: post(
            f"{stub.url}/poa/powers-of-attorney/{contested['number']}/revoke", {}).status_code, range(10)))
    assert created == [201] * 30
    assert sorted(raced) == [201] + [409] * 9
    assert sorted(revoked) == [200] + [409] * 9
    for body in distinct:
        assert get(f"{stub.url}/poa/powers-of-attorney/{body['number']}").status_code == 200
    state_file = stub.app.store.state_file
    state = json.loads(state_file.read_text(encoding="utf-8"))
    assert {b["number"] for b in distinct} | {contested["number"]} <= set(state["powers_of_attorney"])


def test_offline_register_answers_503_but_health(stub):
    stub.app.offline = True
    try:
        assert get(f"{stub.url}/egrul/legal-entities/{ROMASHKA.inn}").status_code == 503
        health = get(f"{stub.url}/health")
        assert health.status_code == 200 and health.json()["status"] == "unavailable"
    finally:
        stub.app.offline = False
    assert get(f"{stub.url}/egrul/legal-entities/{ROMASHKA.inn}").status_code == 200


def test_the_app_runs_in_process_without_a_socket():
    from io import BytesIO
    from wsgiref.util import setup_testing_defaults

    app = make_app()
    environ = {"PATH_INFO": f"/egrul/legal-entities/{VASILEK.inn}", "REQUEST_METHOD": "GET",
               "wsgi.input": BytesIO()}
    setup_testing_defaults(environ)
    seen = []
    body = b"".join(app(environ, lambda status, headers: seen.append(status)))
    assert seen == ["200 OK"] and json.loads(body)["short_name"] == VASILEK.short_name


def test_shutdown_releases_the_port():
    import socket

    server = serve_all("127.0.0.1", 0)
    port = server.server_port
    server.shutdown()
    server.shutdown()  # twice is harmless
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0
    assert not server.thread.is_alive()
