"""Issue 19, closing: the authorization matrix. Every route of the app's route table × every role
(and no session) × two units (communes XA and XB); the objects in the URLs are XA's. Fails on any
access the design (docs/security.md) does not grant, and on any route the table below does not know."""
from __future__ import annotations

import re

from registry.models import CertificationRequest, Component
from registry.staff import ROLES, add_staff
from sqlalchemy import select
from tests.security.conftest import PW, csrf_of, seed_world

PUBLIC = {("GET", "/login"), ("POST", "/login"), ("POST", "/logout"), ("GET", "/"), ("GET", "/verify"),
          ("POST", "/verify"), ("GET", "/api/v1/openapi.json"), ("GET", "/api/v1/docs"),
          ("GET", "/docs/oauth2-redirect"),
          ("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics")}  # probes: aggregate counts, no personal data
# (method, path) → (roles granted, bound to the unit holding the object in the URL)
C, O, M, A = "clerk", "officer", "manager", "admin"
DESIGN: dict[tuple[str, str], tuple[set[str], bool]] = {
    ("GET", "/dossiers"): ({C, M}, False), ("GET", "/search"): ({C, M}, False), ("POST", "/dossiers"): ({C}, False),
    ("GET", "/dossiers/{code}"): ({C, M}, True), ("GET", "/dossiers/{code}/components"): ({C, M}, True),
    ("GET", "/dossiers/{code}/receipt.pdf"): ({C}, True), ("POST", "/dossiers/{code}/reuse"): ({C}, True),
    ("POST", "/dossiers/{code}/pause"): ({C}, True), ("POST", "/dossiers/{code}/resume"): ({C}, True),
    ("POST", "/dossiers/{code}/complete"): ({C}, True), ("POST", "/dossiers/{code}/exempt"): ({C}, True),
    ("POST", "/dossiers/{code}/apology"): ({C}, True), ("GET", "/dossiers/{code}/apology.pdf"): ({C}, True),
    ("POST", "/dossiers/{code}/components/{component_id}/detach"): ({C}, True),
    ("POST", "/upload"): ({C}, False), ("GET", "/inbox"): ({C}, False), ("GET", "/quarantine"): ({C}, False),
    ("GET", "/quarantine/{entry_id}/preview"): ({C}, False), ("POST", "/quarantine/{entry_id}/retry"): ({C}, False),
    ("POST", "/quarantine/{entry_id}/delete"): ({C}, False), ("GET", "/unassigned"): ({C}, False),
    ("POST", "/documents/{doc_id}/assign"): ({C}, True),
    ("GET", "/documents/{doc_id}"): ({C, M, O}, True), ("GET", "/documents/{doc_id}/pages/{page}.png"): ({C, M, O}, True),
    ("GET", "/documents/{doc_id}/pdf"): ({C, M, O}, True), ("POST", "/documents/{doc_id}/correct"): ({C}, True),
    ("POST", "/documents/{doc_id}/certification"): ({C}, True),
    ("POST", "/documents/{doc_id}/pages/{page}/rotate"): ({C}, True), ("POST", "/documents/{doc_id}/split"): ({C}, True),
    ("POST", "/documents/{doc_id}/merge"): ({C}, True), ("POST", "/documents/{doc_id}/pages/{page}/move"): ({C}, True),
    ("GET", "/backlog"): ({C, M}, False), ("GET", "/backlog/items/{item_id}/preview"): ({C, M}, False),
    ("POST", "/backlog/items/{item_id}/accept"): ({C}, False), ("POST", "/backlog/items/{item_id}/reject"): ({C}, False),
    ("GET", "/certify"): ({O}, False), ("POST", "/certify"): ({O}, False),
    ("POST", "/certify/{request_id}/refuse"): ({O}, True), ("GET", "/certified/{document_id}.pdf"): ({O, C}, True),
    ("GET", "/register"): ({O}, False), ("GET", "/dashboard"): ({M}, False), ("GET", "/late"): ({M}, False),
    ("GET", "/admin/staff"): ({A}, False), ("POST", "/admin/staff"): ({A}, False),
    ("POST", "/admin/staff/{username}/role"): ({A}, False), ("POST", "/admin/staff/{username}/disable"): ({A}, False),
    ("POST", "/admin/staff/{username}/enable"): ({A}, False), ("POST", "/admin/staff/{username}/reset"): ({A}, False),
    ("POST", "/admin/staff/{username}/unlock"): ({A}, False),
    ("GET", "/events/inbox"): ({C}, False), ("GET", "/events/dossiers/{code}"): ({C, M}, True),
    ("GET", "/dashboard.xlsx"): ({M}, False), ("POST", "/documents/{doc_id}/unassign"): ({C}, True),
    # the flow's steps: the clerk of the dossier's unit; decide / supplement / pause also the officer it is forwarded to
    ("POST", "/dossiers/{code}/steps/{action}"): ({C, O}, True),
}
API = "/api/v1/"  # bearer tokens only: a staff session grants nothing there


def route_table(app):
    def walk(routes, prefix=""):
        for r in routes:
            if type(r).__name__ == "_IncludedRouter":
                yield from walk(r.original_router.routes, prefix + r.include_context.prefix)
            elif hasattr(r, "methods") and r.methods:
                for m in sorted(r.methods - {"HEAD"}):
                    yield m, prefix + r.path
    return sorted(set(walk(app.router.routes)))


def _granted(r, api: bool = False) -> bool:
    if api:  # the API may judge a body before the token (a 422 lets nothing in): only a success is a grant
        return r.status_code < 400
    if r.status_code in (401, 403, 404):
        return False
    if r.status_code in (302, 303, 307) and r.headers.get("location", "").startswith("/login"):
        return False
    return r.status_code < 400 or r.status_code in (409, 422)  # 409/422: the action was let in, then judged


def test_authorization_matrix(office, capsys):
    w = seed_world(office)
    with office.db.session() as s:
        add_staff(s, "target-user", PW, role="clerk")
        comp = s.scalar(select(Component.id).where(Component.document_id == w["XA"]["doc"]))
        req = CertificationRequest(document_id=w["XA"]["doc"], dossier_id=None, copies=1, status="pending",
                                   requested_by="clerk-xa")
        from registry.models import Dossier
        req.dossier_id = s.scalar(select(Dossier.id).where(Dossier.code == w["XA"]["code"]))
        s.add(req)
        s.flush()
        values = {"code": w["XA"]["code"], "doc_id": w["XA"]["doc"], "document_id": w["XA"]["doc"], "page": 1,
                  "component_id": comp, "entry_id": 1, "item_id": 1, "request_id": req.id, "username": "target-user",
                  "action": "forward"}
    form = {"procedure": "1.001193", "subject": "001203004567", "name": "Thử", "reason": "damaged", "note": "thử",
            "role": "clerk", "password": "một-mật-khẩu-mới-2026", "username": "moi-tao", "target": str(w["XA"]["doc"]),
            "other": str(w["XA"]["doc"]), "after": "1", "degrees": "90", "copies": "1", "code": w["XA"]["code"],
            "document_id": str(w["XA"]["doc"]), "doc_type": "khai_sinh", "new_date": "31/12/2030",
            "component": str(comp), "unit": "XA", "due": "31/12/2030", "confirm": "1"}
    table = route_table(office.app)
    unknown = [(m, p) for m, p in table if (m, p) not in DESIGN and (m, p) not in PUBLIC and not p.startswith(API)]
    assert not unknown, f"routes the design table does not know: {unknown}"
    # the other commune's accounts first: XA's own walk changes XA's objects (a detached document
    # goes back to the office's shared unassigned queue)
    accounts = [(None, None)] + [(role, unit) for unit in ("XB", "XA") for role in ROLES]
    wrong, counted = [], 0
    for role, unit in accounts:
        c = office.signed_in(role, unit) if role else office.client()
        token = csrf_of(c, "/login")
        for method, path in table:
            if (method, path) in PUBLIC:
                continue
            url = re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), path)
            if method == "GET" and path.startswith("/events/"):
                with c.stream("GET", url) as r:
                    granted = _granted(r)
            elif method == "GET":
                granted = _granted(c.get(url), path.startswith(API))
            else:
                granted = _granted(c.post(url, data={**form, "csrf_token": token}), path.startswith(API))
            counted += 1
            roles, bound = DESIGN.get((method, path), (set(), False))
            allowed = role in roles and (not bound or unit == "XA")
            if granted and not allowed:
                wrong.append((role, unit, method, path))
        if role:  # the account is still signed in after its walk (nothing above signed it out)
            assert c.get("/").status_code == 303
    with capsys.disabled():  # shown in CI's quiet output too
        print(f"\nauthorization matrix: {len(table)} routes × {len(accounts)} accounts = {counted} requests")
    assert not wrong, wrong
