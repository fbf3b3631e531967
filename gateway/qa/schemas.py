"""Every schema of the contract with its version and SHA-256: ``GET /ws/xsd/`` lists them and
``gateway schemas export DIR`` copies them, so a QA team can pin exactly what it tested against."""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from lxml import etree

from gateway.config import CONTRACT_DIRS

XS = "http://www.w3.org/2001/XMLSchema"


def listing() -> list[dict]:
    """One entry per file of xsd/ and wsdl/: name, kind, target namespace, version, SHA-256."""
    entries = []
    for kind, directory in sorted(CONTRACT_DIRS.items()):
        for path in sorted(Path(directory).glob(f"*.{kind}")):
            data = path.read_bytes()
            root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
            entries.append({"file": path.name, "kind": kind,
                            "url": f"/ws/xsd/{path.name}" if kind == "xsd" else "/ws?wsdl",
                            "targetNamespace": root.get("targetNamespace"),
                            "version": root.get("version"),
                            "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)})
    return entries


def export(target: Path) -> list[dict]:
    """Copy every file of the contract into ``target`` (byte for byte) with ``index.json``."""
    target.mkdir(parents=True, exist_ok=True)
    entries = listing()
    for kind, directory in CONTRACT_DIRS.items():
        for path in Path(directory).glob(f"*.{kind}"):
            shutil.copyfile(path, target / path.name)
    (target / "index.json").write_text(json.dumps(entries, indent=2) + "\n", "utf-8")
    return entries


def global_elements() -> dict[str, set[str]]:
    """Target namespace -> the global elements the XSDs of xsd/ declare in it: what a business
    type (``gateway is allow NAMESPACE ROOT``) can name."""
    found: dict[str, set[str]] = {}
    for path in sorted(Path(CONTRACT_DIRS["xsd"]).glob("*.xsd")):
        root = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True)).getroot()
        names = found.setdefault(root.get("targetNamespace") or "", set())
        names.update(el.get("name") for el in root.iterfind(f"{{{XS}}}element") if el.get("name"))
    return found
