"""The inbox as the clerk sees it: the live journal of files being read, browser upload (through
the inbox and its journal, like a scanner), and the quarantine (preview, retry, delete)."""
from __future__ import annotations

import os
from pathlib import Path

from fastapi import APIRouter, Depends, Request, UploadFile
from fastapi.responses import FileResponse

from ingest.journal import Arrival, safe_name
from registry import access, backlog
from registry.queues import inbox_counts, journal_rows, open_dossier_codes, quarantined_entries, quarantined_entry
from sohoa.jobs.host import make_journal
from sohoa.web.base import CLERK, Principal, Web, load_dossier, see_other
from sohoa.web.render import preview
from vocab.errors import Invalid, NotFound, SohoaError
from vocab.kinds import SCAN_SUFFIXES

MAX_UPLOAD = 100 * 1024 * 1024


def router(web: Web) -> APIRouter:
    r = APIRouter(include_in_schema=False, dependencies=[Depends(Web.csrf_guard)])
    clerk = Depends(web.require(CLERK))

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
            from registry.flow import allowed

            with web.db.session() as s:
                d = load_dossier(s, code, u)
                allowed(d, "upload")  # no more papers once decided or closed
                code = d.code
            inbox = inbox / code  # the inbox folder route: the scan goes to this dossier
        names, refused = [], []
        for f in files:  # each file on its own: a bad one is named and refused, the others are kept
            try:
                names.append(await _save_upload(f, inbox))
            except (SohoaError, OSError) as exc:
                why = exc.message if isinstance(exc, SohoaError) else "không lưu được tệp trên máy chủ"
                refused.append(f"«{safe_name(os.path.basename(f.filename or 'scan'))}»: {why}")
        if names:
            with web.db.session() as s:
                web.audit(s, u, "upload", object_type="dossier" if code else "inbox", object_id=code,
                          detail={"files": names, "refused": len(refused)})
        if not names:
            raise Invalid("Không nhận được tệp nào. " + "; ".join(refused))
        msg = f"Đã nhận {len(names)} tệp: {', '.join(names)}. Tệp đang được nhận dạng."
        if refused:
            web.flash(request, msg + " Không nhận: " + "; ".join(refused), error=True)
        else:
            web.flash(request, msg)
        return see_other(f"/dossiers/{code}" if code else "/inbox")

    async def _save_upload(f: UploadFile, inbox: Path) -> str:
        name = safe_name(os.path.basename(f.filename or "scan"))
        if name.startswith(".") or Path(name).suffix.lower() not in SCAN_SUFFIXES:
            raise Invalid(f"Tệp «{name}» không phải PDF, JPEG, PNG hay TIFF.")
        with Arrival(inbox, name) as arriving:  # the watcher sees the whole file or nothing
            while chunk := await f.read(1 << 20):
                if arriving.size + len(chunk) > MAX_UPLOAD:
                    raise Invalid("Tệp quá lớn (tối đa 100 MB).")
                arriving.write(chunk)
            if arriving.size == 0:
                raise Invalid("tệp rỗng (0 byte)")
            return arriving.commit().name

    # -- inbox (live) ------------------------------------------------------------------------------
    @r.get("/inbox")
    def inbox_page(request: Request, u: Principal = clerk):
        with web.db.session() as s:
            rows = journal_rows(s)
            counts = inbox_counts(s)
            backlog_status = backlog.status(s)
            dossier_codes = open_dossier_codes(s, units=access.units_of(s, u))
            web.audit(s, u, "inbox.list", object_type="list", detail={"entries": [x["id"] for x in rows]})
        return web.page(request, "inbox.html", rows=rows, counts=counts, open_dossiers=dossier_codes,
                        backlog=backlog_status)

    # -- quarantine ------------------------------------------------------------------------------------
    @r.get("/quarantine")
    def quarantine(request: Request, u: Principal = clerk):
        with web.db.session() as s:
            rows = quarantined_entries(s)
            web.audit(s, u, "quarantine.list", object_type="list", detail={"entries": [x["id"] for x in rows]})
        return web.page(request, "quarantine.html", rows=rows)

    @r.get("/quarantine/{entry_id}/preview")
    def quarantine_preview(request: Request, entry_id: int, u: Principal = clerk):
        with web.db.session() as s:
            e, path = quarantined_entry(s, entry_id)
            web.audit(s, u, "quarantine.show", object_type="ingest", object_id=str(entry_id))
        shown = preview(path, web.cache_dir, f"{entry_id}")
        if shown is None:
            raise NotFound("Không xem trước được tệp này.")
        return FileResponse(shown[0], media_type=shown[1])

    @r.post("/quarantine/{entry_id}/retry")
    def quarantine_retry(request: Request, entry_id: int, u: Principal = clerk):
        name = make_journal(web.settings, web.db).retry_quarantined(entry_id, actor=u.actor)
        web.flash(request, f"Đã đưa tệp {name} trở lại hộp thư để nhận dạng lại.")
        return see_other("/quarantine")

    @r.post("/quarantine/{entry_id}/delete")
    def quarantine_delete(request: Request, entry_id: int, u: Principal = clerk):
        name = make_journal(web.settings, web.db).delete_quarantined(entry_id, actor=u.actor)
        web.flash(request, f"Đã xóa tệp {name} khỏi thư mục cách ly.")
        return see_other("/quarantine")

    return r
