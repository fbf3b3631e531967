"""A small, strict XMLDSig engine for detached signatures on the already-parsed lxml tree.

Why our own: signxml re-parses the tree (slow, and a re-parse is how wrapped copies sneak in) and
cannot express the SMEV transform or GOST. Here the caller locates the signed element at its
fixed place in the message and hands over the element object; the engine canonicalizes that
very object and returns it, so the business logic reads exactly what was verified.

Strictness (each check names what failed, see docs/signature-profile.md): one SignedInfo, one
Reference whose URI is exactly ``#`` + the target's Id, that Id unique in the document, the
transform chain exactly the profile's, every algorithm and the signer's key checked against the
policy before any cryptography, digests compared in constant time.
"""
from __future__ import annotations

import base64
import binascii
import dataclasses
import enum
import functools
import hmac

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

from signing.algorithms import (DEFAULT_POLICY, REGISTRY, AlgorithmPolicy,
                                default_digest_method, default_signature_method)
from signing.c14n import (C14N_10, C14N_11, ENVELOPED_SIGNATURE, EXC_C14N, canonicalize, exc_c14n,
                          exc_c14n_enveloped,
                          inclusive_prefixes_of)
from signing.identity import describe
from signing.errors import (CryptoConstraintsError, DuplicateIdError, FormatError, HashError,
                            NoSigningCertificateError, ReferenceFailureError,
                            SignatureCryptoError)
from signing.ns import DS
from signing.smev_transform import ALGORITHM as SMEV_TRANSFORM
from signing.smev_transform import smev_transform, smev_transform_and_c14n


class Profile(enum.Enum):
    SMEV = "smev"   # exc-c14n SignedInfo; reference transforms: exc-c14n then the SMEV transform
    W3C = "w3c"     # exc-c14n SignedInfo; reference transform: exc-c14n only (signxml, xmlsec1)


@dataclasses.dataclass(frozen=True)
class VerifiedSignature:
    element: etree._Element          # the very element object whose digest verified (== target)
    certificate: x509.Certificate    # signer, from KeyInfo
    extra_certificates: tuple[x509.Certificate, ...]
    signature_method: str
    digest_method: str
    #: ``element``'s exclusive c14n (no prefix list, no comments) when verifying made it on the
    #: way (an SMEV-profile chain, a W3C chain of plain exc-c14n), else None: what a caller that
    #: needs those bytes too (the gateway's replay digest) would otherwise compute again
    canonical: bytes | None = None


def _ds(local: str) -> str:
    return f"{{{DS}}}{local}"


_SIGNATURE = _ds("Signature")
_SIGNED_INFO = _ds("SignedInfo")
_OBJECT, _REFERENCE = _ds("Object"), _ds("Reference")
_X509_DATA, _X509_CERTIFICATE = _ds("X509Data"), _ds("X509Certificate")
_INCLUSIVE_NS = f"{{{EXC_C14N}}}InclusiveNamespaces"
_WSU_ID = ("{http://docs.oasis-open.org/wss/2004/01/"
           "oasis-200401-wss-wssecurity-utility-1.0.xsd}Id")
_ID_NAMES = ("Id", "ID", "id", _WSU_ID)
_ALL_IDS = etree.XPath(
    "descendant-or-self::*/@*[local-name()='Id' or local-name()='ID' or local-name()='id']")

#: Reference transform chains each profile accepts (the signer writes the first).
_SMEV_CHAINS = ((EXC_C14N, SMEV_TRANSFORM), (SMEV_TRANSFORM,))
_W3C_CHAIN = (EXC_C14N,)
_W3C_CHAINS = (_W3C_CHAIN, (C14N_10,), (C14N_11,), ())
_W3C_ENVELOPED_CHAIN = (ENVELOPED_SIGNATURE, EXC_C14N)


# ---------------------------------------------------------------- helpers

def _children(element: etree._Element) -> list[etree._Element]:
    """Element children only: comments and PIs are not part of the XMLDSig structure (lxml
    selects the elements in C when given the Element factory as the tag)."""
    return list(element.iterchildren(etree.Element))


_DS_OPEN = f"{{{DS}}}"
_DS_CUT = len(_DS_OPEN)


def _local(element: etree._Element) -> str:
    tag = element.tag
    if not tag.startswith(_DS_OPEN):
        return f"<{tag}>"  # foreign element: never matches a ds: name
    return tag[_DS_CUT:]


def _expect(parent: etree._Element, names: list[str], optional_tail: tuple[str, ...] = (),
            children: list[etree._Element] | None = None) -> list[etree._Element]:
    """Children must be exactly ``names`` (in order), then optionally ``optional_tail``;
    ``children``: the parent's element children when the caller has them already."""
    if children is None:
        children = _children(parent)
    got = [_local(child) for child in children]
    want = list(names)
    for extra in optional_tail:
        if len(got) > len(want) and got[len(want)] == extra:
            want.append(extra)
    if got != want:
        raise FormatError(f"ds:{_local(parent)} must contain {' '.join(want) or 'nothing'}, "
                          f"found {' '.join(got) or 'nothing'}")
    return children


def _algorithm(element: etree._Element) -> str:
    value = element.get("Algorithm")
    if not value:
        raise FormatError(f"ds:{_local(element)} has no Algorithm")
    return value


def _b64(element: etree._Element, what: str) -> bytes:
    text = "".join((element.text or "").split())
    if not text or len(element):
        raise FormatError(f"{what} is empty or not plain base64 text")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise FormatError(f"{what} is not valid base64") from None


#: parsed certificates by their base64 text, as sent: a signer sends the same certificate with
#: every message, and parsing its DER costs more than the rest of the signature's structure
#: checks. Certificates are immutable. Bounded in count (emptied when full, so strangers'
#: certificates cannot grow it) and in size: a text longer than any real certificate's
#: (a few KB) is parsed every time and never kept, so the cache holds at most ~16 MB of text.
_CERTIFICATES: dict[str, x509.Certificate] = {}
MAX_CACHED_CERTIFICATES = 1024
MAX_CACHED_TEXT = 16_384


def _certificate(element: etree._Element) -> x509.Certificate:
    text = element.text or ""
    cert = _CERTIFICATES.get(text)
    if cert is not None and not len(element):
        return cert
    der = _b64(element, "X509Certificate")
    try:
        cert = x509.load_der_x509_certificate(der)
    except (ValueError, x509.InvalidVersion) as exc:  # InvalidVersion: no ValueError
        raise FormatError(f"X509Certificate does not parse: {exc}") from None
    if len(text) <= MAX_CACHED_TEXT:
        if len(_CERTIFICATES) >= MAX_CACHED_CERTIFICATES:
            _CERTIFICATES.clear()
        _CERTIFICATES[text] = cert
    return cert


def _target_id(target: etree._Element) -> str:
    for name in _ID_NAMES:
        value = target.get(name)
        if value:
            return value
    raise ReferenceFailureError(f"the signed element <{etree.QName(target).localname}> has no Id")


def _inside(node: etree._Element, ancestor: etree._Element) -> bool:
    return node is ancestor or any(a is ancestor for a in node.iterancestors())


def check_unique_ids(root: etree._Element) -> None:
    """Raise DuplicateIdError if any Id/ID/id/wsu:Id value occurs more than once in the document.

    Any attribute whose local name is Id, ID or id counts (whatever its namespace), so a copy of
    the signed element hidden elsewhere under a foreign-namespaced Id is caught as well.
    """
    seen: set[str] = set()
    for value in _ALL_IDS(root):
        if value in seen:
            raise DuplicateIdError(f"Id {str(value)!r} occurs more than once in the document")
        seen.add(value)


# ---------------------------------------------------------------- signing

def sign_detached(target: etree._Element, container: etree._Element, private_key, certificate,
                  *, profile: Profile = Profile.SMEV, signature_method: str | None = None,
                  digest_method: str | None = None, extra_certificates=(),
                  policy: AlgorithmPolicy = DEFAULT_POLICY) -> etree._Element:
    """Append a ds:Signature to ``container`` with one Reference to '#'+target.get('Id');
    KeyInfo/X509Data with the certificate (then extra_certificates). Returns the Signature.

    ``policy`` refuses to produce what verification would refuse (SHA-1, small keys, ...).
    Under the W3C profile a container inside the target gets the enveloped-signature transform.
    ``digest_method`` defaults to SHA-256, or to the GOST signature's own Streebog.
    """
    target_id = target.get("Id")
    if not target_id:
        raise FormatError("the element to sign has no Id attribute")
    method = signature_method or default_signature_method(private_key)
    policy.check_signature(method)
    digest_method = digest_method or default_digest_method(method)
    policy.check_digest(digest_method)
    algorithm = REGISTRY.signature(method)
    digest = REGISTRY.digest(digest_method)
    if not algorithm.key_matches(private_key):
        raise CryptoConstraintsError(f"signature method {method} does not fit a "
                                     f"{type(private_key).__name__}")
    policy.check_key(certificate, algorithm.family)
    inside = _inside(container, target)
    if profile is Profile.SMEV:
        if inside:
            raise FormatError("an SMEV signature cannot sit inside the element it signs")
        transforms, data = (EXC_C14N, SMEV_TRANSFORM), smev_transform(target)
    elif inside:  # computed before the Signature exists == after the enveloped transform
        transforms, data = _W3C_ENVELOPED_CHAIN, exc_c14n(target)
    else:
        transforms, data = _W3C_CHAIN, exc_c14n(target)

    signature = etree.SubElement(container, _SIGNATURE, nsmap={"ds": DS})
    signed_info = etree.SubElement(signature, _SIGNED_INFO)
    etree.SubElement(signed_info, _ds("CanonicalizationMethod"), Algorithm=EXC_C14N)
    etree.SubElement(signed_info, _ds("SignatureMethod"), Algorithm=method)
    reference = etree.SubElement(signed_info, _ds("Reference"), URI=f"#{target_id}")
    transforms_el = etree.SubElement(reference, _ds("Transforms"))
    for uri in transforms:
        etree.SubElement(transforms_el, _ds("Transform"), Algorithm=uri)
    etree.SubElement(reference, _ds("DigestMethod"), Algorithm=digest_method)
    etree.SubElement(reference, _ds("DigestValue")).text = \
        base64.b64encode(digest.digest(data)).decode("ascii")
    value = etree.SubElement(signature, _ds("SignatureValue"))
    x509_data = etree.SubElement(etree.SubElement(signature, _ds("KeyInfo")), _ds("X509Data"))
    for cert in (certificate, *extra_certificates):
        etree.SubElement(x509_data, _ds("X509Certificate")).text = _certificate_text(cert)
    value.text = base64.b64encode(
        algorithm.sign(private_key, exc_c14n(signed_info))).decode("ascii")
    return signature


@functools.lru_cache(maxsize=256)
def _certificate_text(cert: x509.Certificate) -> str:
    """Base64 DER of a certificate; a signer signs with the same one again and again."""
    return base64.b64encode(cert.public_bytes(Encoding.DER)).decode("ascii")


# ---------------------------------------------------------------- verification

@dataclasses.dataclass(frozen=True)
class _Parsed:
    signed_info: etree._Element
    c14n_method: str
    c14n_prefixes: list[str]
    signature_method: str
    transforms: tuple[str, ...]
    transform_prefixes: list[str]
    digest_method: str
    digest_value: bytes
    signature_value: bytes
    certificates: list[x509.Certificate]


def _parse(signature: etree._Element, target_id: str, policy: AlgorithmPolicy) -> _Parsed:
    """Structure and algorithm checks; no cryptography happens here."""
    if not isinstance(signature.tag, str) or signature.tag != _SIGNATURE:
        raise FormatError("the signature element is not a ds:Signature")
    signed_infos = sum(1 for _ in signature.iterdescendants(_SIGNED_INFO))  # in C, not ElementPath
    if signed_infos != 1:
        raise FormatError(f"ds:Signature holds {signed_infos} SignedInfo elements; "
                          f"exactly one is required")
    children = _children(signature)
    if any(child.tag == _OBJECT for child in children):
        raise FormatError("ds:Object inside ds:Signature is not supported")
    children = _expect(signature, ["SignedInfo", "SignatureValue"], ("KeyInfo",), children)
    signed_info, signature_value_el = children[0], children[1]
    key_info = children[2] if len(children) > 2 else None

    si_children = _children(signed_info)
    references = sum(1 for child in si_children if child.tag == _REFERENCE)
    if references != 1:
        raise ReferenceFailureError(f"SignedInfo holds {references} references; exactly "
                                    f"one (to #{target_id}) is required")
    c14n_method, signature_method_el, reference = _expect(
        signed_info, ["CanonicalizationMethod", "SignatureMethod", "Reference"], (), si_children)

    c14n_uri = _algorithm(c14n_method)
    policy.check_c14n(c14n_uri)
    if any(child.tag != _INCLUSIVE_NS for child in _children(c14n_method)):
        raise FormatError("unexpected content in CanonicalizationMethod")
    c14n_prefixes = inclusive_prefixes_of(c14n_method)

    signature_method = _algorithm(signature_method_el)
    policy.check_signature(signature_method)
    if _children(signature_method_el):
        raise FormatError("SignatureMethod parameters (e.g. HMACOutputLength) are not allowed")

    uri = reference.get("URI")
    if uri is None or uri != f"#{target_id}":
        raise ReferenceFailureError(f"the Reference URI is {uri!r}; it must be exactly "
                                    f"'#{target_id}', the Id of the signed element")
    unexpected = set(reference.attrib) - {"URI", "Id", "Type"}
    if unexpected:
        raise FormatError(f"unexpected Reference attributes: {', '.join(sorted(unexpected))}")
    ref_children = _children(reference)
    ref_names = [_local(child) for child in ref_children]
    if ref_names == ["Transforms", "DigestMethod", "DigestValue"]:
        transforms_el, digest_method_el, digest_value_el = ref_children
    elif ref_names == ["DigestMethod", "DigestValue"]:
        transforms_el = None
        digest_method_el, digest_value_el = ref_children
    else:
        raise FormatError(f"Reference must contain [Transforms] DigestMethod DigestValue, "
                          f"found {' '.join(ref_names) or 'nothing'}")
    transforms: list[str] = []
    transform_prefixes: list[str] = []
    if transforms_el is not None:
        if not _children(transforms_el):
            raise FormatError("an empty Transforms element is not allowed (omit it instead)")
        for transform in _children(transforms_el):
            if _local(transform) != "Transform":
                raise FormatError("Transforms may hold Transform elements only")
            algorithm = _algorithm(transform)
            policy.check_transform(algorithm)
            content = _children(transform)
            if algorithm == EXC_C14N:
                if any(child.tag != _INCLUSIVE_NS for child in content):
                    raise FormatError("unexpected content in the exc-c14n Transform")
                transform_prefixes = inclusive_prefixes_of(transform)
            elif content:
                raise FormatError(f"unexpected content in the Transform {algorithm}")
            transforms.append(algorithm)
    digest_method = _algorithm(digest_method_el)
    policy.check_digest(digest_method)
    REGISTRY.signature(signature_method)
    REGISTRY.digest(digest_method)
    digest_value = _b64(digest_value_el, "DigestValue")
    signature_value = _b64(signature_value_el, "SignatureValue")

    certificates: list[x509.Certificate] = []
    if key_info is not None:
        for x509_data in key_info.iterchildren(_X509_DATA):
            for cert_el in x509_data.iterchildren(_X509_CERTIFICATE):
                certificates.append(_certificate(cert_el))
    if not certificates:
        raise NoSigningCertificateError("KeyInfo/X509Data/X509Certificate with the signer's "
                                        "certificate is missing")
    return _Parsed(signed_info, c14n_uri, c14n_prefixes, signature_method, tuple(transforms),
                   transform_prefixes, digest_method, digest_value, signature_value,
                   certificates)


def _reference_data(parsed: _Parsed, signature: etree._Element,
                    target: etree._Element) -> tuple[bytes, bytes | None]:
    """The referenced octets after the transform chain, from the target object itself; and the
    target's plain exc-c14n when the chain made it (``VerifiedSignature.canonical``)."""
    chain = parsed.transforms
    inside = _inside(signature, target)
    if chain in _SMEV_CHAINS:
        if inside:
            raise FormatError("an SMEV-profile signature cannot sit inside the signed element")
        # exc-c14n first changes nothing the transform keeps
        canonical, data = smev_transform_and_c14n(target)
        return data, canonical
    if chain in _W3C_CHAINS:
        if inside:
            raise FormatError("a signature inside the signed element needs the "
                              "enveloped-signature transform")
        # No Transforms: the node-set of a same-document reference becomes octets by c14n 1.0.
        data = canonicalize(target, chain[0] if chain else C14N_10, parsed.transform_prefixes)
        plain = chain == _W3C_CHAIN and not parsed.transform_prefixes
        return data, data if plain else None
    if chain == _W3C_ENVELOPED_CHAIN:
        if not inside:
            raise FormatError("enveloped-signature transform, but the signature is not inside "
                              "the signed element")
        return exc_c14n_enveloped(target, signature, parsed.transform_prefixes), None
    raise FormatError(f"reference transforms {list(chain)} are none of the accepted chains "
                      f"(exc-c14n + SMEV transform; one of exc-c14n, c14n 1.0, c14n 1.1 or none; "
                      f"enveloped + exc-c14n)")


def verify_detached(signature: etree._Element, target: etree._Element, *,
                    policy: AlgorithmPolicy = DEFAULT_POLICY) -> VerifiedSignature:
    """Verify ``signature`` (a ds:Signature element) over ``target``, which the CALLER located at
    its fixed place in the message. Raises SignatureError subclasses."""
    target_id = _target_id(target)
    parsed = _parse(signature, target_id, policy)
    algorithm = REGISTRY.signature(parsed.signature_method)
    digest = REGISTRY.digest(parsed.digest_method)
    signer = parsed.certificates[0]
    policy.check_key(signer, algorithm.family)

    root = target.getroottree().getroot()
    if signature.getroottree().getroot() is not root:
        raise ReferenceFailureError("the signature and the signed element are not in the same "
                                    "document")
    check_unique_ids(root)

    # SignatureValue over the (small) SignedInfo first: a forger without the key fails here,
    # before the (possibly large) signed element is transformed and hashed.
    try:
        algorithm.verify(signer, parsed.signature_value,
                         canonicalize(parsed.signed_info, parsed.c14n_method, parsed.c14n_prefixes))
    except (InvalidSignature, UnsupportedAlgorithm, ValueError, TypeError) as exc:
        detail = f" ({exc})" if str(exc) else ""
        raise SignatureCryptoError(f"SignatureValue does not verify over SignedInfo with the "
                                   f"key of '{describe(signer)}'{detail}") \
            from None
    data, canonical = _reference_data(parsed, signature, target)
    if not hmac.compare_digest(digest.digest(data), parsed.digest_value):
        raise HashError(f"the digest of #{target_id} does not match its DigestValue: the signed "
                        f"content was changed")
    return VerifiedSignature(target, signer, tuple(parsed.certificates[1:]),
                             parsed.signature_method, parsed.digest_method, canonical)


__all__ = ["Profile", "VerifiedSignature", "sign_detached", "verify_detached",
           "check_unique_ids"]
