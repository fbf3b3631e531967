"""The verifier the validator uses: the gateway's own trust anchors (its data dir) or others."""
from __future__ import annotations

from pathlib import Path

from cryptography import x509

from gateway import faults
from gateway.config import Settings
from gateway.pipeline.verify import Verifier
from signing.chain import ChainValidator, RevocationMode


def _certificates(path: Path) -> list[x509.Certificate]:
    if not path.exists():
        return []
    files = sorted(path.glob("*.pem")) if path.is_dir() else [path]
    certs: list[x509.Certificate] = []
    for file in files:
        certs.extend(x509.load_pem_x509_certificates(file.read_bytes()))
    return certs


def verifier(settings: Settings, anchors: Path | None = None,
             revocation: str | None = None) -> Verifier:
    """A verifier with the certificate path: ``anchors`` (a PEM file or a folder of them), else
    ``trust/anchors`` and ``trust/intermediates`` of the gateway's data dir. Raises
    FileNotFoundError when there are no anchors."""
    found = _certificates(anchors) if anchors else _certificates(settings.trust_dir / "anchors")
    if not found:
        raise FileNotFoundError(f"no trust anchors in {anchors or settings.trust_dir / 'anchors'}")
    intermediates = settings.trust_dir / "intermediates"
    chain = ChainValidator(found, _certificates(intermediates) if intermediates.is_dir() else [],
                           revocation=RevocationMode(revocation or settings.revocation),
                           fetch_timeout=settings.revocation_timeout)
    return Verifier(chain)


class LazyVerifier:
    """Builds the verifier on the first signed document, so that checking unsigned payloads
    needs no trust anchors; without anchors every signed document gets ``NO_TRUST_ANCHORS``."""

    def __init__(self, settings: Settings, anchors: Path | None = None, revocation: str | None = None):
        self._args = (settings, anchors, revocation)
        self._verifier: Verifier | None = None
        self._missing: str | None = None

    def verify(self, signature, target, **kwargs):
        if self._verifier is None and self._missing is None:
            try:
                self._verifier = verifier(*self._args)
            except FileNotFoundError as exc:
                self._missing = str(exc)
        if self._verifier is None:
            raise faults.SignatureVerificationFault(
                f"the certificate path cannot be checked: {self._missing} (give --anchors, or "
                "--no-trust to check the signature alone)", code="NO_TRUST_ANCHORS")
        return self._verifier.verify(signature, target, **kwargs)
