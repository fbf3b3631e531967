"""Domain 2: reporting (DOMAIN.md §2)."""
from envelopes import ns
from gateway.reporting.handler import submit
from gateway.reporting.states import MACHINE
from gateway.route import Domain, FieldRule
from gateway.validate import identifiers

DOMAIN = Domain(
    name="reporting",
    namespace=ns.REPORTING,
    prefix="rep",
    xsd="reporting-1.0.xsd",
    machine=MACHINE,
    handlers={"ReportSubmission": submit},
    field_rules={"ReportSubmission": (
        FieldRule("ИНН организации", ("p:OrganisationINN",), identifiers.inn_legal_entity),)},
    response_roots={"ReportSubmission": frozenset({"ReportReceipt", "ReportRefusal"})},
)
