"""Schemathesis fuzzes the REST history API (docs/openapi.yaml) on the in-process WSGI app.

Cases come from the published OpenAPI document (as ``GET /api/v1/openapi.yaml`` serves it), with
positive and negative data, derandomized: the same cases every run. In ``make test`` a short
budget (FUZZ_API_EXAMPLES, 60 cases per operation); ``make fuzz`` raises it. Checks: no server
error, only documented status codes and content types, JSON bodies match their schemas.
"""
from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (content_type_conformance,
                                               response_schema_conformance,
                                               status_code_conformance)

from envelopes.demo_data import ROMASHKA

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


@pytest.fixture(scope="session")
def api_token(engine, make_corpus):
    """A key of ROMASHKA, whose history the corpus (tests/fuzz/conftest.py) has filled, for the
    history and the validator. Not ``webhooks:manage``: subscriptions to the random URLs the
    fuzzer makes up would send deliveries off this machine (and into the webhook tests)."""
    from gateway.http.access import issue_key

    make_corpus()
    return issue_key(engine, "ROMASHKA", ["history:read", "validate"], "fuzz")[1]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_rest_api_conforms_to_its_openapi_document(app, api_token, mode):
    # schemathesis' own pytest plugin (schema.parametrize) does not run on pytest 9 (it reads a
    # private attribute pytest removed), so the strategies are driven by hypothesis directly.
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.yaml", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations, "docs/openapi.yaml describes no operation"
    headers = {"Authorization": f"Bearer {api_token}"}
    calls = []

    for operation in operations:
        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=int(os.environ.get("FUZZ_API_EXAMPLES", "60")), derandomize=True,
                  deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case):
            # Half the cases ask for the token's own organisation, so filters, sorting and
            # paging run against its rows rather than stopping at 403.
            inn = (case.path_parameters or {}).get("inn")
            if isinstance(inn, str) and inn.isdigit() and len(inn) == 10 and int(inn[-1]) % 2 == 0:
                case.path_parameters["inn"] = ROMASHKA.inn
            calls.append(case.call_and_validate(headers=headers, checks=CHECKS).status_code)

        check()
    print(f"\nschemathesis {mode}: {len(calls)} calls, statuses {sorted(set(calls))}")
    assert calls
