"""The README's Python snippet runs as written against a live gateway (only the settings and the
endpoint are the test environment's), so the SDK it shows stays the SDK that exists."""
from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def snippet() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    [code] = [b for b in blocks if "GatewayClient" in b and "PROFILES" not in b]  # not the GOST one
    return code


def test_the_readme_snippet_sends_a_registration_and_prints_the_receipt(gateway_url, demo_settings):
    code = snippet()
    assert code.count("Settings()") == 1 and code.count('"http://127.0.0.1:8080/ws"') == 1
    code = code.replace("Settings()", "TEST_SETTINGS").replace('"http://127.0.0.1:8080/ws"', "TEST_URL")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, str(README), "exec"), {"TEST_SETTINGS": demo_settings, "TEST_URL": gateway_url})
    message_id, status = printed.getvalue().split()
    assert re.fullmatch(r"[0-9a-f-]{36}", message_id) and status == "requestIsQueued"
