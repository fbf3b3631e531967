"""Scoped API keys, operator roles and sessions, and the webhook endpoints, over real HTTP; every
administrative action lands in the hash-chained journal with its actor."""
from __future__ import annotations

import json
import uuid

import pytest
import requests
from sqlalchemy import select

from envelopes.demo_data import ROMASHKA
from gateway.http import access
from gateway.http.history import new_token
from gateway.storage import journal
from gateway.storage.schema import journal as journal_table


@pytest.fixture(scope="module")
def api(gateway_url):
    return gateway_url.replace("/ws", "/api/v1")


@pytest.fixture(scope="module")
def people(engine):
    """(administrator session, controller session) of fresh operators."""
    admin, controller = f"admin-{uuid.uuid4().hex[:6]}", f"auditor-{uuid.uuid4().hex[:6]}"
    access.add_operator(engine, admin, "administrator", "correct horse battery", "test")
    access.add_operator(engine, controller, "controller", "another long password", "test")
    return admin, controller


def call(method, url, token=None, body=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.request(method, url, headers=headers, timeout=10,
                            data=json.dumps(body) if body is not None else None)


def login(api, username, password):
    reply = call("POST", f"{api}/session", body={"username": username, "password": password})
    assert reply.status_code == 200, reply.text
    return reply.json()


def history(api, token):
    return call("GET", f"{api}/organisations/{ROMASHKA.inn}/applications", token)


def test_passwords_are_salted_scrypt_hashes():
    stored = access.hash_password("correct horse battery")
    assert stored.startswith("scrypt$") and "correct" not in stored
    assert stored != access.hash_password("correct horse battery")  # salted
    assert access.check_password("correct horse battery", stored)
    assert not access.check_password("correct horse batterY", stored)


def test_login_gives_a_session_with_the_role(api, people):
    admin, controller = people
    session = login(api, admin, "correct horse battery")
    assert session["role"] == "administrator" and len(session["token"]) > 30
    assert call("POST", f"{api}/session",
                body={"username": admin, "password": "wrong password!!"}).status_code == 401
    assert call("POST", f"{api}/session",
                body={"username": "nobody", "password": "whatever it is"}).status_code == 401
    assert call("GET", f"{api}/keys", "not-a-session").status_code == 401


def test_an_administrator_issues_rotates_and_revokes_keys_a_controller_only_reads(
        api, engine, people):
    admin, controller = people
    admin_token = login(api, admin, "correct horse battery")["token"]
    auditor = login(api, controller, "another long password")["token"]

    assert call("POST", f"{api}/keys", auditor,
                {"system": "ROMASHKA", "scopes": ["history:read"]}).status_code == 403
    assert call("POST", f"{api}/keys", admin_token,
                {"system": "ROMASHKA", "scopes": ["everything"]}).status_code == 400
    assert call("POST", f"{api}/keys", admin_token,
                {"system": "NOBODY", "scopes": ["history:read"]}).status_code == 404
    issued = call("POST", f"{api}/keys", admin_token,
                  {"system": "ROMASHKA", "scopes": ["history:read"]})
    assert issued.status_code == 201
    key_id, key = issued.json()["id"], issued.json()["key"]
    assert history(api, key).status_code == 200

    listed = call("GET", f"{api}/keys?system=ROMASHKA", auditor)
    assert listed.status_code == 200
    assert {"id": key_id, "scopes": ["history:read"], "revoked": False}.items() <= \
        next(k for k in listed.json()["items"] if k["id"] == key_id).items()
    assert key not in listed.text  # only ids, never the keys

    rotated = call("POST", f"{api}/keys/{key_id}/rotate", admin_token)
    assert rotated.status_code == 201
    new_key = rotated.json()["key"]
    assert history(api, key).status_code == 401  # the old one is revoked
    assert history(api, new_key).status_code == 200
    assert call("DELETE", f"{api}/keys/{rotated.json()['id']}", auditor).status_code == 403
    assert call("DELETE", f"{api}/keys/{rotated.json()['id']}", admin_token).status_code == 204
    assert history(api, new_key).status_code == 401

    with engine.connect() as conn:
        entries = conn.execute(select(journal_table.c.event, journal_table.c.detail,
                                      journal_table.c.direction)
                               .where(journal_table.c.direction == "ADM")
                               .order_by(journal_table.c.id)).all()
        assert journal.verify_chain(conn).intact
    mine = [(e.event, json.loads(e.detail)) for e in entries
            if json.loads(e.detail).get("actor") == f"operator:{admin}"
            and e.event != "session-opened"]
    assert [event for event, _ in mine] == ["key-issued", "key-rotated", "key-revoked"]
    assert mine[0][1]["key"] == key_id and mine[0][1]["scopes"] == ["history:read"]


def test_scopes_decide_what_a_key_may_do(api, engine):
    legacy = new_token(engine, "ROMASHKA")  # issued before scopes: history:read
    assert history(api, legacy).status_code == 200
    assert call("GET", f"{api}/webhooks", legacy).status_code == 403
    _, hooks_only = access.issue_key(engine, "ROMASHKA", ["webhooks:manage"], "test")
    assert history(api, hooks_only).status_code == 403
    assert call("GET", f"{api}/webhooks", hooks_only).status_code == 200


def test_webhooks_over_rest(api, engine):
    _, key = access.issue_key(engine, "ROMASHKA", ["webhooks:manage"], "test")
    _, other = access.issue_key(engine, "VASILEK", ["webhooks:manage"], "test")
    bad = call("POST", f"{api}/webhooks", key, {"url": "http://127.0.0.1:9/x",
                                                "events": ["nothing.happened"]})
    assert bad.status_code == 400 and "unknown event" in bad.json()["error"]
    made = call("POST", f"{api}/webhooks", key, {"url": "http://127.0.0.1:9/hook",
                                                 "events": ["application.created", "poa.revoked"]})
    assert made.status_code == 201, made.text
    sub = made.json()
    assert sub["secret"] and sub["system"] == "ROMASHKA"
    listed = call("GET", f"{api}/webhooks", key).json()["items"]
    assert [s["id"] for s in listed if s["id"] == sub["id"]] == [sub["id"]]
    assert "secret" not in json.dumps(listed)
    assert sub["id"] not in [s["id"] for s in call("GET", f"{api}/webhooks", other).json()["items"]]
    assert call("DELETE", f"{api}/webhooks/{sub['id']}", other).status_code == 404  # not VASILEK's
    deliveries = call("GET", f"{api}/webhooks/deliveries?state=dead", key)
    assert deliveries.status_code == 200 and isinstance(deliveries.json()["items"], list)
    assert call("POST", f"{api}/webhooks/deliveries/999999999/replay", key).status_code == 404
    assert call("DELETE", f"{api}/webhooks/{sub['id']}", key).status_code == 204
    assert call("DELETE", f"{api}/webhooks/{sub['id']}", key).status_code == 404


@pytest.mark.parametrize("body", [b'{"username": "a\\u0000b", "password": "x"}',
                                  b'{"username": "admin", "password": "\\u0000"}'])
def test_a_nul_character_is_a_client_error_on_both_databases(gateway_url, body):
    """The REST fuzzer found it on PostgreSQL: a NUL in a login reached the database (text
    columns refuse it) and came back as 503."""
    import requests

    base = gateway_url.rsplit("/ws", 1)[0]
    reply = requests.post(f"{base}/api/v1/session", data=body,
                          headers={"Content-Type": "application/json"}, timeout=10)
    assert reply.status_code == 400, reply.text
    assert requests.get(f"{base}/api/v1/organisations/7702123454/applications?kind=a%00b",
                        timeout=10).status_code in (400, 401)
