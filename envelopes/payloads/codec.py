"""One entry point over every payload: :func:`build` picks the builder by the dataclass's type,
:func:`parse` picks the parser by the element's root (Clark name)."""
from __future__ import annotations

from typing import Any, Callable

from lxml import etree

from envelopes.payloads import details as det, emchd, licensing as lic, poa, registration as reg, reporting as rep
from envelopes.payloads._xml import PayloadError
from envelopes.payloads.descriptors import (DETAILS_DOMAIN as DET, LICENSING_DOMAIN as LIC, POA_DOMAIN as POA,
                                            REGISTRATION_DOMAIN as REG, REPORTING_DOMAIN as REP)
from envelopes.payloads.ns import EMCHD

BALANCE = rep.REPORT_KINDS["BALANCE"]

#: dataclass type → (root Clark name, builder, parser)
CODECS: dict[type, tuple[str, Callable[[Any], etree._Element], Callable[[etree._Element], Any]]] = {
    reg.Organisation: (REG.qname("OrganisationRegistrationRequest"),
                       reg.build_organisation_registration, reg.parse_organisation_registration),
    reg.HeadConfirmation: (REG.qname("HeadConfirmationRequest"),
                           reg.build_head_confirmation, reg.parse_head_confirmation),
    reg.StatusChange: (REG.qname("OrganisationStatusChangeRequest"),
                       reg.build_status_change, reg.parse_status_change),
    reg.RegistrationResult: (REG.qname("RegistrationResult"),
                             reg.build_registration_result, reg.parse_registration_result),
    rep.ReportSubmission: (REP.qname("ReportSubmission"),
                           rep.build_report_submission, rep.parse_report_submission),
    rep.ReportReceipt: (REP.qname("ReportReceipt"), rep.build_report_receipt, rep.parse_report_receipt),
    rep.ReportRefusal: (REP.qname("ReportRefusal"), rep.build_report_refusal, rep.parse_report_refusal),
    rep.ReportProcessed: (REP.qname("ReportProcessed"),
                          rep.build_report_processed, rep.parse_report_processed),
    rep.Balance: (f"{{{BALANCE.namespace}}}{BALANCE.root}", rep.build_balance, rep.parse_balance),
    lic.LicenceApplication: (LIC.qname("LicenceApplication"),
                             lic.build_licence_application, lic.parse_licence_application),
    lic.LicenceApplicationSupplement: (LIC.qname("LicenceApplicationSupplement"),
                                       lic.build_licence_application_supplement,
                                       lic.parse_licence_application_supplement),
    lic.LicenceApplicationWithdrawal: (LIC.qname("LicenceApplicationWithdrawal"),
                                       lic.build_licence_application_withdrawal,
                                       lic.parse_licence_application_withdrawal),
    lic.MissingDocumentsChecklist: (LIC.qname("MissingDocumentsChecklist"),
                                    lic.build_missing_documents_checklist,
                                    lic.parse_missing_documents_checklist),
    lic.LicenceApplicationStatus: (LIC.qname("LicenceApplicationStatus"),
                                   lic.build_licence_application_status,
                                   lic.parse_licence_application_status),
    lic.LicenceDecision: (LIC.qname("LicenceDecision"),
                          lic.build_licence_decision, lic.parse_licence_decision),
    poa.PowerOfAttorneyRegistration: (POA.qname("PowerOfAttorneyRegistration"),
                                      poa.build_power_of_attorney_registration,
                                      poa.parse_power_of_attorney_registration),
    poa.PowerOfAttorneyRevocation: (POA.qname("PowerOfAttorneyRevocation"),
                                    poa.build_power_of_attorney_revocation,
                                    poa.parse_power_of_attorney_revocation),
    poa.PowerOfAttorneyRegistered: (POA.qname("PowerOfAttorneyRegistered"),
                                    poa.build_power_of_attorney_registered,
                                    poa.parse_power_of_attorney_registered),
    poa.PowerOfAttorneyRejected: (POA.qname("PowerOfAttorneyRejected"),
                                  poa.build_power_of_attorney_rejected,
                                  poa.parse_power_of_attorney_rejected),
    poa.PowerOfAttorneyResult: (POA.qname("PowerOfAttorneyResult"),
                                poa.build_power_of_attorney_result, poa.parse_power_of_attorney_result),
    det.DetailsChange: (DET.qname("DetailsChangeRequest"),
                        det.build_details_change, det.parse_details_change),
    det.DetailsChangeConfirmation: (DET.qname("DetailsChangeConfirmation"),
                                    det.build_details_change_confirmation,
                                    det.parse_details_change_confirmation),
    det.DetailsChangeResult: (DET.qname("DetailsChangeResult"),
                              det.build_details_change_result, det.parse_details_change_result),
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
