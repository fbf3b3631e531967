"""docs/protocol.md lists every operation's stages in the order the code runs them."""
from __future__ import annotations

import re
from pathlib import Path

from gateway.exchange.operations import ALL

DOC = Path(__file__).resolve().parents[3] / "docs" / "protocol.md"
BLOCK = re.compile(r"<!-- stages: (\w+) -->(.*?)<!-- /stages -->", re.S)
STAGE = re.compile(r"\d+\. `(\w+)`")


def test_every_operation_has_its_stages_in_the_doc_in_the_code_order():
    documented = {name: STAGE.findall(text) for name, text in BLOCK.findall(DOC.read_text("utf-8"))}
    assert sorted(documented) == sorted(op.name for op in ALL)
    for op in ALL:
        assert documented[op.name] == list(op.stage_names), op.name


def test_stage_names_are_unique_within_an_operation():
    for op in ALL:
        assert len(set(op.stage_names)) == len(op.stage_names), op.name
