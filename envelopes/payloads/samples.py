"""One sample of every payload, built from the demo organisations (valid-checksum identifiers),
and the files in ``envelopes/samples/`` made from them.

``python -m envelopes.payloads.samples`` rewrites the files; a test checks that each file still
equals what is built here, validates, and parses back to the same dataclass. The EMCHD_1 files
in ``envelopes/samples/emchd/`` are hand-written in the shape real issuers produce and are not
generated.
"""
from __future__ import annotations

import hashlib
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from lxml import etree

from envelopes.demo_data import ROMASHKA, VASILEK
from envelopes.payloads import codec, details as det, emchd, licensing as lic, poa, registration as reg, reporting as rep

SAMPLES_DIR = Path(__file__).resolve().parents[1] / "samples"
EMCHD_DIR = SAMPLES_DIR / "emchd"
#: The EMCHD_1 sample embedded in the EMCHD variant of PowerOfAttorneyRegistration.
EMCHD_SAMPLE = EMCHD_DIR / "ON_EMCHD_20261102_3f2b6c1e-9a47-4d2b-8e61-5c0a7d9e1b24.xml"

MSK = timezone(timedelta(hours=3))
POA_NUMBER = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
REPRESENTATIVE = poa.Representative("Михайлов", "Александр", "Олегович", "161164104516", "04079337962")


def _hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_xml(path: Path) -> etree._Element:
    """Parse a sample file with the gateway's parser settings (no DTD, entities, network)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             remove_blank_text=True)
    return etree.parse(str(path), parser).getroot()


def payloads() -> dict[str, Any]:
    """Relative file name (under envelopes/samples/) → the sample dataclass."""
    balance = rep.build_balance(rep.Balance(1200, 3400, 2500, 2100))
    r = ROMASHKA
    docs = lic.licence_kinds()["ALCOHOL_RETAIL"].documents
    all_docs = tuple(lic.Document(kind, f"{kind.lower()}.pdf", _hash(kind.encode()),
                                  f"att-{i}", f"att-{i}-sig") for i, kind in enumerate(docs, 1))
    return {
        # registration
        "registration/OrganisationRegistrationRequest.xml": r,
        "registration/HeadConfirmationRequest.xml": reg.HeadConfirmation(
            r.inn, r.ogrn, r.head.inn, "REG-20261123-000017"),
        "registration/OrganisationStatusChangeRequest.xml": reg.StatusChange(
            r.inn, "REG-20261123-000017", "suspend", "Приостановка деятельности на время реорганизации"),
        "registration/RegistrationResult-verified.xml": reg.RegistrationResult(
            r.inn, "verified", "REG-20261123-000017"),
        "registration/RegistrationResult-rejected.xml": reg.RegistrationResult(
            VASILEK.inn, "rejected", None, (
                reg.Mismatch("КПП", "/reg:OrganisationRegistrationRequest/reg:KPP", "500301002",
                             "500301001", "must match ЕГРЮЛ"),
                reg.Mismatch("ИНН руководителя", "/reg:OrganisationRegistrationRequest/reg:Head/reg:INN",
                             "771234567859", "501234567802", "must be the head in ЕГРЮЛ"))),
        # reporting
        "reporting/ReportSubmission.xml": rep.ReportSubmission(
            inn=r.inn, kpp=r.kpp, ogrn=r.ogrn, kind="BALANCE", year=2026, period="31",
            content=rep.canonical(balance), correction=0, power_of_attorney=POA_NUMBER,
            attachments=(rep.Attachment("explanatory-note.pdf", _hash(b"note"), "att-1", "att-1-sig"),)),
        "reporting/ReportReceipt.xml": rep.ReportReceipt(
            "REP-20261123-000042", "9F3A1C22B07D4E11", datetime(2026, 7, 28, 10, 15, tzinfo=MSK),
            date(2026, 7, 30), False, 0),
        "reporting/ReportRefusal.xml": rep.ReportRefusal((
            rep.ReportError("DUPLICATE", "the report for 2026/31 is already accepted"),
            rep.ReportError("CONTENT_INVALID", "Equity is missing", "/rep:ReportSubmission/rep:Content/bal:Balance"),)),
        "reporting/ReportProcessed.xml": rep.ReportProcessed(
            "REP-20261123-000042", datetime(2026, 8, 3, 9, 0, tzinfo=MSK), "Принят в обработку без замечаний"),
        # licensing
        "licensing/LicenceApplication.xml": lic.LicenceApplication(
            inn=r.inn, ogrn=r.ogrn, kpp=r.kpp, kind="ALCOHOL_RETAIL",
            activity="Розничная продажа алкогольной продукции в магазине", addresses=(r.legal_address,),
            documents=all_docs[:2]),
        "licensing/LicenceApplicationSupplement.xml": lic.LicenceApplicationSupplement(
            r.inn, "LIC-20261123-000005", all_docs[2:]),
        "licensing/LicenceApplicationWithdrawal.xml": lic.LicenceApplicationWithdrawal(
            r.inn, "LIC-20261123-000005", "Деятельность не будет начата"),
        "licensing/MissingDocumentsChecklist.xml": lic.checklist_for(
            "LIC-20261123-000005", "ALCOHOL_RETAIL", [d.kind for d in all_docs[:2]]),
        "licensing/LicenceApplicationStatus.xml": lic.LicenceApplicationStatus(
            "LIC-20261123-000005", "under_review", "Принято к рассмотрению"),
        "licensing/LicenceDecision-granted.xml": lic.LicenceDecision(
            "LIC-20261123-000005", granted=lic.LicenceGrant("77РПА0012345", date(2026, 12, 1), date(2031, 12, 1))),
        "licensing/LicenceDecision-refused.xml": lic.LicenceDecision(
            "LIC-20261123-000005", refused=("Помещение не соответствует требованиям",)),
        # powers of attorney
        "power-of-attorney/PowerOfAttorneyRegistration.xml": poa.PowerOfAttorneyRegistration(
            poa.PowerOfAttorney(POA_NUMBER, date(2026, 11, 20), date(2027, 11, 20),
                                poa.Principal(r.inn, r.ogrn, r.kpp, r.short_name, r.head.inn),
                                REPRESENTATIVE, ("REPORTS_SUBMIT", "LICENCE_APPLY"), False), id="poa-1"),
        "power-of-attorney/PowerOfAttorneyRegistration-emchd.xml": poa.PowerOfAttorneyRegistration(
            emchd.parse_emchd(read_xml(EMCHD_SAMPLE)), id="poa-1"),
        "power-of-attorney/PowerOfAttorneyRevocation.xml": poa.PowerOfAttorneyRevocation(
            POA_NUMBER, r.inn, date(2026, 11, 23), "Увольнение представителя", id="revocation-1"),
        "power-of-attorney/PowerOfAttorneyRegistered.xml": poa.PowerOfAttorneyRegistered(
            POA_NUMBER, "POA-20261120-000003", datetime(2026, 11, 20, 12, 0, tzinfo=MSK), date(2027, 11, 20)),
        "power-of-attorney/PowerOfAttorneyRejected.xml": poa.PowerOfAttorneyRejected(POA_NUMBER, (
            poa.Rejection("NOT_HEAD", "a power of attorney must be signed by the principal's head"),
            poa.Rejection("SNILS_MISMATCH", "Representative/SNILS does not match the persons register",
                          "/poa:PowerOfAttorneyRegistration/poa:Representative/poa:SNILS"))),
        "power-of-attorney/PowerOfAttorneyResult.xml": poa.PowerOfAttorneyResult(POA_NUMBER, "registered"),
        # change of details
        "details/DetailsChangeRequest.xml": det.DetailsChange(
            r.inn, r.ogrn, r.kpp, det.Address("г. Москва, ул. Новый Арбат, д. 15", "119019"),
            "+74951234567", "office@romashka.example",
            det.NewHead("Яковлева", "Ксения", "Владимировна", "770701164152", "Генеральный директор"),
            "Переезд и смена руководителя", POA_NUMBER),
        "details/DetailsChangeConfirmation.xml": det.DetailsChangeConfirmation(r.inn, "DET-20261123-000031"),
        "details/DetailsChangeResult-applied.xml": det.DetailsChangeResult(r.inn, "applied", "DET-20261123-000031"),
        "details/DetailsChangeResult-rejected.xml": det.DetailsChangeResult(r.inn, "rejected", None, (
            det.Mismatch("ОГРН", "/det:DetailsChangeRequest/det:OGRN", "1035000123454", "1027700123450",
                         "must equal the ОГРН in ЕГРЮЛ"),)),
    }


def element_for(name: str, payload: Any) -> etree._Element:
    """The sample's element; the EMCHD_1 registration embeds the sample file unchanged."""
    if name.endswith("-emchd.xml"):
        return poa.build_power_of_attorney_registration(payload, read_xml(EMCHD_SAMPLE))
    return codec.build(payload)


def serialise(element: etree._Element) -> bytes:
    return etree.tostring(element, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def write(directory: Path = SAMPLES_DIR) -> list[Path]:
    written = []
    for name, payload in payloads().items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(serialise(element_for(name, payload)))
        written.append(path)
    return written


if __name__ == "__main__":
    for p in write(Path(sys.argv[1]) if len(sys.argv) > 1 else SAMPLES_DIR):
        print(p)
