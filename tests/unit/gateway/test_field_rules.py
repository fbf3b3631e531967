"""Checksum rules on payload identifiers (gateway/pipeline/validate/fields.py) and the XPaths they report."""
from __future__ import annotations

from lxml import etree

from envelopes.payloads import samples
from gateway.pipeline.validate import readable_xpath
from gateway.pipeline.validate.fields import field_rule_issues


def _sample(name: str) -> etree._Element:
    return samples.element_for(name, samples.payloads()[name])


def test_the_samples_break_no_rule():
    for name, payload in samples.payloads().items():
        element = samples.element_for(name, payload)
        assert field_rule_issues(element) == [], name


def test_a_wrong_check_digit_in_an_element_is_named_by_its_xpath():
    element = _sample("registration/OrganisationRegistrationRequest.xml")
    inn = element.find("{*}INN")
    inn.text = inn.text[:-1] + str((int(inn.text[-1]) + 1) % 10)
    [issue] = field_rule_issues(element)
    assert issue.code == "FIELD_RULE" and issue.xpath == "/reg:OrganisationRegistrationRequest/reg:INN"
    assert issue.description.startswith("ИНН организации: ")


def test_every_emchd_representative_is_checked_and_attributes_are_named():
    element = _sample("power-of-attorney/PowerOfAttorneyRegistration-emchd.xml")
    [holder] = element.xpath("//*[local-name()='СведФизЛ']")
    holder.set("СНИЛС", "112-233-445 96")
    [issue] = field_rule_issues(element)
    assert issue.xpath.endswith("/e:СвУпПред/e:Пред/e:СведФизЛ/@СНИЛС"), issue.xpath
    assert "СНИЛС представителя (EMCHD_1)" in issue.description


def test_an_unknown_default_namespace_still_gives_a_valid_xpath():
    root = etree.fromstring('<a xmlns="urn:nobody"><b/><b><c/></b></a>')
    c = root[1][0]
    path = readable_xpath(c)
    assert root.getroottree().xpath(path) == [c], path
