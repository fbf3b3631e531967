"""Inclusive c14n 1.0 / 1.1 and a Reference without Transforms, as independent signers make
them: xmlsec1 signs a template in place (the only correct way for inclusive c14n, whose output
depends on the signature's position), and the engine verifies it; tampering is caught."""
import os
import shutil
import subprocess

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from lxml import etree

from envelopes import ns
from registry_stubs.pki import Pki
from signing.c14n import C14N_10, C14N_11, EXC_C14N
from signing.errors import HashError
from signing.xmldsig import verify_detached

DS, T = ns.DS, ns.SMEV_TYPES
ENVELOPE = f"""<soap:Envelope xmlns:soap="{ns.SOAP11_ENV}" xmlns:x="urn:unused"><soap:Body>
<ns:SendRequestRequest xmlns:ns="{T}"><ns:SenderProvidedRequestData Id="SIGNED">
<ns:MessageID>0b1c2d3e-0000-1000-8000-000000000001</ns:MessageID>
<b:MessagePrimaryContent xmlns:b="{ns.SMEV_BASIC}"><p:Data xmlns:p="urn:p">text</p:Data></b:MessagePrimaryContent>
</ns:SenderProvidedRequestData><ns:CallerInformationSystemSignature/></ns:SendRequestRequest>
</soap:Body></soap:Envelope>"""


def _xmlsec1():
    path = shutil.which("xmlsec1")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("xmlsec1 is required under CI (make system-test-deps)")
        pytest.skip("xmlsec1 is not installed")
    return path


@pytest.fixture(scope="module")
def signer(tmp_path_factory):
    pki = Pki.init(tmp_path_factory.mktemp("pki"), base_url="http://127.0.0.1:9")
    return pki.issue("signer", common_name="Signer")


@pytest.mark.parametrize("c14n,transforms", [
    (C14N_10, [C14N_10]), (C14N_11, [C14N_11]), (C14N_10, None), (EXC_C14N, [C14N_11])],
    ids=["c14n10", "c14n11", "no-transforms", "exc-signedinfo-c14n11-reference"])
def test_engine_verifies_inclusive_c14n_signatures_made_in_place_by_xmlsec1(tmp_path, signer, c14n,
                                                                            transforms):
    tool = _xmlsec1()
    root = etree.fromstring(ENVELOPE.encode())
    holder = root.find(f".//{{{T}}}CallerInformationSystemSignature")
    signature = etree.SubElement(holder, f"{{{DS}}}Signature", nsmap={"ds": DS})
    info = etree.SubElement(signature, f"{{{DS}}}SignedInfo")
    etree.SubElement(info, f"{{{DS}}}CanonicalizationMethod", Algorithm=c14n)
    etree.SubElement(info, f"{{{DS}}}SignatureMethod",
                     Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256")
    reference = etree.SubElement(info, f"{{{DS}}}Reference", URI="#SIGNED")
    if transforms is not None:
        chain = etree.SubElement(reference, f"{{{DS}}}Transforms")
        for uri in transforms:
            etree.SubElement(chain, f"{{{DS}}}Transform", Algorithm=uri)
    etree.SubElement(reference, f"{{{DS}}}DigestMethod",
                     Algorithm="http://www.w3.org/2001/04/xmlenc#sha256")
    etree.SubElement(reference, f"{{{DS}}}DigestValue")
    etree.SubElement(signature, f"{{{DS}}}SignatureValue")
    etree.SubElement(etree.SubElement(signature, f"{{{DS}}}KeyInfo"), f"{{{DS}}}X509Data")
    template = tmp_path / "template.xml"
    template.write_bytes(etree.tostring(root))
    key = tmp_path / "key.pem"
    key.write_bytes(signer.private_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    out = tmp_path / "signed.xml"
    done = subprocess.run([tool, "--sign", "--id-attr:Id", f"{T}:SenderProvidedRequestData",
                           "--privkey-pem", f"{key},{signer.cert_path}", "--output", str(out),
                           str(template)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    signed = etree.parse(str(out)).getroot()
    target = signed.find(f".//{{{T}}}SenderProvidedRequestData")
    verified = verify_detached(signed.find(f".//{{{DS}}}Signature"), target)
    assert verified.element is target
    target.find(f".//{{urn:p}}Data").text = "changed"
    with pytest.raises(HashError):
        verify_detached(signed.find(f".//{{{DS}}}Signature"), target)
