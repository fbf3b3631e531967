"""Stage 3: verify the caller's XMLDSig signature and the signer's certificate path.

The caller of :meth:`Verifier.verify` locates the signed element and the signature at their
FIXED places in the message; the verifier checks that the signature covers exactly that element
and hands it back. Everything after this stage reads only the returned element object.
"""
from __future__ import annotations

import dataclasses
from datetime import datetime

from cryptography import x509
from lxml import etree

from gateway.faults import SignatureVerificationFault
from signing.certificates import fingerprint
from signing.chain import ChainValidator, TrustVerdict
from signing.errors import SignatureError
from signing.identity import SignerIdentity, identity_of
from signing.xmldsig import VerifiedSignature, verify_detached


@dataclasses.dataclass(frozen=True)
class VerifiedCaller:
    element: etree._Element  # the signed element, as verified; the only one to read from now on
    signature: VerifiedSignature
    identity: SignerIdentity
    verdict: TrustVerdict

    def journal_detail(self) -> dict:
        """The verdict as journalled with the request (``gateway messages show`` prints it)."""
        return {"signature": "VALID", "signature_method": self.signature.signature_method,
                "digest_method": self.signature.digest_method,
                "certificate": self.identity.subject, "serial": self.identity.serial_number,
                "indication": self.verdict.indication,
                "sub_indication": self.verdict.sub_indication, "detail": self.verdict.detail,
                "path": path_subjects(self.verdict.path)}


_PATHS: dict[int, tuple[tuple, list[str]]] = {}  # id(path) -> (path, its subjects)


def path_subjects(path: tuple[x509.Certificate, ...]) -> list[str]:
    """The subjects of a certificate path, leaf first. Read once per path object: the chain
    validator hands the same verdict (and path tuple) back while it is cached, and hashing the
    certificates themselves would cost more (~50 µs a path) than reading the subjects once."""
    found = _PATHS.get(id(path))
    if found is not None and found[0] is path:
        return found[1]
    if len(_PATHS) >= 1000:
        _PATHS.clear()
    subjects = [c.subject.rfc4514_string() for c in path]
    _PATHS[id(path)] = (path, subjects)  # the reference keeps the id from being reused
    return subjects


class Verifier:
    def __init__(self, chain: ChainValidator, policy=None, identity_cache_size: int = 10_000):
        self.chain = chain
        self.policy = policy
        # Reading the subject attributes costs ~0.3 ms; a certificate's identity never changes.
        # Keyed by fingerprint: a certificate object hashes its whole parsed structure.
        self._identities: dict[str, SignerIdentity] = {}
        self._identity_cache_size = identity_cache_size

    def identity(self, cert: x509.Certificate) -> SignerIdentity:
        key = fingerprint(cert)
        found = self._identities.get(key)
        if found is None:
            if len(self._identities) >= self._identity_cache_size:
                self._identities.clear()
            found = self._identities[key] = identity_of(cert)
        return found

    def verify(self, signature: etree._Element | None, target: etree._Element,
               *, at: datetime | None = None) -> VerifiedCaller:
        if signature is None:
            raise SignatureVerificationFault("the message carries no signature at its place "
                                             "(CallerInformationSystemSignature/ds:Signature)",
                                             code="FORMAT_FAILURE")
        try:
            kwargs = {"policy": self.policy} if self.policy is not None else {}
            verified = verify_detached(signature, target, **kwargs)
        except SignatureError as exc:
            raise SignatureVerificationFault(f"TOTAL-FAILED/{exc.code}: {exc.message}",
                                             code=exc.code) from None
        except (ValueError, TypeError, UnicodeError, OverflowError) as exc:
            # the signature or a certificate holds bytes that do not decode: the sender's fault
            raise SignatureVerificationFault(f"TOTAL-FAILED/FORMAT_FAILURE: the signature or a "
                                             f"certificate does not decode ({type(exc).__name__})",
                                             code="FORMAT_FAILURE") from None
        if verified.element is not target:  # defence in depth against wrapping
            raise SignatureVerificationFault("the signature does not cover the processed element",
                                             code="REFERENCE_FAILURE")
        verdict = self.chain.validate(verified.certificate, verified.extra_certificates, at=at)
        if not verdict.passed:
            sub = f"/{verdict.sub_indication}" if verdict.sub_indication else ""
            raise SignatureVerificationFault(
                f"{verdict.indication}{sub}: certificate '{verdict.certificate}': {verdict.detail}",
                code=verdict.sub_indication or verdict.indication)
        try:
            identity = self.identity(verified.certificate)
        except (ValueError, TypeError, UnicodeError) as exc:
            raise SignatureVerificationFault(
                f"the signer's certificate subject does not decode ({type(exc).__name__})",
                code="FORMAT_FAILURE") from None
        return VerifiedCaller(target, verified, identity, verdict)
