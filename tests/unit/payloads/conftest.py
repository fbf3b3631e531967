"""Shared helpers for the payload tests: the sample payloads (built once) and XML helpers."""
from __future__ import annotations

import copy

import pytest
from lxml import etree

from envelopes.payloads import samples


@pytest.fixture(scope="session")
def sample_payloads() -> dict:
    return samples.payloads()


@pytest.fixture(scope="session")
def sample_elements(sample_payloads) -> dict[str, etree._Element]:
    return {name: samples.element_for(name, payload) for name, payload in sample_payloads.items()}


@pytest.fixture
def fresh(sample_elements):
    """A deep copy of a sample element, free to mutate."""
    return lambda name: copy.deepcopy(sample_elements[name])
