"""``gateway soapui export``: a SoapUI project of the conformance corpus. Its structure is checked
against the content models of SoapUI's own project schema (SmartBear/soapui,
soapui/src/main/xsd/soapui/soapui.xsd, namespace http://eviware.com/soapui/config) — in full with
xmlschema when ``SOAPUI_CONFIG_XSD`` names a copy of that file (it is not ours to ship), and
always for the elements the export writes, in the order that schema gives them. Then every
enabled request step is sent as SoapUI would send it and its assertions are evaluated: each holds
against this gateway."""
from __future__ import annotations

import os
import re

import pytest
import requests
from click.testing import CliRunner
from lxml import etree

from gateway.ops.cli import main
from gateway.qa.corpus import SHIPPED, load

CON = "http://eviware.com/soapui/config"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
#: child order of the complex types the export writes, as soapui.xsd declares them (ModelItem's
#: description and settings first, then each extension's own sequence)
ORDER = {
    "soapui-project": ["description", "settings", "interface", "testSuite", "mockService", "restMockService",
                       "endpointStrategy", "requirements", "properties"],
    "interface": ["description", "settings", "definitionCache", "endpoints", "operation"],
    "operation": ["description", "settings", "call", "requestParts", "responseParts"],
    "testSuite": ["description", "settings", "runType", "testCase", "properties", "setupScript",
                  "tearDownScript", "reportScript", "reportTemplates", "reportParameters"],
    "testCase": ["description", "settings", "testStep", "loadTest", "setupScript", "tearDownScript",
                 "properties", "requirements", "reportTemplates", "reportScript", "reportParameters",
                 "securityTest", "breakPoints"],
    "testStep": ["description", "settings", "config", "reportTemplates"],
    "config": ["interface", "operation", "request"],
    "request": ["description", "settings", "encoding", "endpoint", "request", "originalUri", "assertion",
                "credentials", "attachment", "jmsConfig", "jmsPropertyConfig", "wsaConfig", "wsrmConfig"],
    "assertion": ["description", "settings", "configuration"],
    "credentials": ["username", "password", "domain", "selectedAuthProfile", "addedBasicAuthenticationTypes",
                    "preemptive", "authType"],
}
REQUIRED = {"interface": ["endpoints"], "testStep": ["config"], "config": ["interface", "operation", "request"],
            "request": ["encoding", "endpoint", "request", "credentials"], "assertion": ["configuration"],
            "credentials": ["authType"]}
ASSERTION_TYPES = {"SOAP Response", "SOAP Fault Assertion", "Not SOAP Fault Assertion", "XPath Match"}


@pytest.fixture(scope="module")
def exported(gateway_url, demo_settings, tmp_path_factory):
    out = tmp_path_factory.mktemp("soapui") / "project.xml"
    result = CliRunner().invoke(main, ["soapui", "export", str(out), "--target", gateway_url],
                                env={"GATEWAY_DATA_DIR": str(demo_settings.data_dir)})
    assert result.exit_code == 0, result.output
    return out, result.output


def local(el) -> str:
    return etree.QName(el).localname


def check_order(el, kind: str) -> None:
    names = [local(c) for c in el if isinstance(c.tag, str)]
    order = ORDER[kind]
    assert all(n in order for n in names), (kind, names)
    positions = [order.index(n) for n in names]
    assert positions == sorted(positions), (kind, names)
    for required in REQUIRED.get(kind, []):
        assert required in names, (kind, required)


def test_the_project_has_soapuis_structure(exported):
    path, output = exported
    root = etree.parse(str(path)).getroot()
    assert root.tag == f"{{{CON}}}soapui-project" and root.get("soapui-version")
    check_order(root, "soapui-project")
    [interface] = root.findall(f"{{{CON}}}interface")
    assert interface.get(XSI_TYPE) == "con:WsdlInterface" and interface.get("soapVersion") == "1_1"
    check_order(interface, "interface")
    assert [o.get("name") for o in interface.findall(f"{{{CON}}}operation")] == [
        "SendRequest", "SendResponse", "GetStatus", "GetRequest", "GetResponse", "Ack", "GetIncomingQueueStatistics"]
    for operation in interface.findall(f"{{{CON}}}operation"):
        check_order(operation, "operation")
    suites = root.findall(f"{{{CON}}}testSuite")
    cases = load([SHIPPED])
    assert [s.get("name") for s in suites] == list(dict.fromkeys(c.folder.name for c in cases))
    sent = {c.id for c in cases if c.online or c.kind == "sequence"}
    exported_cases = [tc for s in suites for tc in s.findall(f"{{{CON}}}testCase")]
    assert {tc.get("name") for tc in exported_cases} == sent  # one test case per message-level case
    for suite in suites:
        check_order(suite, "testSuite")
    for test_case in exported_cases:
        check_order(test_case, "testCase")
        for step in test_case.findall(f"{{{CON}}}testStep"):
            assert step.get("type") == "request"
            check_order(step, "testStep")
            config = step.find(f"{{{CON}}}config")
            assert config.get(XSI_TYPE) == "con:RequestStep"
            check_order(config, "config")
            request = config.find(f"{{{CON}}}request")
            check_order(request, "request")
            check_order(request.find(f"{{{CON}}}credentials"), "credentials")
            for assertion in request.findall(f"{{{CON}}}assertion"):
                assert assertion.get("type") in ASSERTION_TYPES
                check_order(assertion, "assertion")
    assert f"{len(suites)} test suites, {len(exported_cases)} test cases" in output


@pytest.mark.skipif(not os.environ.get("SOAPUI_CONFIG_XSD"), reason="SOAPUI_CONFIG_XSD names no copy of soapui.xsd")
def test_the_project_is_valid_against_soapuis_schema(exported):
    import xmlschema

    schema = xmlschema.XMLSchema(os.environ["SOAPUI_CONFIG_XSD"])
    errors = [str(e)[:300] for e in schema.iter_errors(str(exported[0]))]
    assert errors == []


def _xpath(assertion, answer) -> bool:
    """SoapUI's XPath Match: ``declare namespace`` lines, then the path; compare with content."""
    config = assertion.find(f"{{{CON}}}configuration")
    text = config.findtext("path")
    namespaces = dict(re.findall(r"declare namespace (\w+)='([^']+)';", text))
    path = re.sub(r"declare namespace \w+='[^']+';\s*", "", text).strip()
    got = answer.xpath(path, namespaces=namespaces)
    value = ("true" if got else "false") if isinstance(got, bool) else \
        (got[0].text if isinstance(got, list) and got else None)
    return value == config.findtext("content")


def test_every_enabled_step_passes_its_assertions_against_the_gateway(exported):
    root = etree.parse(str(exported[0])).getroot()
    checked = 0
    for test_case in root.iter(f"{{{CON}}}testCase"):
        if test_case.get("disabled") == "true":
            assert "gateway conformance run" in test_case.findtext(f"{{{CON}}}description")
            continue
        for step in test_case.iter(f"{{{CON}}}testStep"):
            request = step.find(f"{{{CON}}}config/{{{CON}}}request")
            reply = requests.post(request.findtext(f"{{{CON}}}endpoint"),
                                  data=request.findtext(f"{{{CON}}}request").encode("utf-8"),
                                  headers={"Content-Type": "text/xml; charset=utf-8",
                                           "SOAPAction": '"urn:SendRequest"'}, timeout=30)
            answer = etree.fromstring(reply.content)
            is_fault = answer.find(".//{http://schemas.xmlsoap.org/soap/envelope/}Fault") is not None
            for assertion in request.findall(f"{{{CON}}}assertion"):
                kind = assertion.get("type")
                ok = {"SOAP Response": True, "Not SOAP Fault Assertion": is_fault,
                      "SOAP Fault Assertion": not is_fault}.get(kind) if kind != "XPath Match" else \
                    _xpath(assertion, answer)
                assert ok, (test_case.get("name"), step.get("name"), assertion.get("name"), reply.text[:300])
                checked += 1
    assert checked > 200
