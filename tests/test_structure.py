"""The boundaries between stages (issue 8), checked on the import graph that grimp builds from
the source: no cycles anywhere, each package imports only what is below it, HTTP lives above the
registry, the ingest job has no SQL, and the migration history has one head."""
from __future__ import annotations

import ast
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("sohoa", "ingest", "ocr", "registry", "signing", "vocab")
# what each package may import from the others (below it); vocab is the bottom
ALLOWED = {
    "vocab": set(),
    "registry": {"vocab"},
    "ocr": {"vocab"},
    "signing": {"registry", "vocab"},
    "ingest": {"registry", "vocab"},
    "sohoa": {"ingest", "ocr", "registry", "signing", "vocab"},
}


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph(*PACKAGES, include_external_packages=True)


def strongly_connected(graph) -> list[list[str]]:
    """Tarjan's algorithm over module-level imports (lazy imports inside functions included)."""
    mods = sorted(m for m in graph.modules if m.split(".")[0] in PACKAGES)
    adj = {m: sorted(x for x in graph.find_modules_directly_imported_by(m) if x.split(".")[0] in PACKAGES)
           for m in mods}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in adj[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for m in mods:
        if m not in index:
            visit(m)
    return out


def test_no_import_cycle(graph):
    assert strongly_connected(graph) == []


def test_cycle_detector_sees_a_cycle():
    g = grimp.ImportGraph()
    for a, b in (("sohoa.a", "sohoa.b"), ("sohoa.b", "sohoa.c"), ("sohoa.c", "sohoa.a"), ("sohoa.c", "vocab.x")):
        g.add_import(importer=a, imported=b)
    assert strongly_connected(g) == [["sohoa.a", "sohoa.b", "sohoa.c"]]


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_layers(graph, package):
    bad = []
    for other in set(PACKAGES) - {package} - ALLOWED[package]:
        if graph.direct_import_exists(importer=package, imported=other, as_packages=True):
            chain = graph.find_shortest_chain(importer=package, imported=other, as_packages=True)
            bad.append(" -> ".join(chain or (package, other)))
    assert bad == []


def test_registry_has_no_http(graph):
    assert not graph.direct_import_exists(importer="registry", imported="fastapi", as_packages=True)
    assert not graph.direct_import_exists(importer="registry", imported="starlette", as_packages=True)


def _imported_names(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_ingest_job_has_no_sql():
    names = _imported_names(ROOT / "sohoa" / "jobs" / "inbox.py")
    assert not {n for n in names if n.split(".")[0] == "sqlalchemy" or n == "registry.models"}


def test_migration_history_is_linear():
    from alembic.script import ScriptDirectory

    from registry.db import Database

    cfg = Database("sqlite://").alembic_config()
    assert len(ScriptDirectory.from_config(cfg).get_heads()) == 1


def test_status_names_below_the_web_agree_with_the_catalogue():
    """Registry messages name a dossier's status as people read it, in the words of the web UI."""
    from sohoa import i18n
    from vocab.kinds import STATUS_NAMES, DossierStatus

    assert set(STATUS_NAMES) == set(DossierStatus)
    for status, name in STATUS_NAMES.items():
        assert i18n.label("status", status) == name, status
