"""One descriptor per business domain: its namespace, readable prefix, XSD, and root elements
(requests and answers). Defined here once; :mod:`envelopes.payloads.ns` derives ``PREFIXES`` and
``SCHEMA_FILES`` from them, and each gateway domain (``gateway/domains/<name>/__init__.py``) is
built on its descriptor. docs/payloads.md shows the same table.

The namespace URIs themselves are defined in :mod:`envelopes.ns` (never respelled here).
"""
from __future__ import annotations

import dataclasses
from types import MappingProxyType
from typing import Mapping

from envelopes.ns import DETAILS, LICENSING, POWER_OF_ATTORNEY, REGISTRATION, REPORT_BALANCE, REPORTING


@dataclasses.dataclass(frozen=True)
class DomainDescriptor:
    """A business domain's payloads. ``name`` is the gateway's name for the domain (its package
    in ``gateway/domains/`` and the ``domain`` of its applications)."""

    name: str
    namespace: str
    prefix: str  # readable prefix in XPaths of error reports and docs
    xsd: str  # file in xsd/
    requests: tuple[str, ...]  # roots a consumer sends (SendRequest)
    answers: tuple[str, ...]  # roots that answer them, the gateway's and providers'
    #: request root → the answer roots an external provider may send for it (SendResponse);
    #: any other root is IncorrectResponseContentType
    provider_answers: Mapping[str, frozenset[str]]

    def __post_init__(self):
        object.__setattr__(self, "provider_answers", MappingProxyType(dict(self.provider_answers)))
        if set(self.requests) & set(self.answers):
            raise ValueError(f"{self.name}: a root is both a request and an answer")
        for request, answers in self.provider_answers.items():
            if request not in self.requests or not answers <= set(self.answers):
                raise ValueError(f"{self.name}: {request} → {sorted(answers)} is not a request and its answers")

    @property
    def roots(self) -> tuple[str, ...]:
        """Every global element of the domain's XSD."""
        return self.requests + self.answers

    def qname(self, root: str) -> str:
        """Clark name ``{namespace}root`` of one of the domain's roots."""
        if root not in self.roots:
            raise KeyError(f"{root} is not a root of the {self.name} domain")
        return f"{{{self.namespace}}}{root}"


REGISTRATION_DOMAIN = DomainDescriptor(
    name="registration", namespace=REGISTRATION, prefix="reg", xsd="organisation-registration-1.0.xsd",
    requests=("OrganisationRegistrationRequest", "HeadConfirmationRequest", "OrganisationStatusChangeRequest"),
    answers=("RegistrationResult",),
    provider_answers={"OrganisationRegistrationRequest": frozenset({"RegistrationResult"}),
                      "HeadConfirmationRequest": frozenset({"RegistrationResult"}),
                      "OrganisationStatusChangeRequest": frozenset({"RegistrationResult"})},
)

REPORTING_DOMAIN = DomainDescriptor(
    name="reporting", namespace=REPORTING, prefix="rep", xsd="reporting-1.0.xsd",
    requests=("ReportSubmission",),
    answers=("ReportReceipt", "ReportRefusal", "ReportProcessed"),
    # the tax authority's later word on an accepted report
    provider_answers={"ReportSubmission": frozenset({"ReportProcessed", "ReportRefusal"})},
)

LICENSING_DOMAIN = DomainDescriptor(
    name="licensing", namespace=LICENSING, prefix="lic", xsd="licensing-1.0.xsd",
    requests=("LicenceApplication", "LicenceApplicationSupplement", "LicenceApplicationWithdrawal"),
    answers=("MissingDocumentsChecklist", "LicenceApplicationStatus", "LicenceDecision"),
    # the licensing authority's status (under review) and decision
    provider_answers={"LicenceApplication": frozenset({"LicenceDecision", "LicenceApplicationStatus"})},
)

POA_DOMAIN = DomainDescriptor(
    name="poa", namespace=POWER_OF_ATTORNEY, prefix="poa", xsd="power-of-attorney-1.0.xsd",
    requests=("PowerOfAttorneyRegistration", "PowerOfAttorneyRevocation"),
    answers=("PowerOfAttorneyRegistered", "PowerOfAttorneyRejected", "PowerOfAttorneyResult"),
    provider_answers={"PowerOfAttorneyRegistration": frozenset({"PowerOfAttorneyRegistered",
                                                                "PowerOfAttorneyRejected"}),
                      "PowerOfAttorneyRevocation": frozenset({"PowerOfAttorneyResult"})},
)

DETAILS_DOMAIN = DomainDescriptor(
    name="details", namespace=DETAILS, prefix="det", xsd="organisation-details-1.0.xsd",
    requests=("DetailsChangeRequest", "DetailsChangeConfirmation"),
    answers=("DetailsChangeResult",),
    provider_answers={"DetailsChangeRequest": frozenset({"DetailsChangeResult"}),
                      "DetailsChangeConfirmation": frozenset({"DetailsChangeResult"})},
)

#: the five domains, by name
DOMAINS: Mapping[str, DomainDescriptor] = MappingProxyType(
    {d.name: d for d in (REGISTRATION_DOMAIN, REPORTING_DOMAIN, LICENSING_DOMAIN, POA_DOMAIN,
                         DETAILS_DOMAIN)})


@dataclasses.dataclass(frozen=True)
class ReportKind:
    """A report kind: the root element of its content (inside ``ReportSubmission/Content``), in
    its own namespace, and the XSD (in xsd/) that defines it."""

    code: str
    namespace: str
    prefix: str
    root: str
    xsd: str


#: report kind code → kind
REPORT_KINDS: Mapping[str, ReportKind] = MappingProxyType(
    {"BALANCE": ReportKind("BALANCE", REPORT_BALANCE, "bal", "Balance", "report-balance-1.0.xsd")})
