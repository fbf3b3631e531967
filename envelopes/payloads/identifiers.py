"""Which XPaths of each payload carry which identifier, so that the gateway can attach the
checksum rules an XSD pattern cannot express (gateway/pipeline/validate/identifiers.py).

``rule`` names a function of ``gateway.pipeline.validate.identifiers``; ``xpaths`` are relative to the
payload root (lxml ``xpath()``, prefixes of :data:`envelopes.payloads.ns.PREFIXES`) and their
values are passed to the rule in that order. An XPath may select several nodes (e.g. every head
of an EMCHD_1 principal) or none (an optional field): check every node selected, in order.
docs/payloads.md shows the same table.
"""
from __future__ import annotations

import dataclasses

from envelopes.payloads.ns import (LICENSING, POWER_OF_ATTORNEY, REGISTRATION,
                                   REPORTING, PREFIXES)


@dataclasses.dataclass(frozen=True)
class IdentifierField:
    name: str  # as reported to the sender
    rule: str  # inn_legal_entity | inn_person | ogrn | ogrnip | snils | settlement_account
    xpaths: tuple[str, ...]


def _f(name: str, rule: str, *xpaths: str) -> IdentifierField:
    return IdentifierField(name, rule, xpaths)


#: an EMCHD_1 document embedded in the payload, its Russian principal and its representative
EMCHD_DOC = "e:Доверенность/e:Документ/e:Довер"
EMCHD_ORG = EMCHD_DOC + "/e:СвДоверит/e:Доверит/e:РосОргДовер"
EMCHD_REP = EMCHD_DOC + "/e:СвУпПред/e:Пред"

#: Clark name of the payload root → the identifier fields it carries.
IDENTIFIERS: dict[str, tuple[IdentifierField, ...]] = {
    f"{{{REGISTRATION}}}OrganisationRegistrationRequest": (
        _f("ИНН организации", "inn_legal_entity", "reg:INN"),
        _f("ОГРН организации", "ogrn", "reg:OGRN"),
        _f("ИНН руководителя", "inn_person", "reg:Head/reg:INN"),
        _f("Расчётный счёт", "settlement_account", "reg:BankDetails/reg:Account", "reg:BankDetails/reg:BIK"),
    ),
    f"{{{REGISTRATION}}}HeadConfirmationRequest": (
        _f("ИНН организации", "inn_legal_entity", "reg:INN"),
        _f("ОГРН организации", "ogrn", "reg:OGRN"),
        _f("ИНН руководителя", "inn_person", "reg:HeadINN"),
    ),
    f"{{{REGISTRATION}}}OrganisationStatusChangeRequest": (
        _f("ИНН организации", "inn_legal_entity", "reg:INN"),
    ),
    f"{{{REPORTING}}}ReportSubmission": (
        _f("ИНН организации", "inn_legal_entity", "rep:OrganisationINN"),
        _f("ОГРН организации", "ogrn", "rep:OGRN"),
    ),
    f"{{{LICENSING}}}LicenceApplication": (
        _f("ИНН организации", "inn_legal_entity", "lic:OrganisationINN"),
        _f("ОГРН организации", "ogrn", "lic:OGRN"),
    ),
    f"{{{LICENSING}}}LicenceApplicationSupplement": (
        _f("ИНН организации", "inn_legal_entity", "lic:OrganisationINN"),
    ),
    f"{{{LICENSING}}}LicenceApplicationWithdrawal": (
        _f("ИНН организации", "inn_legal_entity", "lic:OrganisationINN"),
    ),
    f"{{{POWER_OF_ATTORNEY}}}PowerOfAttorneyRegistration": (
        _f("ИНН доверителя", "inn_legal_entity", "poa:Principal/poa:INN"),
        _f("ОГРН доверителя", "ogrn", "poa:Principal/poa:OGRN"),
        _f("ИНН руководителя", "inn_person", "poa:Principal/poa:HeadINN"),
        _f("ИНН представителя", "inn_person", "poa:Representative/poa:INN"),
        _f("СНИЛС представителя", "snils", "poa:Representative/poa:SNILS"),
        # the same, when an EMCHD_1 document is embedded
        _f("ИНН доверителя (EMCHD_1)", "inn_legal_entity", EMCHD_ORG + "/e:СвРосОрг/@ИННЮЛ"),
        _f("ОГРН доверителя (EMCHD_1)", "ogrn", EMCHD_ORG + "/e:СвРосОрг/@ОГРН"),
        _f("ИНН руководителя (EMCHD_1)", "inn_person", EMCHD_ORG + "/e:ЛицоБезДов/e:СвФЛ/@ИННФЛ"),
        _f("СНИЛС руководителя (EMCHD_1)", "snils", EMCHD_ORG + "/e:ЛицоБезДов/e:СвФЛ/@СНИЛС"),
        _f("ИНН представителя (EMCHD_1)", "inn_person", EMCHD_REP + "/e:СведФизЛ/@ИННФЛ"),
        _f("СНИЛС представителя (EMCHD_1)", "snils", EMCHD_REP + "/e:СведФизЛ/@СНИЛС"),
        _f("ИНН организации-представителя (EMCHD_1)", "inn_legal_entity", EMCHD_REP + "/e:СведОрг/@ИННЮЛ"),
        _f("ОГРН организации-представителя (EMCHD_1)", "ogrn", EMCHD_REP + "/e:СведОрг/@ОГРН"),
        _f("ОГРНИП доверителя (EMCHD_1)", "ogrnip", EMCHD_DOC + "/e:СвДоверит/e:Доверит/e:ИПДовер/@ОГРНИП"),
        _f("ОГРНИП представителя (EMCHD_1)", "ogrnip", EMCHD_REP + "/e:СведИП/@ОГРНИП"),
    ),
    f"{{{POWER_OF_ATTORNEY}}}PowerOfAttorneyRevocation": (
        _f("ИНН доверителя", "inn_legal_entity", "poa:PrincipalINN"),
    ),
}

#: Prefix → namespace for evaluating the XPaths above (``e`` is EMCHD_1).
NAMESPACES = dict(PREFIXES)
