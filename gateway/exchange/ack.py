"""Ack: the recipient confirms a message it took. ``accepted="true"``: delivered, never again;
``accepted="false"`` (it rejected the gateway's signature): delivered again at once. An id that
was never delivered to the caller: ``TargetMessageIsNotFound``."""
from __future__ import annotations

import uuid

from sqlalchemy import select

from envelopes import ns
from gateway import faults
from gateway.exchange import delivery
from gateway.storage import queues
from gateway.pipeline.parse import ParsedEnvelope
from gateway.pipeline.dispatch import Services
from gateway.storage.db import write_transaction
from gateway.storage.schema import messages

T, B = ns.SMEV_TYPES, ns.SMEV_BASIC


def ack(svc: Services, envelope: ParsedEnvelope, raw: bytes) -> bytes:
    now = svc.clock()
    request = envelope.body_child
    svc.validate_operation(request, raw)
    caller = svc.verify_caller(request, ns.q(B, "AckTargetMessage"), now)
    target = caller.element
    message_id = (target.text or "").strip()
    accepted = target.get("accepted") in ("true", "1")
    with write_transaction(svc.engine) as conn:
        item = queues.acknowledge(conn, caller.system.mnemonic, message_id, accepted, now)
        if item is None:
            raise faults.TargetMessageIsNotFound(
                f"no message {message_id} was delivered to {caller.system.mnemonic}",
                code="TARGET_MESSAGE_IS_NOT_FOUND")
        if accepted and item.kind == "RESPONSE":
            _tell_provider(svc, conn, message_id, now)
        reply = delivery.wrap_operation("AckResponse", None)
        svc.journal(conn, now, caller, "Ack", raw, reply, message_id=message_id, accepted=accepted)
    return reply


def _tell_provider(svc: Services, conn, response_id: str, now) -> None:
    """An external provider learns through GetStatus that its answer was delivered."""
    row = conn.execute(select(messages.c.sender, messages.c.reference_message_id)
                       .where(messages.c.message_id == response_id)).first()
    if row is None:  # an answer written by a built-in handler: nobody to tell
        return
    queues.enqueue(conn, message_id=str(uuid.uuid1()), kind="STATUS", recipient=row.sender,
                   namespace_uri="", root_element="", now=now, related_message_id=response_id,
                   body=delivery.status_message(response_id, "responseIsDelivered",
                                                "the consumer acknowledged the answer", svc.signer))
