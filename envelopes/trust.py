"""Whom the SDK believes: the gateway's signing identity, pinned, and the anchors it chains to.

Why: a valid XMLDSig signature only proves that *someone* holding the key in KeyInfo signed the
receipt. Without a pin, anyone can change a receipt's Status and re-sign it with a fresh
self-signed key. :class:`GatewayTrust` is the caller's configuration of the one gateway it talks
to; :meth:`GatewayTrust.check` accepts a receipt signature only when it verifies under the
algorithm policy, its certificate is the pinned one (by SHA-256 fingerprint) or carries the
pinned subject, and that certificate chains to the anchors (with revocation).
"""
from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path
from typing import Iterable

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from lxml import etree

from signing.algorithms import DEFAULT_POLICY, AlgorithmPolicy
from signing.chain import ChainValidator, RevocationMode
from signing.errors import SignatureError
from signing.xmldsig import VerifiedSignature, verify_detached


class UntrustedReceipt(Exception):
    """The receipt is unsigned, its signature does not verify, or its signer is not the
    configured gateway; ``reason`` says which, in plain words."""

    def __init__(self, reason: str):
        super().__init__(f"untrusted receipt: {reason}")
        self.reason = reason


def _fingerprint(cert: x509.Certificate) -> bytes:
    return cert.fingerprint(hashes.SHA256())


def _subject_text(name: x509.Name | str) -> str:
    """One spelling per name, so ``CN=A,O=B`` and an x509.Name of the same RDNs compare equal."""
    if isinstance(name, str):
        name = x509.Name.from_rfc4514_string(name)
    return name.rfc4514_string()


def _load_pems(paths: Iterable[Path | str]) -> tuple[x509.Certificate, ...]:
    """Every certificate of the given PEM files, or of the ``*.pem`` files of given folders."""
    certs: list[x509.Certificate] = []
    for path in map(Path, paths):
        files = sorted(path.glob("*.pem")) if path.is_dir() else [path]
        for file in files:
            certs.extend(x509.load_pem_x509_certificates(file.read_bytes()))
    return tuple(certs)


@dataclasses.dataclass(frozen=True)
class GatewayTrust:
    """The frozen trust configuration of one gateway (see the module docstring).

    ``gateway_certificate`` pins the exact certificate; ``gateway_subject`` (RFC 4514 or an
    ``x509.Name``) pins the name and so survives a certificate renewal by the same CA. At least
    one is required. ``revocation`` defaults to hard-fail, like the gateway's own check of its
    clients (docs/trust.md): a revoked gateway key must not keep producing believable receipts.
    """

    anchors: tuple[x509.Certificate, ...]
    gateway_certificate: x509.Certificate | None = None
    gateway_subject: x509.Name | str | None = None
    policy: AlgorithmPolicy = DEFAULT_POLICY
    intermediates: tuple[x509.Certificate, ...] = ()
    revocation: RevocationMode | str = RevocationMode.HARD_FAIL
    fetch_timeout: float = 3.0
    _validator: ChainValidator = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        anchors, intermediates = tuple(self.anchors), tuple(self.intermediates)
        if not anchors:
            raise ValueError("GatewayTrust needs at least one trust anchor")
        if self.gateway_certificate is None and self.gateway_subject is None:
            raise ValueError("GatewayTrust needs the gateway's certificate or its subject: "
                             "anchors alone would trust any certificate they issued")
        object.__setattr__(self, "anchors", anchors)
        object.__setattr__(self, "intermediates", intermediates)
        object.__setattr__(self, "revocation", RevocationMode(self.revocation))
        if self.gateway_subject is not None:
            object.__setattr__(self, "gateway_subject", _subject_text(self.gateway_subject))
        object.__setattr__(self, "_validator", ChainValidator(
            anchors, intermediates, revocation=self.revocation, fetch_timeout=self.fetch_timeout))

    @classmethod
    def from_files(cls, anchors: Path | str | Iterable[Path | str], *,
                   gateway_certificate: Path | str | None = None,
                   gateway_subject: str | None = None,
                   intermediates: Iterable[Path | str] = (),
                   policy: AlgorithmPolicy = DEFAULT_POLICY,
                   revocation: RevocationMode | str = RevocationMode.HARD_FAIL,
                   fetch_timeout: float = 3.0) -> "GatewayTrust":
        """From PEM files or folders of ``*.pem``; ``gateway_certificate``: the first
        certificate of that PEM file is pinned (the gateway's ``gateway.pem`` as it is)."""
        if isinstance(anchors, (str, Path)):
            anchors = [anchors]
        pinned = None
        if gateway_certificate is not None:
            pinned = x509.load_pem_x509_certificates(Path(gateway_certificate).read_bytes())[0]
        return cls(_load_pems(anchors), pinned, gateway_subject, policy, _load_pems(intermediates),
                   revocation, fetch_timeout)

    def check(self, signature: etree._Element | None, target: etree._Element | None,
              *, at: datetime | None = None) -> VerifiedSignature:
        """Verify ``signature`` (a ds:Signature) over ``target`` (located by the caller) and
        decide whether its signer is the configured gateway. Raises :class:`UntrustedReceipt`."""
        if signature is None or target is None:
            raise UntrustedReceipt("the response holds no signed element with its SMEVSignature")
        try:
            verified = verify_detached(signature, target, policy=self.policy)
        except SignatureError as exc:
            raise UntrustedReceipt(f"the signature does not verify: {exc}") from exc
        signer = verified.certificate
        if self.gateway_certificate is not None:
            if _fingerprint(signer) != _fingerprint(self.gateway_certificate):
                raise UntrustedReceipt(f"signed by '{signer.subject.rfc4514_string()}', not by the "
                                       f"pinned gateway certificate")
        elif signer.subject.rfc4514_string() != self.gateway_subject:
            raise UntrustedReceipt(f"signed by '{signer.subject.rfc4514_string()}', not by the "
                                   f"gateway '{self.gateway_subject}'")
        verdict = self._validator.validate(signer, verified.extra_certificates, at=at)
        if not verdict.passed:
            raise UntrustedReceipt(f"the gateway certificate does not chain to the anchors: "
                                   f"{verdict.indication}/{verdict.sub_indication} "
                                   f"({verdict.certificate}: {verdict.detail})")
        return verified


__all__ = ["GatewayTrust", "UntrustedReceipt"]
