"""The SMEV message exchange: one module per operation, the queues, and what is delivered."""
from envelopes import ns


def operations() -> dict:
    """Operation element (Clark name) -> operation function ``(services, envelope, raw) -> bytes``.

    Imported lazily: the operations use the pipeline's shared stages.
    """
    from gateway.exchange.ack import ack
    from gateway.exchange.send_request import send_request
    from gateway.exchange.send_response import send_response
    from gateway.exchange.take import (get_incoming_queue_statistics, get_request, get_response,
                                       get_status)

    t = ns.SMEV_TYPES
    return {
        ns.q(t, "SendRequestRequest"): send_request,
        ns.q(t, "SendResponseRequest"): send_response,
        ns.q(t, "GetRequestRequest"): get_request,
        ns.q(t, "GetResponseRequest"): get_response,
        ns.q(t, "AckRequest"): ack,
        ns.q(t, "GetStatusRequest"): get_status,
        ns.q(t, "GetIncomingQueueStatisticsRequest"): get_incoming_queue_statistics,
    }
