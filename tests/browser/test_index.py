"""The infrastructure proven on a page that exists today: `GET /` in a real Chromium."""
from __future__ import annotations

from lxml import etree


def test_index_page_links_the_contract(page, live_console):
    response = page.goto("/")
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/html")
    name = live_console.settings.human_readable_name
    assert page.title() == name
    assert page.locator("h1").inner_text() == name
    assert live_console.settings.endpoint in page.locator("code").inner_text()
    hrefs = page.locator("li a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert {"/ws?wsdl", "/api/v1/openapi.yaml", "/health/ready", "/metrics"} <= set(hrefs)


def test_index_is_keyboard_navigable_to_the_wsdl(page):
    """Tab reaches the WSDL link and Enter follows it: the browser gets the WSDL itself."""
    page.goto("/")
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('href')") == "/ws?wsdl":
            break
    else:
        raise AssertionError("Tab never reached the WSDL link")
    with page.expect_response(lambda r: r.url.endswith("/ws?wsdl")) as answer:
        page.keyboard.press("Enter")
    wsdl = etree.fromstring(answer.value.body())
    assert etree.QName(wsdl).localname == "definitions"
    assert wsdl.findall(".//{http://schemas.xmlsoap.org/wsdl/}operation")


def test_the_demo_left_messages_for_the_console(live_console):
    """What the console tests look for exists: the demo's requests and answers are stored."""
    kinds = {m.message_type for m in live_console.messages}
    assert len(live_console.messages) >= 10 and kinds == {"REQUEST", "RESPONSE"}
    assert any(m.sender == "ROMASHKA" for m in live_console.messages)
    assert "organisation 7702123454: active" in live_console.demo_output
