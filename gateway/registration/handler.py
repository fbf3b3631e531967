"""Handler: a registration request opens an application in state ``received``.

Checking the fields against the legal-entity register (received → verified/rejected) and the
head's confirmation come with the registers (services issue).
"""
from envelopes import ns
from gateway.registration.states import MACHINE
from gateway.route import Decision, HandlerContext


def register_organisation(ctx: HandlerContext) -> Decision:
    inn = ctx.payload.findtext(ns.q(ns.REGISTRATION, "INN"))
    return Decision(kind="organisation-registration", organisation_inn=inn,
                    state=MACHINE.next(None, "submit"))
