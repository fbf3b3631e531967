"""`make demo` against a running gateway: every step prints what the README promises."""
from gateway.ops.demo import run_demo


def test_demo_walks_through_registration(gateway_url, demo_settings):
    lines: list[str] = []
    run_demo(demo_settings, gateway_url, "ROMASHKA", echo=lines.append)
    text = "\n".join(lines)
    assert "Status           requestIsQueued" in text
    assert "fault InvalidContent/FIELD_RULE" in text and "reg:OGRN" in text
    assert "organisation 7702123454: verified" in text
    assert "organisation 7702123454: active" in text
    assert "late: true" in text and "supersedes" in text and "DUPLICATE" in text
    assert "the consumer reads ReportProcessed: report" in text
    assert "checklist of missing documents: PREMISES_RIGHT, CASH_REGISTER" in text
    assert "supplemented: submitted" in text and "it is in the licence register: True" in text
    assert "registered" in text and "revoked by the head: revoked" in text
    assert "verified (checked against ЕГРЮЛ)" in text
    assert "confirmed: applied; ЕГРЮЛ now has phone +7495" in text
    assert "rejected: ОГРН at det:OGRN: submitted" in text
