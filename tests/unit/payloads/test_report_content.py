"""The report content travels unchecked by reporting-1.0.xsd (lax) and is validated by its
report kind's own XSD, so a wrong balance sheet is caught by that schema, field named."""
from __future__ import annotations

from lxml import etree

from envelopes.payloads import reporting, schemas


def _content_issues(submission: reporting.ReportSubmission):
    kind = reporting.REPORT_KINDS[submission.kind]
    content = submission.content_element()
    assert content.tag == f"{{{kind.namespace}}}{kind.root}"
    return schemas.issues(content, kind.xsd)


def test_report_kinds_name_existing_schemas():
    for kind in reporting.REPORT_KINDS.values():
        assert (schemas.XSD_DIR / kind.xsd).is_file()
        assert schemas.detailed_schema(kind.xsd).target_namespace == kind.namespace


def test_valid_content_passes_the_kind_schema(sample_payloads):
    submission = sample_payloads["reporting/ReportSubmission.xml"]
    assert _content_issues(submission) == []
    assert reporting.parse_balance(submission.content_element()) == reporting.Balance(1200, 3400, 2500, 2100)


def test_broken_content_passes_the_envelope_schema_but_not_the_kind_schema(fresh):
    element = fresh("reporting/ReportSubmission.xml")
    balance = element.find("{urn://smev-gateway/services/reporting/1.0}Content")[0]
    equity = balance.find("{urn://smev-gateway/reports/balance/1.0}Equity")
    equity.text = "2500.5"
    assert schemas.issues(element) == []  # lax: the payload schema does not look inside
    found = _content_issues(reporting.parse_report_submission(element))
    assert [i.field for i in found] == ["Equity"]


def test_content_is_compared_canonically():
    """Namespace declarations the content does not use (its parent's, unused ones) do not count."""
    a = reporting.build_balance(reporting.Balance(1, 2, 3, 4))
    parent = etree.fromstring(
        b'<p:Wrapper xmlns:p="urn:parent" xmlns:x="urn:unused">'
        b'<Balance xmlns="urn://smev-gateway/reports/balance/1.0" xmlns:y="urn:unused-too">'
        b'<NonCurrentAssets>1</NonCurrentAssets><CurrentAssets>2</CurrentAssets>'
        b'<Equity>3</Equity><Liabilities>4</Liabilities></Balance></p:Wrapper>')
    assert reporting.canonical(a) == reporting.canonical(parent[0])
    assert reporting.canonical(a) != reporting.canonical(reporting.build_balance(reporting.Balance(1, 2, 3, 5)))
