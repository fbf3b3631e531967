"""Domain 3: licence and permit applications (docs/domains.md)."""
from envelopes import ns
from gateway.domains.licensing.handler import (apply, authority_decision, authority_status, supplement,
                                       withdraw)
from gateway.domains.licensing.states import MACHINE
from gateway.domains.base import Domain

DOMAIN = Domain(
    name="licensing",
    namespace=ns.LICENSING,
    prefix="lic",
    xsd="licensing-1.0.xsd",
    machine=MACHINE,
    handlers={"LicenceApplication": apply, "LicenceApplicationSupplement": supplement,
              "LicenceApplicationWithdrawal": withdraw},
    response_roots={"LicenceApplication": frozenset({"LicenceDecision", "LicenceApplicationStatus"})},
    response_handlers={"LicenceDecision": authority_decision,
                       "LicenceApplicationStatus": authority_status},
)
