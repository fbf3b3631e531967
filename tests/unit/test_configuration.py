"""One list of settings: docs/configuration.md and the code name the same ``GATEWAY_*`` variables,
and only gateway/config.py reads the gateway's environment.

A name counts as "in the code" when it is a field of ``Settings`` (read as ``GATEWAY_<FIELD>``)
or appears literally in a Python file, the Makefile, setup.cfg, pyproject.toml or .ci/run (test
variables such as the database switch included: they are documented in their own section).
"""
from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

from gateway.config import Settings

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("gateway", "signing", "envelopes", "registry_stubs")
OTHER_CODE = ("Makefile", "setup.cfg", "pyproject.toml", ".ci/run")
CONFIGURATION = ROOT / "docs" / "configuration.md"
SETTINGS_MODULE = ROOT / "gateway" / "config.py"

#: a variable name: GATEWAY_ and capitals (``SIGNED_BY_GATEWAY_PROVIDER`` is not one: no word
#: boundary before it; ``GATEWAY_<FIELD>`` is not one either)
NAME = re.compile(r"\bGATEWAY_[A-Z0-9_]*[A-Z0-9]\b")


def python_files(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py")
                  if "__pycache__" not in p.parts)


def names_in_code() -> dict[str, str]:
    """Every variable name the code knows -> where it was seen first."""
    found = {f"GATEWAY_{field.name.upper()}": "gateway/config.py (Settings)"
             for field in dataclasses.fields(Settings)}
    files = python_files(*PACKAGES, "tests") + [ROOT / f for f in OTHER_CODE if (ROOT / f).exists()]
    for path in files:
        for name in NAME.findall(path.read_text("utf-8")):
            found.setdefault(name, str(path.relative_to(ROOT)))
    return found


def names_in(path: Path) -> set[str]:
    return set(NAME.findall(path.read_text("utf-8")))


def test_every_variable_in_the_code_is_documented():
    missing = {name: where for name, where in names_in_code().items()
               if name not in names_in(CONFIGURATION)}
    assert not missing, f"add to docs/configuration.md: {missing}"


def test_every_documented_variable_exists():
    unknown = names_in(CONFIGURATION) - set(names_in_code())
    assert not unknown, f"docs/configuration.md documents variables no code reads: {sorted(unknown)}"


def test_other_docs_name_only_real_variables():
    known = set(names_in_code())
    docs = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    unknown = {str(d.relative_to(ROOT)): sorted(names_in(d) - known) for d in docs
               if names_in(d) - known}
    assert not unknown, f"variables that do not exist: {unknown}"


def _environment_reads(tree: ast.AST):
    """``….get("GATEWAY_…")``, ``getenv("GATEWAY_…")``, ``…["GATEWAY_…"]`` and
    ``"GATEWAY_…" in …``: a literal variable name read from a mapping. (Building an environment
    for a child process, ``dict(os.environ, GATEWAY_…=...)``, is not a read.)"""
    def literal(node) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and NAME.fullmatch(node.value):
            return node.value
        return None

    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if called in ("get", "getenv") and literal(node.args[0]):
                yield node.lineno, literal(node.args[0])
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) and literal(node.slice):
            yield node.lineno, literal(node.slice)
        elif (isinstance(node, ast.Compare) and literal(node.left)
              and any(isinstance(op, (ast.In, ast.NotIn)) for op in node.ops)):
            yield node.lineno, literal(node.left)


def test_only_the_settings_read_the_environment():
    reads = [f"{path.relative_to(ROOT)}:{line}: {name}"
             for path in python_files(*PACKAGES) if path != SETTINGS_MODULE
             for line, name in _environment_reads(ast.parse(path.read_text("utf-8")))]
    assert not reads, "read through gateway.config.Settings instead:\n  " + "\n  ".join(reads)


def test_the_reader_finds_reads_and_ignores_child_environments():
    # spelled VAR_ here, so that this file names no variable the scan above would pick up
    source = ('import os\n'
              'a = os.environ.get("VAR_ONE")\n'
              'b = os.getenv("VAR_TWO", "x")\n'
              'c = os.environ["VAR_THREE"]\n'
              'd = "VAR_FOUR" in os.environ\n'
              'env = dict(os.environ, VAR_FIVE="1")\n'
              'env["VAR_SIX"] = "1"\n').replace("VAR_", "GATEWAY_")
    assert sorted((line, name.replace("GATEWAY_", "VAR_"))
                  for line, name in _environment_reads(ast.parse(source))) == [
        (2, "VAR_ONE"), (3, "VAR_TWO"), (4, "VAR_THREE"), (5, "VAR_FOUR")]


def test_access_log_is_a_setting():
    assert Settings.from_env({}).access_log == ""
    assert Settings.from_env({"GATEWAY_ACCESS_LOG": "-"}).access_log == "-"


def test_app_threads_default_to_the_servers_own():
    """GATEWAY_THREADS unset (0): gunicorn's sync workers, granian's 16 app threads; a value
    set is taken as it is, for either server; a negative one is refused."""
    import pytest

    from gateway.config import GRANIAN_THREADS

    assert Settings.from_env({}).app_threads == 1
    assert Settings.from_env({"GATEWAY_SERVER": "granian"}).app_threads == GRANIAN_THREADS == 16
    for server in ("gunicorn", "granian"):
        assert Settings.from_env({"GATEWAY_SERVER": server, "GATEWAY_THREADS": "3"}).app_threads == 3
    with pytest.raises(ValueError, match="GATEWAY_THREADS"):
        Settings.from_env({"GATEWAY_THREADS": "-1"})


def test_commit_nice_only_raises_the_priority():
    import pytest

    assert Settings.from_env({}).commit_nice == 0
    assert Settings.from_env({"GATEWAY_COMMIT_NICE": "-10"}).commit_nice == -10
    for wrong in ("1", "-21"):
        with pytest.raises(ValueError, match="GATEWAY_COMMIT_NICE"):
            Settings.from_env({"GATEWAY_COMMIT_NICE": wrong})


def test_commit_first_is_off_unless_switched_on():
    assert Settings.from_env({}).commit_first is False
    assert Settings.from_env({"GATEWAY_COMMIT_FIRST": "true"}).commit_first is True
