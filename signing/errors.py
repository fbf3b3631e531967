"""Signature verification errors with stable, ETSI-flavoured codes.

One subclass per code so callers can catch narrowly, and one place (the gateway's fault mapping)
turns ``code`` into a ``SignatureVerificationFault``. ``message`` names the check that failed in
plain words; it never carries key material.
"""
from __future__ import annotations


class SignatureError(Exception):
    """Base of every signature failure; ``code`` is stable, ``message`` is for humans."""

    code = "FORMAT_FAILURE"

    def __init__(self, message: str):
        super().__init__(f"{self.code}: {message}")
        self.message = message


class FormatError(SignatureError):
    """The ds:Signature (or the signed content) is malformed or uses an unsupported construct."""

    code = "FORMAT_FAILURE"


class SmevTransformError(FormatError):
    """The SMEV transform cannot be applied (content the official SMEV 3 client cannot sign)."""


class HashError(SignatureError):
    """A reference's recomputed digest differs from its DigestValue: the content changed."""

    code = "HASH_FAILURE"


class SignatureCryptoError(SignatureError):
    """SignatureValue does not verify over SignedInfo with the signer's public key."""

    code = "SIG_CRYPTO_FAILURE"


class CryptoConstraintsError(SignatureError):
    """An algorithm, transform, key size or curve is not allowed by the policy."""

    code = "CRYPTO_CONSTRAINTS_FAILURE"


class ReferenceFailureError(SignatureError):
    """Wrong, missing, extra or ambiguous reference (the defence against signature wrapping)."""

    code = "REFERENCE_FAILURE"


class DuplicateIdError(ReferenceFailureError):
    """An Id value occurs more than once in the document."""


class NoSigningCertificateError(SignatureError):
    """KeyInfo carries no X.509 certificate of the signer."""

    code = "NO_SIGNING_CERTIFICATE_FOUND"


__all__ = [
    "SignatureError", "FormatError", "SmevTransformError", "HashError", "SignatureCryptoError",
    "CryptoConstraintsError", "ReferenceFailureError", "DuplicateIdError",
    "NoSigningCertificateError",
]
