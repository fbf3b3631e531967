"""``make screenshots``: one PNG per console page under docs/console/ (or the folder given),
taken in Debian's Chromium from the same setup the browser tests drive (tests/console_harness.py):
a gateway with the demo's data, logged in as the administrator.

A page that does not answer 200, or lacks the element the page contract names, stops the run
with its URL: a screenshot of an error page is never written.
"""
from __future__ import annotations

import logging
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the harness, conftest

from console_harness import (ADMINISTRATOR, TempDirs, applications_of,  # noqa: E402
                             broken_registration, chromium, console)
from envelopes.demo_data import ROMASHKA  # noqa: E402

VIEWPORT = {"width": 1280, "height": 860}
#: a long page (the journal, the messages) is pictured down to here: its top tells the story
MAX_HEIGHT = 2400


class PageMissing(RuntimeError):
    pass


def _visit(page, path: str, must_have: str) -> None:
    response = page.goto(path)
    if response is None or response.status != 200:
        raise PageMissing(f"GET {path}: {response.status if response else 'no response'}")
    _require(page, path, must_have)


def _require(page, where: str, selector: str) -> None:
    if page.locator(selector).count() == 0:
        raise PageMissing(f"{where}: no {selector} on the page")


def take(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    dirs = TempDirs(Path(tempfile.mkdtemp(prefix="screenshots-")))
    try:
        with console(dirs) as running, chromium() as browser:
            ctx = browser.new_context(base_url=running.base, viewport=VIEWPORT)
            ctx.set_default_timeout(10_000)
            page = ctx.new_page()

            def shot(name: str) -> None:
                path = out / f"{name}.png"
                width, height = page.evaluate("[document.documentElement.scrollWidth, "
                                              "document.documentElement.scrollHeight]")
                page.screenshot(path=str(path), full_page=True,
                                clip={"x": 0, "y": 0, "width": width,
                                      "height": min(height, MAX_HEIGHT)})
                written.append(path)

            _visit(page, "/console/login", "#login-submit")
            shot("login")
            page.fill("input[name=username]", ADMINISTRATOR[0])
            page.fill("input[name=password]", ADMINISTRATOR[2])
            page.click("#login-submit")
            page.wait_for_url("**/console/")

            _visit(page, "/console/", "#throughput-chart")
            shot("dashboard")
            _visit(page, "/console/messages", "#messages")
            shot("messages")
            first = next(m for m in running.messages if m.sender == "ROMASHKA")
            _visit(page, f"/console/messages/{first.message_id}", "#verdict")
            shot("message")
            _visit(page, f"/console/applications?inn={ROMASHKA.inn}", "#applications")
            shot("applications")
            registration = next(a for a in applications_of(running.engine, ROMASHKA.inn)
                                if a.domain == "registration")
            row = page.locator("#applications tr", has_text=registration.registration_number)
            row.locator("a[href^='/console/applications/']").first.click()
            page.wait_for_load_state()
            _require(page, page.url, "#timeline")
            shot("application-timeline")
            _visit(page, "/console/participants", "#participants")
            shot("participants")
            _visit(page, "/console/validate", "#document")
            document, _lines = broken_registration()
            page.fill("#document", document)
            page.click("#validate-submit")
            page.wait_for_load_state()
            _require(page, "/console/validate (POST)", ".error-line")
            shot("validate-errors")
            _visit(page, "/console/journal", "#journal-entries")
            shot("journal")
            ctx.close()
    finally:
        dirs.cleanup()
    return written


def main(argv: list[str]) -> int:
    out = Path(argv[0] if argv else "docs/console")
    logging.basicConfig(level=logging.WARNING)  # first: the gateway's INFO lines stay quiet
    try:
        written = take(out)
    except PageMissing as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for path in written:
        print(f"{path}  {path.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
