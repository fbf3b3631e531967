"""The REST history of applications: auth, own organisation only, filters, sorting, paging, CSV."""
from __future__ import annotations

import csv
import io
from datetime import date

import pytest
import requests

from envelopes import build
from envelopes.demo_data import ROMASHKA, VASILEK
from envelopes.payloads.registration import build_organisation_registration
from gateway.http.history import new_token
from support import ok


@pytest.fixture(scope="module")
def api(gateway_url):
    return gateway_url.replace("/ws", "/api/v1")


@pytest.fixture(scope="module")
def token(engine, gateway_url, demo_client):
    key, cert, chain = demo_client
    for _ in range(3):
        ok(gateway_url, build.send_request(build_organisation_registration(ROMASHKA), key, cert,
                                           extra_certificates=chain))
    return new_token(engine, "ROMASHKA")


def get(api, path, token=None, **params):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(f"{api}{path}", params=params, headers=headers, timeout=10)


def test_needs_a_valid_token(api, token):
    assert get(api, f"/organisations/{ROMASHKA.inn}/applications").status_code == 401
    assert get(api, f"/organisations/{ROMASHKA.inn}/applications", "forged").status_code == 401


def test_only_the_own_organisation(api, token):
    reply = get(api, f"/organisations/{VASILEK.inn}/applications", token)
    assert reply.status_code == 403


def test_lists_sorts_and_pages(api, token):
    reply = get(api, f"/organisations/{ROMASHKA.inn}/applications", token, page_size=2, sort="date")
    assert reply.status_code == 200
    body = reply.json()
    assert body["total"] >= 3 and len(body["items"]) == 2
    dates = [i["date"] for i in body["items"]]
    assert dates == sorted(dates)
    second = get(api, f"/organisations/{ROMASHKA.inn}/applications", token, page_size=2, page=2,
                 sort="date").json()
    assert second["items"] and second["items"][0]["number"] not in {i["number"] for i in body["items"]}
    descending = get(api, f"/organisations/{ROMASHKA.inn}/applications", token, sort="-number").json()
    numbers = [i["number"] for i in descending["items"]]
    assert numbers == sorted(numbers, reverse=True)


def test_filters(api, token):
    today = date.today().isoformat()
    kinds = get(api, f"/organisations/{ROMASHKA.inn}/applications", token,
                kind="organisation-registration", status="verified", date_from=today,
                date_to=today).json()
    assert kinds["total"] >= 3
    assert all(i["kind"] == "organisation-registration" and i["status"] == "verified"
               for i in kinds["items"])
    assert get(api, f"/organisations/{ROMASHKA.inn}/applications", token,
               date_to="2000-01-01").json()["total"] == 0
    assert get(api, f"/organisations/{ROMASHKA.inn}/applications", token,
               status="no-such-state").json()["total"] == 0


def test_csv_export_holds_every_row(api, token):
    total = get(api, f"/organisations/{ROMASHKA.inn}/applications", token).json()["total"]
    reply = get(api, f"/organisations/{ROMASHKA.inn}/applications", token, format="csv")
    assert reply.status_code == 200 and reply.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(reply.text)))
    assert len(rows) == total
    assert set(rows[0]) == {"number", "date", "kind", "domain", "status", "updated"}


@pytest.mark.parametrize("params", [{"sort": "password"}, {"page": "0"}, {"page_size": "501"},
                                    {"date_from": "yesterday"}, {"format": "xml"}, {"evil": "1"}])
def test_bad_parameters_are_400(api, token, params):
    reply = get(api, f"/organisations/{ROMASHKA.inn}/applications", token, **params)
    assert reply.status_code == 400 and "error" in reply.json()


def test_openapi_document_is_served_and_valid(api):
    import yaml
    from openapi_spec_validator import validate

    reply = requests.get(f"{api}/openapi.yaml", timeout=10)
    assert reply.status_code == 200
    spec = yaml.safe_load(reply.text)
    validate(spec)  # raises on an invalid OpenAPI 3 document
    assert "/api/v1/organisations/{inn}/applications" in spec["paths"]
