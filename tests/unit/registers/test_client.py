"""The gateway's client of the registers: typed records over real HTTP, and what it concludes
when a register is down, slow, failing, garbled or not a register at all."""
from __future__ import annotations

import dataclasses
import json
import threading
import time
import uuid
from datetime import date

import pytest

from envelopes.demo_data import DEMO, ROMASHKA, VASILEK
from gateway.registers import (LegalEntity, Licence, Person, PowerOfAttorney, Principal, RegisterRejected,
                               Registers, RegisterUnavailable, Representative)


@pytest.fixture(scope="module")
def client(stub):
    with Registers(stub.url) as registers:
        yield registers


def json_app(status: str, body: object, calls: list | None = None):
    payload = json.dumps(body, ensure_ascii=False).encode() if not isinstance(body, bytes) else body

    def app(environ, start_response):
        if calls is not None:
            calls.append((environ["REQUEST_METHOD"], environ["PATH_INFO"]))
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
        return [payload]
    return app


def test_legal_entity_is_a_typed_record(client):
    org = client.legal_entity(ROMASHKA.inn)
    assert isinstance(org, LegalEntity) and org.active
    assert (org.inn, org.kpp, org.ogrn, org.full_name, org.short_name, org.okved) == \
           (ROMASHKA.inn, ROMASHKA.kpp, ROMASHKA.ogrn, ROMASHKA.full_name, ROMASHKA.short_name, ROMASHKA.okved)
    assert (org.head.inn, org.head.position, org.head.full_name) == \
           (ROMASHKA.head.inn, ROMASHKA.head.position, "Иванов Иван Иванович")
    assert org.registered_at == date(2002, 8, 12)
    with pytest.raises(dataclasses.FrozenInstanceError):
        org.status = "liquidated"  # type: ignore[misc]
    assert client.legal_entity_by_ogrn(VASILEK.ogrn).inn == VASILEK.inn
    assert client.legal_entity_by_ogrn("1027700132195") is None


def test_liquidated_and_liquidating_organisations(client, fixture_data):
    for status in ("liquidating", "liquidated"):
        inn = next(o["inn"] for o in fixture_data["legal_entities"] if o["status"] == status)
        org = client.legal_entity(inn)
        assert org.status == status and not org.active


def test_404_is_none(client):
    assert client.legal_entity("7707083893") is None
    assert client.person("500100732259") is None
    assert client.power_of_attorney(str(uuid.uuid4())) is None
    assert client.licence("77РПА9999999") is None


def test_keys_no_record_can_have_are_none_without_asking(serve_app):
    calls: list = []
    client = Registers(serve_app(json_app("500 Internal Server Error", {}, calls)))
    for lookup, key in ((client.legal_entity, "7702123455"), (client.legal_entity, "../../x"),
                        (client.legal_entity, "٧٧٠٢١٢٣٤٥٤"), (client.person, "7702123454"),
                        (client.power_of_attorney, "../health"), (client.licence, ""),
                        (client.legal_entity_by_ogrn, "1027700123451")):
        assert lookup(key) is None, key
    assert calls == []


def test_person(client):
    person = client.person(ROMASHKA.head.inn)
    assert isinstance(person, Person)
    assert (person.last_name, person.birth_date, person.passport.series, person.passport.number,
            person.snils) == ("Иванов", ROMASHKA.head.birth_date, ROMASHKA.head.passport_series,
                              ROMASHKA.head.passport_number, DEMO["ROMASHKA"][1])


def test_powers_of_attorney(client, fixture_data):
    active, expired, revoked = (PowerOfAttorney.from_json(p) for p in fixture_data["powers_of_attorney"][:3])
    assert client.power_of_attorney(active.number) == active
    assert client.power_of_attorney(active.number.upper()) == active
    assert active.principal_inn == ROMASHKA.inn and active.principal_head_inn == ROMASHKA.head.inn
    assert {"REPORTS_SUBMIT", "LICENCE_APPLY"} <= active.powers
    today = date(2026, 11, 23)
    assert [p.state_on(today) for p in (active, expired, revoked)] == ["active", "expired", "revoked"]
    assert active.state_on(date(2026, 1, 1)) == "not_yet_valid"
    assert isinstance(revoked.revoked_at, date)
    of_romashka = client.powers_of_attorney(principal_inn=ROMASHKA.inn)
    assert {active, expired, revoked} <= set(of_romashka)
    mine = client.powers_of_attorney(representative_inn=active.representative_inn)
    assert mine == [active]
    with pytest.raises(ValueError):
        client.powers_of_attorney()


def test_register_and_revoke_round_trip(client):
    record = PowerOfAttorney(
        number=str(uuid.uuid4()),
        principal=Principal(ROMASHKA.inn, ROMASHKA.ogrn, ROMASHKA.kpp, ROMASHKA.short_name, ROMASHKA.head.inn),
        representative=Representative("Орлова", "Анна", None, "500100732259", "11223344595"),
        powers=frozenset({"REPORTS_SUBMIT"}), issued_on=date(2026, 11, 1), valid_until=date(2027, 10, 31))
    created, entry = client.register_power_of_attorney(record)
    assert created and entry == record
    created, existing = client.register_power_of_attorney(record.to_json())  # a dict works as well
    assert not created and existing == record
    assert client.revoke_power_of_attorney(record.number, date(2026, 11, 20))
    after = client.power_of_attorney(record.number)
    assert (after.status, after.revoked_at, after.state_on(date(2026, 11, 21))) == \
           ("revoked", date(2026, 11, 20), "revoked")
    assert client.revoke_power_of_attorney(record.number, date(2026, 11, 21)) is False
    assert client.power_of_attorney(record.number).revoked_at == date(2026, 11, 20)
    assert client.revoke_power_of_attorney(str(uuid.uuid4()), date(2026, 11, 21)) is False


def test_a_write_the_register_refuses_is_register_rejected(client):
    with pytest.raises(RegisterRejected) as refused:
        client.register_power_of_attorney({"number": str(uuid.uuid4()), "powers": ["EVERYTHING"]})
    assert refused.value.status == 400 and "powers" in refused.value.detail


def test_licences(client, fixture_data):
    lic = Licence(number="16РПА0000042", holder_inn=VASILEK.inn, kind="ALCOHOL_RETAIL",
                  activity="Розничная продажа алкогольной продукции", address=VASILEK.legal_address,
                  valid_from=date(2026, 11, 23), valid_until=date(2031, 11, 22),
                  application_number="LIC-7", granted_on=date(2026, 11, 23))
    assert client.enter_licence(lic) is True
    assert client.licence(lic.number) == lic
    assert client.enter_licence(lic.to_json()) is False
    assert client.licence(lic.number).holder_inn == VASILEK.inn
    held = client.licences(VASILEK.inn)
    assert lic in held and {x.number for x in held} >= {fixture_data["licences"][0]["number"]}
    pharmacy = next(x for x in fixture_data["licences"] if x["kind"] == "PHARMACY")
    assert client.licence(pharmacy["number"]).valid_until is None  # indefinite


def test_closed_port_is_unavailable_quickly(closed_port):
    client = Registers(f"http://127.0.0.1:{closed_port}", timeout=0.5, retries=2)
    started = time.monotonic()
    with pytest.raises(RegisterUnavailable) as down:
        client.legal_entity(ROMASHKA.inn)
    assert time.monotonic() - started < 2.0
    assert down.value.register == "legal-entities" and down.value.detail == "cannot connect"
    assert "127.0.0.1" not in str(down.value)
    with pytest.raises(RegisterUnavailable):
        client.revoke_power_of_attorney(str(uuid.uuid4()), date(2026, 11, 23))


def test_a_slow_register_times_out_within_the_bound(serve_app):
    release, calls = threading.Event(), []

    def slow(environ, start_response):
        calls.append(1)
        release.wait(5)
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b"{}"]

    client = Registers(serve_app(slow), timeout=0.3, retries=1)
    started = time.monotonic()
    try:
        with pytest.raises(RegisterUnavailable) as slow_answer:
            client.legal_entity(ROMASHKA.inn)
        elapsed = time.monotonic() - started
    finally:
        release.set()
    assert slow_answer.value.detail == "timed out"
    assert len(calls) == 2  # a GET is retried once (retries=1)
    assert 0.5 < elapsed < 1.5  # two read timeouts of 0.3 s, not the 5 s the server would take


def test_5xx_is_retried_then_unavailable(serve_app):
    calls: list = []
    client = Registers(serve_app(json_app("503 Service Unavailable", {"error": "busy"}, calls)), retries=2)
    with pytest.raises(RegisterUnavailable) as failing:
        client.legal_entity(ROMASHKA.inn)
    assert failing.value.detail == "HTTP 503"
    assert len(calls) == 3  # the first try and two retries


def test_a_retry_after_header_does_not_stretch_the_wait(serve_app):
    def app(environ, start_response):
        start_response("503 Service Unavailable", [("Retry-After", "30"), ("Content-Length", "0")])
        return [b""]

    started = time.monotonic()
    with pytest.raises(RegisterUnavailable):
        Registers(serve_app(app), retries=2).legal_entity(ROMASHKA.inn)
    assert time.monotonic() - started < 2.0


def test_a_post_that_reached_the_register_is_not_retried(serve_app):
    calls: list = []
    client = Registers(serve_app(json_app("502 Bad Gateway", {}, calls)), retries=3)
    with pytest.raises(RegisterUnavailable):
        client.revoke_power_of_attorney(str(uuid.uuid4()), date(2026, 11, 23))
    assert calls == [("POST", calls[0][1])]


def test_a_recovered_register_answers_after_a_retry(serve_app):
    calls: list = []
    org = {"inn": ROMASHKA.inn, "kpp": ROMASHKA.kpp, "ogrn": ROMASHKA.ogrn, "full_name": ROMASHKA.full_name,
           "address": "г. Москва", "status": "active", "okved": ["62.01"],
           "head": {"inn": ROMASHKA.head.inn, "last_name": "Иванов", "first_name": "Иван", "position": "Директор"}}
    ok, failing = json_app("200 OK", org), json_app("500 Internal Server Error", {})

    def flaky(environ, start_response):
        calls.append(1)
        return (failing if len(calls) == 1 else ok)(environ, start_response)

    assert Registers(serve_app(flaky)).legal_entity(ROMASHKA.inn).head.middle_name is None
    assert len(calls) == 2


@pytest.mark.parametrize("status,body,detail", [
    ("404 Not Found", b"<html>nginx</html>", "not the register's"),
    ("404 Not Found", {"error": "no such resource"}, "not the register's"),
    ("200 OK", b"<html>captive portal</html>", "not JSON"),
    ("200 OK", {"inn": ROMASHKA.inn}, "malformed answer"),
    ("200 OK", [1, 2], "malformed answer"),
    ("302 Found", {}, "unexpected HTTP 302"),
])
def test_answers_that_are_not_the_registers_are_unavailable(serve_app, status, body, detail):
    client = Registers(serve_app(json_app(status, body)), retries=0)
    with pytest.raises(RegisterUnavailable) as unknown:
        client.legal_entity(ROMASHKA.inn)
    assert detail in unknown.value.detail


def test_an_oversized_answer_is_unavailable(serve_app):
    client = Registers(serve_app(json_app("200 OK", b"[" + b"1," * 600_000 + b"1]")),
                       max_answer_bytes=1024 * 1024)
    with pytest.raises(RegisterUnavailable, match="too large"):
        client.licences(VASILEK.inn)


def test_a_malformed_list_item_is_unavailable(serve_app):
    client = Registers(serve_app(json_app("200 OK", [{"number": "x"}])))
    with pytest.raises(RegisterUnavailable, match="malformed"):
        client.powers_of_attorney(principal_inn=ROMASHKA.inn)


def test_cache_reuses_legal_entities_and_persons_but_never_powers(stub, serve_app, monkeypatch):
    calls: list = []
    import requests as real

    upstream = stub.url

    def proxy(environ, start_response):  # counts what reaches the register
        calls.append(environ["PATH_INFO"])
        query = environ.get("QUERY_STRING")
        reply = real.get(f"{upstream}{environ['PATH_INFO']}" + (f"?{query}" if query else ""), timeout=5)
        start_response(f"{reply.status_code} X", [("Content-Type", "application/json")])
        return [reply.content]

    client = Registers(serve_app(proxy), cache_seconds=0.3)
    poa = client.powers_of_attorney(principal_inn=ROMASHKA.inn)[0].number
    calls.clear()
    for _ in range(3):
        client.legal_entity(ROMASHKA.inn)
        client.legal_entity("7707083893")  # "not found" is reused too
        client.person(ROMASHKA.head.inn)
        client.power_of_attorney(poa)
    assert sorted(set(calls)) == sorted(calls[:4]) and len(calls) == 3 + 3
    time.sleep(0.35)
    client.legal_entity(ROMASHKA.inn)
    assert calls[-1] == f"/egrul/legal-entities/{ROMASHKA.inn}"


def test_only_http_base_urls():
    with pytest.raises(ValueError):
        Registers("file:///etc/passwd")


def test_the_outboxs_actions_are_the_marked_write_methods():
    """A decision may name exactly the methods of Registers marked @register_write; reads and
    helpers are not actions (an unknown action is buried as refused)."""
    from gateway.registers import outbox

    assert outbox.ACTIONS == {"register_power_of_attorney", "revoke_power_of_attorney", "enter_licence",
                              "change_legal_entity_details"}
    assert "legal_entity" not in outbox.ACTIONS and "close" not in outbox.ACTIONS
    assert outbox.WRITES["change_legal_entity_details"].conflict({"inn": "7702123454"}, None)
    assert outbox.WRITES["enter_licence"].conflict is None
    with pytest.raises(ValueError, match="unknown register write"):
        outbox.carry_out(None, "legal_entity", {"inn": "7702123454"}, "key-1")
