"""Notifications of what is coming (gateway/ops/notifications.py): certificates of systems and of
the persons who signed for an organisation, powers of attorney and report deadlines, each sent
once per threshold as a webhook event — also when several scans run at once — on fixed dates."""
from __future__ import annotations

import random
import threading
import types
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from lxml import etree
from sqlalchemy import func, select

from envelopes import ns
from envelopes.payloads.poa import (PowerOfAttorney, PowerOfAttorneyRegistration,
                                    PowerOfAttorneyRevocation, Principal, Representative,
                                    build_power_of_attorney_registration,
                                    build_power_of_attorney_revocation)
from gateway.config import Settings
from gateway.ops import notifications
from gateway.pipeline.participants import add_system
from gateway.pipeline.persist import ApplicationChange, IncomingMessage, store_request
from gateway.storage import notifications as store
from gateway.storage.schema import notifications as table
from gateway.storage.schema import webhook_events

SETTINGS = Settings()  # the documented thresholds: certificates and powers 30/15, deadlines 10/3
NOW = datetime(2026, 4, 20, 9, 0, tzinfo=timezone.utc)  # 10 days before the Q1 deadline (30 April)


def _inn(n: int = 10) -> str:
    return "".join(random.choice("0123456789") for _ in range(n))


def _certificate(ends: datetime, inn: str | None = None) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, f"notice test {uuid.uuid4()}")]
    name = x509.Name(attrs)
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(ends - timedelta(days=400)).not_valid_after(ends)
            .sign(key, hashes.SHA256()))


def _envelope(payload: etree._Element) -> bytes:
    """A stored request as far as the scan reads it: the business element in MessagePrimaryContent."""
    root = etree.Element(f"{{{ns.SOAP11_ENV}}}Envelope")
    body = etree.SubElement(root, f"{{{ns.SOAP11_ENV}}}Body")
    content = etree.SubElement(body, f"{{{ns.SMEV_BASIC}}}MessagePrimaryContent")
    content.append(payload)
    return etree.tostring(root)


def _store(engine, inn: str, domain: str, kind: str, state: str, envelope: bytes = b"<test/>",
           person=None, person_not_after=None, at: datetime = NOW) -> None:
    msg = IncomingMessage(message_id=str(uuid.uuid1()), message_type="REQUEST",
                          reference_message_id=None, sender="ROMASHKA", recipient="GATEWAY",
                          namespace_uri="urn:test", root_element="Test", content_digest="0" * 64,
                          test_message=False, received_at=at, envelope=envelope, verification={},
                          person=person, person_not_after=person_not_after)
    store_request(engine, msg, lambda number: b"<receipt/>",
                  ApplicationChange(domain=domain, kind=kind, organisation_inn=inn, state=state))


def _sent(engine, inn: str, kind: str) -> list[store.Sent]:
    return [s for s in store.sent(engine, kind=kind, inn=inn)]


@pytest.fixture
def organisation(engine):
    mnemonic, inn = f"NT{uuid.uuid4().hex[:8].upper()}", _inn()
    add_system(engine, mnemonic, "notification test system", [], inn_le=inn)
    return mnemonic, inn


def test_thresholds_pick_the_tightest_reached():
    assert notifications.threshold(31, (30, 15), False) is None
    assert notifications.threshold(30, (30, 15), False) == 30
    assert notifications.threshold(10, (30, 15), False) == 15  # late first scan: only the 15
    assert notifications.threshold(5, (30, 15), True) == 0


def test_a_system_certificate_is_announced_once_per_threshold(engine):
    cert = _certificate(NOW + timedelta(days=20))
    mnemonic = f"NT{uuid.uuid4().hex[:8].upper()}"
    add_system(engine, mnemonic, "expiring", [cert], inn_le=None)
    fingerprint = cert.fingerprint(hashes.SHA256()).hex()

    def notices():
        return sorted(s.threshold_days for s in store.sent(engine, kind="certificate.expiring")
                      if s.subject == f"certificate:{fingerprint}")

    notifications.scan(engine, SETTINGS, NOW)
    notifications.scan(engine, SETTINGS, NOW + timedelta(hours=1))  # every hour, every process
    assert notices() == [30]
    notifications.scan(engine, SETTINGS, NOW + timedelta(days=6))  # 14 days left
    notifications.scan(engine, SETTINGS, NOW + timedelta(days=7))
    assert notices() == [15, 30]
    notifications.scan(engine, SETTINGS, NOW + timedelta(days=21))  # it has ended
    assert notices() == [0, 15, 30]
    [expired] = [s for s in store.sent(engine, kind="certificate.expiring")
                 if s.subject == f"certificate:{fingerprint}" and s.threshold_days == 0]
    assert expired.mnemonic == mnemonic and expired.organisation_inn is None


def test_heads_and_representatives_certificates_and_powers_of_attorney(engine, organisation):
    mnemonic, inn = organisation
    head_inn, rep_inn = _inn(12), _inn(12)
    number = str(uuid.uuid4())
    poa = PowerOfAttorney(number, date(2025, 5, 1), date(2026, 5, 10),  # 20 days after NOW
                          Principal(inn, "1027700132195", "770201001", "ООО Тест", head_inn),
                          Representative("Иванов", "Иван", None, rep_inn, "11223344595"),
                          ("REPORTS_SUBMIT",))
    _store(engine, inn, "poa", "power-of-attorney", "registered",
           _envelope(build_power_of_attorney_registration(PowerOfAttorneyRegistration(poa))))
    # the head signed the power (PersonalSignature); the representative later signed a report
    head_cert, rep_cert = _certificate(NOW + timedelta(days=12)), _certificate(NOW + timedelta(days=200))
    for cert, person_inn in ((head_cert, head_inn), (rep_cert, rep_inn)):
        person = types.SimpleNamespace(fingerprint_sha256=cert.fingerprint(hashes.SHA256()).hex(),
                                       inn=person_inn, subject=cert.subject.rfc4514_string())
        for _ in range(2):  # a second request signed with it changes nothing
            _store(engine, inn, "reporting", f"report X {uuid.uuid4()}", "refused", person=person,
                   person_not_after=cert.not_valid_after_utc)

    notifications.scan(engine, SETTINGS, NOW)
    certs = _sent(engine, inn, "certificate.expiring")
    assert [(s.threshold_days, s.subject) for s in certs] == [
        (15, f"certificate:{head_cert.fingerprint(hashes.SHA256()).hex()}:{inn}")]  # 12 days left
    with engine.connect() as conn:
        payload = conn.execute(select(webhook_events.c.payload, webhook_events.c.organisation_inn)
                               .where(webhook_events.c.event_id == certs[0].event_id)).one()
    assert '"holder": "head"' in payload.payload and payload.organisation_inn == inn
    [power] = _sent(engine, inn, "poa.expiring")
    assert power.threshold_days == 30 and number in power.subject

    later = NOW + timedelta(days=170)  # the power has ended; the representative's cert has 30 days
    notifications.scan(engine, SETTINGS, later)
    assert sorted(s.threshold_days for s in _sent(engine, inn, "poa.expiring")) == [0, 30]
    rep = [s for s in _sent(engine, inn, "certificate.expiring") if s.threshold_days == 30]
    [rep_event] = rep
    with engine.connect() as conn:
        text = conn.execute(select(webhook_events.c.payload)
                            .where(webhook_events.c.event_id == rep_event.event_id)).scalar_one()
    assert '"holder": "representative"' in text and rep_inn in text


def test_a_revoked_power_is_not_announced(engine, organisation):
    _, inn = organisation
    number = str(uuid.uuid4())
    poa = PowerOfAttorney(number, date(2025, 5, 1), date(2026, 5, 1),
                          Principal(inn, "1027700132195", "770201001", "ООО Тест", _inn(12)),
                          Representative("Петров", "Пётр", None, _inn(12), "11223344595"),
                          ("REPORTS_SUBMIT",))
    _store(engine, inn, "poa", "power-of-attorney", "registered",
           _envelope(build_power_of_attorney_registration(PowerOfAttorneyRegistration(poa))))
    _store(engine, inn, "poa", "power-of-attorney-revocation", "revoked",
           _envelope(build_power_of_attorney_revocation(PowerOfAttorneyRevocation(
               number, inn, date(2026, 4, 1), "ended"))))
    notifications.scan(engine, SETTINGS, NOW)
    assert _sent(engine, inn, "poa.expiring") == []


def test_a_deadline_approaches_only_for_organisations_that_have_not_filed(engine, organisation):
    _, inn = organisation
    other = f"NT{uuid.uuid4().hex[:8].upper()}", _inn()
    add_system(engine, other[0], "has filed", [], inn_le=other[1])
    _store(engine, other[1], "reporting", "report NDS 2026-21 #0", "accepted")
    notifications.scan(engine, SETTINGS, NOW)  # 10 days before 30 April
    [due] = _sent(engine, inn, "deadline.approaching")
    assert (due.threshold_days, due.subject) == (10, f"deadline:{inn}:2026-21")
    assert _sent(engine, other[1], "deadline.approaching") == []
    notifications.scan(engine, SETTINGS, NOW + timedelta(days=5))  # 5 days left: still the 10
    assert len(_sent(engine, inn, "deadline.approaching")) == 1
    notifications.scan(engine, SETTINGS, NOW + timedelta(days=8))  # 2 days left: the 3
    assert sorted(s.threshold_days for s in _sent(engine, inn, "deadline.approaching")) == [3, 10]
    _store(engine, inn, "reporting", "report NDS 2026-31 #0", "processed")  # Q2 filed early
    notifications.scan(engine, SETTINGS, datetime(2026, 7, 25, tzinfo=timezone.utc))
    assert all("2026-31" not in s.subject for s in _sent(engine, inn, "deadline.approaching"))


def test_scans_running_at_once_send_each_notification_once(engine, organisation):
    """Several processes (threads here, each its own connections and transactions) scan at the
    same moment: the unique key lets one of them store each notification and its event."""
    _, inn = organisation
    certs = [_certificate(NOW + timedelta(days=d)) for d in (3, 9, 25)]
    for cert in certs:
        person = types.SimpleNamespace(fingerprint_sha256=cert.fingerprint(hashes.SHA256()).hex(),
                                       inn=_inn(12), subject=cert.subject.rfc4514_string())
        _store(engine, inn, "reporting", f"report X {uuid.uuid4()}", "refused", person=person,
               person_not_after=cert.not_valid_after_utc)
    barrier, errors, new = threading.Barrier(4), [], []

    def scan():
        try:
            barrier.wait(10)
            new.append(notifications.scan(engine, SETTINGS, NOW + timedelta(days=400)))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=scan) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and len(new) == 4
    sent = _sent(engine, inn, "certificate.expiring")
    assert len(sent) == 3 and {s.threshold_days for s in sent} == {0}
    with engine.connect() as conn:
        events = conn.execute(select(func.count()).select_from(webhook_events).where(
            webhook_events.c.organisation_inn == inn,
            webhook_events.c.type == "certificate.expiring")).scalar_one()
        rows = conn.execute(select(func.count()).select_from(table).where(
            table.c.organisation_inn == inn, table.c.kind == "certificate.expiring")).scalar_one()
    assert events == 3 and rows == 3
    # the four scans together reported each of this organisation's new notices once; other
    # organisations' notices of that day count too, so this one's are a lower bound
    assert sum(n["certificate.expiring"] for n in new) >= 3


def test_a_heads_personal_signature_over_http_is_remembered_and_announced(
        gateway_url, demo_settings, engine, demo_client):
    """End to end: the head signs a power of attorney with a PersonalSignature (the envelope by
    the organisation's ERP system); the gateway keeps the head's certificate with the request,
    and the scan announces its end to the organisation, as the head's."""
    from envelopes import build
    from envelopes.demo_data import ROMASHKA
    from gateway.ops.setup import open_pki
    from gateway.storage.schema import person_certificates
    from support import ok

    pki = open_pki(demo_settings)
    system = pki.issue(f"erp-{uuid.uuid4().hex[:6]}", common_name="ERP of ROMASHKA",
                       inn_le=ROMASHKA.inn, key_type="ec-p256")
    add_system(engine, "ROMASHKA", ROMASHKA.full_name, [system.certificate])
    today = datetime.now(timezone.utc).date()
    rep = Representative("Сидоров", "Сидор", None, "500100732259", "11223344595")
    document = build_power_of_attorney_registration(PowerOfAttorneyRegistration(PowerOfAttorney(
        str(uuid.uuid4()), today, today + timedelta(days=30), Principal.of(ROMASHKA), rep,
        ("REPORTS_SUBMIT",))))
    ok(gateway_url, build.send_request(document, system.private_key, system.certificate,
                                       personal_signer=demo_client,
                                       extra_certificates=tuple(pki.intermediates())))
    head_cert = demo_client[1]
    fingerprint = head_cert.fingerprint(hashes.SHA256()).hex()
    with engine.connect() as conn:
        row = conn.execute(select(person_certificates).where(
            person_certificates.c.fingerprint == fingerprint,
            person_certificates.c.organisation_inn == ROMASHKA.inn)).one()
    assert row.person_inn == ROMASHKA.head.inn
    ends = head_cert.not_valid_after_utc
    notifications.scan(engine, SETTINGS, ends - timedelta(days=10))
    [notice] = [s for s in store.sent(engine, kind="certificate.expiring", inn=ROMASHKA.inn)
                if s.subject == f"certificate:{fingerprint}:{ROMASHKA.inn}"]
    assert notice.threshold_days == 15
    with engine.connect() as conn:
        text = conn.execute(select(webhook_events.c.payload)
                            .where(webhook_events.c.event_id == notice.event_id)).scalar_one()
    assert '"holder": "head"' in text


def test_the_console_dashboard_lists_live_powers_and_personal_certificates(engine, organisation,
                                                                          demo_settings):
    """The dashboard's expiries (issue: "certificate and POA expiries ahead") come from the same
    reads as the scan: a registered power shows, a revoked one does not, a head's certificate
    known from a PersonalSignature shows under the organisation."""
    from gateway.console.views import Views

    _, inn = organisation
    live, gone, head_inn = str(uuid.uuid4()), str(uuid.uuid4()), _inn(12)
    for number in (live, gone):
        poa = PowerOfAttorney(number, date(2025, 5, 1), date(2026, 5, 10),
                              Principal(inn, "1027700132195", "770201001", "ООО Тест", head_inn),
                              Representative("Сидоров", "Семён", None, _inn(12), "11223344595"),
                              ("REPORTS_SUBMIT",))
        _store(engine, inn, "poa", "power-of-attorney", "registered",
               _envelope(build_power_of_attorney_registration(PowerOfAttorneyRegistration(poa))))
    _store(engine, inn, "poa", "power-of-attorney-revocation", "revoked",
           _envelope(build_power_of_attorney_revocation(PowerOfAttorneyRevocation(
               gone, inn, date(2026, 4, 1), "ended"))))
    cert = _certificate(NOW + timedelta(days=12))
    person = types.SimpleNamespace(fingerprint_sha256=cert.fingerprint(hashes.SHA256()).hex(),
                                   inn=head_inn, subject=cert.subject.rfc4514_string())
    _store(engine, inn, "reporting", f"report X {uuid.uuid4()}", "refused", person=person,
           person_not_after=cert.not_valid_after_utc)

    rows = [r for r in Views(engine, demo_settings, None, lambda: NOW).expiries(NOW, "en")
            if r["owner"] == inn]
    powers = [r for r in rows if r["subject"].startswith("Power of attorney")]
    assert [live in r["subject"] for r in powers] == [True]  # the revoked one is not listed
    assert powers[0]["not_after"].date() == date(2026, 5, 10) and powers[0]["expiring"]
    [head] = [r for r in rows if head_inn in r["subject"]]
    assert head["expiring"] and head["days_left"] in (11, 12)
