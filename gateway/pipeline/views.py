"""What handlers may read of the gateway's own records (read-only, before the transaction)."""
from __future__ import annotations

from envelopes import ns
from gateway.domains.statemachine import IllegalTransition
from gateway.pipeline.parse import parse_envelope
from gateway.storage import applications


def business_element(envelope: bytes):
    """The business element of a stored request, parsed with the gateway's hardened parser."""
    body = parse_envelope(envelope).body_child.getparent()     # soap:Body, never the Header
    content = next(body.iter(f"{{{ns.SMEV_BASIC}}}MessagePrimaryContent"))
    return [c for c in content if isinstance(c.tag, str)][0]


class Applications(applications.Applications):
    """Applications as handlers see them: with the business element that opened each one."""

    def payload_of(self, application: applications.Application):
        """The business element of the request that opened ``application`` (parsed with the
        gateway's hardened parser from the stored bytes), with its MessageID."""
        envelope, message_id = self.envelope_of(application)
        return business_element(envelope), message_id

    def payloads_moving(self, application: applications.Application, root_element: str) -> list:
        """The business elements of the requests with root ``root_element`` that moved
        ``application`` before this one, oldest first (hardened parse, as ``payload_of``)."""
        return [business_element(e) for e in self.envelopes_moving(application, root_element)]

    def answered(self, number: str, kind_prefix: str, message_id: str, noun: str) -> applications.Application:
        """The application a provider's answer names by ``number``, which must be the one the
        answered request (``message_id``) opened; else IllegalTransition, changing nothing.
        ``noun`` names it in the refusal ("licence application" → ``UNKNOWN_APPLICATION``)."""
        short = noun.rsplit(" ", 1)[-1]
        application = self.by_number(number)
        if application is None or not application.kind.startswith(kind_prefix):
            raise IllegalTransition(f"no {noun} {number}", code=f"UNKNOWN_{short.upper()}")
        if self.opened_by(application) != message_id:
            raise IllegalTransition(f"{short} {number} is not the request this answers",
                                    code=f"ANSWER_TO_ANOTHER_{short.upper()}")
        return application
