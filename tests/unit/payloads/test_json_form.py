"""The JSON form of the payloads (envelopes/payloads/json_form.py) is read off the dataclasses:
every sample goes to JSON and back to the same dataclass and the same XML, and what is not a
payload is refused naming the field."""
from __future__ import annotations

import json

import pytest
from lxml import etree

from envelopes.payloads import codec, json_form, samples
from envelopes.payloads._xml import PayloadError
from envelopes.payloads.registration import Organisation


@pytest.mark.parametrize("name", sorted(samples.payloads()))
def test_every_sample_goes_to_json_and_back_unchanged(name):
    payload = samples.payloads()[name]
    text = json.dumps(json_form.to_json(payload), ensure_ascii=False)
    back = json_form.from_json(type(payload), json.loads(text))
    assert back == payload
    assert etree.tostring(codec.build(back)) == etree.tostring(codec.build(payload))


def _organisation() -> dict:
    return json_form.to_json(samples.payloads()["registration/OrganisationRegistrationRequest.xml"])


@pytest.mark.parametrize("change,path", [
    (lambda d: d.update(colour="red"), "payload.colour"),
    (lambda d: d.pop("inn"), "payload.inn"),
    (lambda d: d["head"].update(birth_date="31.12.1980"), "payload.head.birth_date"),
    (lambda d: d.update(okved="62.01"), "payload.okved"),
    (lambda d: d.update(inn=7702123454), "payload.inn"),
    (lambda d: d.update(head=None), "payload.head"),
])
def test_what_is_not_the_payload_is_refused_naming_the_field(change, path):
    data = _organisation()
    change(data)
    with pytest.raises(PayloadError) as refused:
        json_form.from_json(Organisation, data)
    assert refused.value.field == path


def test_optional_fields_may_be_left_out():
    data = _organisation()
    data.pop("short_name", None)
    data.pop("power_of_attorney", None)
    assert json_form.from_json(Organisation, data).short_name is None


def test_literal_values_are_held_to_their_list():
    from envelopes.payloads.registration import StatusChange
    data = json_form.to_json(samples.payloads()["registration/OrganisationStatusChangeRequest.xml"])
    data["action"] = "explode"
    with pytest.raises(PayloadError, match="must be one of"):
        json_form.from_json(StatusChange, data)


def test_report_content_as_xml_text_equals_the_typed_form():
    from envelopes.payloads.reporting import ReportSubmission
    data = json_form.to_json(samples.payloads()["reporting/ReportSubmission.xml"])
    typed = json_form.from_json(ReportSubmission, data)
    data["content"] = typed.content.decode("utf-8")
    assert json_form.from_json(ReportSubmission, data) == typed
