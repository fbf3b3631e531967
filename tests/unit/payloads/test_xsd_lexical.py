"""Values the XSD accepts and Python's ISO parsers do not (found by tests/fuzz): read them as the
XSD means them, or refuse them as a field the payload garbles, never as an internal failure."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from envelopes.payloads._xml import PayloadError, to_date, to_datetime
from gateway import faults


@pytest.mark.parametrize("text, expected", [
    ("2026-01-01", date(2026, 1, 1)), ("2026-01-01Z", date(2026, 1, 1)),
    ("9999-12-31+14:00", date(9999, 12, 31)), ("0001-01-01-05:00", date(1, 1, 1))])
def test_a_date_may_carry_a_timezone(text, expected):
    assert to_date(text, "Date") == expected


def test_end_of_day_is_the_next_midnight():
    assert to_datetime("2026-01-01T24:00:00Z", "At") == datetime(2026, 1, 2, tzinfo=timezone.utc)
    assert to_datetime("2026-12-31T24:00:00.000+00:00", "At") == \
        datetime(2027, 1, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize("call, text", [(to_date, "20000-01-01"), (to_date, "2026-02-30Z"),
                                        (to_datetime, "9999-12-31T24:00:00Z"),
                                        (to_datetime, "2026-01-01T25:00:00Z")])
def test_out_of_range_values_are_a_payload_error(call, text):
    with pytest.raises(PayloadError) as err:
        call(text, "Field")
    assert err.value.field == "Field"


def test_a_payload_error_is_a_client_fault_naming_the_field():
    fault = faults.to_fault(PayloadError("AppointmentDocument/Date", "not a date"))
    assert (fault.element, fault.code, fault.client) == ("InvalidContent", "FIELD_RULE", True)
    assert fault.issues[0].xpath == "AppointmentDocument/Date"
