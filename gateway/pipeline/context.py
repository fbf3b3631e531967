"""What one request carries from stage to stage: filled in order, read only after it is set."""
from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from lxml import etree

from envelopes.tree import Children
from gateway.pipeline.parse import ParsedEnvelope
from gateway.pipeline.verify import VerifiedCaller
from gateway.storage.participants import InformationSystem


@dataclasses.dataclass(frozen=True)
class Caller:
    """A verified caller: the signed element (the only one to read), who signed it, which IS."""

    verified: VerifiedCaller
    system: InformationSystem

    @property
    def element(self) -> etree._Element:
        return self.verified.element


@dataclasses.dataclass
class Context:
    """One request on its way through an operation's stages (see ``gateway/pipeline/sequence.py``).

    A stage that settles the request sets ``answer``; the sequence stops there (a repeated
    MessageID answered with its stored receipt, for instance)."""

    raw: bytes
    envelope: ParsedEnvelope
    now: datetime
    operation: Any  # gateway.pipeline.sequence.Operation
    mtom: Any = None  # the MTOM package the request came in, if any
    received: dict = dataclasses.field(default_factory=dict)  # attachment id -> spooled file
    verified: VerifiedCaller | None = None  # the signature stage's result
    caller: Caller | None = None  # ... and the participant stage's
    message_id: str | None = None  # as signed; canonical once the message checks have run
    digest: str | None = None  # SHA-256 of the signed element's exclusive c14n
    payload: etree._Element | None = None  # the business element (inside the signed element)
    person: Any = None  # SignerIdentity of a PersonalSignature over the payload
    person_not_after: datetime | None = None  # ... and when its certificate ends (notifications)
    domain: Any = None  # gateway.domains.base.Domain of the payload, if built in
    handler: Any = None  # its handler for this root element, if any
    providers: list[str] = dataclasses.field(default_factory=list)  # enabled external providers
    decision: Any = None  # gateway.domains.base.Decision
    original: Any = None  # SendResponse: gateway.storage.messages.Original being answered
    prepared: Any = None  # what the commit stage stores (operation-specific, typed there)
    answer: Any = None  # bytes | MtomAnswer: set by the stage that settles the request
    cleanups: list = dataclasses.field(default_factory=list)  # run when the request is done
    jws: Any = None  # REST: the parsed signing.jws.Jws the request came as
    jws_payload: bytes | None = None  # REST: its payload, once the signature verified
    replay: Any = None  # (key, expires): the replay memory the last stage writes with its effect
    #: ``data``'s children read once (:meth:`data_child`), with the element they are of
    _children: tuple = dataclasses.field(default=(None, None), repr=False, compare=False)

    @property
    def request(self) -> etree._Element:
        """The operation element (the SOAP body's child)."""
        return self.envelope.body_child

    @property
    def data(self) -> etree._Element:
        """The verified signed element: after the signature stage, the only one to read."""
        return self.caller.element

    def data_child(self, tag: str) -> etree._Element | None:
        """``child(self.data, tag)``: the stages and the commit read a dozen children of the
        signed element, so they are read once, in one pass (``envelopes.tree.Children``)."""
        return self._data_children().child(tag)

    def data_text(self, tag: str) -> str | None:
        """``child_text(self.data, tag)``, as :meth:`data_child` reads it."""
        return self._data_children().text(tag)

    def _data_children(self) -> Children:
        data = self.data
        element, children = self._children
        if element is not data:  # first use, or the REST front put in another element
            children = Children(data)
            self._children = (data, children)
        return children
