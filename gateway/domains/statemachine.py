"""Explicit state machines: a transition table per domain, never scattered ifs."""
from __future__ import annotations

import dataclasses
from types import MappingProxyType
from typing import Mapping

from gateway.faults import GatewayFault


class IllegalTransition(GatewayFault):
    """The requested change is not allowed from the current state; nothing was changed."""

    element = "AccessDenied"
    default_code = "ILLEGAL_TRANSITION"


@dataclasses.dataclass(frozen=True)
class StateMachine:
    """``table[(state, event)] = next_state``; ``None`` as the state means "not yet created"."""

    name: str
    table: Mapping[tuple[str | None, str], str]

    def __post_init__(self):
        object.__setattr__(self, "table", MappingProxyType(dict(self.table)))  # shared: read-only

    def next(self, state: str | None, event: str) -> str:
        try:
            return self.table[(state, event)]
        except KeyError:
            allowed = sorted(e for (s, e) in self.table if s == state)
            raise IllegalTransition(
                f"{self.name}: '{event}' is not allowed in state '{state or 'new'}'"
                + (f"; allowed: {', '.join(allowed)}" if allowed else "; no event is allowed"),
            ) from None

    @property
    def states(self) -> frozenset[str]:
        return frozenset({s for (s, _e) in self.table if s} | set(self.table.values()))
