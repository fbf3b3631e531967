"""Domain 5: change of an organisation's details, изменение реквизитов (docs/domains.md)."""
from envelopes.payloads.descriptors import DETAILS_DOMAIN
from gateway.domains.base import Domain
from gateway.domains.details.handler import confirm_change, request_change
from gateway.domains.details.states import MACHINE

DOMAIN = Domain(
    DETAILS_DOMAIN, MACHINE,
    handlers={"DetailsChangeRequest": request_change, "DetailsChangeConfirmation": confirm_change},
)
