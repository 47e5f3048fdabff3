"""Issue 19 §3, §7, §8 for the API: no walking of ids, masked ID numbers unless a scope asks for
them, strict JSON, a body cap on every route, one error shape, and local API docs."""
from __future__ import annotations

import re
import uuid

from apitest_helpers import new_pid


def _client(env, scopes: str) -> str:
    from registry.auth import add_client

    with env.db.session() as s:
        _, token = add_client(s, f"sec-{uuid.uuid4().hex[:8]}", scopes)
    return token


def _people(env, n=3):
    from registry.service import get_or_create_subject

    out = []
    with env.db.session() as s:
        for i in range(n):
            pid = new_pid()
            subj = get_or_create_subject(s, pid, f"Người {i}")
            doc = env.document(s, subject=subj, doc_type="cccd", sealed=True,
                               fields={"so_dinh_danh": pid, "ho_ten": f"Người {i}"})
            out.append((pid, doc.id))
    return out


def test_documents_read_cannot_walk_ids(env):
    people = _people(env)
    token = _client(env, "documents:read,reuse:read")
    with env.client(token) as c:
        ids = [d for _, d in people]
        for i in range(1, max(ids) + 3):  # walking 1…N finds nothing
            r = c.get(f"/api/v1/documents/{i}")
            assert r.status_code == 404 and r.json()["error"] == "not_found", (i, r.text)
            assert c.get(f"/api/v1/documents/{i}/file").status_code == 404
        (pid0, doc0), (pid1, doc1) = people[0], people[1]
        # naming another person's ID does not open this one's document
        assert c.get(f"/api/v1/documents/{doc0}", headers={"X-Subject-Id": pid1}).status_code == 404
        r = c.get(f"/api/v1/documents/{doc0}", headers={"X-Subject-Id": pid0})
        assert r.status_code == 200
        assert pid0 not in r.text and r.json()["fields"]["so_dinh_danh"].endswith(pid0[-3:])  # masked
        # a lookup of the subject opens its documents' links for this client
        assert c.post("/api/v1/subjects/documents", json={"subject_id": pid1}).status_code == 200
        assert c.get(f"/api/v1/documents/{doc1}").status_code == 200
        assert c.get(f"/api/v1/documents/{doc1}/file").status_code == 200
        assert c.get(f"/api/v1/documents/{people[2][1]}").status_code == 404
    with env.client(_client(env, "documents:read,pid:read")) as c:  # the scope that shows ID numbers whole
        r = c.get(f"/api/v1/documents/{doc0}", headers={"X-Subject-Id": pid0})
        assert r.status_code == 200 and r.json()["fields"]["so_dinh_danh"] == pid0


def test_json_constants_and_lone_surrogates_are_refused(env):
    bodies = ['{"subject_id": NaN}', '{"subject_id": "001203004567", "x": Infinity}',
              '{"subject_id": "001203004567", "x": -Infinity}', '{"subject_id": "\\ud800"}',
              '{"document_id": 1e999}', '{"subject_id": "001203004567", "doc_type": "\\udfff"}']
    with env.client("all") as c:
        for body in bodies:
            for path in ("/api/v1/subjects/documents", "/api/v1/reuse-events"):
                r = c.post(path, content=body.encode(), headers={"content-type": "application/json"})
                assert 400 <= r.status_code < 500, (path, body, r.status_code, r.text[:200])
                assert set(r.json()) >= {"error", "detail"}
        r = c.post("/api/v1/subjects/documents", content=b'{"subject_id": "\xff\xfe"}',
                   headers={"content-type": "application/json"})
        assert r.status_code == 422


def test_every_api_body_is_capped(env):
    big = b"%PDF-1.4\n" + b"0" * (51 * 1024 * 1024)
    with env.client("all") as c:
        r = c.post("/api/v1/verify", files={"file": ("big.pdf", big, "application/pdf")})
        assert r.status_code == 413 and r.json()["error"] == "too_large"
        r = c.post("/api/v1/subjects/documents", content=b'{"subject_id": "' + b"1" * (2 * 1024 * 1024) + b'"}',
                   headers={"content-type": "application/json"})
        assert r.status_code == 413


def test_401_403_and_422_have_the_documented_shape(env):
    with env.client(None) as c:
        r = c.get("/api/v1/indicators")
        assert r.status_code == 401 and set(r.json()) == {"error", "detail"} and r.json()["error"] == "unauthorized"
    with env.client("documents_read") as c:
        r = c.get("/api/v1/indicators")
        assert r.status_code == 403 and set(r.json()) == {"error", "detail"} and r.json()["error"] == "forbidden"
        r = c.get("/api/v1/documents/99999999999999999999")
        assert r.status_code == 422 and r.json()["error"] == "invalid" and isinstance(r.json()["detail"], str)


def test_api_docs_load_nothing_from_elsewhere(env):
    with env.client(None) as c:
        html = c.get("/api/v1/docs").text
        assert "swagger" in html.lower()
        urls = re.findall(r'(?:src|href)="([^"]+)"', html) + re.findall(r"url: '([^']+)'", html)
        assert urls and not [u for u in urls if re.match(r"(https?:)?//", u)], urls
        for u in urls:
            assert c.get(u).status_code == 200, u


def test_look_alike_digits_at_the_api(env):
    """Full-width or Arabic-Indic digits: normalised to the same subject in a lookup, refused in
    the read header; never a second subject."""
    (pid, doc), = _people(env, 1)
    full = "".join(chr(0xFF10 + int(ch)) for ch in pid)
    arabic = "".join(chr(0x0660 + int(ch)) for ch in pid)
    with env.client("all") as c:
        for other in (full, arabic):
            r = c.post("/api/v1/subjects/documents", json={"subject_id": other})
            assert r.status_code == 200 and r.json()["subject_id"] == pid
            assert [d["id"] for d in r.json()["documents"]] == [doc]
        assert c.get(f"/api/v1/documents/{doc}", headers={"X-Subject-Id": full.encode()}).status_code == 422
    from registry.models import Subject
    from sqlalchemy import func, select

    with env.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Subject).where(Subject.identifier.like(f"%{pid[-6:]}"))) == 1
