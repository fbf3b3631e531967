"""The identifier XPaths of envelopes/payloads/identifiers.py point at real fields of the samples,
every value there passes its checksum rule, and a wrong check digit is caught there."""
from __future__ import annotations

import pytest
from lxml import etree

from envelopes.payloads.identifiers import IDENTIFIERS, NAMESPACES
from envelopes.payloads import identifiers as rules

#: Fields that only documents of another shape carry (an entrepreneur principal, an organisation
#: as representative); their XPaths are still compiled and checked below.
NOT_IN_SAMPLES = {"ОГРНИП доверителя (EMCHD_1)", "ОГРНИП представителя (EMCHD_1)",
                  "ИНН организации-представителя (EMCHD_1)", "ОГРН организации-представителя (EMCHD_1)"}


def _values(element: etree._Element, xpath: str) -> list[str]:
    return [str(v if isinstance(v, str) else v.text) for v in element.xpath(xpath, namespaces=NAMESPACES)]


def _rule_results(element, field):
    columns = [_values(element, xp) for xp in field.xpaths]
    return [getattr(rules, field.rule)(*row) for row in zip(*columns)]


def test_rules_and_xpaths_exist():
    for fields in IDENTIFIERS.values():
        for field in fields:
            assert callable(getattr(rules, field.rule))
            for xpath in field.xpaths:
                etree.XPath(xpath, namespaces=NAMESPACES)


def test_every_field_is_found_in_the_samples_and_valid(sample_elements):
    seen = set()
    for name, element in sample_elements.items():
        for field in IDENTIFIERS.get(element.tag, ()):
            results = _rule_results(element, field)
            assert all(r is None for r in results), (name, field.name, results)
            if results:
                seen.add(field.name)
    every = {f.name for fields in IDENTIFIERS.values() for f in fields}
    assert every - seen == NOT_IN_SAMPLES


def test_every_request_root_is_listed(sample_elements):
    requests = {"OrganisationRegistrationRequest", "HeadConfirmationRequest", "OrganisationStatusChangeRequest",
                "ReportSubmission", "LicenceApplication", "LicenceApplicationSupplement",
                "LicenceApplicationWithdrawal", "PowerOfAttorneyRegistration", "PowerOfAttorneyRevocation",
                "DetailsChangeRequest", "DetailsChangeConfirmation"}
    assert {etree.QName(tag).localname for tag in IDENTIFIERS} == requests
    assert set(IDENTIFIERS) <= {e.tag for e in sample_elements.values()}


def _break_check_digit(value: str) -> str:
    return value[:-1] + str((int(value[-1]) + 1) % 10)


@pytest.mark.parametrize("name,field_name", [
    ("registration/OrganisationRegistrationRequest.xml", "ИНН организации"),
    ("registration/OrganisationRegistrationRequest.xml", "Расчётный счёт"),
    ("reporting/ReportSubmission.xml", "ОГРН организации"),
    ("power-of-attorney/PowerOfAttorneyRegistration.xml", "СНИЛС представителя"),
    ("power-of-attorney/PowerOfAttorneyRegistration-emchd.xml", "ИНН доверителя (EMCHD_1)"),
    ("power-of-attorney/PowerOfAttorneyRegistration-emchd.xml", "СНИЛС представителя (EMCHD_1)"),
])
def test_a_wrong_check_digit_is_caught_at_its_xpath(name, field_name, fresh):
    element = fresh(name)
    (field,) = [f for f in IDENTIFIERS[element.tag] if f.name == field_name]
    (node,) = element.xpath(field.xpaths[0], namespaces=NAMESPACES)
    if isinstance(node, str):  # an attribute
        owner = node.getparent()
        owner.set(node.attrname, _break_check_digit(str(node)))
    else:
        node.text = _break_check_digit(node.text)
    assert any(r is not None for r in _rule_results(element, field))
