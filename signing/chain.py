"""Is the signer's certificate trusted? RFC 5280 path validation with revocation, as a verdict.

pyhanko-certvalidator does path building and validation (signatures, validity, basic
constraints, path length, name constraints, policies, CRL and OCSP processing); this module sets
its policies explicitly (its defaults soft-fail), adds the checks it leaves to the caller (the
signer's key usage and key size), maps the outcome to the ETSI EN 319 102-1 vocabulary, and
caches verdicts: a cold validation costs milliseconds plus network round trips, a cached one
must cost microseconds. See docs/trust.md for the policy choices.
"""
from __future__ import annotations

import asyncio
import dataclasses
import enum
import logging
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta, timezone

from asn1crypto import algos as asn1_algos
from asn1crypto import crl as asn1_crl
from asn1crypto import keys as asn1_keys
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator import errors as pkix_errors
from pyhanko_certvalidator.fetchers import CertificateFetcher, Fetchers
from pyhanko_certvalidator.fetchers.api import FetchLimits
from pyhanko_certvalidator.fetchers.common_utils import FetchBudget
from pyhanko_certvalidator.fetchers.requests_fetchers.crl_client import RequestsCRLFetcher
from pyhanko_certvalidator.fetchers.requests_fetchers.ocsp_client import RequestsOCSPFetcher
from pyhanko_certvalidator.policy_decl import (
    NO_REVOCATION,
    AlgorithmUsageConstraint,
    CertRevTrustPolicy,
    DisallowWeakAlgorithmsPolicy,
    RevocationCheckingPolicy,
    RevocationCheckingRule,
)
from pyhanko_certvalidator.registry import CertificateRegistry, SimpleTrustManager
from pyhanko_certvalidator.sig_validate import (DEFAULT_VALIDATION_CONTEXT,
                                                DefaultSignatureValidator,
                                                SignatureValidationContext)

from signing import gost
from signing.certificates import fingerprint
from signing.algorithms import DEFAULT_POLICY, AlgorithmPolicy
from signing.errors import CryptoConstraintsError

__all__ = ["ChainValidator", "RevocationMode", "TrustVerdict", "GostSignatureValidator",
           "TOTAL_PASSED", "TOTAL_FAILED", "INDETERMINATE"]

log = logging.getLogger(__name__)

TOTAL_PASSED = "TOTAL-PASSED"
TOTAL_FAILED = "TOTAL-FAILED"
INDETERMINATE = "INDETERMINATE"

_KEY_USAGE_NAMES = frozenset({"digital_signature", "content_commitment", "non_repudiation",
                              "key_encipherment", "data_encipherment", "key_agreement",
                              "key_cert_sign", "crl_sign", "encipher_only", "decipher_only"})
_KU_ALIASES = {"non_repudiation": "content_commitment"}


class RevocationMode(enum.Enum):
    HARD_FAIL = "hard-fail"   # CRL or OCSP required for every certificate in the path, and fresh
    SOFT_FAIL = "soft-fail"   # used when reachable; unreachable → passes with a warning in detail
    OFF = "off"               # no revocation checking at all


@dataclasses.dataclass(frozen=True)
class TrustVerdict:
    indication: str               # TOTAL-PASSED | TOTAL-FAILED | INDETERMINATE (ETSI EN 319 102-1)
    sub_indication: str | None    # REVOKED, EXPIRED, NOT_YET_VALID, NO_CERTIFICATE_CHAIN_FOUND, ...
    certificate: str              # RFC 4514 subject of the certificate that failed (leaf if passed)
    detail: str                   # human explanation (soft-fail warnings included)
    path: tuple[x509.Certificate, ...] = ()   # leaf first, trust anchor last (when one was built)

    @property
    def passed(self) -> bool:
        return self.indication == TOTAL_PASSED


@dataclasses.dataclass(frozen=True)
class _Window:
    subject: str
    not_before: datetime
    not_after: datetime


@dataclasses.dataclass(frozen=True)
class _Entry:
    """A verdict about *now* plus what is needed to judge another signing time cheaply."""
    verdict: TrustVerdict
    expires: datetime
    windows: tuple[_Window, ...]      # validity of every certificate of the path (or of the leaf)
    revinfo: tuple[tuple[bytes, ...], tuple[bytes, ...]] = ((), ())  # DER CRLs, OCSP responses used


def _cache_key(leaf: x509.Certificate, extra: Sequence[x509.Certificate]) -> tuple[str, ...]:
    """The verdict cache's key: the fingerprints of the leaf and of the certificates sent with
    it (a certificate object as a key would hash its parsed structure on every look-up)."""
    return (fingerprint(leaf), *map(fingerprint, extra))


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


def _window(cert: x509.Certificate) -> _Window:
    return _Window(cert.subject.rfc4514_string(), cert.not_valid_before_utc, cert.not_valid_after_utc)


# --------------------------------------------------------------------------- fetching
class _CrlCache:
    """CRLs shared by all validations, by URL, until min(nextUpdate, fetched + max_age)."""

    def __init__(self, clock: Callable[[], datetime], max_age: timedelta):
        self._clock, self._max_age = clock, max_age
        self._entries: dict[str, tuple[asn1_crl.CertificateList, datetime]] = {}
        self._lock = threading.Lock()

    def get(self, url: str) -> asn1_crl.CertificateList | None:
        entry = self._entries.get(url)
        if entry is None or self._clock() >= entry[1]:
            return None
        return entry[0]

    def put(self, url: str, crl: asn1_crl.CertificateList) -> None:
        now = self._clock()
        expires = now + self._max_age
        next_update = crl["tbs_cert_list"]["next_update"].native
        if next_update is not None:
            expires = min(expires, next_update)
        if expires > now:
            with self._lock:
                self._entries[url] = (crl, expires)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class _CachingCrlFetcher(RequestsCRLFetcher):
    def __init__(self, shared: _CrlCache, **kwargs):
        super().__init__(**kwargs)
        self._shared = shared

    async def _fetch_single(self, url):
        cached = self._shared.get(url)
        if cached is not None:
            async def hit():
                return cached
            return await self._perform_fetch(url, hit)
        result = await super()._fetch_single(url)
        self._shared.put(url, result)
        return result


class _NoCertificateFetcher(CertificateFetcher):
    """Issuer certificates are never fetched from URLs an unverified certificate names (SSRF):
    intermediates come from the message's KeyInfo and the configured store only."""

    async def _nothing(self):
        return
        yield  # pragma: no cover - makes this an async generator

    def fetch_cert_issuers(self, cert):
        return self._nothing()

    def fetch_crl_issuers(self, certificate_list):
        return self._nothing()

    def fetched_certs(self):
        return ()


class GostSignatureValidator(DefaultSignatureValidator):
    """pyhanko's signature check, plus GOST R 34.10-2012 (and 2001, which the algorithm policy
    refuses before it gets here) through signing.gost. Every signature pyhanko verifies --
    certificates, CRLs, OCSP responses -- passes through ``validate_signature``."""

    def validate_signature(self, signature: bytes, signed_data: bytes,
                           public_key_info: asn1_keys.PublicKeyInfo,
                           signature_algorithm: asn1_algos.SignedDigestAlgorithm,
                           context: SignatureValidationContext = DEFAULT_VALIDATION_CONTEXT):
        oid = signature_algorithm["algorithm"].dotted
        known = gost.SIGNATURE_OIDS.get(oid) or gost.LEGACY_SIGNATURE_OIDS.get(oid)
        if known is None:
            return super().validate_signature(signature, signed_data, public_key_info,
                                              signature_algorithm, context)
        key_oid, digest_name = known
        spki = public_key_info.dump()
        try:
            key = gost.public_key_info(spki)
        except ValueError as exc:
            raise InvalidSignature(f"a GOST signature with a non-GOST issuer key: {exc}") \
                from None
        if key.algorithm_oid != key_oid:
            raise InvalidSignature(f"signature algorithm {oid} does not fit the issuer's key "
                                   f"algorithm {key.algorithm_oid}")
        if context.prehashed:
            raise InvalidSignature("pre-hashed GOST signatures are not supported")
        gost.verify(spki, signature, signed_data, digest_name)


_GOST_SIGNATURE_VALIDATOR = GostSignatureValidator()


def _signature_family(algo: asn1_algos.SignedDigestAlgorithm) -> str:
    """rsa / ec / gost2012 / gost2001 / other, for the algorithm profile."""
    oid = algo["algorithm"].dotted
    if oid in gost.SIGNATURE_OIDS:
        return "gost2012"
    if oid in gost.LEGACY_SIGNATURE_OIDS:
        return "gost2001"
    try:
        name = algo.signature_algo
    except ValueError:
        return "other"
    return {"rsassa_pkcs1v15": "rsa", "rsassa_pss": "rsa", "ecdsa": "ec"}.get(name, "other")


def _key_family(algorithm: str) -> str:
    if algorithm in ("rsa", "rsassa_pss"):
        return "rsa"
    if algorithm == "ec":
        return "ec"
    if algorithm in gost.KEY_OIDS:
        return "gost2012"
    return "gost2001" if algorithm in gost.LEGACY_KEY_OIDS else "other"


class _ProfileAlgorithms(DisallowWeakAlgorithmsPolicy):
    """pyhanko's weak-algorithm policy plus the algorithm profile (signing.algorithms.PROFILES):
    a certificate, CRL or OCSP signature of a family the profile leaves out is refused like a
    weak one (CRYPTO_CONSTRAINTS_FAILURE), its reason naming the profile."""

    def __init__(self, profile: AlgorithmPolicy, **kwargs):
        super().__init__(**kwargs)
        self._profile = profile

    def signature_algorithm_allowed(self, algo, moment, public_key):
        family = _signature_family(algo)
        if family in ("rsa", "ec", "gost2012") and \
                family not in self._profile.certificate_families:
            return AlgorithmUsageConstraint(
                allowed=False, failure_reason=f"{family} signatures are not allowed by the "
                                              f"algorithm profile {self._profile.refusal_name}")
        return super().signature_algorithm_allowed(algo, moment, public_key)
#: The withdrawn GOST R 34.10-2001 / 34.11-94 certificate signature (1.2.643.2.2.3): refused
#: like SHA-1, as a weak algorithm (CRYPTO_CONSTRAINTS_FAILURE).
LEGACY_GOST_SIGNATURES = frozenset(gost.LEGACY_SIGNATURE_OIDS)

_LIMITS = FetchLimits(max_requests=16, max_cert_requests=0, max_aia_urls_per_object=0)


def _run(coro_factory: Callable[[], object]):
    """Run pyhanko's async API from synchronous code, also from a thread with a running loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro_factory())
    box: dict = {}

    def target():
        try:
            box["value"] = asyncio.run(coro_factory())
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc
    thread = threading.Thread(target=target, name="chain-validate")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


# --------------------------------------------------------------------------- validator
class ChainValidator:
    """Validates signer certificates against configured trust anchors; thread-safe; never raises
    for an untrusted certificate (it returns a verdict)."""

    def __init__(self, trust_anchors: Iterable[x509.Certificate],
                 intermediates: Iterable[x509.Certificate] = (), *,
                 revocation: RevocationMode | str = RevocationMode.HARD_FAIL,
                 fetch_timeout: float = 3.0,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
                 required_key_usage: frozenset[str] = frozenset({"digital_signature"}),
                 min_rsa_bits: int = 2048, min_ec_bits: int = 256,
                 weak_hash_algos: frozenset[str] = frozenset({"sha1", "md5"}),
                 weak_signature_algos: frozenset[str] = LEGACY_GOST_SIGNATURES,
                 gost_paramsets: frozenset[str] = gost.DEFAULT_PARAMSETS,
                 algorithms: AlgorithmPolicy = DEFAULT_POLICY,
                 cache_ttl: timedelta = timedelta(minutes=5),
                 failure_ttl: timedelta = timedelta(seconds=30),
                 max_cache_entries: int = 10_000,
                 archived_revocation: tuple[Sequence[bytes], Sequence[bytes]] | None = None):
        """``archived_revocation``: (DER CRLs, DER OCSP responses) kept from an earlier
        validation; then nothing is fetched, only these are consulted, and they count for a
        past ``clock`` although issued after it (re-checking a verdict offline, years later)."""
        self._archive = None if archived_revocation is None else (
            [asn1_crl.CertificateList.load(bytes(d)) for d in archived_revocation[0]],
            [asn1_ocsp.OCSPResponse.load(bytes(d)) for d in archived_revocation[1]])
        self._anchors = tuple(trust_anchors)
        if not self._anchors:
            raise ValueError("at least one trust anchor is required (an empty list would trust "
                             "nothing, or in pyhanko's fallback, the operating system's TLS roots)")
        unknown = {_KU_ALIASES.get(k, k) for k in required_key_usage} - _KEY_USAGE_NAMES
        if unknown:
            raise ValueError(f"unknown key usage {sorted(unknown)}")
        self.revocation = RevocationMode(revocation)
        self.fetch_timeout = fetch_timeout
        self._clock = clock
        self._required_ku = frozenset(_KU_ALIASES.get(k, k) for k in required_key_usage)
        self.min_rsa_bits, self.min_ec_bits = min_rsa_bits, min_ec_bits
        self._weak_hashes = frozenset(weak_hash_algos) | {"md2"}
        self._cache_ttl, self._failure_ttl = cache_ttl, failure_ttl
        self._max_entries = max_cache_entries

        self._intermediates = tuple(intermediates)
        self._known: dict[bytes, x509.Certificate] = {}
        for cert in (*self._anchors, *self._intermediates):
            self._known[cert.public_bytes(Encoding.DER)] = cert
        self._asn1_intermediates = [asn1_x509.Certificate.load(c.public_bytes(Encoding.DER))
                                    for c in self._intermediates]
        self._trust_manager = SimpleTrustManager.build(
            trust_roots=[asn1_x509.Certificate.load(c.public_bytes(Encoding.DER)) for c in self._anchors])
        self._gost_paramsets = frozenset(gost_paramsets)
        self.algorithm_profile = algorithms
        self._algorithms = _ProfileAlgorithms(
            algorithms, weak_hash_algos=self._weak_hashes, weak_signature_algos=frozenset(weak_signature_algos),
            rsa_key_size_threshold=min_rsa_bits)
        self._revinfo_policy = self._policy_for(self.revocation)
        self._crls = _CrlCache(clock, cache_ttl)

        self._cache: dict[tuple, _Entry] = {}
        self._inflight: dict[tuple, threading.Event] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _policy_for(mode: RevocationMode) -> CertRevTrustPolicy:
        # Explicit, because pyhanko's legacy default ("soft-fail") accepts a certificate whose
        # revocation status could not be established at all.
        if mode is RevocationMode.HARD_FAIL:
            rule = RevocationCheckingRule.CRL_OR_OCSP_REQUIRED
        elif mode is RevocationMode.SOFT_FAIL:
            rule = RevocationCheckingRule.CHECK_IF_DECLARED_SOFT
        else:
            return CertRevTrustPolicy(NO_REVOCATION)
        return CertRevTrustPolicy(RevocationCheckingPolicy(rule, rule))

    # ------------------------------------------------------------------- public API
    def validate(self, leaf: x509.Certificate, extra: Sequence[x509.Certificate] = (), *,
                 at: datetime | None = None) -> TrustVerdict:
        """Validate ``leaf`` now (path, revocation, usage, algorithms) and at signing time ``at``
        (validity of every certificate in the path; default: now). ``extra`` are the
        certificates the message carried next to the signer's (candidate intermediates)."""
        try:
            now = self._clock()
            key = _cache_key(leaf, extra)
            entry = self._cache.get(key)
            if entry is None or now >= entry.expires:
                entry = self._refresh(key, leaf, tuple(extra), now)
            return self._at_signing_time(entry, _as_utc(at) if at is not None else now, now)
        except Exception as exc:  # noqa: BLE001 - a verdict, never an exception, for a bad cert
            log.exception("certificate validation failed unexpectedly")
            return TrustVerdict(INDETERMINATE, "CERTIFICATE_CHAIN_GENERAL_FAILURE",
                                _subject(leaf), f"validation could not be completed: {exc!r}")

    def revocation_evidence(self, leaf: x509.Certificate, extra: Sequence[x509.Certificate] = ()
                            ) -> tuple[TrustVerdict, tuple[bytes, ...], tuple[bytes, ...]]:
        """(verdict now, DER CRLs, DER OCSP responses the verdict rested on): what to archive so
        that the verdict can be re-checked offline later (``archived_revocation``)."""
        verdict = self.validate(leaf, extra)
        entry = self._cache.get(_cache_key(leaf, extra))
        crls, ocsps = entry.revinfo if entry is not None and verdict.passed else ((), ())
        return verdict, crls, ocsps

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()
        self._crls.clear()

    # ------------------------------------------------------------------- caching
    def _refresh(self, key: tuple, leaf: x509.Certificate, extra: tuple, now: datetime) -> _Entry:
        with self._lock:
            entry = self._cache.get(key)
            if entry is not None and now < entry.expires:
                return entry
            event = self._inflight.get(key)
            owner = event is None
            if owner:
                event = self._inflight[key] = threading.Event()
        if not owner:  # someone else validates this very certificate: wait for their verdict
            event.wait(timeout=self.fetch_timeout * 8 + 5)
            entry = self._cache.get(key)
            if entry is not None and now < entry.expires:
                return entry
            return self._evaluate(leaf, extra, now)
        try:
            entry = self._evaluate(leaf, extra, now)
            with self._lock:
                self._cache.pop(key, None)
                self._cache[key] = entry
                while len(self._cache) > self._max_entries:
                    self._cache.pop(next(iter(self._cache)))
            return entry
        finally:
            with self._lock:
                self._inflight.pop(key, None)
            event.set()

    # ------------------------------------------------------------------- signing time
    def _at_signing_time(self, entry: _Entry, at: datetime, now: datetime) -> TrustVerdict:
        verdict = entry.verdict
        if at == now:
            return verdict
        if verdict.passed:
            for w in entry.windows:
                if at < w.not_before:
                    return dataclasses.replace(
                        verdict, indication=TOTAL_FAILED, sub_indication="NOT_YET_VALID",
                        certificate=w.subject,
                        detail=f"at signing time {at.isoformat()} the certificate was not yet valid "
                               f"(notBefore {w.not_before.isoformat()})")
                if at > w.not_after:
                    return dataclasses.replace(
                        verdict, indication=TOTAL_FAILED, sub_indication="EXPIRED",
                        certificate=w.subject,
                        detail=f"at signing time {at.isoformat()} the certificate had expired "
                               f"(notAfter {w.not_after.isoformat()})")
            return verdict
        if verdict.sub_indication == "EXPIRED":
            # Expired now, but valid when signed: without a proof of existence (a timestamp) the
            # signature can be neither accepted nor rejected for good (EN 319 102-1).
            w = next((w for w in entry.windows if w.subject == verdict.certificate), None)
            if w is not None and w.not_before <= at <= w.not_after:
                return dataclasses.replace(
                    verdict, indication=INDETERMINATE, sub_indication="OUT_OF_BOUNDS_NO_POE",
                    detail=f"{verdict.detail}; it was valid at signing time {at.isoformat()}, "
                           f"but there is no proof of existence of the signature before expiry")
        return verdict

    # ------------------------------------------------------------------- evaluation
    def _context(self, leaf_asn1: asn1_x509.Certificate, extra_asn1: list, now: datetime):
        registry = CertificateRegistry.build([*self._asn1_intermediates, *extra_asn1],
                                             cert_fetcher=None)
        if self._archive is not None:
            return ValidationContext(
                trust_manager=self._trust_manager, certificate_registry=registry, moment=now,
                allow_fetching=False, crls=self._archive[0], ocsps=self._archive[1],
                revinfo_policy=dataclasses.replace(self._revinfo_policy, retroactive_revinfo=True),
                algorithm_usage_policy=self._algorithms,
                signature_validator=_GOST_SIGNATURE_VALIDATOR)
        fetchers = None
        if self.revocation is not RevocationMode.OFF:
            budget = FetchBudget(_LIMITS)
            fetchers = Fetchers(
                ocsp_fetcher=RequestsOCSPFetcher(per_request_timeout=self.fetch_timeout, budget=budget),
                crl_fetcher=_CachingCrlFetcher(self._crls, per_request_timeout=self.fetch_timeout,
                                               budget=budget),
                cert_fetcher=_NoCertificateFetcher())
        return ValidationContext(
            trust_manager=self._trust_manager, certificate_registry=registry, moment=now,
            allow_fetching=fetchers is not None, fetchers=fetchers,
            revinfo_policy=self._revinfo_policy, algorithm_usage_policy=self._algorithms,
            signature_validator=_GOST_SIGNATURE_VALIDATOR)

    def _evaluate(self, leaf: x509.Certificate, extra: tuple, now: datetime) -> _Entry:
        known = dict(self._known)
        leaf_der = leaf.public_bytes(Encoding.DER)
        known[leaf_der] = leaf
        extra_asn1 = []
        for cert in extra:
            der = cert.public_bytes(Encoding.DER)
            known[der] = cert
            extra_asn1.append(asn1_x509.Certificate.load(der))
        leaf_asn1 = asn1_x509.Certificate.load(leaf_der)
        subject = _subject(leaf)
        failure_until = now + self._failure_ttl

        def to_crypto(path) -> tuple[x509.Certificate, ...]:
            certs = list(path.iter_certs(include_root=True)) if path is not None else []
            out = []
            for c in reversed(certs):
                der = c.dump()
                out.append(known.get(der) or x509.load_der_x509_certificate(der))
            return tuple(out)

        def failed(indication: str, sub: str, cert_subject: str, detail: str, path=None,
                   windows: tuple[_Window, ...] = ()) -> _Entry:
            crypto_path = to_crypto(path)
            windows = windows or tuple(_window(c) for c in crypto_path) or (_window(leaf),)
            return _Entry(TrustVerdict(indication, sub, cert_subject, detail, crypto_path),
                          failure_until, windows)

        family = _key_family(leaf_asn1.public_key.algorithm)
        if family in ("rsa", "ec", "gost2012") and \
                family not in self.algorithm_profile.certificate_families:
            # before any path building or revocation fetch: the answer cannot change
            return failed(INDETERMINATE, "CRYPTO_CONSTRAINTS_FAILURE", subject,
                          f"a {family} signer key is not allowed by the algorithm profile "
                          f"{self.algorithm_profile.refusal_name}")
        context = self._context(leaf_asn1, extra_asn1, now)
        validator = CertificateValidator(leaf_asn1, validation_context=context)
        try:
            path = _run(validator.async_validate_path)
        except CryptoConstraintsError as exc:   # GOST in the path, but no GOST backend here
            return failed(INDETERMINATE, "CRYPTO_CONSTRAINTS_FAILURE", subject, exc.message)
        except pkix_errors.RevokedError as exc:
            who = self._culprit(exc, leaf, known)
            if who is leaf:
                return failed(TOTAL_FAILED, "REVOKED", subject, exc.failure_msg, exc.original_path)
            return failed(INDETERMINATE, "REVOKED_CA_NO_POE", _subject(who), exc.failure_msg,
                          exc.original_path)
        except pkix_errors.ExpiredError as exc:
            who = self._culprit(exc, leaf, known)
            return failed(TOTAL_FAILED, "EXPIRED", _subject(who), exc.failure_msg, exc.original_path)
        except pkix_errors.NotYetValidError as exc:
            who = self._culprit(exc, leaf, known)
            return failed(TOTAL_FAILED, "NOT_YET_VALID", _subject(who), exc.failure_msg,
                          exc.original_path)
        except pkix_errors.DisallowedAlgorithmError as exc:
            who = self._culprit(exc, leaf, known)
            return failed(INDETERMINATE, "CRYPTO_CONSTRAINTS_FAILURE", _subject(who), exc.failure_msg,
                          exc.original_path)
        except pkix_errors.InsufficientRevinfoError as exc:  # incl. StaleRevinfoError
            who = self._culprit(exc, leaf, known)
            return failed(INDETERMINATE, "TRY_LATER", _subject(who),
                          f"revocation status unknown ({self.revocation.value}): {exc.failure_msg}",
                          exc.original_path)
        except pkix_errors.PathValidationError as exc:
            who = self._culprit(exc, leaf, known)
            sub = ("CERTIFICATE_CHAIN_GENERAL_FAILURE" if "signature" in exc.failure_msg
                   else "CHAIN_CONSTRAINTS_FAILURE")
            return failed(INDETERMINATE, sub, _subject(who), exc.failure_msg, exc.original_path)
        except (pkix_errors.PathBuildingError, pkix_errors.InvalidCertificateError) as exc:
            msg = exc.failure_msg if isinstance(exc, pkix_errors.ValidationError) else str(exc)
            return failed(INDETERMINATE, "NO_CERTIFICATE_CHAIN_FOUND", subject,
                          f"no path to a trust anchor: {msg}")
        except pkix_errors.ValidationError as exc:
            return failed(INDETERMINATE, "CERTIFICATE_CHAIN_GENERAL_FAILURE", subject, exc.failure_msg)

        crypto_path = to_crypto(path)
        windows = tuple(_window(c) for c in crypto_path[:-1]) or (_window(leaf),)
        problem = self._leaf_problem(leaf_asn1)
        if problem is not None:
            sub, detail = problem
            return _Entry(TrustVerdict(INDETERMINATE, sub, subject, detail, crypto_path),
                          failure_until, windows)

        warnings = self._warnings(context, crypto_path)
        if warnings:
            detail = "trusted, with warnings: " + "; ".join(warnings)
            expires = failure_until
        else:
            detail = self._passed_detail()
            expires = min(now + self._cache_ttl, *(w.not_after for w in windows),
                          *self._next_updates(context))
        revinfo = (tuple(c.dump() for c in context.crls), tuple(o.dump() for o in context.ocsps))
        return _Entry(TrustVerdict(TOTAL_PASSED, None, subject, detail, crypto_path),
                      max(expires, now), windows, revinfo)

    # ------------------------------------------------------------------- helpers
    def _passed_detail(self) -> str:
        if self.revocation is RevocationMode.OFF:
            return "path to a trust anchor is valid; revocation checking is OFF"
        return "path to a trust anchor is valid; revocation status checked (good)"

    def _culprit(self, exc: pkix_errors.PathValidationError, leaf: x509.Certificate,
                 known: dict[bytes, x509.Certificate]) -> x509.Certificate:
        """The certificate a pyhanko error is about (it says so only in prose)."""
        if getattr(exc, "is_side_validation", False) or exc.is_ee_cert:
            return leaf
        match = re.search(r"intermediate certificate (\d+)", exc.failure_msg)
        if match is None:
            return leaf
        try:
            cert = exc.original_path[int(match.group(1))]
        except (IndexError, ValueError, TypeError):
            return leaf
        der = cert.dump()
        return known.get(der) or x509.load_der_x509_certificate(der)

    def _leaf_problem(self, leaf: asn1_x509.Certificate) -> tuple[str, str] | None:
        """What pyhanko leaves to the application: the signer's own role, key usage, key size."""
        if leaf.ca:
            return ("CHAIN_CONSTRAINTS_FAILURE",
                    "the signer's certificate is a CA certificate (basicConstraints cA=TRUE); "
                    "CA keys sign certificates and CRLs, not messages")
        ku = leaf.key_usage_value
        have = set(ku.native) if ku is not None else set()
        have = {"content_commitment" if k == "non_repudiation" else k for k in have}
        missing = self._required_ku - have
        if missing:
            shown = "absent" if ku is None else ", ".join(sorted(have)) or "empty"
            return ("CHAIN_CONSTRAINTS_FAILURE",
                    f"the signer's certificate lacks key usage {', '.join(sorted(missing))} "
                    f"(it has: {shown})")
        algo = leaf.public_key.algorithm
        if algo == "rsa" and leaf.public_key.bit_size < self.min_rsa_bits:
            return ("CRYPTO_CONSTRAINTS_FAILURE",
                    f"RSA key of {leaf.public_key.bit_size} bits; at least {self.min_rsa_bits} required")
        if algo == "ec" and leaf.public_key.bit_size < self.min_ec_bits:
            return ("CRYPTO_CONSTRAINTS_FAILURE",
                    f"EC key of {leaf.public_key.bit_size} bits; at least {self.min_ec_bits} required")
        if algo == "dsa":
            return ("CRYPTO_CONSTRAINTS_FAILURE", "DSA signer keys are not accepted")
        if algo in gost.KEY_OIDS or algo in gost.LEGACY_KEY_OIDS:
            try:
                key = gost.public_key_info(leaf.public_key.dump())
            except ValueError as exc:
                return ("CRYPTO_CONSTRAINTS_FAILURE", f"unreadable GOST key: {exc}")
            if key.legacy:
                return ("CRYPTO_CONSTRAINTS_FAILURE",
                        "GOST R 34.10-2001 key: the algorithm was withdrawn (signing with it "
                        "ended on 2019-01-01)")
            if key.paramset_oid not in self._gost_paramsets:
                return ("CRYPTO_CONSTRAINTS_FAILURE",
                        f"GOST parameter set {key.paramset_name} is not allowed")
        return None

    def _warnings(self, context: ValidationContext, path: tuple[x509.Certificate, ...]) -> list[str]:
        if self.revocation is not RevocationMode.SOFT_FAIL:
            return []
        out = [f"revocation data unavailable, not checked: {exc}" for exc in context.soft_fail_exceptions]
        for cert in path[:-1]:  # the anchor is not revocation-checked
            try:
                cert.extensions.get_extension_for_class(x509.CRLDistributionPoints)
                continue
            except x509.ExtensionNotFound:
                pass
            try:
                aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
                if any(d.access_method == x509.oid.AuthorityInformationAccessOID.OCSP for d in aia):
                    continue
            except x509.ExtensionNotFound:
                pass
            out.append(f"'{_subject(cert)}' declares no CRL or OCSP: revocation not checked")
        return out

    @staticmethod
    def _next_updates(context: ValidationContext) -> list[datetime]:
        """nextUpdate of every CRL and OCSP response this validation used."""
        out = []
        for crl in context.crls:
            nu = crl["tbs_cert_list"]["next_update"].native
            if nu is not None:
                out.append(nu)
        for resp in context.ocsps:
            try:
                for single in resp.basic_ocsp_response["tbs_response_data"]["responses"]:
                    nu = single["next_update"].native
                    if nu is not None:
                        out.append(nu)
            except (KeyError, ValueError, TypeError):
                continue
        return out


def _subject(cert: x509.Certificate) -> str:
    try:
        return cert.subject.rfc4514_string()
    except Exception:  # noqa: BLE001 - an undecodable subject must not break the verdict
        return "<undecodable subject>"
