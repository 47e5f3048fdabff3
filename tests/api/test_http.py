"""The /api/v1 endpoints over real HTTP (uvicorn on loopback), on SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt
import logging

import pytest
from pathlib import Path
from sqlalchemy import select

from registry.models import Component, Document, ReuseEvent
from registry.service import get_dossier, get_or_create_subject

from apitest_helpers import new_pid, pdf_bytes

TODAY = dt.date.today()


@pytest.fixture
def world(env):
    """A citizen with a valid birth certificate issued as the result of an earlier dossier, an ID card
    component, an expired document, and a new dossier (1.001022 needs to_khai, cccd, khai_sinh)."""
    from registry.lifecycle import complete

    pid = new_pid()
    with env.db.session() as s:
        subj = get_or_create_subject(s, pid, "Trần Thị Bình")
        earlier = env.dossier(s, pid, "1.001193", now=dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=30))
        birth = env.document(s, doc_type="khai_sinh", sealed=True, fields={"ho_ten": "Trần Thị Bình", "so": "12/2024"})
        complete(s, earlier, actor="test", result_document_id=birth.id, override_reason="hồ sơ cũ, không quét")
        expired = env.document(s, subject=subj, doc_type="cccd", valid_until=TODAY - dt.timedelta(days=1))
        new = env.dossier(s, pid)
        ids = {"pid": pid, "subject_id": subj.id, "birth": birth.id, "expired": expired.id,
               "earlier": earlier.code, "dossier": new.code}
    return ids


def _endpoints(w):
    """(name, method, path, kwargs, scope) for every endpoint."""
    return [
        ("subject_documents", "POST", "/api/v1/subjects/documents", {"json": {"subject_id": w["pid"]}}, "reuse:read"),
        ("document", "GET", f"/api/v1/documents/{w['birth']}", {"headers": {"X-Subject-Id": w["pid"]}},
         "documents:read"),
        ("document_file", "GET", f"/api/v1/documents/{w['birth']}/file", {"headers": {"X-Subject-Id": w["pid"]}},
         "documents:read"),
        ("verify", "POST", "/api/v1/verify", {"files": {"file": ("x.pdf", pdf_bytes("verify"), "application/pdf")}},
         "documents:read"),
        ("dossier_reuse", "POST", f"/api/v1/dossiers/{w['dossier']}/reuse",
         {"json": {"document_id": w["birth"], "purpose": "test"}}, "reuse:write"),
        ("reuse_event", "POST", "/api/v1/reuse-events",
         {"json": {"document_id": w["birth"], "system": "cổng DVC quốc gia", "purpose": "đăng ký kết hôn"}},
         "reuse:write"),
        ("indicators", "GET", "/api/v1/indicators", {"params": {"from": "2020-01-01", "to": "2099-12-31"}},
         "reuse:read"),
        ("dossier_create", "POST", "/api/v1/dossiers",
         {"json": {"procedure": "1.001193", "subject": "001088012345", "name": "Nguyễn Văn An"}},
         "dossiers:write"),
    ]


ENDPOINT_NAMES = [e[0] for e in _endpoints({"pid": "", "birth": 0, "dossier": ""})]
WRONG = {"reuse:read": "documents_read", "reuse:write": "reuse_read", "documents:read": "reuse_write",
         "dossiers:write": "all"}
RIGHT = {"reuse:read": "reuse_read", "reuse:write": "reuse_write", "documents:read": "documents_read",
         "dossiers:write": "dossiers_write"}


def _pick(w, name):
    return next(e for e in _endpoints(w) if e[0] == name)


@pytest.mark.parametrize("name", ENDPOINT_NAMES)
def test_no_token_is_401(env, world, name):
    _, method, path, kw, _ = _pick(world, name)
    with env.client(None) as c:
        r = c.request(method, path, **kw)
    assert r.status_code == 401, r.text
    assert r.headers.get("www-authenticate", "").startswith("Bearer")
    with env.client("not-a-token") as c:
        assert c.request(method, path, **kw).status_code == 401


@pytest.mark.parametrize("name", ENDPOINT_NAMES)
def test_wrong_scope_is_403(env, world, name):
    _, method, path, kw, scope = _pick(world, name)
    with env.client(WRONG[scope]) as c:
        r = c.request(method, path, **kw)
    assert r.status_code == 403, r.text
    assert scope in r.json()["detail"]


@pytest.mark.parametrize("name", ENDPOINT_NAMES)
def test_with_scope_allowed_and_audited(env, world, name):
    _, method, path, kw, scope = _pick(world, name)
    before = len(env.audits())
    with env.client(RIGHT[scope]) as c:
        r = c.request(method, path, **kw)
    if name == "verify":
        assert r.status_code in (200, 422), r.text
    else:
        assert r.status_code in (200, 201), r.text
    new = env.audits()[before:]
    assert new, "no audit event written"
    ev = new[-1]
    assert ev.actor == f"client:test-{RIGHT[scope]}"
    if name in ("subject_documents", "document", "document_file", "dossier_reuse", "reuse_event"):
        assert ev.subject_id == world["subject_id"]
    if name == "document_file":
        assert r.headers["content-type"] == "application/pdf"
        with env.db.session() as s:
            assert env.store.read(s.get(Document, world["birth"]).sha256) == r.content


def test_subject_documents_content(env, world):
    with env.client("reuse_read") as c:
        r = c.post("/api/v1/subjects/documents", json={"subject_id": world["pid"]})
        assert r.status_code == 200
        docs = r.json()["documents"]
        assert [d["id"] for d in docs] == [world["birth"]]  # the expired ID card is not offered
        d = docs[0]
        assert d["doc_type"] == "khai_sinh" and d["sealed"] and d["kind"] == "result"
        assert d["dossier"] == world["earlier"] and d["valid"] and d["electronic"]
        assert d["download"] == f"/api/v1/documents/{world['birth']}/file"
        assert d["fields"]["ho_ten"] == "Trần Thị Bình"
        # type filter, and an unknown subject gives an empty list (still audited)
        assert c.post("/api/v1/subjects/documents",
                      json={"subject_id": world["pid"], "doc_type": "cccd"}).json()["documents"] == []
        assert c.post("/api/v1/subjects/documents", json={"subject_id": new_pid()}).json()["documents"] == []
        # the expired one shows when asking for a day it was valid
        r = c.post("/api/v1/subjects/documents",
                   json={"subject_id": world["pid"], "type": "cccd", "valid_on": (TODAY - dt.timedelta(days=5)).isoformat()})
        assert [x["id"] for x in r.json()["documents"]] == [world["expired"]]
        assert c.post("/api/v1/subjects/documents", json={"subject_id": "12345"}).status_code == 422
    ev = env.audits("subject.documents")[-1]
    assert ev.subject_id == world["subject_id"]


def test_once_only_birth_certificate(env, world):
    """The citizen's birth certificate is offered, attached without paper, and the reuse rate moves."""
    from registry.indicators import compute
    from registry.reuse import reusable_for_dossier

    with env.db.session() as s:
        d = get_dossier(s, world["dossier"])
        offered = reusable_for_dossier(s, d)
        ind_before = compute(s)
    assert [(o["doc_type"], o["document_id"]) for o in offered] == [("khai_sinh", world["birth"])]
    assert offered[0]["sealed"] and offered[0]["from_dossier"] == world["earlier"]

    with env.client("reuse_write") as c:
        r = c.post(f"/api/v1/dossiers/{world['dossier']}/reuse", json={"document_id": world["birth"], "purpose": "x"})
        assert r.status_code == 200, r.text
        assert r.json()["component"]["origin"] == "reused" and r.json()["reusable"] == []
        again = c.post(f"/api/v1/dossiers/{world['dossier']}/reuse", json={"document_id": world["birth"]})
        assert again.status_code == 200  # idempotent, no second ledger entry
        assert c.post(f"/api/v1/dossiers/{world['dossier']}/reuse", json={"document_id": world["expired"]}).status_code == 409
        assert c.post("/api/v1/dossiers/000.00.01.H29-991231-9999/reuse", json={"document_id": world["birth"]}).status_code == 404

    with env.db.session() as s:
        d = get_dossier(s, world["dossier"])
        comps = [(c.doc_type, c.origin, c.document_id) for c in d.components]
        assert comps == [("khai_sinh", "reused", world["birth"])]
        events = list(s.scalars(select(ReuseEvent).where(ReuseEvent.dossier_id == d.id)))
        assert len(events) == 1 and events[0].document_id == world["birth"]
        assert reusable_for_dossier(s, d) == []
        ind = compute(s)
    assert ind["required_components"] == ind_before["required_components"]
    assert ind["reused_components"] == ind_before["reused_components"] + 1
    with env.client("reuse_read") as c:
        api = c.get("/api/v1/indicators").json()
    assert api["reused_components"] == ind["reused_components"] and api["reuse_rate"] == ind["reuse_rate"]


def test_reuse_of_another_subjects_document_is_refused(env, world):
    other = new_pid()
    with env.db.session() as s:
        d = env.dossier(s, other)
        code = d.code
    with env.client("reuse_write") as c:
        r = c.post(f"/api/v1/dossiers/{code}/reuse", json={"document_id": world["birth"]})
    assert r.status_code == 409 and "không phải giấy tờ của người nộp" in r.json()["detail"]
    with env.db.session() as s:
        assert s.scalar(select(Component).where(Component.document_id == world["birth"],
                                                Component.origin == "reused",
                                                Component.dossier_id == get_dossier(s, code).id)) is None


def test_reuse_event_from_another_system(env, world):
    with env.client("reuse_write") as c:
        r = c.post("/api/v1/reuse-events", json={"document_id": world["birth"], "purpose": "cấp hộ chiếu",
                                                 "dossier_code": world["dossier"]})
        assert r.status_code == 201, r.text
        assert r.json()["system"] == "test-reuse_write"
        assert c.post("/api/v1/reuse-events", json={"document_id": 2**31 - 1}).status_code == 404
        assert c.post("/api/v1/reuse-events", json={"document_id": 2**40}).status_code == 422
    with env.db.session() as s:
        ev = s.get(ReuseEvent, r.json()["id"])
        assert ev.client_id is not None and ev.purpose == "cấp hộ chiếu"


def test_document_and_missing(env, world):
    with env.client("documents_read") as c:
        r = c.get(f"/api/v1/documents/{world['birth']}", headers={"X-Subject-Id": world["pid"]})
        assert r.status_code == 200
        body = r.json()
        assert body["doc_type"] == "khai_sinh" and body["results"][0]["electronic"] is True
        assert c.get("/api/v1/documents/2147483647").status_code == 404
        assert c.get("/api/v1/documents/2147483647/file").status_code == 404


def test_revoked_client_is_refused(env, world):
    from registry.auth import add_client, revoke_client

    with env.db.session() as s:
        _, token = add_client(s, f"temp-{world['subject_id']}", "reuse:read")
    with env.client(token) as c:
        assert c.get("/api/v1/indicators").status_code == 200
        with env.db.session() as s:
            revoke_client(s, f"temp-{world['subject_id']}")
        assert c.get("/api/v1/indicators").status_code == 401


def test_personal_ids_never_logged(env, world, caplog):
    from sohoa.web.app import RedactPids

    caplog.set_level(logging.INFO)
    handler_records = []

    class Grab(logging.Handler):
        def emit(self, record):
            handler_records.append(self.format(record))

    grab = Grab()
    grab.addFilter(RedactPids())
    loggers = [logging.getLogger(n) for n in ("uvicorn.access", "sohoa.api.v1")]
    for lg in loggers:
        lg.addHandler(grab)
        lg.setLevel(logging.INFO)
    try:
        with env.client("reuse_read") as c:
            c.post("/api/v1/subjects/documents", json={"subject_id": world["pid"]})
        logging.getLogger("sohoa.api.v1").info("lookup for %s", world["pid"])
    finally:
        for lg in loggers:
            lg.removeHandler(grab)
    text = "\n".join(handler_records + [r.getMessage() for r in caplog.records])
    assert text and world["pid"] not in text
    assert world["pid"][-3:] in text


def test_openapi_document(env):
    with env.client(None) as c:
        spec = c.get("/api/v1/openapi.json").json()
    paths = spec["paths"]
    for p in ("/api/v1/subjects/documents", "/api/v1/documents/{doc_id}", "/api/v1/documents/{doc_id}/file",
              "/api/v1/verify", "/api/v1/dossiers/{code}/reuse", "/api/v1/reuse-events", "/api/v1/indicators"):
        assert p in paths
    assert "bearer" in str(spec["components"]["securitySchemes"]).lower()
    assert not any("{subject" in p for p in paths)  # personal IDs never in URLs
    # one vocabulary: a document's type is doc_type in every schema, as the API table (docs/api.md) says
    schemas = spec["components"]["schemas"]
    assert "doc_type" in schemas["SubjectQuery"]["properties"]
    assert not [name for name, sc in schemas.items()
                if "type" in sc.get("properties", {}) and name != "ValidationError"]  # FastAPI's own error item
    readme = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text("utf-8")
    assert '`{"subject_id", "doc_type"?, "valid_on"?}`' in readme


def test_api_errors_are_typed_json(env, world):
    """Expected failures answer the kind's status with {"error", "detail"} (Vietnamese detail)."""
    with env.client("documents_read") as c:
        r = c.get("/api/v1/documents/2147483000")
    assert r.status_code == 404 and r.json()["error"] == "not_found" and "không có tài liệu" in r.json()["detail"]


def test_schemathesis_finds_no_500(env, world):
    """Property-based requests from the OpenAPI document (bounded) never produce a server error."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings

    schema = schemathesis.openapi.from_url(f"{env.url}/api/v1/openapi.json")
    headers = {"Authorization": f"Bearer {env.tokens['all']}"}
    failures = []
    calls: dict[str, int] = {}
    for result in schema.get_all_operations():
        op = result.ok()

        @settings(max_examples=8, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(case=op.as_strategy())
        def run(case):
            resp = case.call(base_url=env.url, headers=headers)
            calls[case.path] = calls.get(case.path, 0) + 1
            if resp.status_code >= 500:
                failures.append((case.method, case.formatted_path, resp.status_code, resp.text[:200]))

        run()
    assert not failures, failures
    assert len(calls) == 8 and all(n >= 3 for n in calls.values()), calls


def test_reusable_prefers_sealed_and_skips_attached(env):
    from registry.reuse import reusable_for_dossier, reuse_into_dossier

    pid = new_pid()
    with env.db.session() as s:
        subj = get_or_create_subject(s, pid, "Võ Văn Giang")
        plain = env.document(s, subject=subj, doc_type="cccd")
        sealed = env.document(s, subject=subj, doc_type="cccd", sealed=True)
        env.document(s, subject=subj, doc_type="khai_sinh", valid_until=TODAY - dt.timedelta(days=1))  # expired
        d = env.dossier(s, pid)  # 1.001022: to_khai, cccd, khai_sinh
        offered = reusable_for_dossier(s, d)
        assert [(o["doc_type"], o["document_id"], o["alternatives"]) for o in offered] == [("cccd", sealed.id, [plain.id])]
        reuse_into_dossier(s, d, sealed.id, actor="staff:test", purpose="intake")
        s.refresh(d)
        assert reusable_for_dossier(s, d) == []


def test_organisation_subject_by_tax_code(env):
    tax = f"03{new_pid()[-8:]}"
    with env.db.session() as s:
        org = get_or_create_subject(s, tax, "Hộ kinh doanh Minh Phát")
        doc = env.document(s, subject=org, doc_type="dang_ky_ho_kinh_doanh", sealed=True)
        doc_id = doc.id
    with env.client("reuse_read") as c:
        r = c.post("/api/v1/subjects/documents", json={"subject_id": tax, "type": "dang_ky_ho_kinh_doanh"})
    assert r.status_code == 200 and [d["id"] for d in r.json()["documents"]] == [doc_id]


def test_verify_report_shape(env):
    with env.client("documents_read") as c:
        r = c.post("/api/v1/verify", files={"file": ("plain.pdf", pdf_bytes("unsigned"), "application/pdf")})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["document_id"] is None and len(body["sha256"]) == 64 and isinstance(body["report"], dict)


def test_sohoa_serve_command(env):
    """`sohoa serve --port P` serves the same API (a real process, as deployed)."""
    import os
    import subprocess
    import sys
    import time

    import httpx

    from apitest_helpers import free_port

    port = free_port()
    e = dict(os.environ, SOHOA_HOME=str(env.settings.home), SOHOA_DATABASE_URL=env.settings.database_url)
    proc = subprocess.Popen([sys.executable, "-c", "import sys; from sohoa.cli import main; main(sys.argv[1:])", "serve", "--host", "127.0.0.1", "--port", str(port)],
                            env=e, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read().decode()
                time.sleep(0.2)
        assert r.status_code == 200
        pid = new_pid()
        h = {"Authorization": f"Bearer {env.tokens['reuse_read']}"}
        assert httpx.post(f"http://127.0.0.1:{port}/api/v1/subjects/documents", json={"subject_id": pid},
                          headers=h).status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/indicators").status_code == 401
        # even a client that wrongly puts the ID in a URL does not get it into the access log
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/indicators?subject_id={pid}").status_code == 401
    finally:
        proc.terminate()
        out = proc.communicate(timeout=20)[0].decode()
    assert pid not in out  # personal IDs never in the server's log
    assert "POST /api/v1/subjects/documents" in out  # the access log is on
    assert f"subject_id=*********{pid[-3:]}" in out
    assert "Logging error" not in out and "Traceback" not in out


@pytest.mark.parametrize("relaxed", [True, False])
def test_read_audit_session_commits_the_audit_row(env, relaxed):
    from registry.db import read_audit_session
    from registry.reuse import lookup_subject_documents

    pid = new_pid()
    with env.db.session() as s:
        subj = get_or_create_subject(s, pid)
        env.document(s, subject=subj, doc_type="cccd")
        sid = subj.id
    with read_audit_session(env.db, relaxed) as s:
        out = lookup_subject_documents(s, "client:unit-test", pid)
    assert len(out["documents"]) == 1
    ev = env.audits("subject.documents")[-1]
    assert ev.subject_id == sid and ev.actor == "client:unit-test"
