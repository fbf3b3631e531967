"""Domain 2: reporting (docs/domains.md)."""
from envelopes import ns
from gateway.domains.reporting.handler import provider_processed, provider_refused, submit
from gateway.domains.reporting.states import MACHINE
from gateway.domains.base import Domain

DOMAIN = Domain(
    name="reporting",
    namespace=ns.REPORTING,
    prefix="rep",
    xsd="reporting-1.0.xsd",
    machine=MACHINE,
    handlers={"ReportSubmission": submit},
    # the tax authority's later word on an accepted report (SendResponse)
    response_roots={"ReportSubmission": frozenset({"ReportProcessed", "ReportRefusal"})},
    response_handlers={"ReportProcessed": provider_processed, "ReportRefusal": provider_refused},
)
