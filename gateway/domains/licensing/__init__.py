"""Domain 3: licence and permit applications (docs/domains.md)."""
from envelopes.payloads.descriptors import LICENSING_DOMAIN
from gateway.domains.base import Domain
from gateway.domains.licensing.handler import (apply, authority_decision, authority_status, supplement,
                                               withdraw)
from gateway.domains.licensing.states import MACHINE

DOMAIN = Domain(
    LICENSING_DOMAIN, MACHINE,
    handlers={"LicenceApplication": apply, "LicenceApplicationSupplement": supplement,
              "LicenceApplicationWithdrawal": withdraw},
    # the licensing authority's answers (SendResponse)
    response_handlers={"LicenceDecision": authority_decision,
                       "LicenceApplicationStatus": authority_status},
)
