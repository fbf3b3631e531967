"""One sample of every payload, built from the demo organisations (valid-checksum identifiers),
and the files in ``envelopes/samples/`` made from them. Each payload module declares its own
samples (``PAYLOADS.samples``, :mod:`envelopes.payloads._declare`); this module merges them and
holds what they share.

``python -m envelopes.payloads.samples`` rewrites the files; a test checks that each file still
equals what is built here, validates, and parses back to the same dataclass. The EMCHD_1 files
in ``envelopes/samples/emchd/`` are hand-written in the shape real issuers produce and are not
generated.
"""
from __future__ import annotations

import hashlib
import sys
from datetime import timedelta, timezone
from pathlib import Path
from typing import Any

from lxml import etree

from envelopes.payloads import codec, poa
from envelopes.payloads._declare import discover

SAMPLES_DIR = Path(__file__).resolve().parents[1] / "samples"
EMCHD_DIR = SAMPLES_DIR / "emchd"
#: The EMCHD_1 sample embedded in the EMCHD variant of PowerOfAttorneyRegistration.
EMCHD_SAMPLE = EMCHD_DIR / "ON_EMCHD_20261102_3f2b6c1e-9a47-4d2b-8e61-5c0a7d9e1b24.xml"

MSK = timezone(timedelta(hours=3))
#: the power of attorney the samples of several domains name
POA_NUMBER = "7c9e6679-7425-40de-944b-e07fc1f90ae7"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_xml(path: Path) -> etree._Element:
    """Parse a sample file with the gateway's parser settings (no DTD, entities, network)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             remove_blank_text=True)
    return etree.parse(str(path), parser).getroot()


def payloads() -> dict[str, Any]:
    """Relative file name (under envelopes/samples/) → the sample dataclass, merged from every
    payload module's declared samples (``PAYLOADS.samples``)."""
    return {name: payload for m in discover() if m.samples is not None
            for name, payload in m.samples().items()}


def element_for(name: str, payload: Any) -> etree._Element:
    """The sample's element; the EMCHD_1 registration embeds the sample file unchanged."""
    if name.endswith("-emchd.xml"):
        return poa.build_power_of_attorney_registration(payload, read_xml(EMCHD_SAMPLE))
    return codec.build(payload)


def serialise(element: etree._Element) -> bytes:
    return etree.tostring(element, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def write(directory: Path = SAMPLES_DIR) -> list[Path]:
    written = []
    for name, payload in payloads().items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(serialise(element_for(name, payload)))
        written.append(path)
    return written


if __name__ == "__main__":
    for p in write(Path(sys.argv[1]) if len(sys.argv) > 1 else SAMPLES_DIR):
        print(p)
