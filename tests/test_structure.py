"""The boundaries between stages (issue 8), checked on the import graph that grimp builds from
the source: no cycles anywhere, each package imports only what is below it, HTTP lives above the
registry, the ingest job has no SQL, and the migration history has one head."""
from __future__ import annotations

import ast
import re
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
    "ingest": {"ocr", "registry", "vocab"},
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
    """No web framework and no HTTP client in the registry (the population-database gateway's
    client is sohoa.jobs.population)."""
    for http in ("fastapi", "starlette", "httpx", "requests", "urllib3", "aiohttp"):
        if http in graph.modules:  # an HTTP library nothing imports is not in the graph at all
            assert not graph.direct_import_exists(importer="registry", imported=http, as_packages=True), http
    assert "httpx" in graph.modules  # imported above the registry (sohoa): the check above ran for it


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


# -- the journal owns every state change of a file ------------------------------------------------
_FOLDERS = re.compile(r"\b(inbox|work_dir|done_dir|quarantine\w*|paths\.(work|done))\b")
_MOVING_CALLS = {("os", "rename"), ("os", "replace"), ("os", "unlink"), ("os", "remove"), ("shutil", "move"),
                 ("shutil", "copy"), ("shutil", "copy2"), ("shutil", "copyfile")}


def file_moves_on_scan_folders(source: str) -> list[str]:
    """Calls that move, copy or delete a file (os.rename/replace/unlink/remove, shutil.move/copy*,
    Path.rename/replace/unlink) inside a function that names the inbox, work/, done/ or quarantine/."""
    tree = ast.parse(source)
    found = []
    for fn in ast.walk(tree):
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        stmts = fn.body[1:] if ast.get_docstring(fn) is not None else fn.body
        body = "\n".join(ast.get_source_segment(source, st) or "" for st in stmts)
        if not _FOLDERS.search(re.sub(r"#[^\n]*", "", body)):  # a comment naming a folder moves nothing
            continue
        for call in ast.walk(fn):
            if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Attribute):
                continue
            f = call.func
            if isinstance(f.value, ast.Name) and (f.value.id, f.attr) in _MOVING_CALLS:
                found.append(f"{fn.name}: {f.value.id}.{f.attr}")
            elif f.attr in ("rename", "unlink") or (f.attr == "replace" and len(call.args) == 1 and not call.keywords):
                found.append(f"{fn.name}: .{f.attr}()")
    return found


def test_move_detector_sees_a_move():
    src = ("def retry(settings, path):\n    dest = settings.inbox / path.name\n    os.rename(path, dest)\n"
           "def clean(q):\n    q.quarantine_dir.joinpath('x').unlink()\n"
           "def fine(text):\n    return text.replace('a', 'b')\n")
    assert file_moves_on_scan_folders(src) == ["retry: os.rename", "clean: .unlink()"]


def test_no_file_move_of_the_scan_folders_outside_ingest():
    """The ingest journal owns every state change of a file: nothing else moves, copies or deletes
    files of the inbox, work/, done/ or quarantine/ (the web upload and the quarantine's retry and
    delete go through ingest.journal)."""
    bad = []
    for pkg in sorted(set(PACKAGES) - {"ingest"}):
        for path in sorted((ROOT / pkg).rglob("*.py")):
            bad += [f"{path.relative_to(ROOT)}: {m}" for m in file_moves_on_scan_folders(path.read_text("utf-8"))]
    assert bad == []


# -- one ingest core ------------------------------------------------------------------------------
CORE_STEPS = {"count_pages", "read_scans", "incoming"}  # ingest.core: check, read (pixel budget, retry), build


def core_calls(path: Path) -> set[str]:
    """The functions of ``ingest.core`` a module calls (as ``core.f(...)`` after ``from ingest import core``)."""
    tree = ast.parse(path.read_text("utf-8"))
    imported = any(isinstance(n, ast.ImportFrom) and n.module == "ingest" and any(a.name == "core" for a in n.names)
                   for n in ast.walk(tree))
    return {n.func.attr for n in ast.walk(tree) if imported and isinstance(n, ast.Call)
            and isinstance(n.func, ast.Attribute) and isinstance(n.func.value, ast.Name) and n.func.value.id == "core"}


def test_the_inbox_job_and_the_backlog_read_through_the_same_core():
    inbox = core_calls(ROOT / "sohoa" / "jobs" / "inbox.py")
    backlog = core_calls(ROOT / "sohoa" / "jobs" / "backlog" / "importer.py")
    assert CORE_STEPS <= inbox and CORE_STEPS <= backlog, (inbox, backlog)
    # and neither reads pages on its own any more
    for path in [ROOT / "sohoa" / "jobs" / "inbox.py", *sorted((ROOT / "sohoa" / "jobs" / "backlog").glob("*.py"))]:
        own = {n.func.attr for n in ast.walk(ast.parse(path.read_text("utf-8"))) if isinstance(n, ast.Call)
               and isinstance(n.func, ast.Attribute) and isinstance(n.func.value, ast.Name) and n.func.value.id == "ocr"}
        assert not own & {"read_page", "read_pages", "ocr_file", "count_pages"}, (path, own)


def test_core_detector_sees_a_job_that_does_not_call_the_core(tmp_path):
    p = tmp_path / "job.py"
    p.write_text("import ocr\ndef run(path):\n    return ocr.read_page(path, 0)\n", "utf-8")
    assert core_calls(p) == set()
    p.write_text("from ingest import core\ndef run(s, b):\n    return core.read_scans(s, b, None, None)\n", "utf-8")
    assert core_calls(p) == {"read_scans"}


# -- one definition of each identifier rule (vocab.identifiers) ------------------------------------
IDENTIFIERS = Path("vocab") / "identifiers.py"
PID_CHECKERS = re.compile(r"^(check_pid|is_pid|pid_problems|valid_pid|province_codes)$")


def identifier_rules(source: str) -> list[str]:
    """Definitions of an identifier rule in a module: ``PID_FIELDS`` assigned, a province list (a
    literal of ten or more 3-digit codes), a personal-ID checker (a function of that name, or the
    12-digit pattern itself)."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "PID_FIELDS" for t in targets):
                out.append("PID_FIELDS")
        elif isinstance(node, (ast.Set, ast.List, ast.Tuple)):
            codes = [e for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)
                     and re.fullmatch(r"\d{3}", e.value)]
            if len(codes) >= 10:
                out.append("province list")
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and PID_CHECKERS.match(node.name):
            out.append(f"def {node.name}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.strip("^$") == r"\d{12}":
            out.append("12-digit pattern")
    return out


def test_identifier_rule_detector_sees_each_kind():
    src = ('PID_FIELDS = ("so_dinh_danh",)\nP = {' + ", ".join(f'"{i:03d}"' for i in range(1, 12)) + '}\n'
           'def check_pid(p):\n    return re.fullmatch(r"^\\d{12}$", p)\n')
    assert sorted(identifier_rules(src)) == ["12-digit pattern", "PID_FIELDS", "def check_pid", "province list"]


def test_each_identifier_rule_is_defined_once_in_vocab():
    """PID_FIELDS, the province list (vocab/data/province_codes.json, read by vocab.identifiers) and
    the personal-ID checks live in vocab.identifiers alone; ocr, registry and the web use them."""
    found = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            rules = identifier_rules(path.read_text("utf-8"))
            if rules:
                found[str(path.relative_to(ROOT))] = sorted(rules)
    assert found == {str(IDENTIFIERS): ["12-digit pattern", "PID_FIELDS", "def is_pid", "def pid_problems",
                                        "def province_codes"]}


def test_the_clerks_pages_ask_the_registry_not_the_database():
    """The counter clerk's pages (split from one clerk module by area) hold no query of their own:
    their reads are registry functions (registry.queues, history, search, service)."""
    for name in ("dossiers", "inbox", "unassigned"):
        names = _imported_names(ROOT / "sohoa" / "web" / f"{name}.py")
        assert not {n for n in names if n.split(".")[0] == "sqlalchemy"}, name
        assert "registry.models" not in names or name == "dossiers", name  # dossiers: the type of a row only
