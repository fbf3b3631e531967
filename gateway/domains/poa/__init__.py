"""Domain 4: powers of attorney, МЧД (docs/domains.md)."""
from envelopes.payloads.descriptors import POA_DOMAIN
from gateway.domains.base import Domain
from gateway.domains.poa.handler import register, revoke
from gateway.domains.poa.states import MACHINE

DOMAIN = Domain(
    POA_DOMAIN, MACHINE,
    handlers={"PowerOfAttorneyRegistration": register, "PowerOfAttorneyRevocation": revoke},
)
