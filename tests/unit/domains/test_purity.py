"""What makes the handler tests proofs of purity: the registers they get refuse every method of
Registers but the reads, and the domains wing keeps no mutable state and asks no clock of its own."""
from __future__ import annotations

import functools
import importlib
import pkgutil
import re
import types
from datetime import date
from pathlib import Path

import pytest

import gateway.domains
from envelopes.payloads.descriptors import DomainDescriptor
from gateway.domains.base import Domain, RegisterWrite
from gateway.domains.statemachine import StateMachine
from handler_kit import READS, WRITES, ReadOnlyRegisters, carry_out

DOMAINS_DIR = Path(gateway.domains.__file__).parent


def test_every_register_method_but_the_reads_is_refused():
    assert {"register_power_of_attorney", "revoke_power_of_attorney", "enter_licence"} <= WRITES
    registers = ReadOnlyRegisters()
    for name in sorted(WRITES):
        with pytest.raises(AssertionError, match=f"Registers.{name}"):
            getattr(registers, name)()
    assert registers.refused == sorted(WRITES)
    assert {name for name in READS if callable(getattr(registers, name))} == READS


def test_a_named_write_must_fit_the_clients_method():
    registers = ReadOnlyRegisters()
    with pytest.raises(TypeError):
        carry_out(registers, [RegisterWrite("revoke_power_of_attorney", {"number": "x", "on": "2030-01-01"})])


def _modules():
    yield gateway.domains
    for info in pkgutil.walk_packages(gateway.domains.__path__, "gateway.domains."):
        yield importlib.import_module(info.name)


#: what a module of the domains wing may hold; a cached function (functools.cache) counts as a
#: function: it caches read-only data files (licence_kinds())
IMMUTABLE = (types.ModuleType, types.FunctionType, type(functools.cache(len)), type, str, int, float, bool,
             type(None), tuple, frozenset, types.MappingProxyType, StateMachine, Domain, DomainDescriptor, date)


@pytest.mark.parametrize("module", list(_modules()), ids=lambda m: m.__name__)
def test_no_module_of_the_domains_wing_keeps_mutable_state(module):
    for name, value in vars(module).items():
        if name.startswith("__") or type(value).__module__ in ("typing", "__future__"):
            continue
        assert isinstance(value, IMMUTABLE), f"{module.__name__}.{name} is a {type(value).__name__}"
    for value in vars(module).values():
        if isinstance(value, StateMachine):
            assert isinstance(value.table, types.MappingProxyType)
        if isinstance(value, Domain):
            assert isinstance(value.handlers, types.MappingProxyType)
            assert isinstance(value.response_handlers, types.MappingProxyType)


def test_no_handler_asks_the_system_clock():
    clock = re.compile(r"\b(date\.today|datetime\.(now|utcnow|today)|time\.time)\s*\(")
    for path in DOMAINS_DIR.rglob("*.py"):
        code = "\n".join(line.split("#")[0] for line in path.read_text(encoding="utf-8").splitlines())
        code = re.sub(r'""".*?"""|``[^`]*``', "", code, flags=re.S)
        assert not clock.search(code), path
