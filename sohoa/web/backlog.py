"""The backlog's review queue in the browser: a run's progress, each scan that needs a person
(first page beside what OCR read and what the manifest says), and the two ways to settle it —
accept with corrections (read again and checked against the page, like the CLI's
``sohoa backlog accept``) or reject with a reason."""
from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, RedirectResponse

from registry import backlog as journal
from sohoa.web.base import CLERK, MANAGER, Principal, Web
from sohoa.web.render import preview
from vocab.errors import NotFound, SohoaError
from vocab.kinds import DOC_TYPES

__all__ = ["router"]

def router(web: Web) -> APIRouter:
    r = APIRouter(include_in_schema=False, dependencies=[Depends(Web.csrf_guard)])
    clerk = Depends(web.require(CLERK))
    reader = Depends(web.require(CLERK, MANAGER))

    def back(item_id: int | None = None) -> RedirectResponse:
        return RedirectResponse("/backlog" + (f"#item-{item_id}" if item_id else ""), status_code=303)

    @r.get("/backlog")
    def backlog_page(request: Request, u: Principal = reader, run: int | None = None):
        with web.db.session() as s:
            st = journal.status(s, run)
            items = journal.listing(s, st["run"], ("review",))[:200] if st else []
            web.audit(s, u, "backlog.review.list", object_type="backlog_run", object_id=str(st["run"] if st else ""))
        for i in items:
            i["kind"] = Path(i["file"]).suffix.lower()
        return web.page(request, "backlog.html", st=st, items=items, types=DOC_TYPES,
                        can_act=u.role == CLERK)

    @r.get("/backlog/items/{item_id}/preview")
    def scan_preview(request: Request, item_id: int, u: Principal = reader):
        with web.db.session() as s:
            it, run = journal.item(s, item_id)
            path, sha = Path(run.source) / it.rel_path, it.sha256
        if not sha or not path.is_file():
            raise NotFound("Bản quét không còn trong thư mục nguồn.")
        shown = preview(path, web.cache_dir, f"backlog-{sha}", dpi=70)
        if shown is None:
            raise NotFound("Không xem trước được bản quét này.")
        return FileResponse(shown[0], media_type=shown[1])

    @r.post("/backlog/items/{item_id}/accept")
    def accept(request: Request, item_id: int, subject_id: str = Form(""), doc_type: str = Form(""),
               number: str = Form(""), issued_on: str = Form(""), valid_until: str = Form(""),
               override_reason: str = Form(""), u: Principal = clerk):
        from sohoa.jobs.backlog import BacklogContext, StillInReview, settle

        changes = {"subject_id": subject_id, "doc_type": doc_type, "number": number, "issued_on": issued_on,
                   "valid_until": valid_until}
        changes = {k: v.strip() for k, v in changes.items() if v.strip()}
        try:
            state, doc_id = settle(BacklogContext.for_settling(web.settings, web.db), item_id, changes, actor=u.actor, override_reason=override_reason)
        except StillInReview as exc:
            web.flash(request, f"Chưa nhập được mục #{item_id}: {exc.detail or exc.message}. Sửa số định danh hoặc "
                               "loại giấy tờ cho đúng với trang, hoặc ghi lý do giữ bảng kê.", error=True)
            return back(item_id)
        except SohoaError as exc:
            web.flash(request, f"Chưa nhập được mục #{item_id}: {exc.message}", error=True)
            return back(item_id)
        if state == "imported":
            web.flash(request, f"Đã nhập mục #{item_id} thành kết quả số hóa (văn bản #{doc_id})."
                      + (" Lý do giữ bảng kê đã được ghi vào nhật ký." if override_reason.strip() else ""))
        else:
            web.flash(request, f"Mục #{item_id} trùng kết quả đã có (văn bản #{doc_id}), không nhập lần nữa.")
        return back()

    @r.post("/backlog/items/{item_id}/reject")
    def reject(request: Request, item_id: int, reason: str = Form(""), u: Principal = clerk):
        try:
            with web.db.session() as s:
                journal.reject_reviewed(s, item_id, reason, actor=u.actor)
        except SohoaError as exc:
            web.flash(request, f"Chưa từ chối được mục #{item_id}: {exc.message}", error=True)
            return back(item_id)
        web.flash(request, f"Đã từ chối mục #{item_id}.")
        return back()

    return r
