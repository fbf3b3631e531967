"""The seven operations, by the element of the SOAP body that names each."""
from __future__ import annotations

from gateway.exchange import ack, send_request, send_response, take
from gateway.pipeline.sequence import Operation

ALL: tuple[Operation, ...] = (send_request.OPERATION, send_response.OPERATION, take.GET_REQUEST,
                              take.GET_RESPONSE, ack.OPERATION, take.GET_STATUS,
                              take.GET_INCOMING_QUEUE_STATISTICS)


def operations() -> dict[str, Operation]:
    """Operation element (Clark name) -> its :class:`Operation`."""
    return {op.element: op for op in ALL}
