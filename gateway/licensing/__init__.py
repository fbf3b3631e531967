"""Domain 3: licence and permit applications (DOMAIN.md §3)."""
from envelopes import ns
from gateway.licensing.handler import (apply, authority_decision, authority_status, supplement,
                                       withdraw)
from gateway.licensing.states import MACHINE
from gateway.route import Domain, FieldRule
from gateway.validate import identifiers

_INN = (FieldRule("ИНН организации", ("p:OrganisationINN",), identifiers.inn_legal_entity),)

DOMAIN = Domain(
    name="licensing",
    namespace=ns.LICENSING,
    prefix="lic",
    xsd="licensing-1.0.xsd",
    machine=MACHINE,
    handlers={"LicenceApplication": apply, "LicenceApplicationSupplement": supplement,
              "LicenceApplicationWithdrawal": withdraw},
    field_rules={"LicenceApplication": _INN, "LicenceApplicationSupplement": _INN,
                 "LicenceApplicationWithdrawal": _INN},
    response_roots={"LicenceApplication": frozenset({"LicenceDecision", "LicenceApplicationStatus"})},
    response_handlers={"LicenceDecision": authority_decision,
                       "LicenceApplicationStatus": authority_status},
)
