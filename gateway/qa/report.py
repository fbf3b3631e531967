"""Which documents to validate, and the three report formats (text, JSON, JUnit XML)."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Iterable, Iterator

from lxml import etree

from gateway.qa.engine import FileReport

FORMATS = ("text", "json", "junit")


def documents(paths: Iterable[str]) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of every document: a file, every ``*.xml`` under a folder (sorted), or
    standard input for ``-``. A path that does not exist raises FileNotFoundError."""
    for given in paths:
        if given == "-":
            yield "-", sys.stdin.buffer.read()
            continue
        path = Path(given)
        if path.is_dir():
            for found in sorted(p for p in path.rglob("*.xml") if p.is_file()):
                yield str(found), found.read_bytes()
        elif path.is_file():
            yield str(path), path.read_bytes()
        else:
            raise FileNotFoundError(given)


def text(reports: list[FileReport]) -> str:
    """``file:line:column: CODE at XPATH: sentence`` per problem (the compiler convention that
    editors and CI logs link), then a one-line summary."""
    lines = []
    for report in reports:
        if report.valid:
            lines.append(f"{report.name}: valid ({', '.join(report.schemas) or 'no schema'}"
                         f"{', signature ' + report.signature if report.signed else ''})")
        for p in report.problems:
            place = ":".join(str(v) for v in (p.line, p.column) if v is not None)
            lines.append(f"{report.name}:{place + ':' if place else ''} {p.code}"
                         f"{'/' + p.rule if p.rule else ''}"
                         f"{' at ' + p.xpath if p.xpath else ''}: {p.message} [{p.fault}]")
    lines.append(summary_line(reports))
    return "\n".join(lines) + "\n"


def summary_line(reports: list[FileReport]) -> str:
    invalid = sum(not r.valid for r in reports)
    return f"{len(reports)} files, {len(reports) - invalid} valid, {invalid} invalid"


def as_json(reports: list[FileReport]) -> str:
    invalid = sum(not r.valid for r in reports)
    return json.dumps({"files": len(reports), "valid": len(reports) - invalid, "invalid": invalid,
                       "reports": [r.as_dict() for r in reports]}, ensure_ascii=False, indent=2) + "\n"


def junit(reports: list[FileReport], suite: str = "gateway validate") -> str:
    """One testcase per document; an invalid one fails with every problem in the failure text."""
    root = etree.Element("testsuites")
    invalid = sum(not r.valid for r in reports)
    ts = etree.SubElement(root, "testsuite", name=suite, tests=str(len(reports)),
                          failures=str(invalid), errors="0", skipped="0")
    for report in reports:
        case = etree.SubElement(ts, "testcase", classname=suite, name=report.name)
        if not report.valid:
            first = report.problems[0]
            failure = etree.SubElement(case, "failure", type=first.code,
                                       message=f"{len(report.problems)} problem(s); first: "
                                               f"{first.code}: {first.message}"[:1000])
            failure.text = text([report]).rsplit("\n", 2)[0]
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True).decode()


def render(reports: list[FileReport], fmt: str) -> str:
    return {"text": text, "json": as_json, "junit": junit}[fmt](reports)
