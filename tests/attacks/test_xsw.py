"""Signature wrapping (XSW) and reference tricks, each starting from a validly signed SendRequest.

Where each variant is stopped (see docs/security.md): the envelope XSD fixes the shape of
SendRequestRequest (one SenderProvidedRequestData, one ds element in the signature holder), so
structural variants die as ``InvalidContent/XSD_VIOLATION`` before any cryptography; the rest
reach the verifier, which takes the element at its FIXED place and refuses a wrong, missing or
ambiguous reference (``REFERENCE_FAILURE``), a ds:Object (``FORMAT_FAILURE``) or changed content
(``HASH_FAILURE``). Every variant must leave ``messages`` and ``applications`` untouched.
"""
from __future__ import annotations

import copy
from typing import Callable

import pytest
from lxml import etree

from attacks.kit import (DS, T, accepted_once, attacker_copy, parts, post, refused, resign, signed_bytes,
                         signed_tree, stored)
from envelopes import ns
from envelopes.demo_data import ROMASHKA
from signing.xmldsig import Profile, sign_detached

SIGNED_ID = "SIGNED_BY_CONSUMER"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
ATTACKER = "urn://attacker/1.0"
SIG_FAULT = "SignatureVerificationFault"


# ---------------------------------------------------------------- the signed element moved

def _moved_to_header(root, element_id):
    p = parts(root)
    p.header.append(p.data)  # the signed original goes to the Header ...
    p.request.insert(0, attacker_copy(p.data, element_id=element_id))  # ... a forgery takes its place


def header_original_forgery_same_id(root, _):
    _moved_to_header(root, "keep")


def header_original_forgery_other_id(root, _):
    _moved_to_header(root, "ATTACKER")


def header_original_forgery_no_id(root, _):
    _moved_to_header(root, None)


def wrapper_inside_the_request(root, _):
    p = parts(root)
    wrapper = etree.Element(f"{{{ATTACKER}}}Wrapper")
    p.request.replace(p.data, wrapper)
    wrapper.append(p.data)
    p.request.insert(0, attacker_copy(p.data))


def _in_business_process_metadata(root, element_id):
    """BusinessProcessMetadata is a skipped ##other wildcard: the XSD lets a wrapper through."""
    p = parts(root)
    forged = attacker_copy(p.data, element_id=element_id)
    metadata = etree.SubElement(forged, f"{{{T}}}BusinessProcessMetadata")
    etree.SubElement(metadata, f"{{{ATTACKER}}}Wrapper").append(copy.deepcopy(p.data))
    p.request.replace(p.data, forged)


def wrapper_in_business_process_metadata_same_id(root, _):
    _in_business_process_metadata(root, "keep")


def wrapper_in_business_process_metadata_other_id(root, _):
    _in_business_process_metadata(root, "ATTACKER")


def original_nested_in_attacker_payload(root, _):
    p = parts(root)
    forged = attacker_copy(p.data)
    forged.find(f".//{{{ns.REGISTRATION}}}OrganisationRegistrationRequest").append(
        etree.Element(f"{{{ATTACKER}}}Hidden"))
    forged.find(f".//{{{ATTACKER}}}Hidden").append(copy.deepcopy(p.data))
    p.request.replace(p.data, forged)


def _in_ds_object(root, element_id):
    p = parts(root)
    obj = etree.SubElement(p.signature, f"{{{DS}}}Object")
    p.request.replace(p.data, attacker_copy(p.data, element_id=element_id))
    obj.append(p.data)


def ds_object_forgery_same_id(root, _):
    _in_ds_object(root, "keep")


def ds_object_forgery_other_id(root, _):
    _in_ds_object(root, "ATTACKER")


def ds_object_forgery_no_id(root, _):
    _in_ds_object(root, None)


# ---------------------------------------------------------------- the signed element duplicated

def duplicate_same_id_in_header(root, _):
    p = parts(root)
    p.header.append(attacker_copy(p.data))  # original stays in place, a copy hides in the Header


def duplicate_same_id_as_second_body_child(root, _):
    p = parts(root)
    p.body.append(attacker_copy(p.data))


def duplicate_same_id_inside_the_payload(root, _):
    p = parts(root)
    p.data.find(f".//{{{ns.REGISTRATION}}}FullName").set("Id", SIGNED_ID)


def second_request_data_after_the_original(root, _):
    p = parts(root)
    p.request.insert(1, attacker_copy(p.data, element_id="ATTACKER"))


def second_request_data_before_the_original(root, _):
    p = parts(root)
    p.request.insert(0, attacker_copy(p.data, element_id="ATTACKER"))


@pytest.mark.parametrize("name", ["ID", "id", f"{{{WSU}}}Id", f"{{{ATTACKER}}}Id"])
def test_id_attribute_spellings_count_as_duplicates(gateway_url, engine, demo_client, name):
    """Any attribute whose local name is Id/ID/id, in any namespace, with the signed value."""
    root = signed_tree(demo_client)
    note = etree.SubElement(parts(root).header, f"{{{ATTACKER}}}Note")
    note.set(name, SIGNED_ID)
    refused(gateway_url, engine, etree.tostring(root), SIG_FAULT, "REFERENCE_FAILURE")


@pytest.mark.parametrize("name", ["ID", "id", f"{{{WSU}}}Id"])
def test_forgery_identified_by_another_id_spelling_is_refused(gateway_url, engine, demo_client, name):
    """The forgery at the place carries the signed value as ID/id/wsu:Id, the original (with Id)
    sits in the Header: the XSD allows only ``Id`` on SenderProvidedRequestData."""
    root = signed_tree(demo_client)
    p = parts(root)
    forged = attacker_copy(p.data, element_id=None)
    forged.set(name, SIGNED_ID)
    p.header.append(p.data)
    p.request.insert(0, forged)
    refused(gateway_url, engine, etree.tostring(root), "InvalidContent", "XSD_VIOLATION")


# ---------------------------------------------------------------- signatures moved or doubled

def two_signatures_in_the_holder(root, _):
    p = parts(root)
    p.holder.append(copy.deepcopy(p.signature))


def signature_and_ds_object_in_the_holder(root, _):
    p = parts(root)
    etree.SubElement(p.holder, f"{{{DS}}}Object").append(attacker_copy(p.data, element_id=None))


def signature_moved_to_header_holder_left_empty(root, _):
    p = parts(root)
    p.header.append(p.signature)


def signature_moved_to_header_holder_removed(root, _):
    p = parts(root)
    p.header.append(p.signature)
    p.request.remove(p.holder)


# ---------------------------------------------------------------- a signature over something else

def _sign_instead(root, demo_client, target):
    key, cert, chain = demo_client
    p = parts(root)
    p.holder.remove(p.signature)
    sign_detached(target, p.holder, key, cert, extra_certificates=chain)


def reference_to_the_payload(root, demo_client):
    """A genuine signature over the payload only (Id on the payload), not over the request data."""
    payload = parts(root).data.find(f".//{{{ns.REGISTRATION}}}OrganisationRegistrationRequest")
    payload.set("Id", "SIBLING")
    _sign_instead(root, demo_client, payload)


def reference_to_the_header(root, demo_client):
    header = parts(root).header
    etree.SubElement(header, f"{{{ATTACKER}}}Anything").text = "signed, but not the request"
    header.set("Id", "HEADER")
    _sign_instead(root, demo_client, header)


def reference_to_a_sibling_copy(root, demo_client):
    """The request data keeps its Id; a signature over a sibling copy with another Id in the
    Header (genuinely signed by the same key) is put in the holder."""
    p = parts(root)
    copy_in_header = attacker_copy(p.data, element_id="COPY")
    p.header.append(copy_in_header)
    _sign_instead(root, demo_client, copy_in_header)


# ---------------------------------------------------------------- namespace rebinding

def payload_namespace_rebound(root, _):
    """The payload's default namespace changed after signing: same prefixes and text, other names."""
    payload = parts(root).data.find(f".//{{{ns.REGISTRATION}}}OrganisationRegistrationRequest")
    text = etree.tostring(payload).replace(ns.REGISTRATION.encode(), b"urn://attacker/registration")
    payload.getparent().replace(payload, etree.fromstring(text))


def operation_prefix_rebound(root, _):
    """``xmlns:ns`` of SendRequestRequest (outside the signed element) rebound elsewhere."""
    p = parts(root)
    text = etree.tostring(p.request).replace(f'xmlns:ns="{T}"'.encode(), b'xmlns:ns="urn://attacker"', 1)
    p.body.replace(p.request, etree.fromstring(text))


ATTACKS: list[tuple[Callable, str, str]] = [
    (header_original_forgery_same_id, SIG_FAULT, "REFERENCE_FAILURE"),      # duplicate Id
    (header_original_forgery_other_id, SIG_FAULT, "REFERENCE_FAILURE"),     # URI != #Id
    (header_original_forgery_no_id, SIG_FAULT, "REFERENCE_FAILURE"),        # target has no Id
    (wrapper_inside_the_request, "InvalidContent", "XSD_VIOLATION"),
    (wrapper_in_business_process_metadata_same_id, SIG_FAULT, "REFERENCE_FAILURE"),
    (wrapper_in_business_process_metadata_other_id, SIG_FAULT, "REFERENCE_FAILURE"),
    (original_nested_in_attacker_payload, SIG_FAULT, "REFERENCE_FAILURE"),
    (ds_object_forgery_same_id, SIG_FAULT, "FORMAT_FAILURE"),               # ds:Object refused
    (ds_object_forgery_other_id, SIG_FAULT, "FORMAT_FAILURE"),
    (ds_object_forgery_no_id, SIG_FAULT, "REFERENCE_FAILURE"),
    (duplicate_same_id_in_header, SIG_FAULT, "REFERENCE_FAILURE"),
    (duplicate_same_id_as_second_body_child, "InvalidContent", "BAD_ENVELOPE"),
    (duplicate_same_id_inside_the_payload, SIG_FAULT, "REFERENCE_FAILURE"),
    (second_request_data_after_the_original, "InvalidContent", "XSD_VIOLATION"),
    (second_request_data_before_the_original, "InvalidContent", "XSD_VIOLATION"),
    (two_signatures_in_the_holder, "InvalidContent", "XSD_VIOLATION"),
    (signature_and_ds_object_in_the_holder, "InvalidContent", "XSD_VIOLATION"),
    (signature_moved_to_header_holder_left_empty, SIG_FAULT, "NO_SIGNATURE"),
    (signature_moved_to_header_holder_removed, SIG_FAULT, "NO_SIGNATURE"),
    (reference_to_the_payload, SIG_FAULT, "REFERENCE_FAILURE"),
    (reference_to_the_header, SIG_FAULT, "REFERENCE_FAILURE"),
    (reference_to_a_sibling_copy, SIG_FAULT, "REFERENCE_FAILURE"),
    (payload_namespace_rebound, SIG_FAULT, "HASH_FAILURE"),
    (operation_prefix_rebound, "InvalidContent", "UNKNOWN_OPERATION"),
]


@pytest.mark.parametrize("attack,element,code", ATTACKS, ids=[a[0].__name__ for a in ATTACKS])
def test_wrapping_is_refused_and_nothing_is_stored(gateway_url, engine, demo_client, attack,
                                                   element, code):
    root = signed_tree(demo_client)
    attack(root, demo_client)
    fault = refused(gateway_url, engine, etree.tostring(root), element, code)
    assert "Evil Corp" not in (fault.description or "")


REFERENCE_URIS = ["", "#", "#xpointer(/)", f"#xpointer(id('{SIGNED_ID}'))", "http://127.0.0.1:1/x",
                  "file:///etc/passwd", f"#{SIGNED_ID.lower()}", f"#{SIGNED_ID} ", f" #{SIGNED_ID}",
                  f"#{SIGNED_ID}#", None]


@pytest.mark.parametrize("uri", REFERENCE_URIS, ids=repr)
def test_reference_uri_must_be_exactly_the_fixed_id(gateway_url, engine, demo_client, canary, uri):
    """Each URI is written into SignedInfo and SignedInfo is re-signed with the demo key, so the
    signature itself is genuine: only the reference is wrong. Nothing is dereferenced."""
    key, _, _ = demo_client
    root = signed_tree(demo_client)
    signature = parts(root).signature
    reference = signature.find(f"{{{DS}}}SignedInfo/{{{DS}}}Reference")
    if uri is None:
        del reference.attrib["URI"]
    else:
        reference.set("URI", uri.replace("http://127.0.0.1:1/x", canary.url))
    resign(signature, key)
    fault = refused(gateway_url, engine, etree.tostring(root), SIG_FAULT, "REFERENCE_FAILURE")
    assert "root:" not in (fault.description or "")
    assert canary.hits == 0


def test_forgery_is_still_a_forgery_without_any_wrapping(gateway_url, engine, demo_client):
    """The baseline every XSW variant tries to get around: changed content at the place."""
    root = signed_tree(demo_client)
    p = parts(root)
    p.request.replace(p.data, attacker_copy(p.data))
    refused(gateway_url, engine, etree.tostring(root), SIG_FAULT, "HASH_FAILURE")


# ---------------------------------------------------------------- comments and PIs in signed content


def _inn_split(body: bytes, splitter: bytes) -> bytes:
    inn = ROMASHKA.inn.encode()
    original = b"<INN>" + inn + b"</INN>"
    assert body.count(original) == 1
    return body.replace(original, b"<INN>" + inn[:2] + splitter + inn[2:] + b"</INN>")


@pytest.mark.parametrize("profile", [Profile.SMEV, Profile.W3C], ids=lambda p: p.value)
@pytest.mark.parametrize("splitter", [b"<!-- injected -->", b"<?evil data?>"], ids=["comment", "pi"])
def test_comment_or_pi_injected_after_signing_verifies_and_cannot_truncate(
        gateway_url, engine, demo_client, profile, splitter):
    """Decided from the c14n rules: c14n *without comments* drops comments, and the SMEV transform
    drops comments and PIs, so a comment (or PI) injected into the signed element after signing
    leaves the signed octets unchanged: the signature still verifies (HTTP 200). The gateway
    must then read the whole text, "77" + "02123454", not the part before the comment.

    (Under the W3C profile a PI is part of exc-c14n output; the gateway's parser drops PIs before
    verification, so it verifies what it reads; see docs/security.md, "PIs and W3C signatures".)"""
    body = _inn_split(signed_bytes(demo_client, profile=profile), splitter)
    message_id = etree.fromstring(body).findtext(f".//{{{T}}}MessageID")
    accepted_once(gateway_url, engine, body, message_id)  # stored as received, comment and all


def test_comment_inside_signed_info_does_not_change_what_is_signed(gateway_url, engine, demo_client):
    """SignedInfo is canonicalized without comments: a comment in its DigestValue changes nothing."""
    root = signed_tree(demo_client)
    digest = parts(root).signature.find(f".//{{{DS}}}DigestValue")
    text = digest.text
    digest.text = text[:5]
    comment = etree.Comment("x")
    comment.tail = text[5:]
    digest.append(comment)
    before = stored(engine)
    answer = post(gateway_url, etree.tostring(root))
    assert answer.status == 200 and answer.fault is None, answer.body[:2000]
    assert stored(engine)[0] == before[0] + 1
