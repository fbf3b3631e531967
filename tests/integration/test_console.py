"""The operator and QA web console over real HTTP (the session gateway served by wsgiref): log-in
with the operators' sessions and a cookie, CSRF on every form, roles, each page of the contract
in docs/console.md with its ids, the filters, the CSV and PDF exports (the PDF rendered with
pypdfium2 to prove it is real), the validator's errors in place, the journal's chain check, and
administrator-only changes landing in the journal with the operator as actor."""
from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from lxml import html as lxml_html
from sqlalchemy import select, update

from envelopes import build
from envelopes.demo_data import ROMASHKA
from envelopes.payloads.registration import build_organisation_registration
from gateway.http import access
from gateway.pipeline import participants
from gateway.storage import participants as participant_rows
from gateway.storage.schema import journal as journal_table
from support import fault, ok

ADMIN_PASSWORD, OPERATOR_PASSWORD, CONTROLLER_PASSWORD = (
    "admin password 123", "operator password 1", "controller password")


@pytest.fixture(scope="module")
def base(gateway_url):
    return gateway_url[:-len("/ws")]


@pytest.fixture(scope="module")
def people(engine):
    """username by role, of fresh operators."""
    suffix = uuid.uuid4().hex[:6]
    names = {"administrator": f"c-admin-{suffix}", "operator": f"c-op-{suffix}",
             "controller": f"c-audit-{suffix}"}
    for role, password in (("administrator", ADMIN_PASSWORD), ("operator", OPERATOR_PASSWORD),
                           ("controller", CONTROLLER_PASSWORD)):
        access.add_operator(engine, names[role], role, password, "test")
    return names


@pytest.fixture(scope="module")
def traffic(gateway_url, demo_client):
    """(accepted MessageID, refused MessageID): one registration accepted, one refused for a
    bad ОГРН checksum (InvalidContent), both from ROMASHKA."""
    key, cert, chain = demo_client
    accepted = build.new_message_id()
    ok(gateway_url, build.send_request(build_organisation_registration(ROMASHKA), key, cert,
                                       message_id=accepted, extra_certificates=chain))
    refused = build.new_message_id()
    bad = dataclasses.replace(ROMASHKA, ogrn="1027700132196")  # the checksum digit is wrong
    fault(gateway_url, build.send_request(build_organisation_registration(bad), key, cert,
                                          message_id=refused, extra_certificates=chain))
    return accepted, refused


def page(reply: requests.Response):
    return lxml_html.fromstring(reply.text)


def csrf_of(reply: requests.Response) -> str:
    return page(reply).xpath("//input[@name='csrf']/@value")[0]


def login(base: str, username: str, password: str) -> requests.Session:
    session = requests.Session()
    form = session.get(f"{base}/console/login", timeout=10)
    reply = session.post(f"{base}/console/login", timeout=10, allow_redirects=False,
                         data={"username": username, "password": password, "csrf": csrf_of(form)})
    assert reply.status_code == 303 and reply.headers["Location"] == "/console/", reply.text
    return session


@pytest.fixture(scope="module")
def admin(base, people):
    return login(base, people["administrator"], ADMIN_PASSWORD)


@pytest.fixture(scope="module")
def operator(base, people):
    return login(base, people["operator"], OPERATOR_PASSWORD)


@pytest.fixture(scope="module")
def controller(base, people):
    return login(base, people["controller"], CONTROLLER_PASSWORD)


def journal_after(engine, last_id: int) -> list[tuple[str, dict]]:
    with engine.connect() as conn:
        return [(r.event, json.loads(r.detail)) for r in conn.execute(
            select(journal_table).where(journal_table.c.id > last_id).order_by(journal_table.c.id))]


def journal_head(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(journal_table.c.id).order_by(journal_table.c.id.desc()).limit(1)).scalar() or 0


# -- log-in, sessions, CSRF, language, headers ------------------------------------------------

def test_pages_need_a_login_and_the_login_form_follows_the_contract(base):
    reply = requests.get(f"{base}/console/messages", timeout=10, allow_redirects=False)
    assert reply.status_code == 303 and reply.headers["Location"] == "/console/login"
    assert requests.get(f"{base}/console/fragments/dashboard", timeout=10).status_code == 401
    form = requests.get(f"{base}/console/login", timeout=10)
    assert form.status_code == 200
    doc = page(form)
    assert doc.get("lang") == "ru"
    for name in ("username", "password"):
        [field] = doc.xpath(f"//form[@action='/console/login' and @method='post']//input[@name='{name}']")
        assert doc.xpath(f"//label[@for='{field.get('id')}']"), f"no label for {name}"
    assert doc.xpath("//button[@type='submit' and @id='login-submit']")
    assert doc.xpath("//input[@type='hidden' and @name='csrf']/@value")[0]
    assert doc.xpath("//a[@id='lang-en']") and doc.xpath("//a[@id='lang-ru']")
    assert "Вход" in form.text  # Russian by default


def test_security_headers(base, operator):
    for path in ("/console/login", "/console/", "/console/messages", "/console/journal"):
        reply = (operator if path != "/console/login" else requests).get(f"{base}{path}", timeout=10)
        assert reply.status_code == 200, path
        csp = reply.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp and "frame-ancestors 'none'" in csp
        assert reply.headers["X-Frame-Options"] == "DENY"
        assert reply.headers["X-Content-Type-Options"] == "nosniff"
        assert reply.headers["Cache-Control"] == "no-store"
        assert "<script>" not in reply.text and " style=" not in reply.text  # no inline code
    static = requests.get(f"{base}/console/static/console.js", timeout=10)
    assert static.status_code == 200 and static.headers["Content-Type"].startswith("text/javascript")
    assert requests.get(f"{base}/console/static/../routes.py", timeout=10).status_code == 404


def test_wrong_password_shows_the_form_again_with_an_alert(base, people):
    session = requests.Session()
    form = session.get(f"{base}/console/login", timeout=10)
    reply = session.post(f"{base}/console/login", timeout=10, allow_redirects=False,
                         data={"username": people["operator"], "password": "not the password",
                               "csrf": csrf_of(form)})
    assert reply.status_code == 401
    [alert] = page(reply).xpath("//*[@id='login-error']")
    assert alert.get("role") == "alert"
    assert "console_session" not in reply.headers.get("Set-Cookie", "")


def test_login_without_the_csrf_token_is_refused(base, people):
    session = requests.Session()
    session.get(f"{base}/console/login", timeout=10)
    reply = session.post(f"{base}/console/login", timeout=10, allow_redirects=False,
                         data={"username": people["operator"], "password": OPERATOR_PASSWORD,
                               "csrf": "forged"})
    assert reply.status_code == 403
    plain = requests.post(f"{base}/console/login", timeout=10, allow_redirects=False,
                          data={"username": people["operator"], "password": OPERATOR_PASSWORD})
    assert plain.status_code == 403


def test_the_session_cookie_is_httponly_strict_and_logout_ends_it(base, people, engine):
    session = requests.Session()
    form = session.get(f"{base}/console/login", timeout=10)
    reply = session.post(f"{base}/console/login", timeout=10, allow_redirects=False,
                         data={"username": people["controller"], "password": CONTROLLER_PASSWORD,
                               "csrf": csrf_of(form)})
    cookie = next(c for c in reply.headers["Set-Cookie"].split(", ") if c.startswith("console_session="))
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/console" in cookie
    dashboard = session.get(f"{base}/console/", timeout=10)
    assert dashboard.status_code == 200 and people["controller"] in dashboard.text
    before = journal_head(engine)
    # a log-out without the session's CSRF token is refused, with it accepted
    assert session.post(f"{base}/console/logout", data={"csrf": "x"}, timeout=10,
                        allow_redirects=False).status_code == 403
    token = session.cookies.get("console_session")
    out = session.post(f"{base}/console/logout", data={"csrf": csrf_of(dashboard)}, timeout=10,
                       allow_redirects=False)
    assert out.status_code == 303 and out.headers["Location"] == "/console/login"
    assert ("session-closed", {"actor": f"operator:{people['controller']}"}) in journal_after(engine, before)
    # the old token is dead on the server, not only forgotten by this browser
    stale = requests.get(f"{base}/console/", cookies={"console_session": token}, timeout=10,
                         allow_redirects=False)
    assert stale.status_code == 303


def test_language_switch_is_remembered(base, operator):
    english = operator.get(f"{base}/console/messages?lang=en", timeout=10)
    assert page(english).get("lang") == "en" and "Messages" in english.text
    again = operator.get(f"{base}/console/journal", timeout=10)
    assert page(again).get("lang") == "en"
    back = operator.get(f"{base}/console/journal?lang=ru", timeout=10)
    assert page(back).get("lang") == "ru" and "Журнал" in back.text
    doc = page(back)
    assert doc.xpath("//a[@id='lang-en']/@href")[0].endswith("lang=en")
    nav = doc.xpath("//nav[@id='main-nav']//a/@href")
    assert set(nav) >= {"/console/", "/console/messages", "/console/applications",
                        "/console/participants", "/console/validate", "/console/journal"}


# -- dashboard --------------------------------------------------------------------------------

def test_dashboard_charts_tables_and_live_fragment(base, operator, traffic):
    reply = operator.get(f"{base}/console/", timeout=10)
    doc = page(reply)
    for chart in ("throughput-chart", "refusals-chart"):
        [svg] = doc.xpath(f"//*[@id='{chart}']")
        assert svg.tag == "svg"
    # the accepted registration and the refusal are counted
    throughput = doc.xpath("//*[@id='throughput-chart']/desc")[0].text_content()
    assert re.search(r"SendRequest: [1-9]", throughput), throughput
    refusals = doc.xpath("//*[@id='refusals-chart']/desc")[0].text_content()
    assert re.search(r"[A-Z_]+: [1-9]", refusals), refusals
    assert doc.xpath("//table[@id='queue-depths']//th[@scope='col']")
    # the registration's answer waits for ROMASHKA: its row links the oldest waiting message
    oldest = doc.xpath("//table[@id='queue-depths']//tr[th/a[text()='ROMASHKA']]//a[@class='message-link']/@href")
    assert oldest and operator.get(f"{base}{oldest[0]}", timeout=10).status_code == 200
    assert doc.xpath("//table[@id='expiries']//tbody/tr")  # the demo PKI's certificates
    assert doc.xpath("//*[@id='webhook-backlog']")
    assert doc.xpath("//script[@src='/console/static/console.js']")
    live = doc.xpath("//*[@id='dashboard-live']/@data-fragment")[0]
    fragment = operator.get(f"{base}{live}", timeout=10)
    assert fragment.status_code == 200 and 'id="throughput-chart"' in fragment.text
    assert "<html" not in fragment.text


def refusal_counts(session, base) -> dict[str, int]:
    desc = page(session.get(f"{base}/console/fragments/dashboard", timeout=10)).xpath(
        "//*[@id='refusals-chart']/desc")[0].text_content()
    return {code: int(n) for code, n in re.findall(r"([A-Za-z_?]+): (\d+)", desc)}


def test_the_charts_count_what_arrives_after_the_page_was_opened(base, operator, gateway_url,
                                                                 demo_client, traffic):
    key, cert, chain = demo_client
    before = refusal_counts(operator, base)
    for _ in range(2):
        fault(gateway_url, build.send_request(build_organisation_registration(
            dataclasses.replace(ROMASHKA, ogrn="1027700132196")), key, cert, extra_certificates=chain))
    after = refusal_counts(operator, base)
    assert sum(after.values()) == sum(before.values()) + 2, (before, after)


# -- messages ---------------------------------------------------------------------------------

def test_message_search_filters(base, operator, traffic):
    accepted, refused = traffic
    by_sender = page(operator.get(f"{base}/console/messages", params={"sender": "ROMASHKA"}, timeout=10))
    links = by_sender.xpath("//table[@id='messages']//a[@class='message-link']/@href")
    assert f"/console/messages/{accepted}" in links
    exact = page(operator.get(f"{base}/console/messages", params={"message_id": accepted}, timeout=10))
    assert exact.xpath("//table[@id='messages']//a[@class='message-link']/@href") == [f"/console/messages/{accepted}"]
    other = page(operator.get(f"{base}/console/messages",
                              params={"message_id": accepted, "operation": "SendResponse"}, timeout=10))
    assert not other.xpath("//a[@class='message-link']")
    today = datetime.now(timezone.utc).date()
    dated = page(operator.get(f"{base}/console/messages", timeout=10, params={
        "message_id": accepted, "from": str(today - timedelta(days=1)), "to": str(today + timedelta(days=1))}))
    assert dated.xpath("//a[@class='message-link']")
    future = page(operator.get(f"{base}/console/messages", timeout=10, params={
        "message_id": accepted, "from": str(today + timedelta(days=2))}))
    assert not future.xpath("//a[@class='message-link']")
    rejected = page(operator.get(f"{base}/console/messages", params={"status": "rejected"}, timeout=10))
    assert f"/console/messages/{refused}" in rejected.xpath("//a[@class='message-link']/@href")
    bad = operator.get(f"{base}/console/messages", params={"from": "yesterday"}, timeout=10)
    assert bad.status_code == 400 and page(bad).xpath("//*[@id='filter-errors' and @role='alert']")


def test_search_values_are_escaped(base, operator):
    reply = operator.get(f"{base}/console/messages", params={"sender": "<script>alert(1)</script>"}, timeout=10)
    assert "<script>alert(1)</script>" not in reply.text and "&lt;script&gt;" in reply.text


def test_message_page_envelope_verdict_path_receipt_journal_effects(base, operator, traffic):
    accepted, _ = traffic
    doc = page(operator.get(f"{base}/console/messages/{accepted}", timeout=10))
    [envelope] = doc.xpath("//*[@id='envelope']")
    [signed] = envelope.xpath(".//mark[@class='signed']")
    assert "SenderProvidedRequestData" in signed.text_content()
    assert "CallerInformationSystemSignature" not in signed.text_content()  # only the signed part
    [verdict] = doc.xpath("//*[@id='verdict']")
    assert verdict.get("data-verdict") == "valid"
    chain = doc.xpath("//ol[@id='cert-path']/li")
    assert len(chain) >= 2, "signer and at least its trust anchor"
    assert "ROMASHKA" in chain[0].text_content().upper() or "РОМАШКА" in chain[0].text_content().upper()
    assert "OCSP" in chain[0].text_content() or "CRL" in chain[0].text_content()
    assert "anchor" in chain[-1].get("class")
    receipt = doc.xpath("//*[@id='receipt']")[0].text_content()
    assert "RegistrationNumber" in receipt or "registration" in receipt.lower()
    journal = doc.xpath("//*[@id='journal']")[0].text_content()
    assert "request-accepted" in journal and "receipt" in journal
    effects = doc.xpath("//*[@id='effects']//a/@href")
    assert any(h.startswith("/console/applications/") for h in effects)


def test_a_refused_resend_does_not_change_the_verdict_of_the_stored_message(
        base, operator, gateway_url, demo_client):
    key, cert, chain = demo_client
    message_id = build.new_message_id()
    ok(gateway_url, build.send_request(build_organisation_registration(ROMASHKA), key, cert,
                                       message_id=message_id, extra_certificates=chain))
    other = dataclasses.replace(ROMASHKA, phone="+74950000000")  # same MessageID, other content
    fault(gateway_url, build.send_request(build_organisation_registration(other), key, cert,
                                          message_id=message_id, extra_certificates=chain))
    doc = page(operator.get(f"{base}/console/messages/{message_id}", timeout=10))
    assert doc.xpath("//*[@id='verdict']/@data-verdict") == ["valid"]
    journal = doc.xpath("//*[@id='journal']")[0].text_content()
    assert "request-accepted" in journal and "rejected" in journal


def test_refused_message_page_says_invalid_and_why(base, operator, traffic):
    _, refused = traffic
    doc = page(operator.get(f"{base}/console/messages/{refused}", timeout=10))
    [verdict] = doc.xpath("//*[@id='verdict']")
    assert verdict.get("data-verdict") == "invalid"
    assert "InvalidContent" in verdict.text_content()
    assert doc.xpath("//*[@id='envelope']//mark[@class='signed']")  # an authenticated sender's bytes are kept
    for section in ("receipt", "journal", "effects"):
        assert doc.xpath(f"//*[@id='{section}']")
    assert "rejected" in doc.xpath("//*[@id='journal']")[0].text_content()
    assert operator.get(f"{base}/console/messages/{uuid.uuid4()}", timeout=10).status_code == 404


# -- applications -----------------------------------------------------------------------------

def test_applications_filters_csv_and_timeline(base, operator, traffic):
    query = {"inn": ROMASHKA.inn, "domain": "registration"}
    reply = operator.get(f"{base}/console/applications", params=query, timeout=10)
    doc = page(reply)
    rows = doc.xpath("//table[@id='applications']/tbody/tr[th]")
    assert rows and all(ROMASHKA.inn in r.text_content() for r in rows)
    total = int(doc.xpath("//*[@id='applications-total']")[0].text)
    csv_href = doc.xpath("//a[@id='export-csv']/@href")[0]
    pdf_href = doc.xpath("//a[@id='export-pdf']/@href")[0]
    assert csv_href.startswith("/console/applications.csv?") and f"inn={ROMASHKA.inn}" in csv_href
    assert "domain=registration" in pdf_href and pdf_href.startswith("/console/applications.pdf?")
    exported = operator.get(f"{base}{csv_href}", timeout=10)
    assert exported.headers["Content-Type"].startswith("text/csv")
    assert exported.headers["Content-Disposition"].startswith("attachment")
    table = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(table) == total and {r["organisation_inn"] for r in table} == {ROMASHKA.inn}
    assert {r["domain"] for r in table} == {"registration"}
    none = page(operator.get(f"{base}/console/applications", params={"inn": "0000000000"}, timeout=10))
    assert not none.xpath("//table[@id='applications']/tbody/tr[th]")
    invalid = operator.get(f"{base}/console/applications", params={"inn": "12ab"}, timeout=10)
    assert invalid.status_code == 400
    assert operator.get(f"{base}/console/applications.csv", params={"to": "soon"}, timeout=10).status_code == 400

    first = doc.xpath("//table[@id='applications']//a[@class='application-link']/@href")[0]
    detail = page(operator.get(f"{base}{first}", timeout=10))
    steps = detail.xpath("//ol[@id='timeline']/li")
    assert steps and "ROMASHKA" in steps[0].text_content()
    assert steps[0].xpath(".//time/@datetime") and steps[0].get("data-status")


def test_applications_kind_filter_and_sort_as_the_rest_api(base, operator, traffic):
    """The REST history API's kind filter and sort columns work on the page and in the export."""
    every = list(csv.DictReader(io.StringIO(operator.get(
        f"{base}/console/applications.csv", params={"inn": ROMASHKA.inn}, timeout=10).text)))
    kind = every[0]["kind"]
    by_kind = list(csv.DictReader(io.StringIO(operator.get(
        f"{base}/console/applications.csv", params={"inn": ROMASHKA.inn, "kind": kind,
                                                   "sort": "number"}, timeout=10).text)))
    assert by_kind and {r["kind"] for r in by_kind} == {kind}
    assert len(by_kind) == sum(r["kind"] == kind for r in every)
    assert [r["number"] for r in by_kind] == sorted(r["number"] for r in by_kind)
    descending = page(operator.get(f"{base}/console/applications",
                                   params={"inn": ROMASHKA.inn, "kind": kind, "sort": "-number"},
                                   timeout=10))
    shown = [a.text_content().strip() for a in
             descending.xpath("//table[@id='applications']//a[@class='application-link']")]
    # the first page (50 rows) of the descending order: the export's numbers, reversed
    assert shown == sorted((r["number"] for r in by_kind), reverse=True)[:len(shown)]
    assert len(shown) == min(50, len(by_kind))
    assert descending.xpath("//select[@id='f-sort']/option[@selected]/@value") == ["-number"]
    assert "sort=-number" in descending.xpath("//a[@id='export-csv']/@href")[0]
    bad = operator.get(f"{base}/console/applications", params={"sort": "password"}, timeout=10)
    assert bad.status_code == 400


def test_pdf_export_is_a_real_pdf(base, operator, traffic):
    import pypdfium2 as pdfium  # pinned in the test extras: a missing renderer fails, never skips
    reply = operator.get(f"{base}/console/applications.pdf", params={"inn": ROMASHKA.inn}, timeout=30)
    assert reply.status_code == 200 and reply.headers["Content-Type"] == "application/pdf"
    assert reply.headers["Content-Disposition"].startswith("attachment")
    assert reply.content.startswith(b"%PDF-")
    document = pdfium.PdfDocument(reply.content)
    assert len(document) >= 1
    first = document[0]
    text = first.get_textpage().get_text_range()
    assert "История заявлений" in text  # Cyrillic survives: the embedded DejaVu font
    assert ROMASHKA.inn in text
    numbers = [r["number"] for r in csv.DictReader(io.StringIO(operator.get(
        f"{base}/console/applications.csv", params={"inn": ROMASHKA.inn}, timeout=10).text))]
    assert numbers and all(n in text for n in numbers[:5]), "whole registration numbers"
    image = first.render(scale=1).to_pil().convert("L")
    dark = sum(image.histogram()[:128])
    assert dark > 2000, "the page renders with visible text and table lines"


# -- participants -----------------------------------------------------------------------------

def _short_lived_certificate(days: int) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"console test {uuid.uuid4().hex[:6]}")])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=days)).sign(key, hashes.SHA256()))
    return cert


@pytest.fixture(scope="module")
def system(engine):
    """A fresh IS with a certificate ending in 5 days (the shared demo IS stay untouched)."""
    mnemonic = f"CONSOLE{uuid.uuid4().hex[:6].upper()}"
    participants.add_system(engine, mnemonic, "Тестовая система консоли", [_short_lived_certificate(5)],
                            inn_le=None, ogrn=None)
    return mnemonic


def test_participants_list_and_page(base, operator, system):
    doc = page(operator.get(f"{base}/console/participants", timeout=10))
    hrefs = doc.xpath("//table[@id='participants']//a/@href")
    assert f"/console/participants/{system}" in hrefs and "/console/participants/ROMASHKA" in hrefs
    mine = page(operator.get(f"{base}/console/participants/{system}", timeout=10))
    assert mine.xpath("//table[@id='certificates']//tr[@class='expiring']")
    for table in ("permissions", "keys", "webhooks"):
        assert mine.xpath(f"//table[@id='{table}']")
    assert not mine.xpath("//form[contains(@action, '/participants/')]"), "no change forms for an operator"
    romashka = page(operator.get(f"{base}/console/participants/ROMASHKA", timeout=10))
    assert romashka.xpath("//table[@id='permissions']/tbody/tr[th]")
    assert operator.get(f"{base}/console/participants/NOSUCHSYSTEM", timeout=10).status_code == 404


def test_only_an_administrator_changes_participants(base, operator, controller, engine, system):
    before = journal_head(engine)
    for session in (operator, controller):
        csrf = csrf_of(session.get(f"{base}/console/participants/{system}", timeout=10))
        for action, data in (("disable", {}), ("allow", {"role": "send", "namespace": "urn:x", "root": "*"})):
            reply = session.post(f"{base}/console/participants/{system}/{action}", timeout=10,
                                 data={"csrf": csrf, **data}, allow_redirects=False)
            assert reply.status_code == 403, (action, reply.status_code)
    assert participant_rows.enabled_flags(engine)[system] is True
    assert not participants.list_grants(engine, system)
    assert journal_after(engine, before) == []


def test_administrator_changes_are_made_and_journaled(base, admin, people, engine, system):
    actor = f"operator:{people['administrator']}"
    form = admin.get(f"{base}/console/participants/{system}", timeout=10)
    doc = page(form)
    assert doc.xpath("//form[@id='allow-form']") and doc.xpath("//button[@id='toggle-enabled']")
    csrf = csrf_of(form)
    before = journal_head(engine)

    def post(action, **data):
        return admin.post(f"{base}/console/participants/{system}/{action}", timeout=10,
                          data={"csrf": csrf, **data}, allow_redirects=False)

    assert post("allow", csrf="forged").status_code == 403
    namespace = "urn://console-test/1.0"
    reply = post("allow", role="send", namespace=namespace, root="*")
    assert reply.status_code == 303 and reply.headers["Location"].startswith(f"/console/participants/{system}")
    assert (system, "send", namespace, "*") in participants.list_grants(engine, system)
    assert post("disable").status_code == 303
    assert participant_rows.enabled_flags(engine)[system] is False
    assert post("enable").status_code == 303
    assert post("deny", role="send", namespace=namespace, root="*").status_code == 303
    assert not participants.list_grants(engine, system)
    key_id, _ = access.issue_key(engine, system, ["history:read"], "test")
    after_issue = journal_head(engine)
    assert post("revoke-key", key=key_id).status_code == 303
    assert post("revoke-key", key=key_id).status_code == 400  # already revoked: said, not hidden
    assert post("allow", role="admin", namespace=namespace).status_code == 400

    entries = [e for e in journal_after(engine, before) if e[1].get("actor") == actor]
    assert [event for event, _ in entries] == ["permission-granted", "is-disabled", "is-enabled",
                                               "permission-withdrawn", "key-revoked"]
    assert entries[0][1]["mnemonic"] == system and entries[0][1]["namespace"] == namespace
    assert any(event == "key-revoked" for event, _ in journal_after(engine, after_issue))
    done = page(admin.get(f"{base}{reply.headers['Location']}", timeout=10))
    assert done.xpath("//*[@id='change-done']")


# -- validate ---------------------------------------------------------------------------------

BROKEN = """<?xml version="1.0" encoding="UTF-8"?>
<reg:OrganisationRegistrationRequest xmlns:reg="urn://smev-gateway/services/organisation-registration/1.0">
  <reg:FullName>ООО Ромашка</reg:FullName>
  <reg:INN>7702123450</reg:INN>
  <reg:Unexpected>x</reg:Unexpected>
</reg:OrganisationRegistrationRequest>
"""


def test_validate_shows_problems_in_place(base, operator):
    form = operator.get(f"{base}/console/validate", timeout=10)
    doc = page(form)
    assert doc.xpath("//form[@method='post' and @action='/console/validate' and @enctype='multipart/form-data']")
    assert doc.xpath("//textarea[@name='document' and @id='document']") and doc.xpath("//label[@for='document']")
    assert doc.xpath("//input[@type='file' and @name='file' and @id='file']") and doc.xpath("//label[@for='file']")
    assert doc.xpath("//button[@id='validate-submit']")
    reply = operator.post(f"{base}/console/validate", timeout=30,
                          files={"csrf": (None, csrf_of(form)), "document": (None, BROKEN)})
    assert reply.status_code == 200
    result = page(reply)
    [box] = result.xpath("//*[@id='validation-result']")
    assert box.get("data-valid") == "false"
    problems = result.xpath("//ol[@id='problems']/li")
    assert problems
    lines = [p.get("data-line") for p in problems if p.get("data-line")]
    assert lines, "a problem names its line"
    for n in lines:
        [line] = result.xpath(f"//span[@id='line-{n}']")
        assert "error-line" in line.get("class")
    assert "XSD_VIOLATION" in problems[0].text_content() or "INVALID" in problems[0].text_content().upper()
    assert result.xpath("//span[@id='line-1']") and "error-line" not in result.xpath("//span[@id='line-1']")[0].get("class")
    # the same report as the QA kit's validator (gateway validate)
    from gateway.qa.engine import Validator
    expected = Validator().validate(BROKEN.encode(), "document")
    assert len(problems) == len(expected.problems)
    assert [p.get("data-line") for p in problems] == [str(p.line or "") for p in expected.problems]


def test_validate_a_signed_envelope_upload(base, operator, demo_client):
    key, cert, chain = demo_client
    envelope = build.send_request(build_organisation_registration(ROMASHKA), key, cert,
                                  extra_certificates=chain)
    csrf = csrf_of(operator.get(f"{base}/console/validate", timeout=10))
    reply = operator.post(f"{base}/console/validate", timeout=30,
                          files={"csrf": (None, csrf), "document": (None, ""),
                                 "file": ("request.xml", envelope, "text/xml")})
    [box] = page(reply).xpath("//*[@id='validation-result']")
    assert box.get("data-valid") == "true", reply.text[-3000:]
    assert "VALID" in box.text_content()
    empty = operator.post(f"{base}/console/validate", timeout=10, files={"csrf": (None, csrf), "document": (None, " ")})
    assert empty.status_code == 400
    forged = operator.post(f"{base}/console/validate", timeout=10,
                           files={"csrf": (None, "x"), "document": (None, BROKEN)})
    assert forged.status_code == 403


# -- journal ----------------------------------------------------------------------------------

def test_journal_pages_and_chain_verification(base, controller, engine, traffic):
    reply = controller.get(f"{base}/console/journal", timeout=10)
    doc = page(reply)
    rows = doc.xpath("//table[@id='journal-entries']/tbody/tr[th]")
    assert 0 < len(rows) <= 50
    assert doc.xpath("//table[@id='journal-entries']//th[@scope='col']")
    ids = [int(r.xpath("./th")[0].text) for r in rows]
    assert ids == sorted(ids, reverse=True)
    if doc.xpath("//a[@id='page-next']"):
        second = page(controller.get(f"{base}/console/journal?page=2", timeout=10))
        assert int(second.xpath("//table[@id='journal-entries']/tbody/tr/th")[0].text) < ids[-1]
    admin_only = page(controller.get(f"{base}/console/journal?only=admin", timeout=10))
    assert {r.xpath("./td")[1].text for r in admin_only.xpath("//table[@id='journal-entries']/tbody/tr[th]")} == {"ADM"}

    csrf = csrf_of(reply)
    assert doc.xpath("//form[@action='/console/journal/verify']//button[@id='verify-chain']")
    verified = page(controller.post(f"{base}/console/journal/verify", data={"csrf": csrf}, timeout=60))
    [verdict] = verified.xpath("//*[@id='chain-verdict']")
    assert verdict.get("data-ok") == "true"

    # alter one entry: the page says where the chain breaks; then put it back
    with engine.begin() as conn:
        target, event = conn.execute(select(journal_table.c.id, journal_table.c.event)
                                     .order_by(journal_table.c.id).limit(1)).one()
        conn.execute(update(journal_table).where(journal_table.c.id == target).values(event=event + "!"))
    try:
        broken = page(controller.post(f"{base}/console/journal/verify", data={"csrf": csrf}, timeout=60))
        [verdict] = broken.xpath("//*[@id='chain-verdict']")
        assert verdict.get("data-ok") == "false" and str(target) in verdict.text_content()
    finally:
        with engine.begin() as conn:
            conn.execute(update(journal_table).where(journal_table.c.id == target).values(event=event))
    assert controller.post(f"{base}/console/journal/verify", data={"csrf": "no"}, timeout=10).status_code == 403


def test_index_page_links_the_console(base):
    assert 'href="/console/"' in requests.get(f"{base}/", timeout=10).text


def test_every_page_labels_its_inputs_scopes_its_headers_and_names_its_language(
        base, admin, traffic, system):
    accepted, refused = traffic
    application = page(admin.get(f"{base}/console/applications", timeout=10)).xpath(
        "//a[@class='application-link']/@href")[0]
    paths = ["/console/", "/console/messages", f"/console/messages/{accepted}",
             f"/console/messages/{refused}", "/console/applications", application,
             "/console/participants", f"/console/participants/{system}", "/console/validate",
             "/console/journal", "/console/login"]
    for path in paths:
        for lang in ("ru", "en"):
            session = admin if path != "/console/login" else requests.Session()
            reply = session.get(f"{base}{path}", params={"lang": lang}, timeout=10, allow_redirects=False)
            assert reply.status_code == 200, path
            doc = page(reply)
            assert doc.get("lang") == lang, path
            assert doc.xpath("//nav[@id='main-nav']") and doc.xpath("//a[@id='lang-en']") \
                and doc.xpath("//a[@id='lang-ru']"), path
            assert doc.xpath("//h1"), path
            for field in doc.xpath("//input[not(@type='hidden')] | //select | //textarea"):
                labelled = field.get("aria-label") or doc.xpath(f"//label[@for='{field.get('id')}']")
                assert labelled, f"{path}: {field.get('name')} has no label"
            for header in doc.xpath("//table//th"):
                assert header.get("scope") in ("col", "row"), f"{path}: a <th> without scope"
            for button in doc.xpath("//button"):
                assert button.text_content().strip() or button.get("aria-label"), path
