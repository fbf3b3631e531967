"""A second, independent SOAP toolkit (gSOAP, C/C++) must accept the contract: wsdl2h reads the
WSDL and its schemas over HTTP from the gateway's URL layout, and soapcpp2 compiles the result. Skipped when gSOAP is not installed, except under CI, where that is a failure."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

OPERATIONS = ("SendRequest", "SendResponse", "GetRequest", "GetResponse", "Ack", "GetStatus",
              "GetIncomingQueueStatistics")
_ERROR = re.compile(r"\berror\b|\*ERROR\*|critical", re.IGNORECASE)


@pytest.fixture(scope="module")
def gsoap() -> tuple[str, str]:
    tools = shutil.which("wsdl2h"), shutil.which("soapcpp2")
    if not all(tools):
        if os.environ.get("CI"):
            pytest.fail("gSOAP (wsdl2h, soapcpp2) is required under CI: apt-get install gsoap")
        pytest.skip("gSOAP (wsdl2h, soapcpp2) is not installed")
    return tools  # type: ignore[return-value]


def _run(args: list[str], cwd: Path) -> str:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert not _ERROR.search(output), output
    return output


def test_wsdl2h_and_soapcpp2_accept_the_contract(gsoap, contract_server, tmp_path):
    wsdl2h, soapcpp2 = gsoap
    log = _run([wsdl2h, "-o", "smev.h", f"{contract_server[0]}/ws?wsdl"], tmp_path)
    for name in ("types", "faults", "basic"):
        assert f"smev-message-exchange-{name}-1.1.xsd" in log  # every schema was read
    header = (tmp_path / "smev.h").read_text(encoding="utf-8", errors="replace")
    for operation in OPERATIONS:
        assert f"__{operation}(" in header or f"_{operation}(" in header, operation

    _run([soapcpp2, "-C", "-L", "-x", "smev.h"], tmp_path)
    client_stubs = (tmp_path / "soapClient.cpp").read_text(encoding="utf-8", errors="replace")
    for operation in OPERATIONS:
        assert f'"urn:{operation}"' in client_stubs, operation
