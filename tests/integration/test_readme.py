"""The README's Python snippet runs as written against a live gateway (only the settings and the
endpoint are the test environment's), so the SDK it shows stays the SDK that exists."""
from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def snippet() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    [code] = [b for b in blocks if "GatewayClient" in b and "PROFILES" not in b]  # not the GOST one
    return code


def test_the_readme_snippet_sends_a_registration_and_prints_the_receipt(gateway_url, demo_settings):
    """Exactly as written, as its own process from the project folder: only the environment
    (GATEWAY_DATA_DIR, GATEWAY_PORT, ...) says where the test gateway is, as it would for a
    user whose `make run` was started with them."""
    import os
    import subprocess
    import sys
    from urllib.parse import urlsplit

    code = snippet()
    assert "Settings.from_env()" in code and "settings.endpoint" in code
    address = urlsplit(gateway_url)
    env = dict(os.environ, GATEWAY_DATA_DIR=str(demo_settings.data_dir),
               GATEWAY_DATABASE_URL=demo_settings.resolved_database_url,
               GATEWAY_HOST=address.hostname, GATEWAY_PORT=str(address.port))
    env.pop("GATEWAY_PUBLIC_URL", None)
    done = subprocess.run([sys.executable, "-c", code], cwd=README.parent, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    message_id, status = done.stdout.split()
    assert re.fullmatch(r"[0-9a-f-]{36}", message_id) and status == "requestIsQueued"


def test_the_readme_cli_commands_run_as_printed(demo_settings, tmp_path):
    """The `.venv/bin/gateway …` lines of the README's registration example, as printed, on a
    data dir of their own (`gateway setup` first, as `make run` does)."""
    import os
    import shlex
    import subprocess
    import sys

    blocks = re.findall(r"```sh\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    [block] = [b for b in blocks if "gateway is add" in b]
    env = dict(os.environ, GATEWAY_DATA_DIR=str(tmp_path / "var"), GATEWAY_REVOCATION_TIMEOUT="1")
    env.pop("GATEWAY_DATABASE_URL", None)
    gateway = [sys.executable, "-m", "gateway.ops.cli"]
    subprocess.run([*gateway, "setup"], env=env, cwd=tmp_path, check=True, capture_output=True)
    for line in block.strip().splitlines():
        args = shlex.split(line, comments=True)
        assert args[0] == ".venv/bin/gateway", line
        # var/... paths of the README are relative to the project folder: here, tmp_path
        done = subprocess.run([*gateway, *args[1:]], env=env, cwd=tmp_path, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0 and "warning" not in done.stderr, (line, done.stderr)
