"""The layering of app/, checked: every import (at module level or inside a function) goes down, never up
or sideways, and no two units import each other, directly or through others.

A unit is a module or package named in LAYERS (the longest prefix of a module's name that is listed). A
module may import its own unit, any unit of a lower layer, and, in the kernel only, the other kernel units.
"""

import ast
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app"

# Lowest first. Each layer: (name, units, what it is).
LAYERS: list[tuple[str, tuple[str, ...], str]] = [
    (
        "kernel",
        (
            "app",
            "app.config",
            "app.errors",
            "app.kinds",
            "app.dates",
            "app.db",
            "app.schemas",
            "app.pagination",
            "app.filters",
            "app.listing",
            "app.records",
            "app.http",
            "app.progress",
            "app.ratelimit",
            "app.middleware",
            "app.observability",
            "app.migrate",
            "app.openapi",
            "app.auth",
            "app.audit",
            "app.search",
        ),
        "What every domain stands on; imports no domain. Kinds of record are known to it only through the "
        "Resource registry the session factory hands it (app.kinds.registry_of).",
    ),
    ("sources", ("app.sources",), "Sources, the citations of every record, and the write path that cites."),
    ("people", ("app.people",), "People."),
    ("organizations", ("app.organizations",), "Courts, prisons, parties, media."),
    ("cases", ("app.cases",), "Cases and what they are made of: participants, charges, sentences."),
    ("hearings", ("app.hearings",), "Hearings and their outcomes."),
    ("events", ("app.events",), "Everything else that happened in a case."),
    ("schema", ("app.models",), "Every mapped model, for metadata and Alembic."),
    ("registry", ("app.resources",), "The one registry of what each kind of record is."),
    (
        "rules",
        ("app.visibility",),
        "Who sees what: the rules over every kind.",
    ),
    ("sessions", ("app.sessions",), "The session factory, which installs visibility on every session it makes."),
    ("lifecycle", ("app.lifecycle",), "Restore and purge, for every kind of record."),
    ("reads", ("app.timeline",), "Whole-case reads across the domains: the timeline, a case with what is inside it."),
    ("exports", ("app.exports",), "Formats a case or a list can be exported in."),
    (
        "api",
        (
            "app.sources.router",
            "app.people.router",
            "app.organizations.router",
            "app.cases.router",
            "app.cases.dependencies",
            "app.cases.participants_router",
            "app.cases.charges_router",
            "app.cases.sentences_router",
            "app.hearings.router",
            "app.hearings.outcomes_router",
            "app.events.router",
            "app.timeline.router",
            "app.exports.router",
            "app.audit.router",
        ),
        "The JSON API's routes: each calls services below it, none imports another.",
    ),
    ("web", ("app.web",), "The HTML pages and their pictures."),
    ("commands", ("app.commands",), "What every command shares."),
    (
        "tools",
        ("app.auth.cli", "app.demo", "app.transfer"),
        "The commands' plumbing, the token commands, the demo case, dump and load.",
    ),
    ("entry", ("app.main", "app.cli"), "The service and the `casetrack` command."),
]

# A few routers are shared by the routes of others below them in the URL (the case a hearing lies in).
SHARED = {"app.cases.dependencies"}

RANK = {unit: rank for rank, (_, units, _) in enumerate(LAYERS) for unit in units}
LAYER_NAME = {unit: name for name, units, _ in LAYERS for unit in units}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(APP.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in APP.rglob("*.py")}


def unit_of(module: str) -> str | None:
    parts = module.split(".")
    for end in range(len(parts), 1, -1):  # (the package "app" itself is only its __init__)
        if ".".join(parts[:end]) in RANK:
            return ".".join(parts[:end])
    return module if module == "app" else None


def imports(module: str, path: Path) -> list[tuple[str, int]]:
    """(imported module, line) for every import of an app module, wherever it stands in the file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")[: len(module.split(".")) - node.level + (path.name == "__init__.py")]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            # `from app.x import y`: y may be a module of its own
            names = [
                f"{target}.{alias.name}" if f"{target}.{alias.name}" in MODULES else target for alias in node.names
            ]
        else:
            continue
        found += [(name, node.lineno) for name in names if name in MODULES and name != module]
    return found


def edges() -> list[tuple[str, str, str, str, int]]:
    """(importing unit, imported unit, importing file, imported module, line)."""
    return sorted(
        {
            (unit_of(module), unit_of(target), str(path.relative_to(APP.parent)), target, line)
            for module, path in MODULES.items()
            for target, line in imports(module, path)
            if unit_of(module) != unit_of(target)
        }
    )


def broken_rule(source: str, target: str) -> str | None:
    if RANK[target] < RANK[source]:
        return None
    if RANK[target] == RANK[source]:
        if LAYER_NAME[source] == "kernel" or target in SHARED:
            return None
        return f"{source} and {target} are peers in the {LAYER_NAME[source]} layer"
    return f"the {LAYER_NAME[source]} layer ({source}) imports the higher {LAYER_NAME[target]} layer ({target})"


def test_every_module_has_a_layer() -> None:
    assert sorted(m for m in MODULES if unit_of(m) is None) == []
    assert sorted(u for u in RANK if u not in MODULES) == [], "LAYERS names modules that do not exist"


def test_imports_go_down() -> None:
    problems = [
        f"{file}:{line}: imports {target}: {rule}"
        for source, target_unit, file, target, line in edges()
        if (rule := broken_rule(source, target_unit)) is not None
    ]
    assert problems == []


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one unit (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_unit_cycles() -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    where: dict[tuple[str, str], str] = {}
    for source, target, file, _module, line in edges():
        graph[source].add(target)
        graph[target]
        where.setdefault((source, target), f"{file}:{line}")
    described = [
        " -> ".join(component) + ": " + ", ".join(where[a, b] for a in component for b in component if (a, b) in where)
        for component in cycles(graph)
    ]
    assert described == []


def test_the_check_sees_an_upward_import_inside_a_function(tmp_path: Path) -> None:
    """The checker itself: a lazy import from the kernel up into a domain is caught, with its line."""
    fake = tmp_path / "records.py"
    fake.write_text("def f():\n    from app.cases.service import create_case\n")
    found = imports("app.records", fake)
    assert found == [("app.cases.service", 2)]
    assert broken_rule(unit_of("app.records"), unit_of("app.cases.service")) is not None
    assert broken_rule(unit_of("app.hearings.router"), unit_of("app.events.router")) is not None
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c"]]


def test_visibility_is_installed_by_the_session_factory_not_by_an_import() -> None:
    """Importing every model (as Alembic does) filters nothing; making a session factory installs the filter."""
    code = (
        "import app.models, app.visibility\n"
        "from sqlalchemy import event\n"
        "from sqlalchemy.ext.asyncio import create_async_engine\n"
        "from app.db import CasetrackSession\n"
        "installed = lambda: event.contains(CasetrackSession, 'do_orm_execute', app.visibility._filter_by_viewer)\n"
        "assert not installed(), 'installed by an import'\n"
        "from app.sessions import make_sessionmaker\n"
        "make_sessionmaker(create_async_engine('sqlite+aiosqlite://'))\n"
        "assert installed(), 'not installed by make_sessionmaker'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=APP.parent, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
