"""The certifying officer's pages: the queue of originals marked for certification, refusal with a
legal reason, certification of one or a batch with the key's passphrase/PIN entered once per
batch (the same ``signing`` call as ``sohoa certify``), downloads, the register per book and period."""
from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, RedirectResponse
from sqlalchemy import select, update
from starlette.concurrency import run_in_threadpool

from registry.models import CertificationRequest, CertifiedCopy, Document, Officer, Staff
from signing import remote_wait
from sohoa.web.base import CLERK, OFFICER, Principal, Web
from sohoa.i18n import parse_date
from vocab.clock import local, utcnow, vn_today
from vocab.errors import Conflict, Invalid, NotFound

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


def _holder_name(s, doc: Document) -> str | None:
    """The name of the person the original belongs to (for the queue: which citizen asked)."""
    from registry.models import Subject

    subj = s.get(Subject, doc.subject_id) if doc.subject_id else None
    return (subj.name if subj else None) or (doc.fields or {}).get("ho_ten")


def certify_batch(settings, db, officer_id: int, secret: str, document_ids: list[int], copies: int | dict):
    """Certify through the signing package's public API, as ``sohoa certify`` does (``copies``:
    per document). ``secret``: the key's passphrase / PIN, or a remote key's OTP (empty: the
    officer approves on the phone) — one for the whole batch."""
    from signing import Certifier

    with Certifier(settings, db, officer_id, secret=secret.encode(), workers=1) as cert:
        return cert.certify(document_ids, copies=copies), list(cert.check.warnings)


def router(web: Web) -> APIRouter:
    r = APIRouter(include_in_schema=False, dependencies=[Depends(Web.csrf_guard)])
    officer = Depends(web.require(OFFICER))

    def officers(s, u: Principal) -> list[Officer]:
        """Only the signed-in officer's own keys (registry.signers)."""
        from registry.signers import keys_of

        return keys_of(s, u.username, u.name)

    @r.get("/certify")
    def queue(request: Request, u: Principal = officer):
        with web.db.session() as s:
            pending = list(s.scalars(select(CertificationRequest).where(CertificationRequest.status == "pending")
                                     .order_by(CertificationRequest.id)))
            done = list(s.scalars(select(CertificationRequest).where(CertificationRequest.status != "pending")
                                  .order_by(CertificationRequest.decided_at.desc(), CertificationRequest.id.desc())
                                  .limit(30)))
            acts = {c.id: c for c in s.scalars(select(CertifiedCopy).where(
                CertifiedCopy.id.in_([x.certified_copy_id for x in done if x.certified_copy_id])))}

            def row(x: CertificationRequest) -> dict:
                cc = acts.get(x.certified_copy_id) if x.certified_copy_id else None
                return {"id": x.id, "document_id": x.document_id, "doc_type": x.document.doc_type,
                        "pages": x.document.pages, "copies": x.copies, "status": x.status,
                        "dossier": x.dossier.code if x.dossier else None, "requested_by": x.requested_by,
                        "citizen": (x.dossier.subject.name if x.dossier else None) or _holder_name(s, x.document),
                        "created_at": x.created_at, "decided_at": x.decided_at,
                        "number": cc.number if cc else None, "book": cc.book if cc else None,
                        "copy_ids": (cc.signed_document_ids or ([cc.signed_document_id] if cc.signed_document_id else []))
                        if cc else []}

            names = {u: n for u, n in s.execute(select(Staff.username, Staff.name))}
            rows, recent = [row(x) for x in pending], [row(x) for x in done]
            for x in rows:
                x["requested_by"] = names.get(x["requested_by"]) or x["requested_by"]
            signers = [{"id": o.id, "name": o.name, "title": o.title, "wait": remote_wait(o.key_ref)}
                       for o in officers(s, u)]
            mine = signers[0]["id"] if signers else None
            from registry.flow import held_by

            held = [{"code": d.code, "citizen": d.subject.name, "procedure": d.procedure.name, "status": d.status,
                     "due": d.step_due_at} for d in held_by(s, u.username)]
            web.audit(s, u, "certify.queue", detail={"pending": len(rows)})
        return web.page(request, "certify.html", rows=rows, recent=recent, signers=signers, mine=mine,
                        reasons=REFUSAL_CODES, held=held)

    def release(request_ids: list[int]) -> None:
        """Requests whose signing did not happen go back to the queue."""
        if request_ids:
            with web.db.session() as s:
                s.execute(update(CertificationRequest).where(CertificationRequest.id.in_(request_ids),
                                                             CertificationRequest.status == "signing")
                          .values(status="pending", decided_by=None))

    @r.post("/certify")
    async def certify(request: Request, u: Principal = officer):
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
            signer = s.get(Officer, officer_id)
            remote = signer is not None and remote_wait(signer.key_ref) is not None
            if officer_id not in {o.id for o in officers(s, u)}:
                problems["officer"] = "Khóa ký này không phải của bạn: chỉ ký bằng khóa của chính mình."
        if not secret and not remote:  # a remote key without OTP: the officer approves on the phone
            problems["passphrase"] = "Hãy nhập mật khẩu (hoặc mã PIN) của khóa ký."
        if problems:  # the form again: the ticked boxes and the signer kept, never the passphrase
            web.keep_form(request, "certify-form", {"request": [str(i) for i in ids], "officer": str(officer_id)},
                          problems)
            web.flash(request, "Chưa chứng thực: " + " ".join(problems.values()), error=True)
            return RedirectResponse("/certify", status_code=303)
        with web.db.session() as s:  # claim the requests: a second officer's batch cannot take them too
            claimed = s.execute(update(CertificationRequest).where(
                CertificationRequest.id.in_(ids), CertificationRequest.status == "pending")
                .values(status="signing", decided_by=u.username)).rowcount
            if claimed != len(ids):
                s.rollback()
                raise Conflict("Một số văn bản đã được xử lý hoặc đang được ký. Hãy tải lại hàng chờ.")
            items = [(x.id, x.document_id, x.copies) for x in s.scalars(
                select(CertificationRequest).where(CertificationRequest.id.in_(ids)).order_by(CertificationRequest.id))]
        from signing import SigningError

        done: list[tuple[int, object]] = []
        warnings: list[str] = []
        failure = None
        try:
            # one passphrase / OTP / approval, the whole batch (one signing call, one authorization)
            results, warn = await run_in_threadpool(certify_batch, web.settings, web.db, officer_id, secret,
                                                    [d for _, d, _ in items], {d: n for _, d, n in items})
            warnings += warn
            done += [(rid, res) for (rid, _, _), res in zip(items, results)]
        except SigningError as exc:  # a wrong passphrase, a refused certificate, a failed signature
            failure = exc.message
        finally:
            secret = ""
            release([rid for rid in ids if rid not in {d for d, _ in done}])
        with web.db.session() as s:
            for rid, res in done:
                x = s.get(CertificationRequest, rid)
                x.status, x.decided_by, x.decided_at = "certified", u.username, utcnow()
                x.certified_copy_id = res.certified_copy_id
                web.audit(s, u, "certify", object_type="document", object_id=str(x.document_id),
                          subject_id=x.document.subject_id,
                          detail={"request": rid, "number": res.number, "book": res.book})
        if failure is not None:
            left = [str(i) for i in ids if i not in {d for d, _ in done}]
            web.keep_form(request, "certify-form", {"request": left, "officer": str(officer_id)},
                          {"passphrase": plain_signing_message(failure)})
            web.flash(request, f"Không chứng thực được: {plain_signing_message(failure)}"
                      + (f" (đã chứng thực {len(done)} văn bản trước lỗi)" if done else "")
                      + ". Các văn bản chưa ký vẫn ở trong hàng chờ.", error=True)
            return RedirectResponse("/certify", status_code=303)
        nums = ", ".join(f"số {res.number}" for _, res in done)
        web.flash(request, f"Đã chứng thực {len(done)} văn bản ({nums})."
                  + (f" Cảnh báo: {'; '.join(warnings)}" if warnings else ""))
        return RedirectResponse("/certify", status_code=303)

    @r.post("/certify/{request_id}/refuse")
    def refuse(request: Request, request_id: int, reason: str = Form(""), note: str = Form(""),
               officer_id: str = Form(""), u: Principal = officer):
        from signing import record_refusal

        if reason not in REFUSAL_CODES:
            raise Invalid("Hãy chọn lý do từ chối theo quy định.")
        with web.db.session() as s:
            x = s.get(CertificationRequest, request_id)
            if x is None or x.status != "pending":
                raise NotFound("Yêu cầu chứng thực này không còn trong hàng chờ.")
            doc_id = x.document_id
        oid = int(officer_id) if officer_id.isdigit() else None
        refusal_id = record_refusal(web.db, doc_id, reason, note.strip(), oid)
        with web.db.session() as s:
            x = s.get(CertificationRequest, request_id)
            x.status, x.decided_by, x.decided_at, x.refusal_id = "refused", u.username, utcnow(), refusal_id
            web.audit(s, u, "certify.refuse", object_type="document", object_id=str(doc_id),
                      subject_id=x.document.subject_id, detail={"reason": reason, "request": request_id})
        web.flash(request, f"Đã từ chối chứng thực văn bản #{doc_id}.")
        return RedirectResponse("/certify", status_code=303)

    @r.get("/certified/{document_id}.pdf")
    def download(request: Request, document_id: int, u: Principal = Depends(web.require(OFFICER, CLERK))):
        with web.db.session() as s:
            doc = s.get(Document, document_id)
            if doc is None or doc.doc_type != "certified_copy" and not doc.created_by.startswith("officer:"):
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
