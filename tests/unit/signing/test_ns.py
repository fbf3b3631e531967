"""signing names its own namespaces (it imports nothing of the project); they must stay the ones
envelopes and the gateway use."""
from envelopes import ns
from signing import bench_parts, smev_transform
from signing import ns as signing_ns


def test_envelopes_reuse_the_trust_cores_xmldsig_namespace():
    assert ns.DS is signing_ns.DS == "http://www.w3.org/2000/09/xmldsig#"


def test_smev_transform_uri_is_defined_once():
    assert smev_transform.ALGORITHM is signing_ns.SMEV_TRANSFORM == "urn://smev-gov-ru/xmldsig/transform"


def test_bench_sample_envelope_uses_the_smev_namespaces():
    assert (bench_parts.SOAP11_ENV, bench_parts.SMEV_TYPES, bench_parts.SMEV_BASIC) == \
        (ns.SOAP11_ENV, ns.SMEV_TYPES, ns.SMEV_BASIC)
