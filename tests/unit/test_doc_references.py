"""Comments, docstrings, schemas and docs cite only documents that are in the repository.

Every ``*.md`` a tracked file names (``docs/trust.md``, ``contract.md`` inside docs/, ...) must
exist relative to the repository root, to docs/ or to the citing file's own folder. A fact that
lived in a document outside the repository belongs in docs/ before code cites it. In Python files
only comments and strings are read (an attribute named ``md`` in code is not a citation).
"""
from __future__ import annotations

import io
import os
import re
import subprocess
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: a file name ending in .md, not in the middle of a longer name or a URL
CITATION = re.compile(r"(?<![\w/.:-])(\w[\w./-]*\.md)\b")
_SKIPPED_FOLDERS = {".git", ".venv", "var", "__pycache__", "build", "dist", ".pytest_cache"}


def repository_files() -> list[Path]:
    """Tracked files and new ones not ignored (git), or every file outside the usual build and
    data folders when git is not there."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                                cwd=ROOT, capture_output=True, check=True).stdout
        paths = [ROOT / name for name in listed.decode("utf-8").split("\0") if name]
    except (OSError, subprocess.CalledProcessError):
        paths = []
        for folder, subfolders, files in os.walk(ROOT):
            subfolders[:] = [d for d in subfolders
                             if d not in _SKIPPED_FOLDERS and not d.endswith(".egg-info")]
            paths += [Path(folder) / f for f in files]
    return sorted(p for p in paths if p.is_file())


def citations(text: str) -> list[tuple[int, str]]:
    return [(text.count("\n", 0, m.start()) + 1, m.group(1)) for m in CITATION.finditer(text)]


_PROSE_TOKENS = {tokenize.COMMENT, tokenize.STRING} | (
    {tokenize.FSTRING_MIDDLE} if hasattr(tokenize, "FSTRING_MIDDLE") else set())


def python_citations(source: str) -> list[tuple[int, str]]:
    """Citations in the comments and string literals (docstrings included) of Python source."""
    found = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type in _PROSE_TOKENS:
            found += [(token.start[0] + line - 1, cited) for line, cited in citations(token.string)]
    return found


def exists(cited: str, citing: Path) -> bool:
    return any((base / cited).is_file() for base in (ROOT, ROOT / "docs", citing.parent))


def test_every_cited_markdown_file_exists():
    missing = []
    for path in repository_files():
        try:
            text = path.read_text("utf-8")
        except UnicodeDecodeError:
            continue  # not text
        found = python_citations(text) if path.suffix == ".py" else citations(text)
        missing += [f"{path.relative_to(ROOT)}:{line}: {cited}"
                    for line, cited in found if not exists(cited, path)]
    assert not missing, ("cited but not in the repository (cite docs/ instead, or add the fact "
                         "there):\n  " + "\n  ".join(missing))


def test_the_reader_finds_citations_but_not_urls():
    md = ".md"  # spelled apart so that this file cites nothing itself
    text = (f"see docs/trust{md} and FOUNDING{md} §3\n"
            f"(contract{md}), https://example.org/x/README{md}, *{md}, notes{md}x\n")
    assert citations(text) == [(1, f"docs/trust{md}"), (1, f"FOUNDING{md}"), (2, f"contract{md}")]


def test_python_files_are_read_for_prose_only():
    md = ".md"
    source = (f'def f(self):\n'
              f'    """See docs/trust{md},\n    and FOUNDING{md}."""\n'
              f'    return self{md}(1)  # per NOTES{md}\n')
    assert python_citations(source) == [(2, f"docs/trust{md}"), (3, f"FOUNDING{md}"),
                                        (4, f"NOTES{md}")]
