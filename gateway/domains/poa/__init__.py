"""Domain 4: powers of attorney, МЧД (docs/domains.md)."""
from envelopes import ns
from gateway.domains.poa.handler import register, revoke
from gateway.domains.poa.states import MACHINE
from gateway.domains.base import Domain

DOMAIN = Domain(
    name="poa",
    namespace=ns.POWER_OF_ATTORNEY,
    prefix="poa",
    xsd="power-of-attorney-1.0.xsd",
    machine=MACHINE,
    handlers={"PowerOfAttorneyRegistration": register, "PowerOfAttorneyRevocation": revoke},
    response_roots={"PowerOfAttorneyRegistration": frozenset({"PowerOfAttorneyRegistered",
                                                              "PowerOfAttorneyRejected"}),
                    "PowerOfAttorneyRevocation": frozenset({"PowerOfAttorneyResult"})},
)
