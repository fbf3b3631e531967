"""Domain 1: organisation and head registration (docs/domains.md)."""
from envelopes import ns
from gateway.domains.registration.handler import change_status, confirm_head, register_organisation
from gateway.domains.registration.states import MACHINE
from gateway.domains.base import Domain

DOMAIN = Domain(
    name="registration",
    namespace=ns.REGISTRATION,
    prefix="reg",
    xsd="organisation-registration-1.0.xsd",
    machine=MACHINE,
    handlers={"OrganisationRegistrationRequest": register_organisation,
              "HeadConfirmationRequest": confirm_head,
              "OrganisationStatusChangeRequest": change_status},
    response_roots={"OrganisationRegistrationRequest": frozenset({"RegistrationResult"}),
                    "HeadConfirmationRequest": frozenset({"RegistrationResult"}),
                    "OrganisationStatusChangeRequest": frozenset({"RegistrationResult"})},
)
