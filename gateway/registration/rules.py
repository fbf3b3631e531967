"""Field rules of the registration payload that need arithmetic (checksums)."""
from gateway.route import FieldRule
from gateway.validate import identifiers

FIELD_RULES = (
    FieldRule("ИНН юридического лица", ("p:INN",), identifiers.inn_legal_entity),
    FieldRule("ОГРН", ("p:OGRN",), identifiers.ogrn),
    FieldRule("ИНН руководителя", ("p:Head/p:INN",), identifiers.inn_person),
    FieldRule("расчётный счёт", ("p:BankDetails/p:Account", "p:BankDetails/p:BIK"),
              identifiers.settlement_account),
)

CONFIRMATION_RULES = (
    FieldRule("ИНН юридического лица", ("p:INN",), identifiers.inn_legal_entity),
    FieldRule("ОГРН", ("p:OGRN",), identifiers.ogrn),
    FieldRule("ИНН руководителя", ("p:HeadINN",), identifiers.inn_person),
)
