"""Domain 4: powers of attorney, МЧД (DOMAIN.md §4)."""
from envelopes import ns
from gateway.poa.handler import register, revoke
from gateway.poa.states import MACHINE
from gateway.route import Domain, FieldRule

from gateway.validate import identifiers

DOMAIN = Domain(
    name="poa",
    namespace=ns.POWER_OF_ATTORNEY,
    prefix="poa",
    xsd="power-of-attorney-1.0.xsd",
    machine=MACHINE,
    handlers={"PowerOfAttorneyRegistration": register, "PowerOfAttorneyRevocation": revoke},
    field_rules={
        "PowerOfAttorneyRegistration": (
            FieldRule("ИНН доверителя", ("p:Principal/p:INN",), identifiers.inn_legal_entity),
            FieldRule("ОГРН доверителя", ("p:Principal/p:OGRN",), identifiers.ogrn),
            FieldRule("ИНН руководителя", ("p:Principal/p:HeadINN",), identifiers.inn_person),
            FieldRule("ИНН представителя", ("p:Representative/p:INN",), identifiers.inn_person),
            FieldRule("СНИЛС представителя", ("p:Representative/p:SNILS",), identifiers.snils)),
        "PowerOfAttorneyRevocation": (
            FieldRule("ИНН доверителя", ("p:PrincipalINN",), identifiers.inn_legal_entity),),
    },
    response_roots={"PowerOfAttorneyRegistration": frozenset({"PowerOfAttorneyResult"}),
                    "PowerOfAttorneyRevocation": frozenset({"PowerOfAttorneyResult"})},
)
