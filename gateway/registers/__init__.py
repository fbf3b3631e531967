"""The gateway's client for the state registers (ЕГРЮЛ, ФНС persons, МЧД, licences).

HTTP with connect/read timeouts; idempotent GETs are retried with backoff on connection errors
and 5xx (urllib3 ``Retry``). Anything that leaves the answer unknown is ONE exception,
:class:`RegisterUnavailable`, which the pipeline turns into a retryable ``SMEVFailure`` before
anything is written. A 404 is an answer: ``None``. See ``docs/registers.md``.
"""
from gateway.registers.client import RegisterRejected, Registers, RegisterUnavailable
from gateway.registers.records import (Head, LegalEntity, Licence, MalformedRecord, Passport, Person,
                                       PowerOfAttorney, Principal, Representative)

__all__ = ["Head", "LegalEntity", "Licence", "MalformedRecord", "Passport", "Person",
           "PowerOfAttorney", "Principal", "RegisterRejected", "RegisterUnavailable", "Registers",
           "Representative"]
