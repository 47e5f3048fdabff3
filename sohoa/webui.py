"""The staff web UI: server-rendered pages for the counter PC (Jinja2 over FastAPI).

Staff sign in (``sohoa staff add``); every page that shows a subject's data writes an audit event.
Forms carry a per-session CSRF token. ``mount(app, settings, db)`` adds it to the web app.
"""
from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import func, select
from starlette.middleware.sessions import SessionMiddleware

from registry import backlog, outbox, service, shapes
from registry.models import Document, Dossier, IngestEntry, Procedure, Subject
from registry.reuse import reusable_for_dossier, reuse_into_dossier
from registry.staff import authenticate
from registry.store import Store
from sohoa import verification
from sohoa.verification import verify_bytes
from vocab.clock import local
from vocab.errors import NotFound, SohoaError
from vocab.kinds import DOC_TYPES, OPEN_STATUSES
from vocab.text import fold, mask_pid

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
TEMPLATES.env.filters["mask"] = mask_pid
TEMPLATES.env.filters["pct"] = lambda x: f"{100 * (x or 0):.0f}%"


MAX_UPLOAD = 50 * 1024 * 1024


class LoginRequired(Exception):
    pass


def session_secret(home: Path) -> str:
    """A per-installation secret for signing session cookies, created on first use."""
    p = home / "session.key"
    if not p.exists():
        home.mkdir(parents=True, exist_ok=True)
        p.write_text(secrets.token_hex(32))
        p.chmod(0o600)
    return p.read_text().strip()


def mount(app: FastAPI, settings, db) -> None:
    app.add_middleware(SessionMiddleware, secret_key=session_secret(settings.home), same_site="strict",
                       session_cookie="sohoa_session", max_age=12 * 3600)

    @app.exception_handler(LoginRequired)
    async def _to_login(request: Request, _exc: LoginRequired):
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    app.include_router(build_router(settings, db))


ERROR_TITLES = {400: "Yêu cầu không hợp lệ", 403: "Không có quyền truy cập", 404: "Không tìm thấy",
                409: "Không thực hiện được", 422: "Dữ liệu không hợp lệ", 503: "Dịch vụ tạm thời không sẵn sàng"}


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    """An expected failure as a page inside the layout, in Vietnamese, with a way back."""
    ctx = {"request": request, "user": request.session.get("user") if "session" in request.scope else None,
           "csrf": "", "flash": None, "status": status, "message": message,
           "title": ERROR_TITLES.get(status, "Có lỗi xảy ra")}
    return TEMPLATES.TemplateResponse(request, "error.html", ctx, status_code=status)


def build_router(settings, db) -> APIRouter:
    r = APIRouter(include_in_schema=False)
    store = Store(settings.store_dir)

    def user(request: Request) -> dict:
        u = request.session.get("user")
        if not u:
            raise LoginRequired()
        return u

    def csrf(request: Request) -> str:
        tok = request.session.get("csrf")
        if not tok:
            tok = request.session["csrf"] = secrets.token_urlsafe(24)
        return tok

    def check_csrf(request: Request, token: str) -> None:
        if not token or not secrets.compare_digest(token, request.session.get("csrf", "")):
            raise HTTPException(400, "the form expired: reload the page and try again")

    def page(request: Request, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        ctx.update(request=request, user=request.session.get("user"), csrf=csrf(request),
                   unit=settings.unit_name, flash=request.session.pop("flash", None),
                   flash_error=request.session.pop("flash_error", False))
        if ctx["user"]:  # portal sync alerts (dead letters, events waiting too long) on every page
            with db.session() as s:
                ctx["sync_alerts"] = outbox.alerts(s)
        return TEMPLATES.TemplateResponse(request, name, ctx, status_code=status)

    def flash(request: Request, msg: str, *, error: bool = False) -> None:
        request.session["flash"] = msg
        request.session["flash_error"] = error

    def actor(u: dict) -> str:
        return f"staff:{u['username']}"

    # -- sign in ----------------------------------------------------------------------------------
    @r.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, next: str = "/"):
        return page(request, "login.html", next=next if next.startswith("/") else "/")

    @r.post("/login")
    def login(request: Request, username: str = Form(...), password: str = Form(...), next: str = Form("/"),
              csrf_token: str = Form("")):
        check_csrf(request, csrf_token)
        with db.session() as s:
            st = authenticate(s, username, password)
            if st is None:
                return page(request, "login.html", status=401, next=next, error="Sai tên đăng nhập hoặc mật khẩu.")
            request.session["user"] = {"username": st.username, "name": st.name or st.username, "role": st.role}
            service.audit(s, f"staff:{st.username}", "staff.login")
        return RedirectResponse(next if next.startswith("/") and not next.startswith("//") else "/", status_code=303)

    @r.post("/logout")
    def logout(request: Request, csrf_token: str = Form("")):
        check_csrf(request, csrf_token)
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    # -- dashboard ----------------------------------------------------------------------------------
    @r.get("/", response_class=HTMLResponse)
    def home(request: Request, q: str = ""):
        u = user(request)
        with db.session() as s:
            stmt = select(Dossier).order_by(Dossier.id.desc()).limit(50)
            if q.strip():
                qq = q.strip()
                stmt = stmt.join(Dossier.subject).where(
                    (Dossier.code.contains(qq)) | (Subject.identifier == qq)
                    | (Subject.name_folded.contains(fold(qq))))
            dossiers = [shapes.dossier_json(d) for d in s.scalars(stmt)]
            unassigned = len(service.unassigned_documents(s))
            quarantined = s.scalar(select(func.count()).select_from(IngestEntry)
                                   .where(IngestEntry.state == "quarantined"))
            working = s.scalar(select(func.count()).select_from(IngestEntry)
                               .where(IngestEntry.state.in_(("pending", "working", "retry"))))
            procedures = list(s.scalars(select(Procedure).order_by(Procedure.code)))
            backlog_status = backlog.status(s)
            if q.strip():
                service.audit(s, actor(u), "dossier.search", detail={"q": fold(q)[:40]})
        return page(request, "home.html", dossiers=dossiers, unassigned=unassigned, quarantined=quarantined,
                    working=working, procedures=procedures, q=q, backlog=backlog_status)

    # -- dossiers ------------------------------------------------------------------------------------
    @r.post("/dossiers")
    def dossier_create(request: Request, procedure: str = Form(...), subject: str = Form(...),
                       name: str = Form(""), csrf_token: str = Form("")):
        u = user(request)
        check_csrf(request, csrf_token)
        try:
            with db.session() as s:
                d = service.create_dossier(s, procedure=procedure, subject=subject, name=name or None,
                                           agency=settings.agency_code, created_by=u["username"])
                service.audit(s, actor(u), "dossier.create", subject_id=d.subject_id, object_type="dossier",
                              object_id=d.code)
                code = d.code
        except SohoaError as exc:
            flash(request, f"Không tạo được hồ sơ: {exc.message}", error=True)
            return RedirectResponse("/", status_code=303)
        flash(request, f"Đã tiếp nhận hồ sơ {code}. In giấy tiếp nhận và đặt lên trước khi quét.")
        return RedirectResponse(f"/dossiers/{code}", status_code=303)

    @r.get("/dossiers/{code}", response_class=HTMLResponse)
    def dossier_page(request: Request, code: str):
        u = user(request)
        with db.session() as s:
            d = service.get_dossier(s, code)
            obj = shapes.dossier_json(d)
            have = {c["doc_type"] for c in obj["components"]}
            missing = [t for t in d.procedure.required_types if t not in have]
            reusable = reusable_for_dossier(s, d)
            service.audit(s, actor(u), "dossier.show", subject_id=d.subject_id, object_type="dossier",
                          object_id=d.code)
            proc_name = d.procedure.name
        return page(request, "dossier.html", d=obj, missing=missing, reusable=reusable, procedure_name=proc_name)

    @r.get("/dossiers/{code}/receipt.pdf")
    def dossier_receipt(request: Request, code: str):
        user(request)
        from sohoa.receipt import receipt_for

        with db.session() as s:
            pdf = receipt_for(s, service.get_dossier(s, code), settings)
        return Response(pdf, media_type="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="receipt-{code}.pdf"'})

    @r.post("/dossiers/{code}/reuse")
    def dossier_reuse(request: Request, code: str, document_id: int = Form(...), csrf_token: str = Form("")):
        u = user(request)
        check_csrf(request, csrf_token)
        try:
            with db.session() as s:
                d = service.get_dossier(s, code)
                reuse_into_dossier(s, d, document_id, actor=actor(u), purpose="tiếp nhận hồ sơ")
        except SohoaError as exc:
            flash(request, f"Không dùng lại được: {exc.message}", error=True)
        else:
            flash(request, f"Đã dùng lại văn bản số {document_id}: công dân không phải nộp bản giấy.")
        return RedirectResponse(f"/dossiers/{code}", status_code=303)

    # -- unassigned queue and documents ------------------------------------------------------------
    @r.get("/unassigned", response_class=HTMLResponse)
    def unassigned(request: Request):
        u = user(request)
        with db.session() as s:
            docs = [shapes.document_json(x) | {"source": x.source_name}
                    for x in service.unassigned_documents(s)]
            open_dossiers = [d.code for d in s.scalars(select(Dossier).where(
                Dossier.status.in_(OPEN_STATUSES)).order_by(Dossier.id.desc()).limit(200))]
            service.audit(s, actor(u), "unassigned.list")
        return page(request, "unassigned.html", docs=docs, open_dossiers=open_dossiers, types=DOC_TYPES)

    @r.post("/documents/{doc_id}/assign")
    def assign(request: Request, doc_id: int, code: str = Form(...), doc_type: str = Form(""),
               csrf_token: str = Form("")):
        u = user(request)
        check_csrf(request, csrf_token)
        try:
            with db.session() as s:
                service.assign_document(s, doc_id, code, actor=actor(u), doc_type=doc_type or None)
        except SohoaError as exc:
            flash(request, f"Không gắn được: {exc.message}", error=True)
            return RedirectResponse("/unassigned", status_code=303)
        flash(request, f"Đã gắn văn bản {doc_id} vào hồ sơ {code}.")
        return RedirectResponse("/unassigned", status_code=303)

    @r.get("/documents/{doc_id}", response_class=HTMLResponse)
    def document_page(request: Request, doc_id: int):
        u = user(request)
        with db.session() as s:
            doc = s.get(Document, doc_id)
            if doc is None:
                raise HTTPException(404, f"no document {doc_id}")
            obj = shapes.document_json(doc) | {"source": doc.source_name, "confidences": doc.field_confidences or {},
                                                "dossiers": [c.dossier.code for c in doc.components],
                                                "text": doc.text}
            service.audit(s, actor(u), "document.show", subject_id=doc.subject_id, object_type="document",
                          object_id=str(doc_id))
        return page(request, "document.html", doc=obj, types=DOC_TYPES)

    @r.get("/documents/{doc_id}/pdf")
    def document_pdf(request: Request, doc_id: int):
        u = user(request)
        with db.session() as s:
            doc = s.get(Document, doc_id)
            if doc is None or not store.exists(doc.sha256):
                raise HTTPException(404, f"no file for document {doc_id}")
            service.audit(s, actor(u), "document.file", subject_id=doc.subject_id, object_type="document",
                          object_id=str(doc_id))
            path = store.path_for(doc.sha256)
        return Response(path.read_bytes(), media_type="application/pdf")

    @r.post("/documents/{doc_id}/correct")
    async def correct(request: Request, doc_id: int):
        u = user(request)
        form = await request.form()
        check_csrf(request, str(form.get("csrf_token", "")))
        try:
            with db.session() as s:
                old = service.get_document(s, doc_id).fields or {}
                changed = {k[6:]: str(v) for k, v in form.items()
                           if k.startswith("field:") and str(v).strip() != old.get(k[6:], "")}
                service.correct_document(s, doc_id, actor=actor(u), doc_type=str(form.get("doc_type") or "") or None,
                                         fields=changed)
        except NotFound:
            raise
        except SohoaError as exc:
            flash(request, f"Không lưu được: {exc.message}", error=True)
            return RedirectResponse(f"/documents/{doc_id}", status_code=303)
        flash(request, "Đã lưu chỉnh sửa.")
        return RedirectResponse(f"/documents/{doc_id}", status_code=303)

    # -- public verification page (the QR code on a certified copy's stamp leads here) ----------------
    @r.get("/verify", response_class=HTMLResponse)
    def verify_page(request: Request, quyen: str = "", nam: int | None = None, so: int | None = None):
        entry = None
        if quyen and nam and so:
            entry = verification.register_entry(db, quyen, nam, so)
        return page(request, "verify.html", entry=entry, asked=bool(quyen and nam and so),
                    quyen=quyen, nam=nam, so=so, report=None)

    @r.post("/verify", response_class=HTMLResponse)
    async def verify_upload(request: Request):
        from starlette.concurrency import run_in_threadpool

        form = await request.form()
        up = form.get("file")
        data = await up.read(MAX_UPLOAD + 1) if up is not None and hasattr(up, "read") else b""
        if not data or len(data) > MAX_UPLOAD:
            return page(request, "verify.html", status=400, entry=None, asked=False, report=None,
                        error="Chọn một tệp PDF (tối đa 50 MB).")
        quyen, nam, so = str(form.get("quyen") or ""), form.get("nam"), form.get("so")
        ref = (quyen, int(nam), int(so)) if quyen and nam and so else None
        try:
            # pyHanko's synchronous validator runs its own event loop: keep it off the server's loop
            v = await run_in_threadpool(verify_bytes, settings, db, data, actor="public:verify", register_ref=ref)
        except SohoaError as exc:  # not a PDF, no signature, …: say so, plainly
            entry = verification.register_entry(db, *ref) if ref else None
            return page(request, "verify.html", status=exc.http_status, entry=entry, asked=bool(entry), report=None,
                        error=exc.message)
        return page(request, "verify.html", entry=v.register_entry, asked=bool(v.register_entry),
                    report=v.report.to_text(), valid=v.report.to_dict().get("valid"), matches=v.matches_register,
                    quyen=quyen, nam=nam, so=so)

    @r.get("/quarantine", response_class=HTMLResponse)
    def quarantine(request: Request):
        user(request)
        with db.session() as s:
            rows = [{"id": e.id, "name": e.name, "error": e.error, "at": local(e.finished_at)}
                    for e in s.scalars(select(IngestEntry).where(IngestEntry.state == "quarantined")
                                       .order_by(IngestEntry.id.desc()).limit(200))]
        return page(request, "quarantine.html", rows=rows)

    return r
