"""Domain 2: reporting (docs/domains.md)."""
from envelopes.payloads.descriptors import REPORTING_DOMAIN
from gateway.domains.base import Domain
from gateway.domains.reporting.handler import provider_processed, provider_refused, submit
from gateway.domains.reporting.states import MACHINE

DOMAIN = Domain(
    REPORTING_DOMAIN, MACHINE,
    handlers={"ReportSubmission": submit},
    # the tax authority's later word on an accepted report (SendResponse)
    response_handlers={"ReportProcessed": provider_processed, "ReportRefusal": provider_refused},
)
