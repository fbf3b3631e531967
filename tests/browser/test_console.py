"""The console in a real Chromium, through its pages as a person uses them (issue #15, part 8).

The expectations come from the database the demo filled (read in tests/console_harness.py), from
the QA corpus and from the page contract in docs/console.md — never from the console's own
code. A page that is missing is a failure naming its URL, never a skip.
"""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pypdfium2
import pytest
from playwright.sync_api import expect

from console_harness import (ADMINISTRATOR, CONTROLLER, VALID_REGISTRATION, applications_of,
                             broken_registration, log_in)
from envelopes.demo_data import ROMASHKA
from gateway.ops.demo import load_client

ROOT = Path(__file__).resolve().parents[2]
BAD_OGRN = ROOT / "conformance" / "registration" / "reg-ogrn-checksum.xml"
#: every page of the navigation
PAGES = ("/console/", "/console/messages", "/console/applications", "/console/participants",
         "/console/validate", "/console/journal")


def open_page(page, path: str):
    response = page.goto(path)
    assert response is not None and response.status == 200, \
        f"GET {path}: {response.status if response else 'no response'}"
    return response


def html_lang(page) -> str:
    return page.evaluate("document.documentElement.lang")


def unlabelled_fields(page) -> list[str]:
    """Form fields a screen reader could not name (no <label>, no aria-label)."""
    return page.evaluate("""() => [...document.querySelectorAll('input, textarea, select')]
        .filter(e => !['hidden', 'submit', 'button'].includes(e.type))
        .filter(e => e.labels.length === 0 && !e.getAttribute('aria-label')
                     && !e.getAttribute('aria-labelledby'))
        .map(e => e.outerHTML)""")


# -- log-in -----------------------------------------------------------------------------------

def test_login_form_is_labelled_refuses_a_wrong_password_and_sets_a_strict_session(page, context):
    open_page(page, "/console/login")
    assert html_lang(page) == "ru"
    assert unlabelled_fields(page) == []
    assert page.locator("form input[type=hidden][name=csrf]").count() >= 1
    page.fill("input[name=username]", ADMINISTRATOR[0])
    page.fill("input[name=password]", "not-the-password")
    page.click("#login-submit")
    error = page.locator("#login-error")
    expect(error).to_be_visible()
    assert error.get_attribute("role") == "alert"
    assert not [c for c in context.cookies() if c["httpOnly"] and c["sameSite"] == "Strict"
                and "session" in c["name"].lower()]

    page.fill("input[name=username]", ADMINISTRATOR[0])
    page.fill("input[name=password]", ADMINISTRATOR[2])
    page.click("#login-submit")
    expect(page).to_have_url(re.compile(r"/console/$"))
    session = [c for c in context.cookies() if c["httpOnly"] and c["sameSite"] == "Strict"]
    assert session, context.cookies()

    page.locator("form[action='/console/logout'] [type=submit]").first.click()
    response = page.goto("/console/messages")
    assert urlparse(page.url).path == "/console/login", (response.status, page.url)


def test_keyboard_only_login(page):
    """Tab to the fields, type, Enter: no mouse."""
    open_page(page, "/console/login")
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.name") == "username":
            break
    else:
        pytest.fail("Tab never reached the username field")
    page.keyboard.type(ADMINISTRATOR[0])
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "password"
    page.keyboard.type(ADMINISTRATOR[2])
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/console/$"))


def test_pages_need_a_session(page):
    for path in PAGES:
        page.goto(path)
        assert urlparse(page.url).path == "/console/login", f"{path} without a session: {page.url}"


# -- every page -------------------------------------------------------------------------------

def test_every_page_has_navigation_language_links_and_labelled_fields(as_person):
    page = as_person(ADMINISTRATOR)
    for path in PAGES:
        open_page(page, path)
        assert html_lang(page) == "ru", path
        nav = page.locator("nav#main-nav")
        expect(nav).to_be_visible()
        hrefs = {urlparse(h).path for h in nav.locator("a").evaluate_all(
            "links => links.map(a => a.getAttribute('href'))")}
        assert set(PAGES) <= hrefs, (path, hrefs)
        assert page.locator("#lang-en").count() == 1, path
        assert unlabelled_fields(page) == [], path


def test_switch_to_english_is_remembered(as_person):
    page = as_person(ADMINISTRATOR)
    open_page(page, "/console/")
    russian_nav = page.locator("nav#main-nav").inner_text()
    page.click("#lang-en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert page.locator("nav#main-nav").inner_text() != russian_nav
    open_page(page, "/console/messages")
    assert html_lang(page) == "en"
    page.click("#lang-ru")
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    open_page(page, "/console/journal")
    assert html_lang(page) == "ru"


# -- dashboard --------------------------------------------------------------------------------

def test_dashboard_shows_charts_queues_expiries_and_refreshes_live(as_person, live_console):
    page = as_person(ADMINISTRATOR)
    open_page(page, "/console/")
    for chart in ("#throughput-chart", "#refusals-chart"):
        assert page.locator(chart).evaluate("e => e.tagName.toLowerCase()") == "svg", chart
    for table in ("#queue-depths", "#expiries"):
        assert page.locator(table).evaluate("e => e.tagName.toLowerCase()") == "table", table
    expect(page.locator("#webhook-backlog")).to_be_visible()
    # the live refresh: the page's script fetches a fragment again within a few seconds
    with page.expect_request(lambda r: r.url.startswith(live_console.url("/console/"))
                             and r.resource_type in ("fetch", "xhr")):
        pass


def test_dashboard_works_without_javascript(browser, live_console):
    ctx = browser.new_context(base_url=live_console.base, java_script_enabled=False)
    try:
        page = ctx.new_page()
        log_in(page)  # the login form too
        assert page.locator("#throughput-chart").evaluate("e => e.tagName.toLowerCase()") == "svg"
        assert page.locator("#queue-depths tr").count() >= 1
    finally:
        ctx.close()


# -- messages ---------------------------------------------------------------------------------

def listed_ids(page) -> set[str]:
    hrefs = page.locator("#messages a.message-link").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))")
    return {h.rsplit("/", 1)[-1] for h in hrefs}


def test_find_the_demos_messages(as_person, live_console):
    page = as_person(ADMINISTRATOR)
    romashka = {m.message_id for m in live_console.messages if m.sender == "ROMASHKA"}
    open_page(page, "/console/messages?sender=ROMASHKA")
    assert listed_ids(page) == romashka

    wanted = live_console.messages[-1].message_id
    open_page(page, "/console/messages")
    page.fill("input[name=message_id]", wanted)
    page.press("input[name=message_id]", "Enter")
    expect(page).to_have_url(re.compile(r"message_id="))
    assert parse_qs(urlparse(page.url).query)["message_id"] == [wanted]
    assert listed_ids(page) == {wanted}


def test_message_page_shows_envelope_verdict_certificate_path_receipt_and_effects(as_person,
                                                                                 live_console):
    page = as_person(ADMINISTRATOR)
    first = next(m for m in live_console.messages
                 if m.sender == "ROMASHKA" and m.message_type == "REQUEST")
    open_page(page, "/console/messages?sender=ROMASHKA")
    page.click(f"#messages a.message-link[href='/console/messages/{first.message_id}']")
    expect(page).to_have_url(re.compile(f"/console/messages/{first.message_id}$"))

    envelope = page.locator("#envelope")
    assert first.message_id in envelope.inner_text()
    assert first.root_element in envelope.inner_text()
    expect(envelope.locator("mark.signed").first).to_be_visible()

    verdict = page.locator("#verdict")
    assert verdict.get_attribute("data-verdict") == "valid"
    assert verdict.inner_text().strip()
    links = page.locator("#cert-path > li")
    assert links.count() >= 2
    signer = load_client(live_console.settings, "ROMASHKA")[1]
    common_name = signer.subject.rfc4514_string().split("CN=", 1)[1].split(",", 1)[0]
    assert common_name in links.nth(0).inner_text()
    assert "Test Issuing CA" in page.locator("#cert-path").inner_text()
    for i in range(links.count()):
        text = links.nth(i).inner_text()
        assert re.search(r"20\d\d", text), text  # validity dates
        assert re.search(r"OCSP|CRL|trust|довер|якор", text, re.IGNORECASE), text  # revocation source

    assert page.locator("#receipt").inner_text().strip()
    assert page.locator("#journal").inner_text().strip()
    assert page.locator("#effects").inner_text().strip()


# -- applications -----------------------------------------------------------------------------

def test_applications_export_csv_and_pdf(as_person, live_console):
    page = as_person(ADMINISTRATOR)
    expected = applications_of(live_console.engine, ROMASHKA.inn)
    assert expected, "the demo made no application"
    open_page(page, f"/console/applications?inn={ROMASHKA.inn}")
    rows = page.locator("#applications a[href^='/console/applications/']")
    assert rows.count() == len(expected)
    for link in ("#export-csv", "#export-pdf"):
        assert f"inn={ROMASHKA.inn}" in page.locator(link).get_attribute("href"), link

    with page.expect_download() as download:
        page.click("#export-csv")
    data = Path(download.value.path()).read_bytes()
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert len(table) == 1 + len(expected), table
    cells = {cell for row in table[1:] for cell in row}
    assert {a.registration_number for a in expected} <= cells

    with page.expect_download() as download:
        page.click("#export-pdf")
    pdf_bytes = Path(download.value.path()).read_bytes()
    assert pdf_bytes.startswith(b"%PDF")
    pdf = pypdfium2.PdfDocument(pdf_bytes)
    try:
        assert len(pdf) >= 1
        bitmap = pdf[0].render(scale=1)
        pixels = bytes(bitmap.buffer)
        assert len(set(pixels)) > 1, "the first page renders blank"
        text = "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
        assert ROMASHKA.inn in text
        for application in expected:  # every number whole, as in the CSV
            assert application.registration_number in text, (application, text)
    finally:
        pdf.close()


def test_application_timeline(as_person, live_console):
    page = as_person(ADMINISTRATOR)
    registration = next(a for a in applications_of(live_console.engine, ROMASHKA.inn)
                        if a.domain == "registration")
    open_page(page, f"/console/applications?inn={ROMASHKA.inn}")
    row = page.locator("#applications tr", has_text=registration.registration_number)
    row.locator("a[href^='/console/applications/']").first.click()
    expect(page).to_have_url(re.compile(r"/console/applications/[^/?]+$"))
    steps = page.locator("#timeline > li")
    assert steps.count() >= 2  # submitted, then verified and confirmed by the head
    for i in range(steps.count()):
        assert re.search(r"20\d\d", steps.nth(i).inner_text()), steps.nth(i).inner_text()
    assert "ROMASHKA" in page.locator("#timeline").inner_text()  # who moved it first


# -- participants -----------------------------------------------------------------------------

def test_participants_and_a_controller_cannot_change_them(as_person):
    admin = as_person(ADMINISTRATOR)
    open_page(admin, "/console/participants")
    assert "ROMASHKA" in admin.locator("#participants").inner_text()
    admin.click("#participants a[href='/console/participants/ROMASHKA']")
    expect(admin).to_have_url(re.compile(r"/console/participants/ROMASHKA$"))
    changes = admin.locator("main form[method=post], main form[method=POST]")
    assert changes.count() >= 1, "an administrator sees the change forms"
    action = changes.first.get_attribute("action")
    fields = changes.first.evaluate(
        "f => Object.fromEntries([...new FormData(f)].filter(([k, v]) => typeof v === 'string'))")

    controller = as_person(CONTROLLER)
    open_page(controller, "/console/participants/ROMASHKA")
    assert controller.locator("main form[method=post], main form[method=POST]").count() == 0
    # the controller's own valid CSRF token: the 403 is about the role, not the token
    open_page(controller, "/console/journal")
    token = controller.locator("input[name=csrf]").first.get_attribute("value")
    answer = controller.request.post(action, form={**fields, "csrf": token},
                                     max_redirects=0)
    assert answer.status == 403, (action, answer.status)
    open_page(admin, "/console/participants/ROMASHKA")
    assert admin.locator(f"form[action='{action}']").count() == 1, "the refused change was made"


def test_an_administrators_change_is_journaled(as_person):
    admin = as_person(ADMINISTRATOR)
    open_page(admin, "/console/participants/TAXOFFICE")
    admin.locator("form[action='/console/participants/TAXOFFICE/disable'] [type=submit]").click()
    expect(admin.locator("form[action='/console/participants/TAXOFFICE/enable']")).to_have_count(1)
    admin.locator("form[action='/console/participants/TAXOFFICE/enable'] [type=submit]").click()
    expect(admin.locator("form[action='/console/participants/TAXOFFICE/disable']")).to_have_count(1)

    open_page(admin, "/console/journal?only=admin")
    rows = admin.locator("#journal-entries tbody tr")
    changes = [rows.nth(i).inner_text() for i in range(rows.count())
               if "TAXOFFICE" in rows.nth(i).inner_text()]
    assert any("is-disabled" in r and "operator:admin" in r for r in changes), changes
    assert any("is-enabled" in r and "operator:admin" in r for r in changes), changes


# -- validate ---------------------------------------------------------------------------------

def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_validate_a_broken_document_marks_its_lines(as_person):
    page = as_person(ADMINISTRATOR)
    broken, bad_lines = broken_registration()
    assert len(bad_lines) == 2
    open_page(page, "/console/validate")
    page.fill("#document", broken)
    page.click("#validate-submit")
    result = page.locator("#validation-result")
    expect(result).to_have_attribute("data-valid", "false")
    problems = page.locator("#problems > li")
    assert {int(problems.nth(i).get_attribute("data-line")) for i in range(problems.count())} \
        == bad_lines
    listed = page.locator("#problems").inner_text()
    assert "XSD_VIOLATION" in listed and "reg:KPP" in listed and "reg:Email" in listed
    assert page.locator(".error-line").evaluate_all("ls => ls.map(l => l.id)") \
        == [f"line-{n}" for n in sorted(bad_lines)]
    expect(page.locator(f"#line-{min(bad_lines)}")).to_have_class(re.compile(r"\berror-line\b"))
    # seen, not only marked up: a marked line looks different from an unmarked one
    good_line = next(n for n in range(1, len(broken.splitlines()) + 1) if n not in bad_lines)
    look = ("e => { const s = getComputedStyle(e); "
            "return [s.backgroundColor, s.outlineStyle, s.borderLeftStyle, s.color]; }")
    assert page.locator(f"#line-{min(bad_lines)}").evaluate(look) \
        != page.locator(f"#line-{good_line}").evaluate(look)
    # the other lines are shown, numbered, and not marked
    assert page.locator("[id^='line-']").count() == len(broken.splitlines())


def test_validate_an_uploaded_file_and_a_valid_paste(as_person):
    page = as_person(ADMINISTRATOR)
    open_page(page, "/console/validate")
    page.set_input_files("#file", str(BAD_OGRN))
    page.click("#validate-submit")
    expect(page.locator("#validation-result")).to_have_attribute("data-valid", "false")
    ogrn_line = line_of(BAD_OGRN.read_text("utf-8"), "<OGRN>")
    problem = page.locator(f"#problems > li[data-line='{ogrn_line}']")
    assert "FIELD_RULE" in problem.inner_text()
    expect(page.locator(f"#line-{ogrn_line}")).to_have_class(re.compile(r"\berror-line\b"))

    open_page(page, "/console/validate")
    page.fill("#document", VALID_REGISTRATION.read_text("utf-8"))
    page.click("#validate-submit")
    expect(page.locator("#validation-result")).to_have_attribute("data-valid", "true")
    assert page.locator("#problems > li").count() == 0


# -- journal ----------------------------------------------------------------------------------

def test_journal_lists_entries_and_verifies_the_chain(as_person):
    page = as_person(CONTROLLER)  # an auditor's task
    open_page(page, "/console/journal")
    assert page.locator("#journal-entries tr").count() >= 2
    page.click("#verify-chain")
    expect(page.locator("#chain-verdict")).to_have_attribute("data-ok", "true")
