"""The public verification page behind the QR code on a certified copy's stamp: the register entry,
and an upload that checks a file's signatures and that it is the copy the register recorded."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from sohoa.papers import verification
from sohoa.web.base import Web
from vocab.errors import SohoaError

MAX_UPLOAD = 50 * 1024 * 1024


def router(web: Web) -> APIRouter:
    r = APIRouter(include_in_schema=False, dependencies=[Depends(Web.csrf_guard)])

    def ref_of(quyen, nam, so) -> tuple[str, int, int] | None:
        try:
            ref = (str(quyen)[:64], int(nam), int(so)) if quyen and nam and so else None
        except ValueError:
            return None
        return ref if ref and 1900 <= ref[1] <= 9999 and 0 < ref[2] < 2 ** 31 else None  # no register holds others

    @r.get("/verify")
    def verify_page(request: Request, quyen: str = "", nam: str = "", so: str = ""):
        ref = ref_of(quyen, nam, so)
        return web.page(request, "verify.html", entry=verification.register_entry(web.db, *ref) if ref else None,
                        asked=bool(quyen and nam and so), quyen=quyen, nam=nam, so=so, report=None)

    @r.post("/verify")
    async def verify_upload(request: Request):
        form = await request.form()
        up = form.get("file")
        data = await up.read(MAX_UPLOAD + 1) if up is not None and hasattr(up, "read") else b""
        quyen, nam, so = str(form.get("quyen") or ""), str(form.get("nam") or ""), str(form.get("so") or "")
        ref = ref_of(quyen, nam, so)
        ctx = dict(quyen=quyen, nam=nam, so=so, report=None)
        if not data or len(data) > MAX_UPLOAD:
            entry = verification.register_entry(web.db, *ref) if ref else None
            return web.page(request, "verify.html", status=422, error="Chọn một tệp PDF (tối đa 50 MB).",
                            entry=entry, asked=bool(entry), **ctx)
        try:
            # pyHanko's synchronous validator runs its own event loop: keep it off the server's loop
            v = await run_in_threadpool(verification.verify_bytes, web.settings, web.db, data, actor="public:verify",
                                        register_ref=ref)
        except SohoaError as exc:  # not a PDF, no signature, …: say so, plainly
            entry = verification.register_entry(web.db, *ref) if ref else None
            return web.page(request, "verify.html", status=exc.http_status, error=exc.message[:1].upper()
                            + exc.message[1:] + ".", entry=entry, asked=bool(entry), **ctx)
        word = v.verdict
        ctx.update(report=True, verdict=word, verdict_text=verification.VERDICTS[word],
                   details=verification.detail_lines(v.report), valid=word == "genuine", matches=v.matches_register)
        return web.page(request, "verify.html", entry=v.register_entry, asked=bool(v.register_entry), **ctx)

    return r
