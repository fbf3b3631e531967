"""What the handler tests (tests/unit/domains/) call handlers with, as pure functions: a fixed
clock, registers seeded from the stubs' fixtures that can only be read (every other method of
``Registers`` raises, and any attempt is also recorded and fails the test at teardown),
applications held in memory, and payloads built with the codecs. No database, no HTTP, no
system clock."""
from __future__ import annotations

import copy
import dataclasses
import inspect
import io
import json
import uuid
from datetime import datetime, timezone
from urllib.parse import unquote_to_bytes, urlsplit

import requests
from lxml import etree
from requests.structures import CaseInsensitiveDict

from envelopes.payloads import codec
from gateway.domains.statemachine import IllegalTransition
from gateway.pipeline.validate import SchemaSet
from gateway.registers import Registers
from gateway.registers import outbox
from gateway.registers.records import Licence, LegalEntity, Person, PowerOfAttorney
from gateway.storage.applications import Application
from registry_stubs.register_store import InvalidInput, RegisterStore
from registry_stubs.registers import RegistersApp
from signing.identity import SignerIdentity

#: the injected clock: years away from the real date, so a handler asking the system clock
#: instead would decide differently (deadlines, validity)
NOW = datetime(2030, 3, 14, 9, 30, tzinfo=timezone.utc)
MESSAGE_ID = "3b241101-e2bb-4255-8caf-4136c566a962"

#: the methods of Registers a handler may call
READS = frozenset({"legal_entity", "legal_entity_by_ogrn", "person", "power_of_attorney",
                   "powers_of_attorney", "licence", "licences"})


class ReadOnlyRegisters:
    """The registers' stub store (seeded from its fixtures), read like
    :class:`gateway.registers.Registers` reads it: typed records, None for a key that cannot
    exist. Every other public method of Registers (the writes, ``close``) is refused. Tests
    carry a decision's writes out (:func:`carry_out`) through ``writer``, the real client talking
    to the stub's WSGI app over this store in process, so the stub's own checks judge what a
    handler asked for."""

    def __init__(self):
        self.store = RegisterStore()
        self.refused: list[str] = []  # what a handler tried to call besides reading
        self.writer = Registers(IN_PROCESS)
        self.writer.session.mount(IN_PROCESS, InProcessAdapter(RegistersApp(self.store)))

    def _one(self, parse, find, *key):
        try:
            found = find(*key)
        except InvalidInput:
            return None
        return parse(found) if found is not None else None

    # the reads, as Registers answers them
    def legal_entity(self, inn: str):
        return self._one(LegalEntity.from_json, self.store.legal_entity, inn)

    def legal_entity_by_ogrn(self, ogrn: str):
        found = self._one(list, self.store.legal_entities_by_ogrn, ogrn)
        return LegalEntity.from_json(found[0]) if found else None

    def person(self, inn: str):
        return self._one(Person.from_json, self.store.person, inn)

    def power_of_attorney(self, number: str):
        return self._one(PowerOfAttorney.from_json, self.store.power_of_attorney, number)

    def powers_of_attorney(self, *, principal_inn=None, representative_inn=None):
        found = self._one(list, self.store.powers_of_attorney, principal_inn, representative_inn)
        return [PowerOfAttorney.from_json(p) for p in found or ()]

    def licence(self, number: str):
        return self._one(Licence.from_json, self.store.licence, number)

    def licences(self, holder_inn: str):
        return [Licence.from_json(lic) for lic in self._one(list, self.store.licences, holder_inn) or ()]


def carry_out(registers: ReadOnlyRegisters, writes) -> None:
    """Carry ``writes`` (RegisterWrite items) out as the outbox will: the stored (JSON) arguments,
    through the outbox's own :func:`gateway.registers.outbox.carry_out` and the real client, to the
    stub's app; a register's refusal or a conflict raises."""
    for w in writes:
        inspect.signature(getattr(Registers, w.action)).bind(None, **w.args)  # the client's own call
        outbox.carry_out(registers.writer, w.action, json.loads(json.dumps(w.args)), str(uuid.uuid4()))


#: base URL of the in-process registers (never resolved: :class:`InProcessAdapter` answers it)
IN_PROCESS = "http://registers.in-process"


class InProcessAdapter(requests.adapters.BaseAdapter):
    """A requests transport handing each request to a WSGI app in this process (no socket)."""

    def __init__(self, app):
        super().__init__()
        self.app = app

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        url = urlsplit(request.url)
        body = request.body or b""
        body = body.encode("utf-8") if isinstance(body, str) else body
        environ = {"REQUEST_METHOD": request.method, "SCRIPT_NAME": "",
                   # PEP 3333: the path's bytes, as latin-1
                   "PATH_INFO": unquote_to_bytes(url.path).decode("latin-1"), "QUERY_STRING": url.query,
                   "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": request.headers.get("Content-Type", ""),
                   "SERVER_NAME": url.hostname or "", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
                   "wsgi.version": (1, 0), "wsgi.url_scheme": url.scheme, "wsgi.input": io.BytesIO(body),
                   "wsgi.errors": io.StringIO(), "wsgi.multithread": False, "wsgi.multiprocess": False,
                   "wsgi.run_once": False}
        for name, value in request.headers.items():
            if name.lower() not in ("content-type", "content-length"):
                environ["HTTP_" + name.upper().replace("-", "_")] = value
        started: dict = {}

        def start_response(status, headers, exc_info=None):
            started.update(status=status, headers=headers)

        content = b"".join(self.app(environ, start_response))
        response = requests.Response()
        response.status_code = int(started["status"].split(" ", 1)[0])
        response.reason = started["status"].split(" ", 1)[-1]
        response.headers = CaseInsensitiveDict(started["headers"])
        response.raw = io.BytesIO(content)
        response.url = request.url
        response.request = request
        return response

    def close(self):
        pass


def _refuse(name: str):
    def refused(self, *args, **kwargs):
        self.refused.append(name)
        raise AssertionError(f"a handler called Registers.{name}: handlers only read, writes are "
                             "RegisterWrite items of the decision")
    return refused


#: every public method of the real client that is not a read is refused, including any added later
WRITES = frozenset(name for name, _ in inspect.getmembers(Registers, inspect.isfunction)
                   if not name.startswith("_")) - READS
for _name in WRITES:
    setattr(ReadOnlyRegisters, _name, _refuse(_name))


class MemoryApplications:
    """What ``gateway.storage.applications.Applications`` reads, held in memory."""

    def __init__(self):
        self.items: list[tuple[Application, object, str]] = []  # application, its request, MessageID
        self.later: dict[int, list] = {}  # application id -> requests that moved it, in order

    def open(self, domain: str, kind: str, inn: str, state: str, request, *,
             message_id: str | None = None, number: str | None = None) -> Application:
        """An application opened earlier by ``request`` (a codec dataclass)."""
        application = Application(len(self.items) + 1, 100 + len(self.items), domain, kind, inn, state,
                                  number or f"20300101-{len(self.items) + 1:035d}")
        self.items.append((application, codec.build(request), message_id or str(uuid.uuid4())))
        return application

    def _find(self, application):
        return next(item for item in self.items if item[0].id == application.id)

    def by_number(self, number: str):
        return next((a for a, _, _ in self.items if a.registration_number == number), None)

    def of_kind(self, organisation_inn: str, kind_prefix: str):
        return [a for a, _, _ in self.items
                if a.organisation_inn == organisation_inn and a.kind.startswith(kind_prefix)]

    def payload_of(self, application):
        _, element, message_id = self._find(application)
        return copy.deepcopy(element), message_id

    def moved(self, application, request) -> None:
        """``request`` (a codec dataclass) moved ``application`` after it was opened."""
        self.later.setdefault(application.id, []).append(codec.build(request))

    def payloads_moving(self, application, root_element: str):
        return [copy.deepcopy(e) for e in self.later.get(application.id, [])
                if etree.QName(e).localname == root_element]

    def answered(self, number: str, kind_prefix: str, message_id: str, noun: str):
        short = noun.rsplit(" ", 1)[-1]
        application = self.by_number(number)
        if application is None or not application.kind.startswith(kind_prefix):
            raise IllegalTransition(f"no {noun} {number}", code=f"UNKNOWN_{short.upper()}")
        if self._find(application)[2] != message_id:
            raise IllegalTransition(f"{short} {number} is not the request this answers",
                                    code=f"ANSWER_TO_ANOTHER_{short.upper()}")
        return application


def signer(inn: str | None, inn_le: str | None = None) -> SignerIdentity:
    """Who signed: a person (``inn``), of an organisation (``inn_le``) when given."""
    return SignerIdentity(common_name="test", organization=None, title=None, inn=inn, inn_le=inn_le,
                          ogrn=None, snils=None, serial_number="01", issuer="CN=Test CA",
                          subject="CN=test", fingerprint_sha256="00" * 32)


def same_decision(a, b) -> bool:
    """Two decisions are the same, answer elements compared by their serialisation."""
    def plain(d):
        return dataclasses.replace(d, response=None), (
            etree.tostring(d.response, method="c14n") if d.response is not None else None)
    return plain(a) == plain(b)


SCHEMAS = SchemaSet()  # compiled once for the session, like the pipeline's
