"""An operation is a named sequence of stages; this module runs one.

Each exchange operation (``gateway/exchange/<operation>.py``) declares its ``OPERATION``: the
element it answers, the element its caller signs, whether it may carry attachments, and its
stages in order. ``docs/protocol.md``'s order of checks is tested against these lists."""
from __future__ import annotations

import dataclasses
from typing import Callable

from gateway.pipeline.context import Context
from gateway.storage.group_commit import gate as commit_gate

#: a stage reads what earlier stages put into the context and adds its own part, or raises the
#: fault that ends the request, or sets ``ctx.answer`` to settle it early
Stage = Callable[[object, Context], None]

#: done by the dispatcher before the operation is known (every operation starts with them)
FIRST_STAGES = ("parse", "limits")


@dataclasses.dataclass(frozen=True)
class Operation:
    name: str  # e.g. "SendRequest"
    element: str  # Clark name of the request element in the SOAP body
    signed: str  # Clark name of the element the caller signs (a child of ``element``)
    stages: tuple[Stage, ...]
    attachments: bool = False  # may come as MTOM / carry AttachmentContentList
    #: ``not_replayed`` leaves the replay memory to the last stage, which writes it in the
    #: transaction of its effect (stages.remember_replay): a request without a timestamp (an
    #: Ack) cannot be signed anew, so it must never be remembered without its effect
    replay_with_effect: bool = False

    @property
    def stage_names(self) -> tuple[str, ...]:
        return FIRST_STAGES + tuple(stage.__name__ for stage in self.stages)


def run(services, ctx: Context):
    """Run ``ctx.operation``'s stages in order until one settles the request; its answer."""
    try:
        for stage in ctx.operation.stages:
            if not commit_gate.open:  # a SQLite commit under way goes first (group_commit._Gate)
                commit_gate.wait()
            stage(services, ctx)
            if ctx.answer is not None:
                return ctx.answer
    finally:
        for cleanup in reversed(ctx.cleanups):  # e.g. spooled files the commit did not keep
            cleanup()
    raise RuntimeError(f"{ctx.operation.name}: no stage answered")
