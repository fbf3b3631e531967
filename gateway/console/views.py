"""What each console page shows: reads the repositories (gateway/storage/), the QA validator and
the access rules that already exist, and hands plain values to the templates. No SQL here."""
from __future__ import annotations

import csv
import io
import re
import threading
from datetime import date, datetime, time, timedelta, timezone
from typing import Callable

from cryptography import x509

from gateway.console import charts, i18n, pdf, xmlview
from gateway.console.errors import HttpError
from gateway.console.request import Request
from gateway.http import access
from gateway.pipeline import participants, powers
from gateway.storage import access as access_repo
from gateway.storage import console as repo
from gateway.storage import gauges, webhooks
from gateway.storage import notifications as notices
from gateway.storage.audit import record_now

EXPIRY_NOTICE = timedelta(days=30)  # the first notice of certificate.expiring/poa.expiring (docs/integration.md)
PAGE_SIZE = 50
EXPORT_LIMIT = 100_000
_INN = re.compile(r"^[0-9]{10}([0-9]{2})?$")
_NAME = re.compile(r"^[A-Za-z0-9._:/#-]{1,500}$")
#: journal events -> the operation the chart counts them under
_OPERATION_OF = {"request-accepted": "SendRequest", "response-accepted": "SendResponse"}


#: the applications' filters and sort columns: those of the REST history API (docs/openapi.yaml),
#: plus ИНН (the console sees every organisation) and domain
FILTERS = ("inn", "status", "domain", "kind", "from", "to", "sort")
SORTS = {"date": "app.created", "updated": "app.updated", "kind": "app.kind", "status": "status",
         "number": "app.number", "domain": "app.domain"}  # column -> its label


class Views:
    def __init__(self, engine, settings, validator, clock: Callable[[], datetime]):
        self.engine, self.settings, self.validator, self.clock = engine, settings, validator, clock
        # the dashboard's hourly counts of this process: kind -> series -> hour -> count
        self._counts: dict[str, dict[str, dict[datetime, int]]] = {"accepted": {}, "refused": {}}
        self._head: int | None = None  # the last journal id counted
        self._lock = threading.Lock()

    # -- helpers -------------------------------------------------------------------------------

    @staticmethod
    def _day(request: "Request", name: str, errors: list[str]) -> date | None:
        value = request.query.get(name, "").strip()
        if not value:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            errors.append(f"{name}: {i18n.translate(request.lang, 'date_format')}")
            return None

    @staticmethod
    def _text(request: "Request", name: str, limit: int = 200) -> str | None:
        value = request.query.get(name, "").strip()
        return value[:limit] or None

    @staticmethod
    def _page(request: "Request") -> int:
        value = request.query.get("page", "1")
        return max(1, min(int(value), 10 ** 6)) if value.isdigit() else 1

    # -- dashboard -----------------------------------------------------------------------------

    def _series(self, now: datetime) -> tuple[list[datetime], dict, dict]:
        """(hour starts, accepted by operation, refusals by fault code) over the last 24 clock
        hours. Counted per hour in this process: the journal's last 24 hours are read once, then
        only the entries appended since (every open dashboard asks every 5 s)."""
        starts = charts.hour_starts(now)
        with self._lock:
            if self._head is None:
                self._head, events = repo.journal_events_since(self.engine, starts[0])
            else:
                self._head, events = repo.journal_events_after(self.engine, self._head)
            for _, at, event, code in events:
                kind, name = ("refused", code or "?") if event == "rejected" else \
                    ("accepted", _OPERATION_OF.get(event, event))
                by_hour = self._counts[kind].setdefault(name, {})
                hour = charts.hour_of(at)
                by_hour[hour] = by_hour.get(hour, 0) + 1
            for kinds in self._counts.values():  # forget the hours that left the window
                for by_hour in kinds.values():
                    for hour in [h for h in by_hour if h < starts[0]]:
                        del by_hour[hour]
            return (starts, charts.hourly(self._counts["accepted"], starts),
                    charts.hourly(self._counts["refused"], starts))

    def dashboard(self, request: "Request") -> dict:
        now = self.clock()
        words = {k: i18n.translate(request.lang, v) for k, v in
                 (("total", "chart.total"), ("now", "chart.now"), ("none", "dash.no_data"))}
        starts, throughput, refusals = self._series(now)
        backlog = gauges.backlog(self.engine, now)
        return {
            "now": now,
            "throughput_chart": charts.stacked_bars("throughput-chart", i18n.translate(request.lang, "dash.throughput"),
                                                    starts, throughput, words),
            "refusals_chart": charts.stacked_bars("refusals-chart", i18n.translate(request.lang, "dash.refusals"),
                                                  starts, refusals, words),
            "queues": [(q, (now - q.oldest).total_seconds() if q.oldest else 0.0)
                       for q in repo.queue_depths(self.engine)],
            "expiries": self.expiries(now, request.lang)[:15],
            "backlog": backlog,
        }

    def expiries(self, now: datetime, lang: str = "ru") -> list[dict]:
        """What ends, soonest first: the IS' signing certificates, the certificates of heads and
        representatives who signed personally, the gateway's own and the trust store's, and the
        registered, unrevoked powers of attorney."""
        found = []
        for mnemonic, cert in repo.certificates_of(self.engine):
            dates = xmlview.certificate_dates(cert.pem)
            if dates:
                found.append({"owner": mnemonic, "subject": cert.subject, "not_after": dates[1],
                              "link": f"/console/participants/{mnemonic}"})
        pems = [(self.settings.mnemonic, self.settings.signing_cert_path)]
        for folder in ("anchors", "intermediates"):
            directory = self.settings.trust_dir / folder
            pems += [(f"trust/{folder}", p) for p in sorted(directory.glob("*.pem"))] if directory.is_dir() else []
        for owner, path in pems:
            try:
                certs = x509.load_pem_x509_certificates(path.read_bytes())
            except (OSError, ValueError):
                continue
            found += [{"owner": owner, "subject": c.subject.rfc4514_string(),
                       "not_after": c.not_valid_after_utc, "link": None} for c in certs]
        for fingerprint, inn, person_inn, subject, not_after in notices.persons(self.engine):
            found.append({"owner": inn, "subject": f"{subject} (ИНН {person_inn or '—'})",
                          "not_after": not_after, "link": None})
        for power in powers.live_powers(self.engine):
            if power.valid_until is None:
                continue
            ends = datetime.combine(power.valid_until, time.max, timezone.utc)
            person = power.representative
            found.append({"owner": power.principal.inn, "link": None, "not_after": ends,
                          "subject": f"{i18n.translate(lang, 'dash.poa')} № {power.number}: "
                                     f"{person.last_name} {person.first_name} (ИНН {person.inn})"})
        for item in found:
            item["days_left"] = int((item["not_after"] - now).total_seconds() // 86400)
            item["expiring"] = item["not_after"] - now <= EXPIRY_NOTICE
        return sorted(found, key=lambda i: i["not_after"])

    # -- messages ------------------------------------------------------------------------------

    def messages(self, request: "Request") -> dict:
        errors: list[str] = []
        day_from, day_to = self._day(request, "from", errors), self._day(request, "to", errors)
        operation = self._text(request, "operation")
        if operation and operation not in repo.OPERATIONS:
            errors.append(f"operation: {', '.join(repo.OPERATIONS)}")
        rows = [] if errors else repo.search_messages(
            self.engine, message_id=self._text(request, "message_id", 36),
            sender=self._text(request, "sender", 100), recipient=self._text(request, "recipient", 100),
            operation=operation, status=self._text(request, "status", 40), day_from=day_from,
            day_to=day_to)
        return {"rows": rows, "errors": errors, "operations": list(repo.OPERATIONS),
                "statuses": repo.message_statuses(self.engine) + [repo.REJECTED],
                "systems": [s.mnemonic for s in participants.list_systems(self.engine)],
                "status": 400 if errors else 200}

    def message(self, request: "Request", message_id: str) -> dict:
        stored = repo.message(self.engine, message_id)
        entries = repo.journal_of(self.engine, message_id)
        if stored is None and not entries:
            raise HttpError(404, "error.404", message_id)
        refusal = next((e for e in entries if e.event == "rejected"), None)
        # accepted: the stored request's entry; else a read operation (GetStatus, Ack, ...) that
        # named this MessageID and was verified (journal_exchange keeps its bytes)
        accepted = next((e for e in entries if e.event.endswith("-accepted")), None) if stored else \
            next((e for e in entries if e.direction == "IN" and e.detail.get("verification")), None)
        if stored is not None:
            envelope = stored.envelope
        elif refusal is not None and refusal.content is not None:
            envelope = refusal.content
        elif refusal is not None:
            envelope = refusal.detail.get("prefix", "").encode("utf-8")
        else:
            envelope = accepted.content or b"" if accepted is not None else b""
        root = xmlview.parse(envelope) if envelope else None
        # a stored message was accepted whatever happened to a later resend of its MessageID
        # (a different body is refused; that refusal shows in the journal section)
        if accepted is not None and (stored is not None or refusal is None):
            verification = accepted.detail.get("verification") or {}
            verdict = {"valid": True, "signature": verification.get("signature"),
                       "indication": verification.get("indication"),
                       "certificate": verification.get("certificate"),
                       "method": verification.get("signature_method"),
                       "detail": verification.get("detail")}
        else:
            detail = refusal.detail if refusal else {}
            verdict = {"valid": False, "fault": detail.get("fault"), "code": detail.get("code"),
                       "description": detail.get("description")}
        fault = next((e for e in entries if e.event == "fault" and e.content), None)
        return {
            "message_id": message_id, "stored": stored, "verdict": verdict,
            "envelope": xmlview.pretty(envelope) if envelope else None,
            "cert_links": xmlview.certificate_path(root, self.settings.trust_dir),
            "receipt": xmlview.pretty(stored.receipt) if stored else None,
            "fault": xmlview.pretty(fault.content) if fault else None,
            "entries": entries, "effects": repo.effects_of(self.engine, message_id),
            "now": self.clock(),
        }

    # -- applications ----------------------------------------------------------------------------

    def _application_filters(self, request: "Request") -> tuple[dict, list[str]]:
        errors: list[str] = []
        inn = self._text(request, "inn", 12)
        if inn and not _INN.match(inn):
            errors.append(f"inn: {i18n.translate(request.lang, 'app.inn_format')}")
        sort = self._text(request, "sort", 20) or "-date"
        if sort.lstrip("-") not in SORTS:
            errors.append(f"sort: {', '.join(SORTS)} (- for descending)")
            sort = "-date"
        filters = {"inn": inn, "status": self._text(request, "status", 40),
                   "domain": self._text(request, "domain", 40),
                   "kind": self._text(request, "kind", 80),
                   "day_from": self._day(request, "from", errors),
                   "day_to": self._day(request, "to", errors), "sort": sort}
        return filters, errors

    def _export_query(self, request: "Request") -> str:
        from urllib.parse import urlencode

        return urlencode({k: request.query[k] for k in FILTERS if request.query.get(k)})

    def applications(self, request: "Request") -> dict:
        filters, errors = self._application_filters(request)
        page = self._page(request)
        total, rows = (0, []) if errors else repo.search_applications(
            self.engine, **filters, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        statuses, domains = repo.application_choices(self.engine)
        return {"rows": rows, "total": total, "page": page, "pages": max(1, -(-total // PAGE_SIZE)),
                "errors": errors, "statuses": statuses, "domains": domains, "sorts": list(SORTS.items()),
                "export_query": self._export_query(request), "status": 400 if errors else 200}

    def _export_rows(self, request: "Request") -> list:
        filters, errors = self._application_filters(request)
        if errors:
            raise HttpError(400, "bad_filter", "; ".join(errors))
        return repo.search_applications(self.engine, **filters, limit=EXPORT_LIMIT)[1]

    def applications_csv(self, request: "Request") -> tuple[str, bytes]:
        rows = self._export_rows(request)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["id", "number", "organisation_inn", "domain", "kind", "status", "created", "updated"])
        for r in rows:
            writer.writerow([r.id, r.registration_number, r.organisation_inn, r.domain, r.kind,
                             r.status, r.created_at.isoformat(), r.updated_at.isoformat()])
        return "applications.csv", out.getvalue().encode("utf-8")

    def applications_pdf(self, request: "Request") -> tuple[str, bytes]:
        rows = self._export_rows(request)
        filters = {k: request.query.get(k, "") for k in FILTERS}
        return "applications.pdf", pdf.applications(rows, filters, self.clock(),
                                                    lambda key: i18n.translate(request.lang, key))

    def application(self, request: "Request", application_id: str) -> dict:
        found = repo.application(self.engine, int(application_id))
        if found is None:
            raise HttpError(404, "error.404")
        return {"app": found, "steps": repo.timeline(self.engine, found.id)}

    # -- participants ----------------------------------------------------------------------------

    def participants(self, request: "Request") -> dict:
        now = self.clock()
        certs: dict[str, list] = {}
        for mnemonic, cert in repo.certificates_of(self.engine):
            dates = xmlview.certificate_dates(cert.pem)
            if dates:
                certs.setdefault(mnemonic, []).append(dates[1])
        rows = []
        for system in participants.list_systems(self.engine):
            ends = sorted(certs.get(system.mnemonic, []))
            rows.append({"system": system, "certificates": len(ends),
                         "nearest": ends[0] if ends else None,
                         "expiring": bool(ends) and ends[0] - now <= EXPIRY_NOTICE})
        return {"rows": rows}

    def participant(self, request: "Request", mnemonic: str) -> dict:
        now = self.clock()
        system = next((s for s in participants.list_systems(self.engine) if s.mnemonic == mnemonic), None)
        if system is None:
            raise HttpError(404, "error.404", mnemonic)
        certificates = []
        for _, cert in repo.certificates_of(self.engine, mnemonic):
            dates = xmlview.certificate_dates(cert.pem)
            certificates.append({"cert": cert, "not_before": dates[0] if dates else None,
                                 "not_after": dates[1] if dates else None,
                                 "expired": bool(dates) and dates[1] <= now,
                                 "expiring": bool(dates) and dates[1] - now <= EXPIRY_NOTICE})
        return {"system": system, "certificates": certificates,
                "grants": participants.list_grants(self.engine, mnemonic),
                "keys": access_repo.keys(self.engine, mnemonic),
                "hooks": webhooks.subscriptions(self.engine, mnemonic, active_only=False),
                "done": request.query.get("done"), "admin": request.user.role == "administrator"}

    def change_participant(self, request: "Request", mnemonic: str, action: str) -> str | None:
        """Carry out one administrator's change, journaled with the operator as actor; a
        sentence when it cannot be made."""
        if not repo.system_exists(self.engine, mnemonic):
            raise HttpError(404, "error.404", mnemonic)
        form, now, actor = request.form, self.clock(), request.user.actor
        if action in ("enable", "disable"):
            participants.set_enabled(self.engine, mnemonic, action == "enable")
            record_now(self.engine, now, actor, "is-enabled" if action == "enable" else "is-disabled",
                       {"mnemonic": mnemonic})
            return None
        if action in ("allow", "deny"):
            role, namespace, root = form.get("role", ""), form.get("namespace", "").strip(), \
                form.get("root", "").strip() or participants.ANY_ROOT
            if role not in (participants.SEND, participants.SERVE) or not _NAME.match(namespace) \
                    or not _NAME.match(root) and root != participants.ANY_ROOT:
                return "role: send|serve; namespace: URI; root: element name or *"
            detail = {"mnemonic": mnemonic, "role": role, "namespace": namespace, "root": root}
            if action == "allow":
                participants.grant(self.engine, mnemonic, role, namespace, root)
                record_now(self.engine, now, actor, "permission-granted", detail)
            elif participants.revoke_grant(self.engine, mnemonic, role, namespace, root):
                record_now(self.engine, now, actor, "permission-withdrawn", detail)
            else:
                return "no such permission"
            return None
        if action == "revoke-key":
            try:
                access.revoke_key(self.engine, form.get("key", ""), actor, mnemonic=mnemonic, now=now)
            except access.Denied as exc:
                return exc.message
            return None
        if action == "remove-webhook":
            value = form.get("subscription", "")
            if not value.isdigit() or not webhooks.remove_subscription(self.engine, int(value), now, actor,
                                                                       mnemonic=mnemonic):
                return f"no active subscription {value[:20]}"
            return None
        raise HttpError(404, "error.404")

    # -- validate ------------------------------------------------------------------------------

    def validate_form(self, request: "Request") -> dict:
        return {"report": None, "document": ""}

    def validate(self, request: "Request") -> dict:
        data = request.files.get("file") or request.form.get("document", "").encode("utf-8")
        if not data.strip():
            return {"report": None, "document": "", "empty": True, "status": 400}
        name = "file" if request.files.get("file") else "document"
        report = self.validator.validate(data, name)
        text = data.decode("utf-8", "replace")
        bad = {p.line for p in report.problems if p.line}
        lines = [(n, line, n in bad) for n, line in enumerate(text.splitlines() or [""], 1)]
        return {"report": report, "document": text if not request.files.get("file") else "",
                "lines": lines}

    # -- journal -------------------------------------------------------------------------------

    def journal(self, request: "Request", verify: bool = False) -> dict:
        page = self._page(request)
        direction = "ADM" if request.query.get("only") == "admin" else None
        total, entries = repo.journal_page(self.engine, page, PAGE_SIZE, direction)
        chain = None
        if verify:
            chain = repo.verify_journal(self.engine)
        return {"entries": entries, "total": total, "page": page,
                "pages": max(1, -(-total // PAGE_SIZE)), "chain": chain,
                "only_admin": direction is not None}
