"""The seven SOAP operations, by the element of the SOAP body that names each, and the REST
fronts of SendRequest, GetResponse and Ack (``/api/v1/messages``, ``/responses``, ``/acks``),
which no SOAP body can reach."""
from __future__ import annotations

from gateway.exchange import ack, rest_request, send_request, send_response, take
from gateway.pipeline.sequence import Operation

SOAP: tuple[Operation, ...] = (send_request.OPERATION, send_response.OPERATION, take.GET_REQUEST,
                               take.GET_RESPONSE, ack.OPERATION, take.GET_STATUS,
                               take.GET_INCOMING_QUEUE_STATISTICS)
#: every operation with its stages (docs/protocol.md lists each)
ALL: tuple[Operation, ...] = SOAP + tuple(rest_request.OPERATIONS.values())


def operations() -> dict[str, Operation]:
    """SOAP operation element (Clark name) -> its :class:`Operation`."""
    return {op.element: op for op in SOAP}
