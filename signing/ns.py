"""The namespace and transform URIs the trust core names itself.

``signing`` imports nothing else of the project (tests/unit/test_architecture.py), so what it
needs is defined here, once; ``envelopes/ns.py`` re-exports :data:`DS` from this module rather
than spelling it again.
"""

#: XMLDSig 1.0 (``ds:Signature`` and its children).
DS = "http://www.w3.org/2000/09/xmldsig#"

#: The ``xml:`` prefix's namespace (``xml:lang``, ``xml:space``, ...), bound by XML itself.
XML = "http://www.w3.org/XML/1998/namespace"

#: The SMEV 3 normalising transform (docs/smev-transform.md), a ds:Transform Algorithm URI.
SMEV_TRANSFORM = "urn://smev-gov-ru/xmldsig/transform"
