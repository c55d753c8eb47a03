"""The house rules of docs/ARCHITECTURE.md, checked on the source itself with ``ast``.

Every ``import`` and ``from ... import`` of the project's modules is read, wherever it sits (at
the top, inside a function, under ``if TYPE_CHECKING:``), relative imports resolved. Three
things are checked:

- :data:`HOUSE_RULES`, which layer must never import what;
- that importing a pure module of the log pulls in no SQLAlchemy, even through another module;
- that the modules import one another without a cycle. For this graph ``from pkg import mod``
  is an edge to the submodule ``pkg.mod`` when it is one, any other import of a package an
  edge to its ``__init__``; imports under ``if TYPE_CHECKING:`` are not edges, since they never
  run, but imports inside functions are: deferring an import hides a cycle, it doesn't end it.

``tests/`` and ``bench/`` are not checked: they may drive any layer, the demo included.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("ledger", "web", "schemas", "scanners")
SCRIPTS = ("wsgi.py",)

#: Flask, its extensions and click: only ``web/`` imports them.
WEB_FRAMEWORK = ("flask", "flask_babel", "flask_smorest", "flask_wtf", "werkzeug", "click")

#: the log's modules that work on bytes alone: importing one must not load SQLAlchemy
PURE_LOG_MODULES = tuple(f"ledger.log.{name}" for name in
                         ("canonical", "entry", "merkle", "checkpoint", "identity", "keys",
                          "tiles", "evidence", "cosignature", "timestamp"))
#: EPCIS 2.0 work that needs no database: event hash IDs, identifiers, JSON Schema validation
PURE_EPCIS_MODULES = tuple(f"ledger.epcis.{name}" for name in
                           ("hashing", "identifiers", "schema", "render"))

#: layer (a module and everything under it) -> what it must never import (module prefixes).
#: A module obeys every row whose layer contains it, and may always import its own package.
HOUSE_RULES: dict[str, tuple[str, ...]] = {
    # data flows web -> schemas -> ledger, never back; only the CLI loads the demo
    "ledger": (*WEB_FRAMEWORK, "web", "schemas", "ledger.demo"),
    "ledger.log": ("ledger.supervision", "ledger.accounts", "ledger.demo", "schemas", "web"),
    **dict.fromkeys(PURE_LOG_MODULES, ("sqlalchemy",)),
    # EPCIS 2.0 wire format, pure: the capture that appends through submit builds on it
    "ledger.epcis": ("ledger.accounts", "ledger.outbox", "ledger.trace", "ledger.recall",
                     "ledger.consumer", "schemas", "web", "ledger.demo"),
    **dict.fromkeys(PURE_EPCIS_MODULES, ("sqlalchemy", "ledger.log")),
    "ledger.supervision": ("web", "schemas", "ledger.demo", "ledger.trace"),
    # trace reads the supervision projections; recall builds on it, never the reverse
    "ledger.trace": ("ledger.accounts", "ledger.recall", "ledger.outbox", "schemas", "web",
                     "ledger.demo"),
    "ledger.accounts": ("ledger.supervision", "schemas", "web", "ledger.demo"),
    # the outbox carries other packages' notices and knows none of them
    "ledger.outbox": ("ledger.supervision", "ledger.accounts", "schemas", "web", "ledger.demo"),
    # what a shopper sees: a reader of the projections, the recall status and the log's
    # proofs, which nothing in the ledger calls back
    "ledger.consumer": ("ledger.accounts", "ledger.outbox", "ledger.trace", "schemas", "web",
                        "ledger.demo"),
    # exports: readers of the projections that write regulators' spreadsheets
    "ledger.export": ("ledger.accounts", "ledger.outbox", "ledger.trace", "ledger.recall",
                      "ledger.consumer", "schemas", "web", "ledger.demo"),
    # reports: figures read from the projections (credit grades through ledger.credit's
    # current_grades, districts as ledger.accounts.scope matches them); rendering is web's
    "ledger.reports": ("ledger.outbox", "ledger.trace", "ledger.recall",
                       "ledger.consumer", "schemas", "web", "ledger.demo"),
    # risk: spot-check frames and draws, early warning, standards warnings; a reader of the
    # projections that appends its draws through submit, which nothing in the ledger calls back
    "ledger.risk": ("ledger.trace", "ledger.recall", "ledger.consumer", "ledger.export",
                    "schemas", "web", "ledger.demo"),
    # credit grading: reads the ledger and the projections, appends through submit; risk and
    # reports read its grades, never the reverse
    "ledger.credit": ("ledger.trace", "ledger.recall", "ledger.consumer", "ledger.export",
                      "ledger.reports", "ledger.risk", "schemas", "web", "ledger.demo"),
    "schemas": (*WEB_FRAMEWORK, "web", "ledger.demo"),
    "scanners": (*WEB_FRAMEWORK, "sqlalchemy", "web", "ledger.demo"),
    "wsgi": WEB_FRAMEWORK,  # it imports web.create_app, and nothing else
}


@dataclass(frozen=True)
class Import:
    """One module loaded by one import statement."""

    path: str  # the importing file, relative to the repository
    line: int
    importer: str  # the importing module's dotted name
    imported: str  # the dotted name loaded: a project module, or a third-party one as written
    typing_only: bool  # under ``if TYPE_CHECKING:``

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


@cache
def _modules() -> dict[str, Path]:
    """Every module of the project, by dotted name (a package by its ``__init__``)."""
    files = [path for package in PACKAGES for path in sorted((REPO / package).rglob("*.py"))]
    files += [REPO / script for script in SCRIPTS]
    modules = {}
    for path in files:
        parts = path.relative_to(REPO).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _statements(tree: ast.AST) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement in ``tree``, and whether it is under ``if TYPE_CHECKING:``."""
    stack: list[tuple[ast.AST, bool]] = [(tree, False)]
    while stack:
        node, typing_only = stack.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, typing_only
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            stack += [(child, True) for child in node.body]
            stack += [(child, typing_only) for child in node.orelse]
        else:
            stack += [(child, typing_only) for child in ast.iter_child_nodes(node)]


@cache
def _imports() -> tuple[Import, ...]:
    modules = _modules()
    found = set()
    for importer, path in modules.items():
        package = importer if path.name == "__init__.py" else importer.rpartition(".")[0]
        for node, typing_only in _statements(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:  # relative: from the package, one level up per extra dot
                    parts = package.split(".")
                    anchor = parts[:len(parts) - (node.level - 1)]
                    base = ".".join([*anchor, *([base] if base else [])])
                names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                         for alias in node.names]
            found |= {Import(str(path.relative_to(REPO)), node.lineno, importer, name,
                             typing_only) for name in names}
    return tuple(sorted(found, key=lambda i: (i.path, i.line, i.imported)))


def _project_module(name: str) -> str | None:
    """The project module that importing ``name`` runs (the longest prefix that is one)."""
    modules = _modules()
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in modules:
            return ".".join(parts[:end])
    return None


def _runtime_edges() -> dict[str, dict[str, list[Import]]]:
    """importer -> imported project module -> the statements that make the edge."""
    graph: dict[str, dict[str, list[Import]]] = {module: {} for module in _modules()}
    for imp in _imports():
        target = _project_module(imp.imported)
        if target is not None and not imp.typing_only:
            graph[imp.importer].setdefault(target, []).append(imp)
    return graph


def test_house_rules_name_real_modules() -> None:
    """A rule about a module that was renamed away would hold vacuously."""
    ours = {*PACKAGES, *(Path(script).stem for script in SCRIPTS)}
    named = {*HOUSE_RULES, *(prefix for prefixes in HOUSE_RULES.values() for prefix in prefixes)}
    assert [name for name in sorted(named) if name.split(".")[0] in ours
            and not any(_within(module, name) for module in _modules())] == []


def test_no_layer_imports_what_the_house_rules_forbid() -> None:
    offenders = [
        f"{imp.where}: {imp.importer} imports {imp.imported} (forbidden in {layer})"
        for imp in _imports()
        for layer, forbidden in HOUSE_RULES.items() if _within(imp.importer, layer)
        for prefix in forbidden
        if _within(imp.imported, prefix) and not _within(imp.importer, prefix)
    ]
    assert offenders == [], "house rules broken:\n" + "\n".join(offenders)


def test_importing_a_pure_log_module_pulls_in_no_sqlalchemy() -> None:
    """Followed through every project module it loads, and the packages they sit in."""
    graph = _runtime_edges()
    offenders = []
    for start in (*PURE_LOG_MODULES, *PURE_EPCIS_MODULES):
        # module -> (the module that loaded it, how): a breadth-first walk of what runs
        loaded_by: dict[str, tuple[str, str]] = {}
        queue = [start]
        while queue:
            module = queue.pop(0)
            parts = module.split(".")
            steps = [(target, edges[0].where) for target, edges in graph[module].items()]
            steps += [(".".join(parts[:end]), "") for end in range(1, len(parts))]
            for target, how in steps:
                if target != start and target not in loaded_by:
                    loaded_by[target] = (module, how)
                    queue.append(target)
        culprits = {}  # the first SQLAlchemy import of each module that makes one
        for imp in _imports():
            if (imp.importer == start or imp.importer in loaded_by) and not imp.typing_only \
                    and _within(imp.imported, "sqlalchemy"):
                culprits.setdefault(imp.importer, imp)
        for imp in culprits.values():
            chain, module = [f"{imp.where} ({imp.importer})"], imp.importer
            while module != start:
                module, how = loaded_by[module]
                chain.append(f"{how} ({module})" if how else f"(package of {module})")
            offenders.append(f"{start} loads {imp.imported}: " + " <- ".join(chain))
    assert offenders == [], "\n".join(offenders)


def _cycles(graph: dict[str, dict[str, list[Import]]]) -> list[list[str]]:
    """Strongly connected components with more than one module, or a module importing itself
    (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph[successor]))))
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1 or node in graph[node]:
                        found.append(sorted(component))
    return sorted(found)


def test_cycle_finder_finds_cycles_and_self_imports() -> None:
    edge: list[Import] = []
    graph = {"a": {"b": edge}, "b": {"c": edge}, "c": {"a": edge, "d": edge},
             "d": {}, "e": {"e": edge}, "f": {"d": edge}}
    assert _cycles(graph) == [["a", "b", "c"], ["e"]]


def test_no_import_cycles() -> None:
    graph = _runtime_edges()
    report = []
    for component in _cycles(graph):
        report.append("import cycle among " + ", ".join(component) + ":")
        report += [f"  {imp.where}: {imp.importer} imports {imp.imported}"
                   for module in component for target in sorted(graph[module])
                   if target in component for imp in graph[module][target]]
    assert report == [], "\n".join(report)


def test_no_code_path_updates_or_deletes_ledger_rows() -> None:
    pattern = re.compile(r"(update|delete)\((EntryRow|MerkleNode|CheckpointRow)\b|"
                         r"(EntryRow|MerkleNode|CheckpointRow)\)\.(update|delete)\(|"
                         r"(UPDATE|DELETE FROM)\s+(entries|merkle_nodes|checkpoints)\b")
    offenders = [str(path.relative_to(REPO)) for path in _modules().values()
                 if "migrations" not in path.parts and pattern.search(path.read_text())]
    assert offenders == []
