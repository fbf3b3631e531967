"""Ack: the recipient confirms a message it took. ``accepted="true"``: delivered, never again;
``accepted="false"`` (it rejected the gateway's signature): delivered again at once. An id that
was never delivered to the caller: ``TargetMessageIsNotFound``."""
from __future__ import annotations

from envelopes import ns
from gateway import faults
from gateway.exchange import delivery
from gateway.pipeline.identity import new_message_id
from gateway.pipeline import stages
from gateway.pipeline.context import Context
from gateway.pipeline.sequence import Operation
from gateway.storage import messages, queues
from gateway.storage.db import write_transaction

T, B = ns.SMEV_TYPES, ns.SMEV_BASIC


def acknowledge(svc, ctx: Context) -> None:
    """Mark the delivered message acknowledged (or due again at once), in the transaction that
    remembers this signed Ack (``replay_with_effect``). A message never delivered to the caller:
    ``TargetMessageIsNotFound`` and nothing is remembered. The Ack did nothing, and the same
    signed content is all its signer can send once the message is delivered (an Ack has no
    timestamp); remembered, the message could never be acknowledged."""
    target, me = ctx.data, ctx.caller.system.mnemonic
    message_id = (target.text or "").strip()
    accepted = target.get("accepted") in ("true", "1")
    with write_transaction(svc.engine) as conn:
        stages.remember_replay(conn, ctx)
        item = queues.acknowledge(conn, me, message_id, accepted, ctx.now)
        if item is None:  # raised inside: the transaction rolls the memory back
            raise faults.TargetMessageIsNotFound(f"no message {message_id} was delivered to {me}",
                                                 code="TARGET_MESSAGE_IS_NOT_FOUND")
        if accepted and item.kind == "RESPONSE":
            _tell_provider(svc, conn, message_id, ctx.now)
        reply = delivery.wrap_operation("AckResponse", None)
        stages.journal_exchange(conn, ctx, reply, message_id=message_id, accepted=accepted)
    ctx.answer = reply


def _tell_provider(svc, conn, response_id: str, now) -> None:
    """An external provider learns through GetStatus that its answer was delivered."""
    found = messages.sender_of(conn, response_id)
    if found is None:  # an answer written by a built-in handler: nobody to tell
        return
    queues.enqueue(conn, message_id=new_message_id(), kind="STATUS", recipient=found[0],
                   namespace_uri="", root_element="", now=now, related_message_id=response_id,
                   body=delivery.status_message(response_id, "responseIsDelivered",
                                                "the consumer acknowledged the answer", svc.signer))


OPERATION = Operation("Ack", ns.q(T, "AckRequest"), signed=ns.q(B, "AckTargetMessage"),
                      stages=(stages.known_signer, stages.envelope_xsd, stages.signature, stages.participant,
                              stages.not_replayed, acknowledge), replay_with_effect=True)
