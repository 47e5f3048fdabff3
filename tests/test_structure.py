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


# -- the certification request's life is registry.certification's, never the web layer's ----------
_REQUEST_FIELDS = {"status", "decided_by", "decided_at", "certified_copy_id", "refusal_id", "lease_owner",
                   "lease_until"}


def _certification_violations(source: str) -> list[str]:
    """SQL on certification requests (the model or its table named) and state transitions (a
    request field assigned, a status compared with a request state) in ``source``."""
    from vocab.kinds import CertState

    states = {s.value for s in CertState}
    out = []
    for node in ast.walk(ast.parse(source)):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.ImportFrom) and any(a.name == "CertificationRequest" for a in node.names):
            out.append(f"{line}: imports CertificationRequest")
        elif isinstance(node, ast.Name) and node.id == "CertificationRequest" or (
                isinstance(node, ast.Attribute) and node.attr == "CertificationRequest"):
            out.append(f"{line}: uses CertificationRequest")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and "certification_requests" in node.value:
            out.append(f"{line}: names the certification_requests table")
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                for el in (t.elts if isinstance(t, ast.Tuple) else [t]):
                    if isinstance(el, ast.Attribute) and el.attr in _REQUEST_FIELDS:
                        out.append(f"{line}: sets .{el.attr}")
        elif isinstance(node, ast.Call) and any(k.arg in _REQUEST_FIELDS - {"status"} for k in node.keywords) and \
                isinstance(node.func, ast.Attribute) and node.func.attr == "values":
            out.append(f"{line}: update(…).values() of a request field")
        elif isinstance(node, ast.Compare):
            parts = [node.left, *node.comparators]
            if any(isinstance(p, ast.Attribute) and p.attr == "status" for p in parts) and any(
                    isinstance(p, ast.Constant) and p.value in states for p in parts):
                out.append(f"{line}: compares a status with a request state")
    return out


def test_certification_requests_have_no_sql_nor_transition_in_the_web():
    bad = {str(p.relative_to(ROOT)): v for p in sorted((ROOT / "sohoa" / "web").rglob("*.py"))
           if (v := _certification_violations(p.read_text("utf-8")))}
    assert bad == {}


def test_certification_check_sees_sql_and_transitions():
    """What the web layer held before (sohoa/webui/officer.py): every form of it is seen."""
    old = '''
from registry.models import CertificationRequest
def certify(s, ids, u):
    s.execute(update(CertificationRequest).where(CertificationRequest.status == "pending").values(status="signing"))
def refuse(x, u):
    if x.status != "pending":
        raise NotFound("")
    x.status, x.decided_by = "refused", u.username
def raw(s):
    s.execute(text("update certification_requests set status = 'pending'"))
'''
    found = _certification_violations(old)
    assert {f.split(": ", 1)[1] for f in found} == {
        "imports CertificationRequest", "uses CertificationRequest", "compares a status with a request state",
        "sets .status", "sets .decided_by", "names the certification_requests table"}
    assert _certification_violations("def f(d):\n    return d.status == 'completed'\n") == []


def test_request_state_names_below_the_web_agree_with_the_catalogue():
    from sohoa import i18n
    from vocab.kinds import CERT_STATE_NAMES, ActState, CertState

    assert set(CERT_STATE_NAMES) == set(CertState)
    for state, name in CERT_STATE_NAMES.items():
        assert i18n.label("cert_status", state) == name, state
    assert all(i18n.has_label("cert_status", s) for s in ActState)
