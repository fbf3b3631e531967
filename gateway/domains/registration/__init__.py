"""Domain 1: organisation and head registration (docs/domains.md)."""
from envelopes.payloads.descriptors import REGISTRATION_DOMAIN
from gateway.domains.base import Domain
from gateway.domains.registration.handler import change_status, confirm_head, register_organisation
from gateway.domains.registration.states import MACHINE

DOMAIN = Domain(
    REGISTRATION_DOMAIN, MACHINE,
    handlers={"OrganisationRegistrationRequest": register_organisation,
              "HeadConfirmationRequest": confirm_head,
              "OrganisationStatusChangeRequest": change_status},
)
