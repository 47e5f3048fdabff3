"""The public verification page behind the QR code on a certified copy's stamp: the register entry,
and an upload that checks a file's signatures and that it is the copy the register recorded."""
from __future__ import annotations

import hashlib

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from sohoa.webui.core import Web

MAX_UPLOAD = 50 * 1024 * 1024


def router(web: Web) -> APIRouter:
    r = APIRouter(include_in_schema=False, dependencies=[Depends(Web.csrf_guard)])

    def entry_for(quyen, nam, so):
        from signing import find_certified

        try:
            return find_certified(web.db, str(quyen), int(nam), int(so)) if quyen and nam and so else None
        except ValueError:
            return None

    @r.get("/verify")
    def verify_page(request: Request, quyen: str = "", nam: str = "", so: str = ""):
        asked = bool(quyen and nam and so)
        return web.page(request, "verify.html", entry=entry_for(quyen, nam, so), asked=asked,
                        quyen=quyen, nam=nam, so=so, report=None)

    @r.post("/verify")
    async def verify_upload(request: Request):
        from signing import verify_pdf
        from signing.service import crl_dirs_of, trust_roots_of

        form = await request.form()
        up = form.get("file")
        data = await up.read(MAX_UPLOAD + 1) if up is not None and hasattr(up, "read") else b""
        quyen, nam, so = str(form.get("quyen") or ""), str(form.get("nam") or ""), str(form.get("so") or "")
        entry = entry_for(quyen, nam, so)
        ctx = dict(entry=entry, asked=bool(entry), quyen=quyen, nam=nam, so=so, report=None)
        if not data or len(data) > MAX_UPLOAD:
            return web.page(request, "verify.html", status=422, error="Chọn một tệp PDF (tối đa 50 MB).", **ctx)
        try:
            # pyHanko's synchronous validator runs its own event loop: keep it off the server's loop
            report = await run_in_threadpool(verify_pdf, data, trust_roots_of(web.settings),
                                             crl_dirs_of(web.settings), allow_fetching=False)
        except Exception:  # noqa: BLE001 - not a PDF, no signature, …: say so, plainly
            return web.page(request, "verify.html", status=422,
                            error="Không xác minh được tệp: đây không phải một tệp PDF có chữ ký số.", **ctx)
        digest = hashlib.sha256(data).hexdigest()
        ctx.update(report=report.to_text(), valid=report.to_dict().get("valid"),
                   matches=bool(entry and entry.get("signed_sha256") == digest))
        return web.page(request, "verify.html", **ctx)

    return r
