"""The layer rules, checked on the source with ``ast`` (imports inside functions included).

* Between the top-level packages: ``signing`` imports nothing of the project, ``envelopes`` only
  ``signing``, ``registry_stubs`` ``signing`` and ``envelopes``, ``gateway`` all three; none of
  them imports the test suite.
* No import cycle among the modules of ``gateway/``.
* SQL (``sqlalchemy``, ``alembic``) only in ``gateway/storage/``.
* The gateway's wings: ``storage`` imports no other wing but ``config`` and ``faults``;
  ``domains`` imports neither ``http``, ``ops`` nor ``exchange``; ``pipeline`` neither ``http``
  nor ``ops``; ``webhooks`` neither ``pipeline``, ``exchange``, ``domains`` nor ``registers``;
  ``http`` is the edge and ``ops`` the top: only ``ops`` and the composition root ``wiring``
  import them; the QA kit ``qa`` may import every wing but ``registers``, ``http`` and ``ops``,
  and only ``http``, ``ops`` and ``wiring`` import it. The operator console ``console`` is an edge
  beside ``http``: it may read ``http.access`` (the operators' sessions), ``storage``, ``pipeline``
  (participants), but never ``exchange``, ``domains``, ``registers`` or ``webhooks`` (it shows
  state, it does not process messages); only ``http`` (which mounts it), ``ops`` and ``wiring``
  import it.

Offenders that exist today and are being fixed elsewhere are listed in the ``PENDING_*`` sets
below. Each set must be exactly right: the test fails when a new offender appears AND when a
listed one has been fixed, so that the lists only ever shrink. When you fix one, delete it here.

What this cannot see: imports by computed name (``importlib.import_module(f"...")``, as
``gateway/domains/base.py`` discovers the domains), and state shared through module globals
(a module-level table that another module mutates at start-up is not an import).
"""
from __future__ import annotations

import ast
import dataclasses
from collections import defaultdict, deque
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("signing", "envelopes", "registry_stubs", "gateway")

#: top-level package -> the project packages it may import
ALLOWED = {
    "signing": set(),
    "envelopes": {"signing"},
    "registry_stubs": {"signing", "envelopes"},
    "gateway": {"signing", "envelopes", "registry_stubs"},
}
#: the test suite (``tests`` and what ``pythonpath = tests`` puts on the path)
TEST_MODULES = {"tests"} | {p.stem for p in (ROOT / "tests").glob("*.py")}

SQL_LIBRARIES = {"sqlalchemy", "alembic"}
SQL_HOME = "gateway.storage"

#: wing of gateway -> the wings it must not import (a wing is ``gateway.<wing>...``)
_ALL_WINGS = {"http", "pipeline", "exchange", "domains", "storage", "registers", "ops",
              "config", "faults", "wiring", "qa", "webhooks", "console"}
FORBIDDEN_WINGS: dict[str, set[str]] = {
    "storage": _ALL_WINGS - {"storage", "config", "faults"},
    "domains": {"http", "ops", "exchange"},
    "pipeline": {"http", "ops"},
    # the QA kit validates as the pipeline does and drives gateways over the contract; it never
    # calls the registers (what it checks is offline or goes through SOAP)
    "qa": {"registers"},
    # webhooks derive events from a change and deliver them: storage below, nothing of the path
    "webhooks": {"pipeline", "exchange", "domains", "registers"},
    # the console shows what the gateway stored and changes participants through the functions
    # that journal it; processing messages is not its business
    "console": {"exchange", "domains", "registers", "webhooks"},
}
for _wing in _ALL_WINGS - {"qa", "http", "ops", "wiring"}:  # only the edge and the top use the kit
    FORBIDDEN_WINGS.setdefault(_wing, set()).add("qa")
for _wing in _ALL_WINGS - {"http", "ops", "wiring", "console"}:  # http is the edge (the console beside it)
    FORBIDDEN_WINGS.setdefault(_wing, set()).add("http")
for _wing in _ALL_WINGS - {"http", "ops", "wiring", "console"}:  # http mounts the console
    FORBIDDEN_WINGS.setdefault(_wing, set()).add("console")
for _wing in _ALL_WINGS - {"ops", "wiring"}:  # ops may import everything; only wiring imports ops
    FORBIDDEN_WINGS.setdefault(_wing, set()).add("ops")

# -- known offenders, being fixed by the engineers who own those wings ---------------------------

#: modules outside gateway/storage/ that import SQLAlchemy today (the storage rewrite moves it)
PENDING_SQL_OUTSIDE_STORAGE: set[str] = set()

#: import cycles in gateway/ today, each as the set of modules of its strongly connected
#: component (pipeline/exchange, being rewritten): every cycle runs through
#: gateway.pipeline.dispatch's lazy ``from gateway.exchange import operations``.
PENDING_CYCLES: set[frozenset[str]] = set()

#: (importer, imported) pairs that break a wing rule today
PENDING_WING_IMPORTS: set[tuple[str, str]] = set()


# -- reading the imports -------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Import:
    importer: str  # dotted module name
    target: str  # dotted name of the imported module (a project module when it is one)
    path: str  # file, relative to the repository root
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.importer} imports {self.target}"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "__pycache__" not in path.parts:
                found[module_name(path)] = path
    return found


def imports_of(name: str, path: Path, source: str, known: set[str]) -> list[Import]:
    """Every import statement of the module, wherever it stands (module level, function, class,
    ``if``/``try``), with ``from X import y`` resolved to the submodule ``X.y`` when it is one."""
    is_package = path.name == "__init__.py"
    where = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
    found = []
    for node in ast.walk(ast.parse(source, filename=str(path))):
        if isinstance(node, ast.Import):
            found += [Import(name, alias.name, where, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = name.split(".") if is_package else name.split(".")[:-1]
                base = package[:len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                submodule = f"{module}.{alias.name}"
                found.append(Import(name, submodule if submodule in known else module, where,
                                    node.lineno))
    return sorted(found, key=lambda i: i.line)  # ast.walk is breadth-first


@pytest.fixture(scope="module")
def all_imports() -> list[Import]:
    modules = project_modules()
    known = set(modules)
    result = []
    for name, path in modules.items():
        result += imports_of(name, path, path.read_text("utf-8"), known)
    return result


def top(name: str) -> str:
    return name.split(".", 1)[0]


def wing(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if parts[0] == "gateway" and len(parts) > 1 else None


def _listing(items) -> str:
    return "\n  ".join(sorted(str(i) for i in items))


def _report(*findings: tuple[str, object]) -> None:
    """Fail with every non-empty finding: new offenders and fixed ones alike."""
    text = [f"{title}:\n  {_listing(items)}" for title, items in findings if items]
    assert not text, "\n".join(text)


# -- the rules -----------------------------------------------------------------------------------

def test_packages_import_only_the_layers_below(all_imports):
    broken = [i for i in all_imports
              if top(i.target) in ALLOWED and top(i.target) != top(i.importer)
              and top(i.target) not in ALLOWED[top(i.importer)]]
    assert not broken, "imports against the layer rules:\n  " + _listing(broken)


def test_packages_never_import_the_tests(all_imports):
    broken = [i for i in all_imports if top(i.target) in TEST_MODULES]
    assert not broken, "project code importing the test suite:\n  " + _listing(broken)


def test_sql_only_in_storage(all_imports):
    offenders: dict[str, list[Import]] = defaultdict(list)
    for i in all_imports:
        if top(i.target) in SQL_LIBRARIES and not (i.importer == SQL_HOME
                                                   or i.importer.startswith(SQL_HOME + ".")):
            offenders[i.importer].append(i)
    new = set(offenders) - PENDING_SQL_OUTSIDE_STORAGE
    fixed = PENDING_SQL_OUTSIDE_STORAGE - set(offenders)
    _report(("SQL outside gateway/storage/ (go through a storage function instead)",
             [i for m in new for i in offenders[m]]),
            ("no longer importing SQL, delete from PENDING_SQL_OUTSIDE_STORAGE", fixed))


def gateway_graph(imports: list[Import]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for i in imports:
        if top(i.importer) == "gateway" and top(i.target) == "gateway" and i.importer != i.target:
            graph[i.importer].add(i.target)
    return graph


def strongly_connected(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """Tarjan's algorithm, iterative; only components that hold a cycle (two or more modules:
    a module importing itself is skipped when the graph is built)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []
    nodes = sorted(set(graph) | {t for ts in graph.values() for t in ts})
    for start in nodes:
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        components.append(frozenset(component))
    return components


def cycle_path(graph: dict[str, set[str]], component: frozenset[str]) -> list[str]:
    """A shortest cycle through the component's first module, as a path that returns to it."""
    start = min(component)
    previous: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for child in sorted(graph.get(node, ())):
            if child == start:
                path = [node]
                while path[-1] != start:
                    path.append(previous[path[-1]])
                return [*reversed(path), start]
            if child in component and child not in previous:
                previous[child] = node
                queue.append(child)
    raise AssertionError(f"no cycle through {start}")  # a component always has one


def test_no_import_cycles_in_gateway(all_imports):
    graph = gateway_graph(all_imports)
    components = set(strongly_connected(graph))
    new = components - PENDING_CYCLES
    fixed = PENDING_CYCLES - components
    _report(("import cycles in gateway/ (a path, then the whole strongly connected component)",
             [" -> ".join(cycle_path(graph, c)) + f"   (component: {', '.join(sorted(c))})"
              for c in new]),
            ("cycles gone or changed, update PENDING_CYCLES",
             [", ".join(sorted(c)) for c in fixed]))


def test_gateway_wings(all_imports):
    offenders: dict[tuple[str, str], list[Import]] = defaultdict(list)
    for i in all_imports:
        source, target = wing(i.importer), wing(i.target)
        if source and target and target in FORBIDDEN_WINGS.get(source, ()):
            offenders[(i.importer, i.target)].append(i)
    new = set(offenders) - PENDING_WING_IMPORTS
    fixed = PENDING_WING_IMPORTS - set(offenders)
    _report(("imports against the wing rules", [i for pair in new for i in offenders[pair]]),
            ("no longer imported, delete from PENDING_WING_IMPORTS",
             [f"{a} -> {b}" for a, b in fixed]))


def test_every_wing_is_known():
    """A new wing of gateway/ has to be placed in the rules above before it is used."""
    present = {p.name for p in (ROOT / "gateway").iterdir()
               if p.is_dir() and (p / "__init__.py").exists()}
    present |= {p.stem for p in (ROOT / "gateway").glob("*.py") if p.stem != "__init__"}
    assert present == _ALL_WINGS


# -- the reader itself ---------------------------------------------------------------------------

def test_reader_sees_function_level_relative_and_submodule_imports():
    source = ("import os\n"
              "from gateway.pipeline.validate import identifiers, readable_xpath\n"
              "def late():\n"
              "    from gateway.exchange import operations\n"
              "    if True:\n"
              "        import sqlalchemy as sa\n"
              "class C:\n"
              "    from . import db\n"
              "    from ..config import Settings\n")
    known = {"gateway.pipeline.validate", "gateway.pipeline.validate.identifiers",
             "gateway.exchange", "gateway.storage.db", "gateway.config"}
    found = imports_of("gateway.storage.schema", ROOT / "gateway/storage/schema.py", source, known)
    assert [(i.target, i.line) for i in found] == [
        ("os", 1), ("gateway.pipeline.validate.identifiers", 2), ("gateway.pipeline.validate", 2),
        ("gateway.exchange", 4), ("sqlalchemy", 6), ("gateway.storage.db", 8),
        ("gateway.config", 9)]


def test_cycle_finder_reports_a_path():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e"}}
    assert strongly_connected(graph) == [frozenset("abc")]
    assert cycle_path(graph, frozenset("abc")) == ["a", "b", "c", "a"]


def test_only_operations_start_or_read_the_stand_ins(all_imports):
    """The service learns about registers and the CA over their HTTP APIs, like it will in
    production; only ``ops`` (setup's demo PKI, ``stubs serve``) imports ``registry_stubs``."""
    offenders = sorted({f"{i.importer} imports {i.target}" for i in all_imports
                        if top(i.target) == "registry_stubs" and top(i.importer) == "gateway"
                        and not i.importer.startswith("gateway.ops.")})
    assert not offenders, offenders
