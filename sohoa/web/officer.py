"""The certifying officer's pages: the queue of originals marked for certification, refusal with a
legal reason, certification of one or a batch with the key's passphrase/PIN entered once per
batch (the same job as ``sohoa certify``: :mod:`sohoa.jobs.certification`; the requests' states
are :mod:`registry.certification`'s), downloads, the register per book and period."""
from __future__ import annotations

import dataclasses
import datetime as dt

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, RedirectResponse
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from registry import access, certification
from registry.models import CertifiedCopy, Document, Officer
from signing import remote_wait
from sohoa.web.base import CLERK, MAX_ID, OFFICER, Principal, Web
from sohoa.i18n import parse_date
from vocab.clock import local, vn_today
from vocab.errors import Invalid, NotFound

REFUSAL_CODES = ("erased", "damaged", "confidential", "unlawful", "self_made")


def plain_signing_message(message: str) -> str:
    """A signing failure as an officer reads it: no file paths, no format names."""
    import re

    low = message.lower()
    if "passphrase" in low or "mật khẩu" in low or "pin" in low:
        if re.search(r"sai|wrong|invalid|incorrect|không đúng|không mở", low):
            return "Mật khẩu (hoặc mã PIN) của khóa ký không đúng. Hãy nhập lại."
    text = re.sub(r"(?:/[\w.@-]+)+", "tệp khóa ký", message)
    text = re.sub(r"\bPKCS\s*#?\s*1[12]\b", "khóa ký", text, flags=re.I)
    return text


def citizens(s, rows: list[dict]) -> None:
    """Name the citizen on each queue row: the applicant of its dossier, else the paper's holder."""
    from registry.models import Dossier, Subject

    for x in rows:
        d = s.scalar(select(Dossier).where(Dossier.code == x["dossier"])) if x.get("dossier") else None
        doc = s.get(Document, x["document_id"])
        subj = s.get(Subject, doc.subject_id) if doc is not None and doc.subject_id else None
        x["citizen"] = (d.subject.name if d else None) or (subj.name if subj else None) or \
            ((doc.fields or {}).get("ho_ten") if doc is not None else None)


def certify_batch(settings, db, officer_id: int, secret: str, request_ids: list[int], actor: str):
    """Open the officer's key once for the batch and certify the requests (the job ``sohoa
    certify`` runs too). ``secret``: the key's passphrase / PIN, or a remote key's OTP (empty:
    the officer approves on the phone) — one for the whole batch."""
    from signing import Certifier
    from sohoa.jobs.certification import certify_requests

    with Certifier(settings, db, officer_id, secret=secret.encode(), workers=1) as cert:
        return certify_requests(cert, db, request_ids, actor=actor)


def router(web: Web) -> APIRouter:
    r = APIRouter(include_in_schema=False, dependencies=[Depends(Web.csrf_guard)])
    officer = Depends(web.require(OFFICER))

    def officers(s, u: Principal) -> list[Officer]:
        """Only the signed-in officer's own keys (registry.signers)."""
        from registry.signers import keys_of

        return keys_of(s, u.username, u.name)

    @r.get("/certify")
    def queue(request: Request, u: Principal = officer):
        from sohoa.jobs.certification import recover

        recover(web.db)  # what a killed batch, or one whose lease ran out, held is in the queue again
        with web.db.session() as s:
            rows = [dataclasses.asdict(x) for x in certification.queue(s)]
            citizens(s, rows)
            recent = [dataclasses.asdict(x) for x in certification.recent(s)]
            mine = access.visible_requests(s, u, [x["id"] for x in rows + recent])  # need-to-know: the officer's units
            rows, recent = [x for x in rows if x["id"] in mine], [x for x in recent if x["id"] in mine]
            signers = [{"id": o.id, "name": o.name, "title": o.title, "wait": remote_wait(o.key_ref)}
                       for o in officers(s, u)]
            mine = signers[0]["id"] if signers else None
            from registry.flow import held_by

            held = [{"code": d.code, "citizen": d.subject.name, "procedure": d.procedure.name, "status": d.status,
                     "due": d.step_due_at} for d in held_by(s, u.username)]
            access.audit_shown(s, u.actor, "certify.queue", access.request_subjects(s, [x["id"] for x in rows + recent]),
                               pending=len(rows))
        return web.page(request, "certify.html", rows=rows, recent=recent, signers=signers, mine=mine,
                        reasons=REFUSAL_CODES, held=held)

    @r.post("/certify")
    async def certify(request: Request, u: Principal = officer):
        from signing import SigningError

        form = await request.form()
        ids = sorted({int(x) for x in form.getlist("request") if str(x).isdigit()})
        secret = str(form.get("passphrase") or "")
        try:
            officer_id = int(str(form.get("officer") or "0"))
        except ValueError:
            officer_id = 0
        problems = {}
        if not ids:
            problems["request"] = "Hãy chọn ít nhất một văn bản trong hàng chờ."
        with web.db.session() as s:
            ids = sorted(access.visible_requests(s, u, [i for i in ids if i <= MAX_ID]))
            if not ids:
                raise Invalid("Hãy chọn ít nhất một văn bản trong hàng chờ.")
            signer = s.get(Officer, officer_id) if 0 < officer_id <= MAX_ID else None
            remote = signer is not None and remote_wait(signer.key_ref) is not None
            if officer_id not in {o.id for o in officers(s, u)}:
                problems["officer"] = "Khóa ký này không phải của bạn: chỉ ký bằng khóa của chính mình."
        if not secret and not remote:  # a remote key without OTP: the officer approves on the phone
            problems["passphrase"] = "Hãy nhập mật khẩu (hoặc mã PIN) của khóa ký."

        def again(errors: dict[str, str], left: list[int]) -> None:
            """The form again: the ticked boxes and the signer kept, never the passphrase."""
            web.keep_form(request, "certify-form", {"request": [str(i) for i in left], "officer": str(officer_id)},
                          errors)

        if problems:
            again(problems, ids)
            web.flash(request, "Chưa chứng thực: " + " ".join(problems.values()), error=True)
            return RedirectResponse("/certify", status_code=303)
        try:  # one passphrase / OTP / approval, the whole batch
            batch = await run_in_threadpool(certify_batch, web.settings, web.db, officer_id, secret, ids, u.actor)
        except SigningError as exc:  # a wrong passphrase, a refused certificate: nothing was claimed
            again({"passphrase": plain_signing_message(exc.message)}, ids)
            web.flash(request, f"Không chứng thực được: {plain_signing_message(exc.message)}. "
                               "Các văn bản chưa ký vẫn ở trong hàng chờ.", error=True)
            return RedirectResponse("/certify", status_code=303)
        finally:
            secret = ""
        if batch.failure is not None:
            again({"passphrase": plain_signing_message(batch.failure.message)},
                  [i for i in ids if i not in {rid for rid, _ in batch.certified}])
            web.flash(request, f"Không chứng thực được: {plain_signing_message(batch.failure.message)}"
                      + (f" (đã chứng thực {batch.settled} văn bản trước lỗi)" if batch.settled else "")
                      + ". Các văn bản chưa ký vẫn ở trong hàng chờ.", error=True)
            return RedirectResponse("/certify", status_code=303)
        nums = ", ".join(f"số {res.number}" for _, res in batch.certified)
        web.flash(request, f"Đã chứng thực {len(batch.certified)} văn bản ({nums})."
                  + (f" Cảnh báo: {'; '.join(batch.warnings)}" if batch.warnings else ""))
        return RedirectResponse("/certify", status_code=303)

    @r.post("/certify/{request_id}/refuse")
    def refuse(request: Request, request_id: int, reason: str = Form(""), note: str = Form(""),
               officer_id: str = Form(""), u: Principal = officer):
        from signing import record_refusal

        if reason not in REFUSAL_CODES:
            raise Invalid("Hãy chọn lý do từ chối theo quy định.")
        with web.db.session() as s:
            if not access.visible_requests(s, u, [request_id] if 0 < request_id <= MAX_ID else []):
                raise NotFound("Yêu cầu chứng thực này không còn trong hàng chờ.")
            oid = access.own_officer_id(s, u.name, officer_id.strip())  # one's own name only
        refusal = record_refusal(web.db, None, reason, note.strip(), oid, request_id=request_id, actor=u.actor)
        web.flash(request, f"Đã từ chối chứng thực văn bản #{refusal.document_id}.")
        return RedirectResponse("/certify", status_code=303)

    @r.get("/certified/{document_id}.pdf")
    def download(request: Request, document_id: int, u: Principal = Depends(web.require(OFFICER, CLERK))):
        with web.db.session() as s:
            doc = s.get(Document, document_id) if 0 < document_id <= MAX_ID else None
            if doc is None or doc.doc_type != "certified_copy" and not doc.created_by.startswith("officer:") \
                    or not access.may_see_document(s, u, doc):
                raise NotFound("Không có bản sao chứng thực này.")
            if not web.store.exists(doc.sha256):
                raise NotFound("Tệp bản sao không có trong kho.")
            web.audit(s, u, "certify.download", subject_id=doc.subject_id, object_type="document",
                      object_id=str(document_id))
            path = web.store.path_for(doc.sha256)
        return FileResponse(path, media_type="application/pdf", filename=f"ban-sao-chung-thuc-{document_id}.pdf")

    @r.get("/register")
    def register(request: Request, book: str = "", year: str = "", date_from: str = "", date_to: str = "",
                 u: Principal = officer):
        from registry.flow import certification_fee, register_details
        from signing import register_rows

        y = int(year) if year.isdigit() else vn_today().year
        d1, d2 = parse_date(date_from), parse_date(date_to)
        rows = []
        entries = list(register_rows(web.db, book or None, y))
        with web.db.session() as s:
            more = register_details(s, [(x["source_document_id"], x["number"]) for x in entries])
            titles = {o.id: o.title for o in s.scalars(select(Officer))}
        for x in entries:
            extra = more.get((x["source_document_id"], x["number"]), {})
            x = x | extra | {"fee": certification_fee(extra.get("pages", 1), x["copies"]),
                             "officer_title": titles.get(x["officer_id"], "")}
            when = local(dt.datetime.fromisoformat(x["signed_at"] or x["created_at"])) if (
                x["signed_at"] or x["created_at"]) else None
            if (d1 and (when is None or when.date() < d1)) or (d2 and (when is None or when.date() > d2)):
                continue
            rows.append(x | {"when": when})
        with web.db.session() as s:
            books = sorted({b for b, in s.execute(select(CertifiedCopy.book).distinct())})
            web.audit(s, u, "register.read", detail={"book": book, "year": y})
        return web.page(request, "register.html", rows=rows, books=books, book=book, year=y, date_from=date_from,
                        date_to=date_to)

    return r
