"""Checksums of Russian identifiers: the rules live with their table in
envelopes/payloads/identifiers.py (one place for the SDK, the register stubs and the gateway);
re-exported here for the pipeline's ``identifiers.<rule>`` lookups."""
from envelopes.payloads.identifiers import (Check, control_digit_inn_le, inn_legal_entity,  # noqa: F401
                                            inn_person, ogrn, ogrnip, settlement_account, snils)
