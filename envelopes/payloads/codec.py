"""One entry point over every payload: :func:`build` picks the builder by the dataclass's type,
:func:`parse` picks the parser by the element's root (Clark name)."""
from __future__ import annotations

from typing import Any, Callable

from lxml import etree

from envelopes.payloads import emchd, licensing as lic, poa, registration as reg, reporting as rep
from envelopes.payloads._xml import PayloadError
from envelopes.payloads.ns import (EMCHD, LICENSING, POWER_OF_ATTORNEY, REGISTRATION,
                                   REPORT_BALANCE, REPORTING)

#: dataclass type → (root Clark name, builder, parser)
CODECS: dict[type, tuple[str, Callable[[Any], etree._Element], Callable[[etree._Element], Any]]] = {
    reg.Organisation: (f"{{{REGISTRATION}}}OrganisationRegistrationRequest",
                       reg.build_organisation_registration, reg.parse_organisation_registration),
    reg.HeadConfirmation: (f"{{{REGISTRATION}}}HeadConfirmationRequest",
                           reg.build_head_confirmation, reg.parse_head_confirmation),
    reg.StatusChange: (f"{{{REGISTRATION}}}OrganisationStatusChangeRequest",
                       reg.build_status_change, reg.parse_status_change),
    reg.RegistrationResult: (f"{{{REGISTRATION}}}RegistrationResult",
                             reg.build_registration_result, reg.parse_registration_result),
    rep.ReportSubmission: (f"{{{REPORTING}}}ReportSubmission",
                           rep.build_report_submission, rep.parse_report_submission),
    rep.ReportReceipt: (f"{{{REPORTING}}}ReportReceipt", rep.build_report_receipt, rep.parse_report_receipt),
    rep.ReportRefusal: (f"{{{REPORTING}}}ReportRefusal", rep.build_report_refusal, rep.parse_report_refusal),
    rep.ReportProcessed: (f"{{{REPORTING}}}ReportProcessed",
                          rep.build_report_processed, rep.parse_report_processed),
    rep.Balance: (f"{{{REPORT_BALANCE}}}Balance", rep.build_balance, rep.parse_balance),
    lic.LicenceApplication: (f"{{{LICENSING}}}LicenceApplication",
                             lic.build_licence_application, lic.parse_licence_application),
    lic.LicenceApplicationSupplement: (f"{{{LICENSING}}}LicenceApplicationSupplement",
                                       lic.build_licence_application_supplement,
                                       lic.parse_licence_application_supplement),
    lic.LicenceApplicationWithdrawal: (f"{{{LICENSING}}}LicenceApplicationWithdrawal",
                                       lic.build_licence_application_withdrawal,
                                       lic.parse_licence_application_withdrawal),
    lic.MissingDocumentsChecklist: (f"{{{LICENSING}}}MissingDocumentsChecklist",
                                    lic.build_missing_documents_checklist,
                                    lic.parse_missing_documents_checklist),
    lic.LicenceApplicationStatus: (f"{{{LICENSING}}}LicenceApplicationStatus",
                                   lic.build_licence_application_status,
                                   lic.parse_licence_application_status),
    lic.LicenceDecision: (f"{{{LICENSING}}}LicenceDecision",
                          lic.build_licence_decision, lic.parse_licence_decision),
    poa.PowerOfAttorneyRegistration: (f"{{{POWER_OF_ATTORNEY}}}PowerOfAttorneyRegistration",
                                      poa.build_power_of_attorney_registration,
                                      poa.parse_power_of_attorney_registration),
    poa.PowerOfAttorneyRevocation: (f"{{{POWER_OF_ATTORNEY}}}PowerOfAttorneyRevocation",
                                    poa.build_power_of_attorney_revocation,
                                    poa.parse_power_of_attorney_revocation),
    poa.PowerOfAttorneyRegistered: (f"{{{POWER_OF_ATTORNEY}}}PowerOfAttorneyRegistered",
                                    poa.build_power_of_attorney_registered,
                                    poa.parse_power_of_attorney_registered),
    poa.PowerOfAttorneyRejected: (f"{{{POWER_OF_ATTORNEY}}}PowerOfAttorneyRejected",
                                  poa.build_power_of_attorney_rejected,
                                  poa.parse_power_of_attorney_rejected),
    poa.PowerOfAttorneyResult: (f"{{{POWER_OF_ATTORNEY}}}PowerOfAttorneyResult",
                                poa.build_power_of_attorney_result, poa.parse_power_of_attorney_result),
    emchd.EmchdDocument: (f"{{{EMCHD}}}Доверенность", emchd.build_emchd, emchd.parse_emchd),
}

_PARSERS = {root: parser for root, _, parser in CODECS.values()}


def build(payload: Any) -> etree._Element:
    try:
        return CODECS[type(payload)][1](payload)
    except KeyError:
        raise TypeError(f"no payload builder for {type(payload).__name__}") from None


def parse(element: etree._Element) -> Any:
    try:
        parser = _PARSERS[element.tag]
    except KeyError:
        raise PayloadError(etree.QName(element).localname, "not a known payload root") from None
    return parser(element)
