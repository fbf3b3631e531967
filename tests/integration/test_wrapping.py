"""Signature wrapping (XSW): the signed element moved, wrapped, hidden in ds:Object or duplicated,
a signature over a sibling, extra signatures. Every variant is refused over HTTP and stores
nothing: the verifier checks the element at its fixed place and hands back that very element."""
from __future__ import annotations

import copy
import dataclasses

import pytest
from lxml import etree
from sqlalchemy import func, select

from envelopes import build, ns
from envelopes.demo_data import ROMASHKA
from envelopes.payloads.registration import build_organisation_registration
from gateway.storage.schema import messages
from signing.xmldsig import sign_detached
from support import post

T, B, DS = ns.SMEV_TYPES, ns.SMEV_BASIC, ns.DS
SOAP = ns.SOAP11_ENV
EVIL = dataclasses.replace(ROMASHKA, inn="7707083893", full_name="Evil Corp")


def signed_tree(demo_client):
    key, cert, chain = demo_client
    return etree.fromstring(build.send_request(build_organisation_registration(ROMASHKA), key, cert,
                                               extra_certificates=chain))


def parts(root):
    request = root.find(f".//{{{T}}}SendRequestRequest")
    data = request.find(f"{{{T}}}SenderProvidedRequestData")
    signature = request.find(f"{{{T}}}CallerInformationSystemSignature/{{{DS}}}Signature")
    return request, data, signature


def evil_copy(data, keep_id=True):
    """The attacker's SenderProvidedRequestData: same shape, other organisation."""
    forged = copy.deepcopy(data)
    content = forged.find(f"{{{B}}}MessagePrimaryContent")
    content.remove(content[0])
    content.append(build_organisation_registration(EVIL))
    if not keep_id:
        forged.set("Id", "ATTACKER")
    return forged


def moved_to_header(root):
    request, data, _ = parts(root)
    header = root.find(f"{{{SOAP}}}Header")
    header.append(data)  # the signed original goes to the header ...
    return request, data


def xsw_header_same_id(root):
    request, data = moved_to_header(root)
    request.insert(0, evil_copy(data))  # ... and a forged copy with the same Id takes its place


def xsw_header_other_id(root):
    request, data = moved_to_header(root)
    request.insert(0, evil_copy(data, keep_id=False))


def xsw_wrapper(root):
    request, data, _ = parts(root)
    wrapper = etree.Element("{urn://attacker}Wrapper")
    request.replace(data, wrapper)
    wrapper.append(data)
    request.insert(0, evil_copy(data))


def xsw_in_object(root):
    request, data, signature = parts(root)
    obj = etree.SubElement(signature, f"{{{DS}}}Object")
    request.replace(data, evil_copy(data, keep_id=False))
    obj.append(data)


def xsw_in_object_same_id(root):
    request, data, signature = parts(root)
    obj = etree.SubElement(signature, f"{{{DS}}}Object")
    request.replace(data, evil_copy(data))
    obj.append(data)


def duplicate_id_in_header(root):
    _, data, _ = parts(root)
    root.find(f"{{{SOAP}}}Header").append(evil_copy(data))


def duplicate_id_in_payload(root):
    _, data, _ = parts(root)
    payload = data.find(f"{{{B}}}MessagePrimaryContent")[0]
    payload.find(f"{{{ns.REGISTRATION}}}FullName").set("Id", data.get("Id"))


def second_request_data(root):
    request, data, _ = parts(root)
    request.insert(1, evil_copy(data, keep_id=False))


def signature_moved_to_header(root):
    _, _, signature = parts(root)
    root.find(f"{{{SOAP}}}Header").append(signature)


def two_signatures(root):
    _, _, signature = parts(root)
    signature.getparent().append(copy.deepcopy(signature))


def lowercase_id_duplicate(root):
    _, data, _ = parts(root)
    extra = etree.SubElement(root.find(f"{{{SOAP}}}Header"), "{urn://attacker}Note")
    extra.set("id", data.get("Id"))


VARIANTS = [xsw_header_same_id, xsw_header_other_id, xsw_wrapper, xsw_in_object,
            xsw_in_object_same_id, duplicate_id_in_header, duplicate_id_in_payload,
            second_request_data, signature_moved_to_header, two_signatures,
            lowercase_id_duplicate]


def _count(engine):
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(messages)).scalar_one()


@pytest.mark.parametrize("attack", VARIANTS, ids=lambda f: f.__name__)
def test_wrapping_variant_is_refused_and_nothing_is_stored(gateway_url, demo_client, engine, attack):
    root = signed_tree(demo_client)
    attack(root)
    before = _count(engine)
    reply, answer = post(gateway_url, etree.tostring(root))
    assert reply.status_code in (400, 500)
    fault = answer.find(f".//{{{ns.SMEV_FAULTS}}}SignatureVerificationFault")
    invalid = answer.find(f".//{{{ns.SMEV_FAULTS}}}InvalidContent")
    assert fault is not None or invalid is not None, reply.text
    assert _count(engine) == before
    assert b"Evil Corp" not in reply.content


def test_signature_over_a_sibling_is_refused(gateway_url, demo_client, engine):
    key, cert, chain = demo_client
    root = signed_tree(demo_client)
    request, data, signature = parts(root)
    holder = signature.getparent()
    holder.remove(signature)
    payload = data.find(f"{{{B}}}MessagePrimaryContent")[0]
    payload.set("Id", "SIBLING")
    sign_detached(payload, holder, key, cert, extra_certificates=chain)  # signs a part only
    before = _count(engine)
    reply, answer = post(gateway_url, etree.tostring(root))
    assert answer.find(f".//{{{ns.SMEV_FAULTS}}}SignatureVerificationFault") is not None, reply.text
    assert _count(engine) == before


def test_untouched_envelope_still_passes(gateway_url, demo_client):
    """The control: the same construction without an attack is accepted."""
    reply, _ = post(gateway_url, etree.tostring(signed_tree(demo_client)))
    assert reply.status_code == 200, reply.text


def test_comment_inside_a_signed_value_cannot_truncate_what_is_read(gateway_url, demo_client, engine):
    """A comment splitting the ИНН: the signature (c14n drops comments) still covers the whole
    value, and the gateway reads the whole value, not the part before the comment."""
    key, cert, chain = demo_client
    payload = build_organisation_registration(ROMASHKA)
    inn = payload.find(f"{{{ns.REGISTRATION}}}INN")
    inn.text = ROMASHKA.inn[:2]
    inn.append(etree.Comment(" split "))
    inn[-1].tail = ROMASHKA.inn[2:]
    body = build.send_request(payload, key, cert, extra_certificates=chain)
    reply, answer = post(gateway_url, body)
    assert reply.status_code == 200, reply.text
    from gateway.storage.schema import applications
    message_id = etree.fromstring(body).findtext(f".//{{{T}}}MessageID")
    with engine.connect() as conn:
        pk = conn.execute(select(messages.c.id).where(messages.c.message_id == message_id)).scalar_one()
        inn_read = conn.execute(select(applications.c.organisation_inn)
                                .where(applications.c.message_pk == pk)).scalar_one()
    assert inn_read == ROMASHKA.inn
