"""The tax service's machine-readable power of attorney, format EMCHD_1 (xsd/emchd-1.xsd).

A document issued by a real system travels *as it is* inside a PowerOfAttorneyRegistration (its
principal's signature covers its bytes), so :func:`parse_emchd` reads it into a typed summary
and never rewrites it. :func:`build_emchd` makes new documents of the same shape (tests, demo).

The summary covers what this gateway acts on: a Russian organisation as principal
(``ТипДоверит=1``), the persons who act for it without a power of attorney (its heads), and
natural persons as representatives (``ТипПред=3``). Other principals and representatives are
valid EMCHD_1 but raise :class:`PayloadError` here, naming the field.
"""
from __future__ import annotations

import dataclasses
from datetime import date
from typing import Literal

from lxml import etree

from envelopes.payloads import _xml as x
from envelopes.payloads._declare import Codec, PayloadModule, Schema

E = "urn://x-artefacts/EMCHD_1"

#: XPaths (prefix ``e``) of an EMCHD_1 document embedded in a payload, of its Russian principal
#: and of its representative (identifiers and the power of attorney's terms are read under them)
EMCHD_DOC = "e:Доверенность/e:Документ/e:Довер"
EMCHD_ORG = EMCHD_DOC + "/e:СвДоверит/e:Доверит/e:РосОргДовер"
EMCHD_REP = EMCHD_DOC + "/e:СвУпПред/e:Пред"

Substitution = Literal["1", "2", "3"]  # none, once, successive


def file_id(created: date, number: str) -> str:
    """``ИдФайл``: ``ON_EMCHD_<yyyymmdd>_<НомДовер>``."""
    return f"ON_EMCHD_{created:%Y%m%d}_{number}"


def check_status_url(number: str) -> str:
    """``СведСист`` as the tax service's register writes it: where to check the status."""
    return f"https://m4d.nalog.gov.ru/emchd/check-status?guid={number}"


def snils_digits(snils: str) -> str:
    """``041-855-494 65`` → ``04185549465``."""
    return snils.replace("-", "").replace(" ", "")


@dataclasses.dataclass(frozen=True)
class IdentityDocument:
    code: str  # КодВидДок, 21 = passport of a Russian citizen
    series_number: str  # СерНомДок, e.g. "45 10 123456"
    issued_on: date
    issuer: str | None = None
    issuer_code: str | None = None  # КодВыдДок, e.g. "770-101"


@dataclasses.dataclass(frozen=True)
class Person:
    last_name: str
    first_name: str
    middle_name: str | None = None
    inn: str | None = None
    snils: str | None = None  # as written: "XXX-XXX-XXX YY" or 11 digits
    position: str | None = None
    birth_date: date | None = None
    citizenship: str | None = None  # ПрГражд: 1 Russian, 2 foreign, 3 stateless
    id_document: IdentityDocument | None = None


@dataclasses.dataclass(frozen=True)
class Organisation:
    name: str
    kpp: str
    inn: str | None = None
    ogrn: str | None = None
    region: str | None = None
    address: str | None = None


@dataclasses.dataclass(frozen=True)
class Power:
    code: str  # КодПолн: a code of the tax service's classifier of powers, or this gateway's
    name: str
    mnemonic: str | None = None


@dataclasses.dataclass(frozen=True)
class EmchdDocument:
    number: str  # НомДовер: the UUID under which the register knows it
    internal_number: str  # ВнНомДовер: the principal's own number
    issue_date: date
    valid_until: date
    principal: Organisation
    heads: tuple[Person, ...]  # who act for the principal without a power of attorney
    representatives: tuple[Person, ...]
    powers: tuple[Power, ...] = ()
    powers_text: str | None = None
    revocable: bool = True  # ВидДовер 1; 2 = irrevocable
    substitution: Substitution = "1"
    joint_powers: bool = False  # ПрСовмПолн 2: representatives act only together
    file_id: str | None = None  # None: derived from the issue date and the number
    form_flags: str = "00000000"
    system_info: str | None = None  # None: the register's status URL for the number
    notarial_number: str | None = None
    extra_id: str | None = None
    tax_office: str | None = None
    tax_file_id: str | None = None
    knd: str | None = None

    def __post_init__(self):
        # fill the derived defaults so that a built and re-parsed document compares equal
        if self.file_id is None:
            object.__setattr__(self, "file_id", file_id(self.issue_date, self.number))
        if self.system_info is None:
            object.__setattr__(self, "system_info", check_status_url(self.number))


# ----- build -----

def _set(element: etree._Element, **attributes: str | None) -> etree._Element:
    for name, value in attributes.items():
        if value is not None:
            element.set(name, value)
    return element


def _person(parent: etree._Element, tag: str, p: Person) -> None:
    holder = _set(x.sub(parent, tag), ИННФЛ=p.inn, СНИЛС=p.snils, Должность=p.position)
    details = _set(x.sub(holder, "СведФЛ"), ПрГражд=p.citizenship,
                   ДатаРожд=p.birth_date.isoformat() if p.birth_date else None)
    _set(x.sub(details, "ФИО"), Фамилия=p.last_name, Имя=p.first_name, Отчество=p.middle_name)
    if p.id_document is not None:
        d = p.id_document
        _set(x.sub(details, "УдЛичнФЛ"), КодВидДок=d.code, СерНомДок=d.series_number,
             ДатаДок=d.issued_on.isoformat(), ВыдДок=d.issuer, КодВыдДок=d.issuer_code)


def build_emchd(d: EmchdDocument) -> etree._Element:
    """A ``Доверенность`` element of format EMCHD_1."""
    if not d.heads or not d.representatives:
        raise x.PayloadError("ЛицоБезДов|СвУпПред", "a power of attorney needs a head and a representative")
    if not d.powers and d.powers_text is None:
        raise x.PayloadError("СвПолн", "a power of attorney grants machine-readable or text powers")
    root = _set(x.root(E, "Доверенность"), ВерсФорм="EMCHD_1", ПрЭлФорм=d.form_flags,
                ИдФайл=d.file_id, ИдФайлНО=d.tax_file_id)
    doc = _set(x.sub(root, "Документ"), КНД=d.knd)
    poa = x.sub(doc, "Довер")
    data = _set(x.sub(poa, "СвДов"), ВидДовер="1" if d.revocable else "2", ПрПередов=d.substitution,
                ВнНомДовер=d.internal_number, НомДовер=d.number, НомРНДДовер=d.notarial_number,
                ДопИдДовер=d.extra_id, ДатаВыдДовер=d.issue_date.isoformat(),
                СрокДейст=d.valid_until.isoformat(), КодНО=d.tax_office)
    x.sub(data, "СведСист", d.system_info)
    principal = _set(x.sub(poa, "СвДоверит"), ТипДоверит="1")
    org = _set(x.sub(x.sub(principal, "Доверит"), "РосОргДовер"), ЕИОУК="0", ЕИОФЛ="1", ЕИОИП="0")
    p = d.principal
    info = _set(x.sub(org, "СвРосОрг"), НаимОрг=p.name, ИННЮЛ=p.inn, КПП=p.kpp, ОГРН=p.ogrn)
    if p.region is not None:
        address = _set(x.sub(info, "АдрРег"), Регион=p.region)
        x.sub_opt(address, "АдрРФ", p.address)
    for head in d.heads:
        _person(_set(x.sub(org, "ЛицоБезДов"), ПолнЮЛ="1"), "СвФЛ", head)
    for rep in d.representatives:
        _person(x.sub(_set(x.sub(poa, "СвУпПред"), ТипПред="3"), "Пред"), "СведФизЛ", rep)
    powers = _set(x.sub(poa, "СвПолн"), ТипПолн="1" if d.powers else "0",
                  ПрСовмПолн="2" if d.joint_powers else "1")
    x.sub_opt(powers, "ТекстПолн", d.powers_text)
    for power in d.powers:
        _set(x.sub(powers, "МашПолн"), МнПолн=power.mnemonic, КодПолн=power.code, НаимПолн=power.name)
    return root


# ----- parse -----

def _date(element: etree._Element, name: str) -> date:
    return x.to_date(x.attr(element, name), name)


def _parse_person(holder: etree._Element) -> Person:
    details = x.need(holder, "СведФЛ")
    fields = x.Fields(details)
    name = fields.need("ФИО")
    document = fields.child("УдЛичнФЛ")
    birth = details.get("ДатаРожд")
    return Person(
        last_name=x.attr(name, "Фамилия"), first_name=x.attr(name, "Имя"),
        middle_name=name.get("Отчество"), inn=holder.get("ИННФЛ"), snils=holder.get("СНИЛС"),
        position=holder.get("Должность"),
        birth_date=None if birth is None else x.to_date(birth, "ДатаРожд"),
        citizenship=details.get("ПрГражд"),
        id_document=None if document is None else IdentityDocument(
            x.attr(document, "КодВидДок"), x.attr(document, "СерНомДок"), _date(document, "ДатаДок"),
            document.get("ВыдДок"), document.get("КодВыдДок")))


def _heads(org: x.Fields) -> tuple[Person, ...]:
    heads: list[Person] = []
    for acting in org.children("ЛицоБезДов"):
        for holder in acting:
            local = etree.QName(holder).localname
            if local == "СвФЛ":
                heads.append(_parse_person(holder))
            elif local == "СВЮЛ":  # a managing organisation: the persons acting for it
                heads.extend(_parse_person(p) for p in x.children(holder, "СвФЛ"))
            elif local == "СвИП":
                person = _parse_person(holder)
                heads.append(dataclasses.replace(person, inn=holder.get("ИННФЛ"), snils=holder.get("СНИЛС")))
    return tuple(heads)


def parse_emchd(element: etree._Element) -> EmchdDocument:
    """Read a ``Доверенность`` (already valid against xsd/emchd-1.xsd) into its summary."""
    x.expect_root(element, E, "Доверенность")
    document = x.need(element, "Документ")
    poa = x.child(document, "Довер")
    if poa is None:
        raise x.PayloadError("Документ/Передов", "substituted powers of attorney are not accepted")
    f = x.Fields(poa)
    data = f.need("СвДов")
    principals = f.children("СвДоверит")
    if len(principals) != 1 or principals[0].get("ТипДоверит") != "1":
        raise x.PayloadError("СвДоверит/@ТипДоверит",
                             "the principal must be one Russian organisation (ТипДоверит=1)")
    org = x.Fields(x.need(x.need(principals[0], "Доверит"), "РосОргДовер"))
    info = org.need("СвРосОрг")
    found = x.child(info, "АдрРег")
    address = None if found is None else x.Fields(found)
    representatives: list[Person] = []
    for wrapper in f.children("СвУпПред"):
        if wrapper.get("ТипПред") != "3":
            raise x.PayloadError("СвУпПред/@ТипПред", "representatives must be natural persons (ТипПред=3)")
        representatives.extend(_parse_person(p) for p in x.children(x.need(wrapper, "Пред"), "СведФизЛ"))
    powers = f.fields("СвПолн")
    return EmchdDocument(
        number=x.attr(data, "НомДовер"), internal_number=x.attr(data, "ВнНомДовер"),
        issue_date=_date(data, "ДатаВыдДовер"), valid_until=_date(data, "СрокДейст"),
        principal=Organisation(
            name=x.attr(info, "НаимОрг"), kpp=x.attr(info, "КПП"), inn=info.get("ИННЮЛ"),
            ogrn=info.get("ОГРН"),
            region=None if address is None else address.element.get("Регион"),
            address=None if address is None else (address.text_opt("АдрРФ")
                                                  or address.text_opt("ФИАСАдрРФ"))),
        heads=_heads(org), representatives=tuple(representatives),
        powers=tuple(Power(x.attr(p, "КодПолн"), x.attr(p, "НаимПолн"), p.get("МнПолн"))
                     for p in powers.children("МашПолн")),
        powers_text=powers.text_opt("ТекстПолн"),
        revocable=x.attr(data, "ВидДовер") == "1",
        substitution=x.attr(data, "ПрПередов"),  # type: ignore[arg-type]
        joint_powers=x.attr(powers.element, "ПрСовмПолн") == "2",
        file_id=x.attr(element, "ИдФайл"), form_flags=x.attr(element, "ПрЭлФорм"),
        system_info=x.text(data, "СведСист"), notarial_number=data.get("НомРНДДовер"),
        extra_id=data.get("ДопИдДовер"), tax_office=data.get("КодНО"),
        tax_file_id=element.get("ИдФайлНО"), knd=document.get("КНД"))


#: EMCHD_1 is no domain of its own: it travels inside the power of attorney domain's
#: registration, which declares its identifiers; its samples are hand-written (samples.py).
PAYLOADS = PayloadModule(
    schemas=(Schema("EMCHD", E, "e", "emchd-1.xsd"),),
    codecs=(Codec(EmchdDocument, f"{{{E}}}Доверенность", build_emchd, parse_emchd),),
)
