"""A payload missing several fields is refused naming the one its parser reads first: the parsers
read each element's fields in one pass (envelopes.payloads._xml.Fields), and the order in which
they ask for them is what decides the field named."""
from __future__ import annotations

import pytest

from envelopes.payloads import PayloadError, codec
from envelopes.payloads.ns import PREFIXES

E = "e:Доверенность/e:Документ/e:Довер"
REG = "registration/OrganisationRegistrationRequest.xml"
CASES = [
    # (sample, the fields dropped, the field named)
    (REG, ("reg:FullName", "reg:Head"), "Head"),
    (REG, ("reg:FullName", "reg:Head/reg:Passport"), "Passport"),
    (REG, ("reg:LegalAddress/reg:Text", "reg:FullName"), "FullName"),
    (REG, ("reg:BankDetails/reg:BIK", "reg:Head/reg:LastName"), "BIK"),
    (REG, ("reg:BankDetails", "reg:OKVED", "reg:Phone"), "BankDetails"),
    (REG, ("reg:Head/reg:AppointmentDocument/reg:Kind", "reg:Head/reg:Position"), "Position"),
    ("registration/RegistrationResult-rejected.xml",
     ("reg:Mismatch[2]/reg:Field", "reg:Mismatch[1]/reg:Rule"), "Rule"),
    ("registration/RegistrationResult-rejected.xml", ("reg:Mismatch[1]/reg:Field", "reg:State"),
     "State"),
    ("details/DetailsChangeRequest.xml", ("det:NewHead/det:LastName", "det:INN"), "INN"),
    ("details/DetailsChangeRequest.xml", ("det:LegalAddress/det:Text", "det:NewHead/det:INN"),
     "Text"),
    ("power-of-attorney/PowerOfAttorneyRegistration.xml", ("poa:Number", "poa:Representative"),
     "Representative"),
    ("power-of-attorney/PowerOfAttorneyRegistration.xml", ("poa:Principal/poa:INN", "poa:Number"),
     "Number"),
    ("power-of-attorney/PowerOfAttorneyRegistration.xml",
     ("poa:Representative/poa:SNILS", "poa:Substitution"), "SNILS"),
    ("power-of-attorney/PowerOfAttorneyRejected.xml", ("poa:Reason[1]/poa:Code", "poa:Number"),
     "Number"),
    ("licensing/LicenceDecision-granted.xml",
     ("lic:Granted/lic:LicenceNumber", "lic:ApplicationNumber"), "ApplicationNumber"),
    ("licensing/LicenceApplication.xml", ("lic:Document[2]/lic:Kind", "lic:Activity"), "Activity"),
    ("licensing/MissingDocumentsChecklist.xml",
     ("lic:MissingDocument[2]/lic:Kind", "lic:MissingDocument[1]/lic:Description"), "Description"),
    ("reporting/ReportSubmission.xml", ("rep:Attachment/rep:FileName", "rep:OrganisationINN"),
     "OrganisationINN"),
    ("reporting/ReportSubmission.xml", ("rep:OrganisationINN", "rep:Content"), "Content"),
    ("reporting/ReportRefusal.xml", ("rep:Error[2]/rep:Code", "rep:Error[1]/rep:Description"),
     "Description"),
    ("power-of-attorney/PowerOfAttorneyRegistration-emchd.xml",
     (E + "/e:СвПолн", E + "/e:СвДов"), "СвДов"),
    ("power-of-attorney/PowerOfAttorneyRegistration-emchd.xml",
     (E + "/e:СвУпПред/e:Пред", E + "/e:СвДоверит/e:Доверит/e:РосОргДовер/e:СвРосОрг"),
     "СвРосОрг"),
    ("power-of-attorney/PowerOfAttorneyRegistration-emchd.xml",
     (E + "/e:СвПолн", E + "/e:СвУпПред/e:Пред"), "Пред"),
]


@pytest.mark.parametrize("name,dropped,field", CASES,
                         ids=[f"{c[0].split('/')[1]}:{c[2]}" for c in CASES])
def test_the_first_field_read_is_named(name, dropped, field, fresh):
    element = fresh(name)
    for xpath in dropped:
        nodes = element.xpath(xpath, namespaces=PREFIXES)
        assert nodes, xpath
        for node in nodes:
            node.getparent().remove(node)
    with pytest.raises(PayloadError) as caught:
        codec.parse(element)
    assert caught.value.field == field
