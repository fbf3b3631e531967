"""Writes the shipped conformance corpus (``conformance/``) from the payload samples of
``envelopes/samples/`` and the cases below: ``python -m gateway.qa.corpus_build``. A test checks
that the files in the repository are what this writes, so a case is changed here, not by hand.

Each case names the sample, what is changed in it (an XPath with the prefixes of
``envelopes/payloads/ns.py``, and the new value, or deletion), and the expected outcome as the
contract and the checksum rules of docs/payloads.md say it — written down, never computed by the
validator the corpus tests.
"""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from lxml import etree

from envelopes.payloads.ns import PREFIXES
from envelopes.payloads.samples import EMCHD_DIR, SAMPLES_DIR, read_xml, serialise
from gateway.qa.corpus import MANIFEST, SHIPPED

DELETE = object()
INVALID = {"outcome": "fault", "fault": "InvalidContent", "code": "XSD_VIOLATION"}
CHECKSUM = {"outcome": "fault", "fault": "InvalidContent", "code": "FIELD_RULE"}
ILLEGAL = {"outcome": "fault", "fault": "AccessDenied"}
TRANSITION = {**ILLEGAL, "code": "ILLEGAL_TRANSITION"}
ACCEPTED = {"outcome": "accepted"}


def _flip(value: str) -> str:
    """The same identifier with its last digit changed: the checksum no longer holds."""
    return value[:-1] + str((int(value[-1]) + 1) % 10)


class Domain:
    def __init__(self, folder: str, schema: str):
        self.folder, self.schema = folder, schema
        self.cases: list[dict] = []
        self.files: dict[str, bytes] = {}

    def _sample(self, sample: str) -> etree._Element:
        path = SAMPLES_DIR / sample if not sample.startswith("emchd/") else EMCHD_DIR / sample[6:]
        return read_xml(path)

    def case(self, id: str, sample: str, description: str, *, changes=(), expect=None,
             online=None, sendable: bool = True, name: str | None = None):
        """A payload case: ``sample`` with ``changes`` [(xpath, value | DELETE | callable)]."""
        root = self._sample(sample)
        for xpath, value in changes:
            nodes = root.xpath(xpath, namespaces=PREFIXES) if xpath != "." else [root]
            assert nodes, (id, xpath)
            for node in nodes:
                if callable(value) and value is not DELETE:
                    value(node)
                elif isinstance(node, str):  # an attribute
                    parent, attr = node.getparent(), node.attrname
                    if value is DELETE:
                        del parent.attrib[attr]
                    else:
                        parent.set(attr, value if isinstance(value, str) else value(node))
                elif value is DELETE:
                    node.getparent().remove(node)
                else:
                    node.text = value
        name = name or f"{id}.xml"
        self.files[name] = serialise(root)
        entry = {"id": id, "kind": "payload", "file": name, "description": description,
                 "expect": expect or {"valid": True}}
        if online is None and sendable and expect and expect.get("code") in ("XSD_VIOLATION", "FIELD_RULE"):
            online = {"outcome": "fault", "fault": "InvalidContent", "code": expect["code"]}
        if online:
            entry["online"] = online
        self.cases.append(entry)

    def valid(self, id: str, sample: str, description: str, changes=()):
        self.case(id, sample, description, changes=changes)

    def xsd(self, id: str, sample: str, description: str, changes, xpath: str, sendable=True):
        self.case(id, sample, description, changes=changes, sendable=sendable,
                  expect={"code": "XSD_VIOLATION", "fault": "InvalidContent", "xpath": xpath})

    def checksum(self, id: str, sample: str, description: str, xpath: str, rule: str, sendable=True):
        self.case(id, sample, description, changes=[(xpath, _flip_node)], sendable=sendable,
                  expect={"code": "FIELD_RULE", "fault": "InvalidContent", "rule": rule,
                          "xpath": xpath.split("/", 1)[1] if xpath.startswith(".") else xpath})

    def sequence(self, id: str, description: str, steps: list[tuple]):
        """Steps (file name, sample, changes, online outcome[, {"save": name, "answer": {...}}]),
        sent in this order; a change's value may be a variable (``{{reg}}``, ``{{uuid}}``) or
        DELETE. A file name used by two steps is one file."""
        entry = {"id": id, "kind": "sequence", "description": description, "steps": []}
        for name, sample, changes, online, *extra in steps:
            root = self._sample(sample)
            for xpath, value in changes:
                nodes = root.xpath(xpath, namespaces=PREFIXES)
                assert nodes, (id, xpath)
                for node in nodes:
                    if value is DELETE:
                        node.getparent().remove(node)
                    else:
                        node.text = value
            data = serialise(root)
            assert self.files.setdefault(name, data) == data, (id, name)
            entry["steps"].append({"file": name, "online": online, **(extra[0] if extra else {})})
        self.cases.append(entry)

    def write(self, base: Path) -> None:
        folder = base / self.folder
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        for name, data in self.files.items():
            (folder / name).write_bytes(data)
        manifest = {"schema": self.schema, "cases": self.cases}
        (folder / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", "utf-8")


def _flip_node(node):
    if isinstance(node, str):
        node.getparent().set(node.attrname, _flip(str(node)))
    else:
        node.text = _flip(node.text.strip())


def _add_child(xml: str):
    def add(node):
        node.append(etree.fromstring(xml))
    return add


def _replace_children(xml: str):
    def replace(node):
        for child in list(node):
            node.remove(child)
        node.append(etree.fromstring(xml))
    return replace


UNKNOWN_NUMBER = "NOSUCH-00000000-999999"


def registration() -> Domain:
    d = Domain("registration", "organisation-registration-1.0.xsd")
    orr, hcr, scr = ("registration/OrganisationRegistrationRequest.xml",
                     "registration/HeadConfirmationRequest.xml",
                     "registration/OrganisationStatusChangeRequest.xml")
    rr = "registration/RegistrationResult-verified.xml"
    root = "/reg:OrganisationRegistrationRequest"
    d.valid("reg-valid-registration", orr, "a complete registration request")
    d.valid("reg-valid-head-confirmation", hcr, "the head confirms a registration")
    d.valid("reg-valid-rejected-result", "registration/RegistrationResult-rejected.xml",
            "a rejection naming the mismatching fields")
    for action in ("suspend", "resume", "close"):
        d.valid(f"reg-valid-action-{action}", scr, f"Action enumeration value {action}",
                [("reg:Action", action)])
    for state in ("received", "verified", "rejected", "active", "suspended", "closed"):
        d.valid(f"reg-valid-state-{state}", rr, f"State enumeration value {state}", [("reg:State", state)])
    d.checksum("reg-inn-checksum", orr, "the organisation's ИНН check digit is wrong", "./reg:INN", "inn_legal_entity")
    d.checksum("reg-ogrn-checksum", orr, "the ОГРН check digit is wrong", "./reg:OGRN", "ogrn")
    d.checksum("reg-head-inn-checksum", orr, "the head's ИНН check digits are wrong", "./reg:Head/reg:INN", "inn_person")
    d.checksum("reg-account-checksum", orr, "the settlement account does not match the БИК",
               "./reg:BankDetails/reg:Account", "settlement_account")
    d.checksum("reg-confirm-inn-checksum", hcr, "ИНН check digit in a head confirmation", "./reg:INN", "inn_legal_entity")
    d.checksum("reg-confirm-ogrn-checksum", hcr, "ОГРН check digit in a head confirmation", "./reg:OGRN", "ogrn")
    d.checksum("reg-confirm-head-inn-checksum", hcr, "the head's ИНН in a head confirmation", "./reg:HeadINN", "inn_person")
    d.checksum("reg-status-inn-checksum", scr, "ИНН check digit in a status change", "./reg:INN", "inn_legal_entity")
    d.xsd("reg-inn-nine-digits", orr, "ИНН of 9 digits (pattern [0-9]{10})", [("reg:INN", "770212345")], f"{root}/reg:INN")
    d.xsd("reg-kpp-pattern", orr, "КПП with a letter in the wrong place", [("reg:KPP", "77020100A")], f"{root}/reg:KPP")
    d.xsd("reg-phone-pattern", orr, "a phone number not in +7XXXXXXXXXX", [("reg:Phone", "84951234567")], f"{root}/reg:Phone")
    d.xsd("reg-email-pattern", orr, "an e-mail address without @", [("reg:Email", "info.romashka.ru")], f"{root}/reg:Email")
    d.xsd("reg-okved-pattern", orr, "an ОКВЭД code of the wrong shape", [("reg:OKVED[1]", "1.2.3")], f"{root}/reg:OKVED[1]")
    d.xsd("reg-passport-series", orr, "a passport series of 2 digits", [("reg:Head/reg:Passport/reg:Series", "45")],
          f"{root}/reg:Head/reg:Passport/reg:Series")
    d.xsd("reg-birth-date", orr, "a birth date that is not a date", [("reg:Head/reg:BirthDate", "17.05.1980")],
          f"{root}/reg:Head/reg:BirthDate")
    d.xsd("reg-ogrn-missing", orr, "the required ОГРН is missing", [("reg:OGRN", DELETE)], root)
    d.xsd("reg-unexpected-element", orr, "an element the XSD does not know",
          [(".", _add_child('<Extra xmlns="urn://smev-gateway/services/organisation-registration/1.0"/>'))], root)
    d.xsd("reg-action-enumeration", scr, "Action outside suspend/resume/close", [("reg:Action", "pause")],
          "/reg:OrganisationStatusChangeRequest/reg:Action")
    d.xsd("reg-state-enumeration", rr, "State outside the six states", [("reg:State", "pending")],
          "/reg:RegistrationResult/reg:State", sendable=False)
    d.sequence("reg-illegal-status-change", "a status change of a registration that never happened "
               "(no transition from the initial state)",
               [("seq-status-change-unknown.xml", scr, [("reg:RegistrationNumber", UNKNOWN_NUMBER)],
                 {**ILLEGAL, "code": "UNKNOWN_APPLICATION"})])
    d.sequence("reg-illegal-confirmation", "a head confirmation of a registration that never happened",
               [("seq-confirmation-unknown.xml", hcr, [("reg:RegistrationNumber", UNKNOWN_NUMBER)],
                 {**ILLEGAL, "code": "UNKNOWN_APPLICATION"})])
    register = ("seq-register.xml", orr, [], ACCEPTED,
                {"save": "reg", "answer": {"root": "RegistrationResult", "State": "verified"}})
    confirm = ("seq-confirm.xml", hcr, [("reg:RegistrationNumber", "{{reg}}")], ACCEPTED,
               {"answer": {"root": "RegistrationResult", "State": "active"}})
    resume = ("seq-resume.xml", scr, [("reg:RegistrationNumber", "{{reg}}"), ("reg:Action", "resume")],
              TRANSITION)
    d.sequence("reg-seq-confirm-twice", "register, the head confirms (active), confirms again: "
               "no transition from active on confirmation", [register, confirm, confirm[:3] + (TRANSITION,)])
    d.sequence("reg-seq-resume-verified", "register (verified), then resume: only a suspended "
               "organisation resumes", [register, resume])
    d.sequence("reg-seq-resume-active", "register, confirm (active), then resume: only a suspended "
               "organisation resumes", [register, confirm, resume])
    return d


def reporting() -> Domain:
    d = Domain("reporting", "reporting-1.0.xsd")
    rs, root = "reporting/ReportSubmission.xml", "/rep:ReportSubmission"
    d.valid("rep-valid-submission", rs, "an annual BALANCE report with an attachment")
    d.valid("rep-valid-receipt", "reporting/ReportReceipt.xml", "the gateway's receipt")
    d.valid("rep-valid-refusal", "reporting/ReportRefusal.xml", "a refusal with errors")
    d.valid("rep-valid-processed", "reporting/ReportProcessed.xml", "the tax office's processing notice")
    for period in ("21", "31", "33", "34"):
        d.valid(f"rep-valid-period-{period}", rs, f"Period enumeration value {period}", [("rep:Period", period)])
    d.valid("rep-valid-no-ogrn", rs, "OGRN is optional", [("rep:OGRN", DELETE)])
    d.checksum("rep-inn-checksum", rs, "the organisation's ИНН check digit", "./rep:OrganisationINN", "inn_legal_entity")
    d.checksum("rep-ogrn-checksum", rs, "the ОГРН check digit", "./rep:OGRN", "ogrn")
    d.xsd("rep-kpp-pattern", rs, "КПП of the wrong shape", [("rep:KPP", "7702")], f"{root}/rep:KPP")
    d.xsd("rep-kind-pattern", rs, "a report kind in lower case", [("rep:ReportKind", "balance")], f"{root}/rep:ReportKind")
    d.xsd("rep-year-too-early", rs, "a year before 2000", [("rep:Year", "1999")], f"{root}/rep:Year")
    d.xsd("rep-period-enumeration", rs, "a period code outside 21/31/33/34", [("rep:Period", "22")], f"{root}/rep:Period")
    d.xsd("rep-correction-too-large", rs, "correction number above 999", [("rep:CorrectionNumber", "1000")],
          f"{root}/rep:CorrectionNumber")
    d.xsd("rep-poa-number-pattern", rs, "a power of attorney number that is not a UUID",
          [("rep:PowerOfAttorneyNumber", "17")], f"{root}/rep:PowerOfAttorneyNumber")
    d.xsd("rep-attachment-sha256", rs, "an attachment digest that is not 64 hex digits",
          [("rep:Attachment/rep:SHA256", "XYZ")], f"{root}/rep:Attachment/rep:SHA256")
    d.xsd("rep-content-empty", rs, "Content without the report", [("rep:Content/*", DELETE)], f"{root}/rep:Content")
    d.xsd("rep-receipt-late-boolean", "reporting/ReportReceipt.xml", "Late that is not a boolean",
          [("rep:Late", "maybe")], "/rep:ReportReceipt/rep:Late", sendable=False)
    # report kinds: the gateway answers these with a ReportRefusal (GetResponse), not a fault;
    # accepted for processing they would change the target's state, so they are offline only
    d.case("rep-kind-unknown", rs, "a report kind the gateway does not accept",
           changes=[("rep:ReportKind", "PROFIT")],
           expect={"code": "UNKNOWN_REPORT_KIND", "fault": "ReportRefusal", "xpath": f"{root}/rep:ReportKind"})
    d.case("rep-kind-wrong-content", rs, "a BALANCE report holding another document",
           changes=[("rep:Content", _replace_children('<Other xmlns="urn://example/other"/>'))],
           expect={"code": "WRONG_CONTENT", "fault": "ReportRefusal"})
    d.case("rep-kind-balance-amount", rs, "BALANCE content with an amount that is not a whole number",
           changes=[("rep:Content/bal:Balance/bal:Equity", "12.5")],
           expect={"code": "CONTENT_INVALID", "fault": "ReportRefusal",
                   "xpath": f"{root}/rep:Content/bal:Balance/bal:Equity"})
    d.case("rep-kind-balance-missing", rs, "BALANCE content without Liabilities",
           changes=[("rep:Content/bal:Balance/bal:Liabilities", DELETE)],
           expect={"code": "CONTENT_INVALID", "fault": "ReportRefusal", "xpath": f"{root}/rep:Content/bal:Balance"})
    # the consumer's side of the report machine: a second primary report of a period, a
    # correction out of turn (the tax office's side needs its key: tests/integration)
    plain = [("rep:Year", "{{year}}"), ("rep:PowerOfAttorneyNumber", DELETE), ("rep:Attachment", DELETE)]
    first = ("seq-report.xml", rs, plain, ACCEPTED, {"answer": {"root": "ReportReceipt", "CorrectionNumber": "0"}})
    d.sequence("rep-seq-duplicate", "a report accepted, then the same period's primary report again: "
               "refused (DUPLICATE), the accepted one stays",
               [first, ("seq-report.xml", rs, plain, ACCEPTED, {"answer": {"root": "ReportRefusal"}})])
    d.sequence("rep-seq-correction-out-of-turn", "a report accepted, then correction 2 before 1: refused "
               "(CORRECTION_OUT_OF_SEQUENCE)",
               [first, ("seq-correction-2.xml", rs, plain + [("rep:CorrectionNumber", "2")], ACCEPTED,
                        {"answer": {"root": "ReportRefusal"}})])
    return d


def licensing() -> Domain:
    d = Domain("licensing", "licensing-1.0.xsd")
    la, las, law = ("licensing/LicenceApplication.xml", "licensing/LicenceApplicationSupplement.xml",
                    "licensing/LicenceApplicationWithdrawal.xml")
    for sample in ("MissingDocumentsChecklist", "LicenceDecision-granted", "LicenceDecision-refused"):
        d.valid(f"lic-valid-{sample.lower()}", f"licensing/{sample}.xml", f"the sample {sample}")
    d.valid("lic-valid-supplement", las, "the missing documents supplied")
    d.valid("lic-valid-withdrawal", law, "an application withdrawn")
    for kind in ("ALCOHOL_RETAIL", "CONSTRUCTION_PERMIT", "PHARMACY"):
        d.valid(f"lic-valid-kind-{kind.lower()}", la, f"LicenceKind enumeration value {kind}",
                [("lic:LicenceKind", kind)])
    for state in ("incomplete", "submitted", "under_review", "granted", "refused", "withdrawn"):
        d.valid(f"lic-valid-state-{state}", "licensing/LicenceApplicationStatus.xml",
                f"State enumeration value {state}", [("lic:State", state)])
    d.checksum("lic-inn-checksum", la, "the organisation's ИНН check digit", "./lic:OrganisationINN", "inn_legal_entity")
    d.checksum("lic-ogrn-checksum", la, "the ОГРН check digit", "./lic:OGRN", "ogrn")
    d.checksum("lic-supplement-inn-checksum", las, "ИНН check digit in a supplement", "./lic:OrganisationINN",
               "inn_legal_entity")
    d.checksum("lic-withdrawal-inn-checksum", law, "ИНН check digit in a withdrawal", "./lic:OrganisationINN",
               "inn_legal_entity")
    root = "/lic:LicenceApplication"
    d.xsd("lic-kind-enumeration", la, "a licence kind outside the three", [("lic:LicenceKind", "CASINO")],
          f"{root}/lic:LicenceKind")
    d.xsd("lic-activity-empty", la, "an empty activity", [("lic:Activity", "")], f"{root}/lic:Activity")
    d.xsd("lic-document-sha256", la, "a document digest that is not 64 hex digits",
          [("lic:Document[1]/lic:SHA256", "0")], f"{root}/lic:Document[1]/lic:SHA256")
    d.xsd("lic-document-kind-pattern", la, "a document kind in lower case",
          [("lic:Document[1]/lic:Kind", "charter")], f"{root}/lic:Document[1]/lic:Kind")
    d.xsd("lic-address-missing", la, "no address", [("lic:Address", DELETE)], root)
    d.xsd("lic-supplement-without-documents", las, "a supplement without documents", [("lic:Document", DELETE)],
          "/lic:LicenceApplicationSupplement")
    d.xsd("lic-withdrawal-reason-empty", law, "a withdrawal without a reason", [("lic:Reason", "")],
          "/lic:LicenceApplicationWithdrawal/lic:Reason")
    d.xsd("lic-state-enumeration", "licensing/LicenceApplicationStatus.xml", "a state outside the six",
          [("lic:State", "pending")], "/lic:LicenceApplicationStatus/lic:State", sendable=False)
    d.xsd("lic-decision-bad-date", "licensing/LicenceDecision-granted.xml", "ValidFrom that is not a date",
          [("lic:Granted/lic:ValidFrom", "2026-13-01")], "/lic:LicenceDecision/lic:Granted/lic:ValidFrom",
          sendable=False)
    d.sequence("lic-illegal-withdrawal", "withdrawing an application that was never made",
               [("seq-withdraw-unknown.xml", law, [("lic:ApplicationNumber", UNKNOWN_NUMBER)],
                 {**ILLEGAL, "code": "UNKNOWN_APPLICATION"})])
    d.sequence("lic-illegal-supplement", "supplementing an application that was never made",
               [("seq-supplement-unknown.xml", las, [("lic:ApplicationNumber", UNKNOWN_NUMBER)],
                 {**ILLEGAL, "code": "UNKNOWN_APPLICATION"})])
    incomplete = ("seq-apply-incomplete.xml", la, [("lic:Document", DELETE)], ACCEPTED,
                  {"save": "app", "answer": {"root": "MissingDocumentsChecklist"}})
    withdraw = ("seq-withdraw.xml", law, [("lic:ApplicationNumber", "{{app}}")], ACCEPTED,
                {"answer": {"root": "LicenceApplicationStatus", "State": "withdrawn"}})
    d.sequence("lic-seq-withdraw-twice", "an incomplete application withdrawn, then withdrawn again: "
               "no transition from withdrawn", [incomplete, withdraw, withdraw[:3] + (TRANSITION,)])
    return d


def powers_of_attorney() -> Domain:
    d = Domain("power-of-attorney", "power-of-attorney-1.0.xsd")
    par, emchd, rev = ("power-of-attorney/PowerOfAttorneyRegistration.xml",
                       "power-of-attorney/PowerOfAttorneyRegistration-emchd.xml",
                       "power-of-attorney/PowerOfAttorneyRevocation.xml")
    root = "/poa:PowerOfAttorneyRegistration"
    for sample in ("PowerOfAttorneyRegistration-emchd", "PowerOfAttorneyRevocation", "PowerOfAttorneyRegistered",
                   "PowerOfAttorneyRejected", "PowerOfAttorneyResult"):
        d.valid(f"poa-valid-{sample.lower()}", f"power-of-attorney/{sample}.xml", f"the sample {sample}")
    for path in sorted(EMCHD_DIR.glob("*.xml")):
        d.valid(f"poa-valid-emchd-{path.stem[-12:]}", f"emchd/{path.name}", "an EMCHD_1 document on its own")
    for power in ("REGISTRATION_CHANGE", "REPORTS_SUBMIT", "LICENCE_APPLY", "LICENCE_WITHDRAW", "POA_SUBSTITUTE",
                  "DETAILS_CHANGE"):
        d.valid(f"poa-valid-power-{power.lower()}", par, f"Power enumeration value {power}",
                [("poa:Power[1]", power)])
    for state in ("registered", "rejected", "revoked", "expired"):
        d.valid(f"poa-valid-result-{state}", "power-of-attorney/PowerOfAttorneyResult.xml",
                f"State enumeration value {state}", [("poa:State", state)])
    d.xsd("poa-result-state-enumeration", "power-of-attorney/PowerOfAttorneyResult.xml", "a state outside the four",
          [("poa:State", "suspended")], "/poa:PowerOfAttorneyResult/poa:State", sendable=False)
    d.checksum("poa-principal-inn-checksum", par, "the principal's ИНН", "./poa:Principal/poa:INN", "inn_legal_entity")
    d.checksum("poa-principal-ogrn-checksum", par, "the principal's ОГРН", "./poa:Principal/poa:OGRN", "ogrn")
    d.checksum("poa-head-inn-checksum", par, "the principal's head's ИНН", "./poa:Principal/poa:HeadINN", "inn_person")
    d.checksum("poa-representative-inn-checksum", par, "the representative's ИНН", "./poa:Representative/poa:INN",
               "inn_person")
    d.checksum("poa-representative-snils-checksum", par, "the representative's СНИЛС",
               "./poa:Representative/poa:SNILS", "snils")
    d.checksum("poa-revocation-inn-checksum", rev, "the principal's ИНН in a revocation", "./poa:PrincipalINN",
               "inn_legal_entity")
    org = "./e:Доверенность/e:Документ/e:Довер/e:СвДоверит/e:Доверит/e:РосОргДовер"
    rep_ = "./e:Доверенность/e:Документ/e:Довер/e:СвУпПред/e:Пред"
    d.checksum("poa-emchd-inn-checksum", emchd, "EMCHD_1: the principal's ИННЮЛ", f"{org}/e:СвРосОрг/@ИННЮЛ",
               "inn_legal_entity")
    d.checksum("poa-emchd-ogrn-checksum", emchd, "EMCHD_1: the principal's ОГРН", f"{org}/e:СвРосОрг/@ОГРН", "ogrn")
    d.checksum("poa-emchd-head-inn-checksum", emchd, "EMCHD_1: the head's ИННФЛ",
               f"{org}/e:ЛицоБезДов/e:СвФЛ/@ИННФЛ", "inn_person")
    d.checksum("poa-emchd-head-snils-checksum", emchd, "EMCHD_1: the head's СНИЛС",
               f"{org}/e:ЛицоБезДов/e:СвФЛ/@СНИЛС", "snils")
    d.checksum("poa-emchd-representative-inn-checksum", emchd, "EMCHD_1: the representative's ИННФЛ",
               f"{rep_}/e:СведФизЛ/@ИННФЛ", "inn_person")
    d.checksum("poa-emchd-representative-snils-checksum", emchd, "EMCHD_1: the representative's СНИЛС",
               f"{rep_}/e:СведФизЛ/@СНИЛС", "snils")
    d.xsd("poa-power-enumeration", par, "a power outside the six", [("poa:Power[1]", "EVERYTHING")], f"{root}/poa:Power[1]")
    d.xsd("poa-number-not-uuid", par, "a number that is not a UUID", [("poa:Number", "17")], f"{root}/poa:Number")
    d.xsd("poa-snils-ten-digits", par, "СНИЛС of 10 digits", [("poa:Representative/poa:SNILS", "0407933796")],
          f"{root}/poa:Representative/poa:SNILS")
    d.xsd("poa-substitution-boolean", par, "Substitution that is not a boolean", [("poa:Substitution", "yes")],
          f"{root}/poa:Substitution")
    d.xsd("poa-emchd-short-inn", emchd, "EMCHD_1: ИННЮЛ of 9 digits", [(f"{org}/e:СвРосОрг/@ИННЮЛ", "770212345")],
          f"{root}/e:Доверенность/e:Документ/e:Довер/e:СвДоверит/e:Доверит/e:РосОргДовер/e:СвРосОрг")
    d.xsd("poa-emchd-wrong-version", emchd, "EMCHD_1: a format version other than EMCHD_1",
          [("./e:Доверенность/@ВерсФорм", "EMCHD_2")], f"{root}/e:Доверенность")
    d.sequence("poa-illegal-revocation", "revoking a power of attorney that was never registered",
               [("seq-revoke-unknown.xml", rev, [("poa:Number", "00000000-0000-4000-8000-000000000000")],
                 {**ILLEGAL, "code": "UNKNOWN_POWER_OF_ATTORNEY"})])
    fresh = [("poa:Number", "{{uuid}}"), ("poa:IssueDate", "{{today}}"), ("poa:ValidUntil", "{{today+90}}")]
    revoke = ("seq-revoke.xml", rev, [("poa:Number", "{{uuid}}"), ("poa:RevocationDate", "{{today}}")],
              ACCEPTED, {"answer": {"root": "PowerOfAttorneyResult", "State": "revoked"}})
    d.sequence("poa-seq-revoke-twice", "a power registered, revoked, revoked again: no transition "
               "from revoked",
               [("seq-register.xml", par, fresh, ACCEPTED, {"answer": {"root": "PowerOfAttorneyRegistered"}}),
                revoke, revoke[:3] + (TRANSITION,)])
    return d


def details() -> Domain:
    d = Domain("details", "organisation-details-1.0.xsd")
    dcr, dcc = "details/DetailsChangeRequest.xml", "details/DetailsChangeConfirmation.xml"
    applied = "details/DetailsChangeResult-applied.xml"
    root, croot = "/det:DetailsChangeRequest", "/det:DetailsChangeConfirmation"
    ns = 'xmlns="urn://smev-gateway/services/organisation-details/1.0"'
    d.valid("det-valid-request", dcr, "a change of address, phone, e-mail and head, with a power of attorney")
    d.valid("det-valid-request-by-head", dcr, "the head changes the details: no power of attorney",
            [("det:PowerOfAttorneyNumber", DELETE)])
    d.valid("det-valid-request-head-only", dcr, "only the head changes (the other details are optional)",
            [("det:LegalAddress", DELETE), ("det:Phone", DELETE), ("det:Email", DELETE), ("det:Reason", DELETE)])
    d.valid("det-valid-request-no-postal-code", dcr, "an address without a postal code, a head without a "
            "middle name", [("det:LegalAddress/det:PostalCode", DELETE), ("det:NewHead/det:MiddleName", DELETE)])
    d.valid("det-valid-confirmation", dcc, "the head confirms a verified change")
    d.valid("det-valid-confirmation-with-poa", dcc, "a confirmation with a power of attorney",
            [(".", _add_child(f'<PowerOfAttorneyNumber {ns}>7c9e6679-7425-40de-944b-e07fc1f90ae7'
                              '</PowerOfAttorneyNumber>'))])
    d.valid("det-valid-result-rejected", "details/DetailsChangeResult-rejected.xml",
            "a rejection naming the mismatching field")
    for state in ("verified", "rejected", "applied"):
        d.valid(f"det-valid-state-{state}", applied, f"State enumeration value {state}", [("det:State", state)])
    d.checksum("det-inn-checksum", dcr, "the organisation's ИНН check digit is wrong", "./det:INN", "inn_legal_entity")
    d.checksum("det-ogrn-checksum", dcr, "the ОГРН check digit is wrong", "./det:OGRN", "ogrn")
    d.checksum("det-new-head-inn-checksum", dcr, "the new head's ИНН check digits are wrong",
               "./det:NewHead/det:INN", "inn_person")
    d.checksum("det-confirm-inn-checksum", dcc, "ИНН check digit in a confirmation", "./det:INN", "inn_legal_entity")
    d.xsd("det-inn-nine-digits", dcr, "ИНН of 9 digits (pattern [0-9]{10})", [("det:INN", "770212345")],
          f"{root}/det:INN")
    d.xsd("det-ogrn-missing", dcr, "the required ОГРН is missing", [("det:OGRN", DELETE)], root)
    d.xsd("det-kpp-pattern", dcr, "КПП with a letter in the wrong place", [("det:KPP", "77020100A")], f"{root}/det:KPP")
    d.xsd("det-postal-code-pattern", dcr, "a postal code of 5 digits", [("det:LegalAddress/det:PostalCode", "11901")],
          f"{root}/det:LegalAddress/det:PostalCode")
    d.xsd("det-address-blank", dcr, "an address text of spaces only", [("det:LegalAddress/det:Text", "   ")],
          f"{root}/det:LegalAddress/det:Text")
    d.xsd("det-phone-pattern", dcr, "a phone number not in +7XXXXXXXXXX", [("det:Phone", "84951234567")],
          f"{root}/det:Phone")
    d.xsd("det-email-pattern", dcr, "an e-mail address without @", [("det:Email", "office.romashka.example")],
          f"{root}/det:Email")
    d.xsd("det-new-head-inn-ten-digits", dcr, "the new head's ИНН of 10 digits (pattern [0-9]{12})",
          [("det:NewHead/det:INN", "7707011641")], f"{root}/det:NewHead/det:INN")
    d.xsd("det-new-head-position-missing", dcr, "the new head without a position", [("det:NewHead/det:Position", DELETE)],
          f"{root}/det:NewHead")
    d.xsd("det-poa-number-not-uuid", dcr, "a power of attorney number that is not a UUID",
          [("det:PowerOfAttorneyNumber", "17")], f"{root}/det:PowerOfAttorneyNumber")
    d.xsd("det-unexpected-element", dcr, "an element the XSD does not know",
          [(".", _add_child(f"<Extra {ns}/>"))], root)
    d.xsd("det-confirm-number-empty", dcc, "an empty registration number", [("det:RegistrationNumber", "")],
          f"{croot}/det:RegistrationNumber")
    d.xsd("det-confirm-number-too-long", dcc, "a registration number of 41 characters (at most 40)",
          [("det:RegistrationNumber", "DET-" + "0" * 37)], f"{croot}/det:RegistrationNumber")
    d.xsd("det-result-state-enumeration", applied, "State outside verified/rejected/applied",
          [("det:State", "submitted")], "/det:DetailsChangeResult/det:State", sendable=False)
    d.sequence("det-illegal-confirmation", "confirming a change of details that was never requested "
               "(no transition from the initial state)",
               [("seq-confirmation-unknown.xml", dcc, [("det:RegistrationNumber", UNKNOWN_NUMBER)],
                 {**ILLEGAL, "code": "UNKNOWN_APPLICATION"})])
    mismatch = ("seq-change-wrong-kpp.xml", dcr, [("det:KPP", "770201002"), ("det:NewHead", DELETE),
                                                  ("det:PowerOfAttorneyNumber", DELETE)], ACCEPTED,
                {"save": "det", "answer": {"root": "DetailsChangeResult", "State": "rejected"}})
    d.sequence("det-seq-confirm-rejected", "a change rejected (КПП not the register's), then "
               "confirmed: only a verified change may be confirmed",
               [mismatch, ("seq-confirm.xml", dcc, [("det:RegistrationNumber", "{{det}}")], TRANSITION)])
    return d


def envelope() -> Domain:
    """The envelope and its signature: each case is a payload signed by the test participant and
    then changed (``tamper``). The payload has a wrong ОГРН, so a gateway that accepts the
    signature answers FIELD_RULE and nothing is stored."""
    d = Domain("envelope", "smev-message-exchange-types-1.1.xsd")
    payload = read_xml(SAMPLES_DIR / "registration/OrganisationRegistrationRequest.xml")
    ogrn = payload.find("reg:OGRN", namespaces=PREFIXES)
    ogrn.text = _flip(ogrn.text)
    d.files["registration-bad-ogrn.xml"] = serialise(payload)
    sig = "SignatureVerificationFault"
    cases = [
        ("env-signature-valid", "none", "a valid signature: the payload's own fault comes through",
         {"signature": "VALID", "code": "FIELD_RULE", "rule": "ogrn"},
         {"outcome": "fault", "fault": "InvalidContent", "code": "FIELD_RULE"}),
        ("env-payload-changed", "payload-changed", "the signed content changed after signing",
         {"code": "HASH_FAILURE", "fault": sig}, {"outcome": "fault", "fault": sig, "code": "HASH_FAILURE"}),
        ("env-signature-value-broken", "signature-value-broken", "the SignatureValue altered",
         {"code": "SIG_CRYPTO_FAILURE", "fault": sig}, {"outcome": "fault", "fault": sig, "code": "SIG_CRYPTO_FAILURE"}),
        ("env-unsigned", "unsigned", "no CallerInformationSystemSignature at all",
         {"code": "NO_SIGNATURE", "fault": sig}, {"outcome": "fault", "fault": sig, "code": "NO_SIGNATURE"}),
        ("env-no-certificate", "no-certificate", "KeyInfo without the signer's certificate",
         {"fault": sig}, {"outcome": "fault", "fault": sig, "code": "NO_SIGNING_CERTIFICATE_FOUND"}),
        ("env-reference-elsewhere", "reference-elsewhere", "the signature references another element",
         {"code": "REFERENCE_FAILURE", "fault": sig}, {"outcome": "fault", "fault": sig, "code": "REFERENCE_FAILURE"}),
        ("env-untrusted-signer", "untrusted-signer", "signed with a self-signed key no trusted CA issued",
         {"fault": sig}, {"outcome": "fault", "fault": "SenderIsNotRegistered", "code": "SENDER_IS_NOT_REGISTERED"}),
        ("env-extra-element", "envelope-extra-element", "an element the message-exchange XSD does not allow",
         {"code": "XSD_VIOLATION", "fault": "InvalidContent"},
         {"outcome": "fault", "fault": "InvalidContent", "code": "XSD_VIOLATION"}),
    ]
    for id, tamper, description, expect, online in cases:
        d.cases.append({"id": id, "kind": "signed", "file": "registration-bad-ogrn.xml", "tamper": tamper,
                        "description": description, "expect": expect, "online": online})
    return d


def domains() -> list[Domain]:
    return [registration(), reporting(), licensing(), powers_of_attorney(), details(), envelope()]


def write(base: Path = SHIPPED) -> list[Domain]:
    built = domains()
    for domain in built:
        domain.write(base)
    return built


if __name__ == "__main__":
    for domain in write(Path(sys.argv[1]) if len(sys.argv) > 1 else SHIPPED):
        print(f"{domain.folder}: {len(domain.cases)} cases")
