"""The counter clerk's pages: dossiers (list, search, open, actions), documents (page images beside
the fields, corrections, page operations, history), the live inbox, browser upload, the unassigned
queue with suggestions, quarantine (preview, retry, delete)."""
from __future__ import annotations

import functools
import os
import secrets
import shutil
from pathlib import Path

from fastapi import APIRouter, Depends, Form, Request, UploadFile
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlalchemy import func, select

from ingest.journal import safe_name
from registry import backlog, lifecycle, service, shapes
from registry.models import (AuditEvent, CertificationRequest, Component, Document, Dossier, IngestEntry,
                             Officer, Procedure, Staff, Subject)
from registry.errors import SubjectMismatch, TypeNotRequired
from registry.metadata import METADATA_KEYS, has_metadata
from registry.reuse import reusable_for_dossier, reuse_into_dossier
from registry.search import SORTS, DossierFilter, list_dossiers, matching_documents
from sohoa import i18n
from sohoa.i18n import parse_date
from sohoa.papers.slips import apology_pdf
from sohoa.web import pageops, steps
from sohoa.web.base import CLERK, MANAGER, OFFICER, Principal, Web
from sohoa.web.render import page_png, preview
from vocab.clock import vn_today
from vocab.errors import Conflict, Invalid, NotFound, SohoaError
from vocab.kinds import ACTIVE_STATES, DOC_TYPES, OPEN_STATUSES, SCAN_SUFFIXES, DossierStatus, EntryState
from vocab.text import fold

MAX_UPLOAD = 100 * 1024 * 1024
PID_FIELDS = ("so_dinh_danh", "so_dinh_danh_chong", "so_dinh_danh_vo")


def free_name(folder: Path, name: str) -> Path:
    """``folder/name``, or ``name-1``, ``name-2``, … when a file of that name is there already."""
    dest, n = folder / name, 1
    while dest.exists():
        dest = folder / f"{Path(name).stem}-{n}{Path(name).suffix}"
        n += 1
    return dest


def remove_quarantined(path: Path) -> None:
    """A quarantined file and the reason file beside it."""
    path.unlink()
    Path(str(path) + ".reason.txt").unlink(missing_ok=True)


def inbox_counts(s) -> dict[str, int]:
    """Files being read, documents waiting for a dossier, files in quarantine (the clerk's cards)."""
    working = s.scalar(select(func.count()).select_from(IngestEntry).where(IngestEntry.state.in_(ACTIVE_STATES))) or 0
    quarantined = s.scalar(select(func.count()).select_from(IngestEntry)
                           .where(IngestEntry.state == EntryState.QUARANTINED)) or 0
    unassigned = service.unassigned_count(s)
    return {"working": working, "unassigned": unassigned, "quarantined": quarantined}


def journal_rows(s, limit: int = 30) -> list[dict]:
    """The newest journal rows with their state and, where the journal records it, OCR progress."""
    rows = []
    for e in s.scalars(select(IngestEntry).order_by(IngestEntry.id.desc()).limit(limit)):
        total, done = e.pages_total, e.pages_done
        docs = list(s.execute(select(Document.id, Document.doc_type).where(Document.ingest_id == e.id)).all())
        rows.append({"id": e.id, "name": e.name, "state": e.state, "created_at": e.created_at,
                     "finished_at": e.finished_at, "error": e.error, "pages_total": total, "pages_done": done,
                     "documents": [{"id": d, "doc_type": t} for d, t in docs]})
    return rows


def suggestions(s, doc: Document, limit: int = 3) -> list[Dossier]:
    """Open dossiers a document probably belongs to: same personal ID number, else same name."""
    fields = doc.fields or {}
    pids = [str(fields[k]) for k in PID_FIELDS if fields.get(k)]
    out: list[Dossier] = []
    if pids:
        out = list(s.scalars(select(Dossier).join(Subject).where(
            Subject.identifier.in_(pids), Dossier.status.in_(OPEN_STATUSES)).order_by(Dossier.id.desc()).limit(limit)))
    name = fields.get("ho_ten")
    if not out and name:
        out = list(s.scalars(select(Dossier).join(Subject).where(
            Subject.name_folded == fold(name), Dossier.status.in_(OPEN_STATUSES)).order_by(Dossier.id.desc()).limit(limit)))
    return out


def dossier_view(s, d: Dossier) -> dict:
    obj = shapes.dossier_json(d)
    obj.update(
        id=d.id, channel=d.channel, unit=d.unit, pause_reason=d.pause_reason, late=bool(d.late) or lifecycle.is_late(d),
        apology_ref=d.apology_ref, procedure_name=d.procedure.name, completed_at=d.completed_at,
        states=(states := [vars(c) for c in service.component_states(s, d)]),
        missing=[c["doc_type"] for c in states if c["state"] == "missing"],
        component_rows=[{"id": c.id, "doc_type": c.doc_type, "origin": c.origin, "routed_by": c.routed_by,
                         "created_at": c.created_at, "document": c.document} for c in d.components])
    return obj


_QUIET = ("dossier.show", "document.show", "document.page", "document.file", "dossier.watch", "certify.queue")


def history(s, object_type: str, object_id: str, limit: int = 50, current: Document | None = None) -> list[dict]:
    """Who changed what, when, from the audit log (reads left out). For a document's corrections,
    each event lists only the fields it changed (before → after), worked out from the next state."""
    rows = list(s.scalars(select(AuditEvent).where(AuditEvent.object_type == object_type,
                                                   AuditEvent.object_id == str(object_id),
                                                   AuditEvent.action.not_in(_QUIET))
                          .order_by(AuditEvent.id.desc()).limit(limit)))
    names = {f"staff:{u}": n for u, n in s.execute(select(Staff.username, Staff.name))}
    names |= {f"officer:{i}": n for i, n in s.execute(select(Officer.id, Officer.name))}
    after = ({"doc_type": current.doc_type, "fields": dict(current.fields or {}),
              "metadata": dict(current.doc_metadata or {})} if current is not None else None)
    out = []
    for e in rows:  # newest first: each correction's "after" is the state the next one started from
        changes = []
        before = (e.detail or {}).get("before") if e.action == "document.correct" else None
        if isinstance(before, dict) and after is not None:
            bf = {**(before.get("fields") or {}), **(before.get("metadata") or {})}
            af = {**(after.get("fields") or {}), **(after.get("metadata") or {})}
            if before.get("doc_type") != after.get("doc_type"):
                changes.append({"kind": "doc_type", "before": before.get("doc_type"), "after": after.get("doc_type")})
            for k in sorted(set(bf) | set(af)):
                if bf.get(k) != af.get(k):
                    changes.append({"kind": "field", "name": k, "before": bf.get(k), "after": af.get(k)})
            after = before
        out.append({"at": e.at, "actor": names.get(e.actor) or e.actor.split(":", 1)[-1], "action": e.action,
                    "detail": e.detail or {}, "changes": changes})
    return out


def router(web: Web) -> APIRouter:  # noqa: C901 - the clerk's area, one route per action
    r = APIRouter(include_in_schema=False, dependencies=[Depends(Web.csrf_guard)])
    clerk = Depends(web.require(CLERK))
    reader = Depends(web.require(CLERK, MANAGER))  # managers may read dossiers (late list links here)
    doc_reader = Depends(web.require(CLERK, OFFICER, MANAGER))  # officers preview originals; managers read

    def back(url: str) -> RedirectResponse:
        return RedirectResponse(url, status_code=303)

    def sealer():
        from sohoa.jobs.host import load_sealer

        return load_sealer(web.settings)

    # -- dossiers -----------------------------------------------------------------------------------
    @r.get("/dossiers")
    def dossier_list(request: Request, u: Principal = reader, status: str = "", procedure: str = "", unit: str = "",
                     date_from: str = "", date_to: str = "", late: str = "", q: str = "", sort: str = "received",
                     dir: str = "", page: int = 1):
        f = DossierFilter(status=status or None, procedure=procedure or None, unit=unit or None,
                          date_from=parse_date(date_from), date_to=parse_date(date_to), late=bool(late),
                          q=q.strip() or None)
        desc = None if dir not in ("asc", "desc") else dir == "desc"
        with web.db.session() as s:
            pg = list_dossiers(s, f, sort=sort if sort in SORTS else "received", desc=desc, page=page)
            rows = [{"code": d.code, "subject_name": d.subject.name, "subject": d.subject.identifier,
                     "procedure": d.procedure_code, "procedure_name": d.procedure.name, "status": d.status,
                     "received_at": d.received_at, "due_at": d.due_at, "late": bool(d.late) or lifecycle.is_late(d),
                     "components": [c.doc_type for c in d.components]} for d in pg.items]
            docs = matching_documents(s, q) if q.strip() else []
            procedures = list(s.scalars(select(Procedure).order_by(Procedure.code)))
            units = [x for x, in s.execute(select(Dossier.unit).distinct().order_by(Dossier.unit)) if x]
            backlog_status = backlog.status(s)
            web.audit(s, u, "dossier.search" if q.strip() else "dossier.list",
                      detail={"q": fold(q)[:40], "page": page, "status": status, "procedure": procedure})
        params = {k: v for k, v in dict(status=status, procedure=procedure, unit=unit, date_from=date_from,
                                        date_to=date_to, late=late, q=q, sort=sort, dir=dir).items() if v}
        return web.page(request, "dossiers.html", rows=rows, pg=pg, docs=docs, procedures=procedures, backlog=backlog_status,
                        **steps.intake_context(),
                        units=units, statuses=list(DossierStatus), params=params, q=q, sort=sort, dir=dir,
                        late=late, sorts=list(SORTS))

    @r.get("/search")
    def search_page(request: Request, q: str = "", u: Principal = reader):
        return back(f"/dossiers?q={q}") if q else back("/dossiers")

    @r.post("/dossiers")
    async def dossier_create(request: Request, u: Principal = clerk):
        return await steps.intake(web, request, u)

    def load_dossier(s, code: str) -> Dossier:
        try:
            return service.get_dossier(s, code)
        except NotFound:
            raise NotFound(f"Không có hồ sơ mã {code}.") from None

    @r.get("/dossiers/{code}")
    def dossier_page(request: Request, code: str, u: Principal = reader):
        with web.db.session() as s:
            d = load_dossier(s, code)
            obj = dossier_view(s, d)
            reusable = reusable_for_dossier(s, d) if u.role == CLERK else []
            extra = steps.dossier_context(web, s, d, u)  # persons, the steps its state offers, timeline
            web.audit(s, u, "dossier.show", subject_id=d.subject_id, object_type="dossier", object_id=d.code)
        return web.page(request, "dossier.html", d=obj, reusable=reusable, can_act=u.role == CLERK, today=vn_today(),
                        exempt_reasons=list(service.EXEMPT_REASONS), **extra)

    @r.get("/dossiers/{code}/components")
    def dossier_components(request: Request, code: str, u: Principal = reader):
        """The components table alone (what the live update swaps in)."""
        with web.db.session() as s:
            d = load_dossier(s, code)
            obj = dossier_view(s, d)
            web.audit(s, u, "dossier.show", subject_id=d.subject_id, object_type="dossier", object_id=d.code)
        return Response(web.fragment("_components.html", d=obj, can_act=u.role == CLERK, csrf=web.csrf_token(request)),
                        media_type="text/html")

    @r.get("/dossiers/{code}/receipt.pdf")
    def dossier_receipt(request: Request, code: str, u: Principal = clerk):
        from sohoa.papers.receipt import receipt_for

        with web.db.session() as s:
            d = load_dossier(s, code)
            pdf = receipt_for(s, d, web.settings)
            web.audit(s, u, "dossier.receipt", subject_id=d.subject_id, object_type="dossier", object_id=d.code)
        return Response(pdf, media_type="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="giay-tiep-nhan-{code}.pdf"'})

    @r.post("/dossiers/{code}/reuse")
    def dossier_reuse(request: Request, code: str, document_id: int = Form(...), u: Principal = clerk):
        try:
            with web.db.session() as s:
                d = load_dossier(s, code)
                reuse_into_dossier(s, d, document_id, actor=u.actor, purpose="tiếp nhận hồ sơ")
        except SohoaError as exc:
            web.flash(request, f"Không dùng lại được: {exc.message}", error=True)
        else:
            web.flash(request, f"Đã dùng lại văn bản #{document_id}: công dân không phải nộp bản giấy.")
        return back(f"/dossiers/{code}")

    @r.post("/dossiers/{code}/pause")
    def dossier_pause(request: Request, code: str, reason: str = Form(""), u: Principal = clerk):
        with web.db.session() as s:
            lifecycle.pause(s, load_dossier(s, code), reason, actor=u.actor)
        web.flash(request, "Đã tạm dừng hồ sơ.")
        return back(f"/dossiers/{code}")

    @r.post("/dossiers/{code}/resume")
    def dossier_resume(request: Request, code: str, u: Principal = clerk):
        with web.db.session() as s:
            lifecycle.resume(s, load_dossier(s, code), actor=u.actor)
        web.flash(request, "Hồ sơ tiếp tục được xử lý.")
        return back(f"/dossiers/{code}")

    @r.post("/dossiers/{code}/complete")
    def dossier_complete(request: Request, code: str, result_document_id: str = Form(""),
                         override_reason: str = Form(""), u: Principal = clerk):
        rid = result_document_id.strip()
        if rid and not rid.isdigit():
            raise Invalid("Số văn bản kết quả phải là một số.")
        with web.db.session() as s:  # a missing component or another person's result needs a reason (audited)
            lifecycle.complete(s, load_dossier(s, code), actor=u.actor, result_document_id=int(rid) if rid else None,
                               override_reason=override_reason.strip() or None)
        web.flash(request, "Đã hoàn thành hồ sơ." + (" Lý do ghi đè đã được ghi vào nhật ký."
                                                      if override_reason.strip() else ""))
        return back(f"/dossiers/{code}")

    @r.post("/dossiers/{code}/exempt")
    def dossier_exempt(request: Request, code: str, doc_type: str = Form(...), reason: str = Form(...),
                       note: str = Form(""), u: Principal = clerk):
        """A required component not scanned, for a reason Circular 03/2025/TT-VPCP Art. 5 allows."""
        with web.db.session() as s:
            service.exempt_component(s, load_dossier(s, code), doc_type, reason, actor=u.actor, note=note.strip())
        web.flash(request, f"Đã ghi nhận: {i18n.label('doc_type', doc_type)} không phải số hóa "
                           f"({i18n.label('exempt_reason', reason)}).")
        return back(f"/dossiers/{code}")

    def apology_path(code: str) -> Path:
        return web.settings.home / "apology" / f"phieu-xin-loi-{code}.pdf"

    @r.post("/dossiers/{code}/apology")
    def dossier_apology(request: Request, code: str, reason: str = Form(""), new_date: str = Form(""),
                        declare_late: str = Form(""), u: Principal = clerk):
        day = parse_date(new_date)
        if day is None:
            raise Invalid("Hãy chọn ngày hẹn trả mới.")
        with web.db.session() as s:
            lifecycle.apology(s, load_dossier(s, code), reason=reason, new_date=day, out=apology_path(code),
                              actor=u.actor, render=functools.partial(apology_pdf, unit_name=web.settings.unit_name),
                              declare_late=bool(declare_late))
        web.flash(request, "Đã lập phiếu xin lỗi và hẹn lại ngày trả kết quả.")
        return back(f"/dossiers/{code}")

    @r.get("/dossiers/{code}/apology.pdf")
    def dossier_apology_pdf(request: Request, code: str, u: Principal = clerk):
        with web.db.session() as s:
            d = load_dossier(s, code)
            web.audit(s, u, "dossier.apology_read", subject_id=d.subject_id, object_type="dossier", object_id=d.code)
        p = apology_path(d.code)
        if not p.is_file():
            raise NotFound("Hồ sơ này chưa có phiếu xin lỗi.")
        return FileResponse(p, media_type="application/pdf", filename=p.name, content_disposition_type="inline")

    @r.post("/dossiers/{code}/components/{component_id}/detach")
    def dossier_detach(request: Request, code: str, component_id: int, reason: str = Form(""),
                       u: Principal = clerk):
        if not reason.strip():
            raise Invalid("Hãy ghi lý do gỡ thành phần.")
        with web.db.session() as s:
            d = load_dossier(s, code)
            c = s.get(Component, component_id)
            if c is None or c.dossier_id != d.id:
                raise NotFound("Hồ sơ không có thành phần này.")
            if d.status in (DossierStatus.COMPLETED, DossierStatus.RETURNED):
                raise Conflict("Hồ sơ đã giải quyết: không gỡ thành phần được.")
            web.audit(s, u, "dossier.detach", subject_id=d.subject_id, object_type="dossier", object_id=d.code,
                      detail={"document_id": c.document_id, "doc_type": c.doc_type, "origin": c.origin,
                              "reason": reason.strip()})
            if c.document_id:
                web.audit(s, u, "dossier.detach", subject_id=d.subject_id, object_type="document",
                          object_id=str(c.document_id), detail={"dossier": d.code, "reason": reason.strip()})
            s.delete(c)
        web.flash(request, "Đã gỡ thành phần khỏi hồ sơ; văn bản trở lại hàng chờ chưa gắn hồ sơ.")
        return back(f"/dossiers/{code}")

    # -- upload from the browser: through the inbox and its journal, like a scanner ----------------
    @r.post("/upload")
    async def upload(request: Request, u: Principal = clerk):
        form = await request.form()
        code = str(form.get("code") or "").strip()
        files = [f for f in form.getlist("files") if hasattr(f, "filename") and f.filename]
        if not files:
            raise Invalid("Hãy chọn ít nhất một tệp quét (PDF, JPEG, PNG, TIFF).")
        inbox = web.settings.inbox
        if code:
            with web.db.session() as s:
                code = load_dossier(s, code).code
            inbox = inbox / code  # the inbox folder route: the scan goes to this dossier
        names = []
        for f in files:
            names.append(await _save_upload(f, inbox))
        with web.db.session() as s:
            web.audit(s, u, "upload", object_type="dossier" if code else "inbox", object_id=code,
                      detail={"files": names})
        web.flash(request, f"Đã nhận {len(names)} tệp: {', '.join(names)}. Tệp đang được nhận dạng.")
        return back(f"/dossiers/{code}" if code else "/inbox")

    async def _save_upload(f: UploadFile, inbox: Path) -> str:
        name = safe_name(os.path.basename(f.filename or "scan"))
        if name.startswith(".") or Path(name).suffix.lower() not in SCAN_SUFFIXES:
            raise Invalid(f"Tệp «{name}» không phải PDF, JPEG, PNG hay TIFF.")
        inbox.mkdir(parents=True, exist_ok=True)
        tmp = inbox / f".upload-{secrets.token_hex(6)}.part"  # the watcher ignores dot files and *.part
        size = 0
        try:
            with open(tmp, "wb") as out:
                while chunk := await f.read(1 << 20):
                    size += len(chunk)
                    if size > MAX_UPLOAD:
                        raise Invalid("Tệp quá lớn (tối đa 100 MB).")
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            dest = free_name(inbox, name)
            os.rename(tmp, dest)  # atomic: the watcher sees the whole file or nothing
        finally:
            tmp.unlink(missing_ok=True)
        return dest.name

    # -- inbox (live) ------------------------------------------------------------------------------
    @r.get("/inbox")
    def inbox_page(request: Request, u: Principal = clerk):
        with web.db.session() as s:
            rows = journal_rows(s)
            counts = inbox_counts(s)
            backlog_status = backlog.status(s)
            dossier_codes = [c for c, in s.execute(select(Dossier.code).where(Dossier.status.in_(OPEN_STATUSES))
                                                    .order_by(Dossier.id.desc()).limit(200))]
        return web.page(request, "inbox.html", rows=rows, counts=counts, open_dossiers=dossier_codes,
                        backlog=backlog_status)

    # -- the unassigned queue ----------------------------------------------------------------------
    @r.get("/unassigned")
    def unassigned(request: Request, u: Principal = clerk):
        with web.db.session() as s:
            docs = []
            for x in service.unassigned_documents(s, limit=200):
                docs.append(shapes.document_json(x) | {"source": x.source_name, "created_at": x.created_at,
                                                        "suggest": [d.code for d in suggestions(s, x)]})
            open_dossiers = [d.code for d in s.scalars(select(Dossier).where(
                Dossier.status.in_(OPEN_STATUSES)).order_by(Dossier.id.desc()).limit(200))]
            web.audit(s, u, "unassigned.list")
        return web.page(request, "unassigned.html", docs=docs, open_dossiers=open_dossiers, types=DOC_TYPES)

    @r.post("/documents/{doc_id}/assign")
    def assign(request: Request, doc_id: int, code: str = Form(""), suggested: str = Form(""),
               doc_type: str = Form(""), override_reason: str = Form(""), confirm: str = Form(""),
               u: Principal = clerk):
        code = (suggested or code).strip()
        if not code:
            raise Invalid("Hãy nhập hoặc chọn mã hồ sơ.")
        try:
            with web.db.session() as s:
                service.assign_document(s, doc_id, code, actor=u.actor, doc_type=doc_type or None,
                                        override_reason=override_reason.strip() or None)
        except (SubjectMismatch, TypeNotRequired) as exc:  # ask for a confirmation with a reason
            return web.page(request, "assign_override.html", status=409, doc_id=doc_id, code=code,
                            doc_type=doc_type, message=exc.message, asked=bool(confirm))
        except SohoaError as exc:
            web.flash(request, f"Không gắn được văn bản {doc_id}: {exc.message}", error=True)
            return back("/unassigned")
        web.flash(request, f"Đã gắn văn bản {doc_id} vào hồ sơ {code}."
                  + (" Lý do ghi đè đã được ghi vào nhật ký." if override_reason.strip() else ""))
        return back("/unassigned")

    # -- documents -----------------------------------------------------------------------------------
    def load_doc(s, doc_id: int) -> Document:
        doc = s.get(Document, doc_id)
        if doc is None:
            raise NotFound(f"Không có văn bản #{doc_id}.")
        return doc

    @r.get("/documents/{doc_id}")
    def document_page(request: Request, doc_id: int, u: Principal = doc_reader):
        with web.db.session() as s:
            doc = load_doc(s, doc_id)
            reqs = list(s.scalars(select(CertificationRequest).where(CertificationRequest.document_id == doc.id)
                                  .order_by(CertificationRequest.id.desc())))
            obj = shapes.document_json(doc) | {
                "source": doc.source_name, "confidences": doc.field_confidences or {}, "text": doc.text,
                "dossiers": [c.dossier.code for c in doc.components], "created_at": doc.created_at,
                "page_from": doc.page_from, "page_to": doc.page_to, "valid_until": doc.valid_until,
                "metadata": doc.doc_metadata or {}, "has_metadata": has_metadata(doc.doc_type),
                "requests": [{"id": x.id, "copies": x.copies, "status": x.status, "created_at": x.created_at}
                             for x in reqs]}
            events = history(s, "document", str(doc.id), current=doc)
            web.audit(s, u, "document.show", subject_id=doc.subject_id, object_type="document", object_id=str(doc_id))
        return web.page(request, "document.html", doc=obj, types=DOC_TYPES, events=events, can_edit=u.role == CLERK,
                        metadata_keys=METADATA_KEYS)

    @r.get("/documents/{doc_id}/pages/{page}.png")
    def document_page_png(request: Request, doc_id: int, page: int, u: Principal = doc_reader):
        with web.db.session() as s:
            doc = load_doc(s, doc_id)
            if not 1 <= page <= (doc.pages or 1):
                raise NotFound(f"Văn bản #{doc_id} không có trang {page}.")
            sha = doc.sha256
            web.audit(s, u, "document.page", subject_id=doc.subject_id, object_type="document", object_id=str(doc_id),
                      detail={"page": page})
        png = page_png(web.store.path_for(sha), sha, page, web.cache_dir)
        return FileResponse(png, media_type="image/png", headers={"Cache-Control": "private, max-age=86400"})

    @r.get("/documents/{doc_id}/pdf")
    def document_pdf(request: Request, doc_id: int, u: Principal = doc_reader):
        with web.db.session() as s:
            doc = load_doc(s, doc_id)
            if not web.store.exists(doc.sha256):
                raise NotFound(f"Tệp của văn bản #{doc_id} không có trong kho.")
            web.audit(s, u, "document.file", subject_id=doc.subject_id, object_type="document", object_id=str(doc_id))
            path = web.store.path_for(doc.sha256)
        return FileResponse(path, media_type="application/pdf", filename=f"van-ban-{doc_id}.pdf",
                            content_disposition_type="inline")

    @r.post("/documents/{doc_id}/correct")
    async def correct(request: Request, doc_id: int, u: Principal = clerk):
        form = await request.form()
        try:
            with web.db.session() as s:
                doc = load_doc(s, doc_id)
                old, old_meta = doc.fields or {}, doc.doc_metadata or {}
                changed = {k[6:]: str(v) for k, v in form.items()
                           if k.startswith("field:") and str(v).strip() != str(old.get(k[6:], ""))}
                meta = {k[5:]: str(v) for k, v in form.items()  # document metadata: "meta:so_ky_hieu", …
                        if k.startswith("meta:") and str(v).strip() != str(old_meta.get(k[5:], ""))}
                new_name, new_value = str(form.get("new_field") or "").strip(), str(form.get("new_value") or "")
                if new_name and new_value.strip():
                    changed[new_name] = new_value
                service.correct_document(s, doc_id, actor=u.actor, doc_type=str(form.get("doc_type") or "") or None,
                                         fields=changed, meta=meta)
        except NotFound:
            raise
        except SohoaError as exc:  # a value that fails its check: back to the form, nothing saved
            web.flash(request, f"Không lưu được: {exc.message}", error=True)
            return back(f"/documents/{doc_id}")
        web.flash(request, "Đã lưu chỉnh sửa.")
        return back(f"/documents/{doc_id}")

    @r.post("/documents/{doc_id}/certification")
    def request_certification(request: Request, doc_id: int, copies: int = Form(1), u: Principal = clerk):
        if not 1 <= copies <= 100:
            raise Invalid("Số bản sao từ 1 đến 100.")
        with web.db.session() as s:
            doc = load_doc(s, doc_id)
            if doc.doc_type == "certified_copy":
                raise Invalid("Đây đã là bản sao chứng thực.")
            if s.scalar(select(CertificationRequest.id).where(CertificationRequest.document_id == doc_id,
                                                              CertificationRequest.status == "pending")):
                raise Conflict(f"Văn bản #{doc_id} đã đang chờ chứng thực.")
            comp = doc.components[0] if doc.components else None
            s.add(CertificationRequest(document_id=doc_id, dossier_id=comp.dossier_id if comp else None, copies=copies,
                                       status="pending", requested_by=u.username))
            web.audit(s, u, "certify.request", subject_id=doc.subject_id, object_type="document",
                      object_id=str(doc_id), detail={"copies": copies})
        web.flash(request, f"Đã chuyển văn bản #{doc_id} sang người có thẩm quyền chứng thực ({copies} bản).")
        return back(f"/documents/{doc_id}")

    @r.post("/documents/{doc_id}/pages/{page}/rotate")
    def rotate(request: Request, doc_id: int, page: int, degrees: int = Form(90), u: Principal = clerk):
        with web.db.session() as s:
            pageops.rotate(s, web.store, load_doc(s, doc_id), page, degrees, actor=u.actor, sealer=sealer())
        web.flash(request, f"Đã xoay trang {page}.")
        return back(f"/documents/{doc_id}#page-{page}")

    @r.post("/documents/{doc_id}/split")
    def split(request: Request, doc_id: int, after: int = Form(...), u: Principal = clerk):
        with web.db.session() as s:
            new = pageops.split(s, web.store, load_doc(s, doc_id), after, actor=u.actor, sealer=sealer())
            new_id = new.id
        web.flash(request, f"Đã tách các trang sau trang {after} thành văn bản #{new_id} (đang chờ gắn hồ sơ).")
        return back(f"/documents/{new_id}")

    @r.post("/documents/{doc_id}/merge")
    def merge(request: Request, doc_id: int, other: int = Form(...), u: Principal = clerk):
        with web.db.session() as s:
            pageops.merge(s, web.store, load_doc(s, doc_id), load_doc(s, other), actor=u.actor, sealer=sealer())
        web.flash(request, f"Đã gộp văn bản #{other} vào văn bản #{doc_id}.")
        return back(f"/documents/{doc_id}")

    @r.post("/documents/{doc_id}/pages/{page}/move")
    def move(request: Request, doc_id: int, page: int, target: int = Form(...), u: Principal = clerk):
        with web.db.session() as s:
            pageops.move_page(s, web.store, load_doc(s, doc_id), page, load_doc(s, target), actor=u.actor,
                              sealer=sealer())
        web.flash(request, f"Đã chuyển trang {page} sang văn bản #{target}.")
        return back(f"/documents/{doc_id}")

    # -- quarantine ------------------------------------------------------------------------------------
    def quarantined(s, entry_id: int) -> tuple[IngestEntry, Path]:
        e = s.get(IngestEntry, entry_id)
        if e is None or e.state != EntryState.QUARANTINED or not e.final_path or not Path(e.final_path).is_file():
            raise NotFound("Tệp này không còn trong thư mục cách ly.")
        return e, Path(e.final_path)

    @r.get("/quarantine")
    def quarantine(request: Request, u: Principal = clerk):
        with web.db.session() as s:
            rows = []
            for e in s.scalars(select(IngestEntry).where(IngestEntry.state == EntryState.QUARANTINED)
                               .order_by(IngestEntry.id.desc()).limit(500)):
                if e.final_path and Path(e.final_path).is_file():
                    rows.append({"id": e.id, "name": e.name, "error": e.error, "at": e.finished_at,
                                 "size": e.size, "kind": Path(e.name).suffix.lower()})
        return web.page(request, "quarantine.html", rows=rows[:200])

    @r.get("/quarantine/{entry_id}/preview")
    def quarantine_preview(request: Request, entry_id: int, u: Principal = clerk):
        with web.db.session() as s:
            e, path = quarantined(s, entry_id)
            web.audit(s, u, "quarantine.show", object_type="ingest", object_id=str(entry_id))
        shown = preview(path, web.cache_dir, f"{entry_id}")
        if shown is None:
            raise NotFound("Không xem trước được tệp này.")
        return FileResponse(shown[0], media_type=shown[1])

    @r.post("/quarantine/{entry_id}/retry")
    def quarantine_retry(request: Request, entry_id: int, u: Principal = clerk):
        with web.db.session() as s:
            e, path = quarantined(s, entry_id)
            dest = free_name(web.settings.inbox, path.name)
            tmp = web.settings.inbox / f".retry-{entry_id}.part"
            shutil.copy2(path, tmp)
            os.rename(tmp, dest)
            remove_quarantined(path)
            web.audit(s, u, "quarantine.retry", object_type="ingest", object_id=str(entry_id),
                      detail={"name": e.name, "to": dest.name})
        web.flash(request, f"Đã đưa tệp {dest.name} trở lại hộp thư để nhận dạng lại.")
        return back("/quarantine")

    @r.post("/quarantine/{entry_id}/delete")
    def quarantine_delete(request: Request, entry_id: int, u: Principal = clerk):
        with web.db.session() as s:
            e, path = quarantined(s, entry_id)
            remove_quarantined(path)
            web.audit(s, u, "quarantine.delete", object_type="ingest", object_id=str(entry_id),
                      detail={"name": e.name, "sha256": e.sha256})
        web.flash(request, f"Đã xóa tệp {e.name} khỏi thư mục cách ly.")
        return back("/quarantine")

    return r
