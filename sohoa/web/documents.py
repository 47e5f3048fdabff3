"""A document's pages: its page images beside the fields, corrections, the request for a certified
copy, page operations (rotate, split, merge, move a page) and its history. Officers preview
originals; managers read."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse

from registry import certification, pages, service, shapes
from registry.history import history
from registry.metadata import METADATA_KEYS, has_metadata
from registry.subjects import pages_refusal
from sohoa.web.base import CLERK, MANAGER, OFFICER, Principal, Web, load_document, see_other
from sohoa.web.render import page_png
from vocab.errors import NotFound, SohoaError
from vocab.kinds import DOC_TYPES


def router(web: Web) -> APIRouter:
    r = APIRouter(include_in_schema=False, dependencies=[Depends(Web.csrf_guard)])
    clerk = Depends(web.require(CLERK))
    doc_reader = Depends(web.require(CLERK, OFFICER, MANAGER))  # officers preview originals; managers read

    def sealer():
        from sohoa.jobs.host import load_sealer

        return load_sealer(web.settings)

    def same_citizen(s, u: Principal, source, target, reason: str, op: str, **detail) -> None:
        """The pages stay with their citizen, or the clerk's reason is audited (registry.subjects)."""
        service.refuse_unless_overridden(
            s, [pages_refusal(s, source, target)], reason, actor=u.actor, action="document.pages.override",
            subject_id=source.subject_id, object_type="document", object_id=str(source.id),
            detail={"operation": op, "target": target.id, **detail})

    @r.get("/documents/{doc_id}")
    def document_page(request: Request, doc_id: int, u: Principal = doc_reader):
        with web.db.session() as s:
            doc = load_document(s, doc_id, u)
            reqs = certification.for_document(s, doc.id)
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
            doc = load_document(s, doc_id, u)
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
            doc = load_document(s, doc_id, u)
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
                doc = load_document(s, doc_id, u)
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
        except SohoaError as exc:  # a value that fails its check: back to the form as typed, nothing saved
            field = getattr(exc, "field", None)
            where = (f"meta:{field}" if f"meta:{field}" in form else f"field:{field}" if f"field:{field}" in form
                     else "new_value") if field else "_"
            web.keep_form(request, "correct", {k: str(v) for k, v in form.items()}, {where: exc.message})
            web.flash(request, f"Không lưu được: {exc.message}", error=True)
            return see_other(f"/documents/{doc_id}#correct")
        web.flash(request, "Đã lưu chỉnh sửa.")
        return see_other(f"/documents/{doc_id}")

    @r.post("/documents/{doc_id}/certification")
    def request_certification(request: Request, doc_id: int, copies: str = Form("1"), u: Principal = clerk):
        if not copies.strip().isdigit() or not 1 <= int(copies) <= 100:  # the form again, as typed
            web.keep_form(request, "cert-request", {"copies": copies}, {"copies": "Số bản sao là một số từ 1 đến 100."})
            return see_other(f"/documents/{doc_id}#cert-request")
        copies = int(copies)
        with web.db.session() as s:
            load_document(s, doc_id, u)  # the account's to see
            certification.request(s, doc_id, copies, actor=u.actor)
        web.flash(request, f"Đã chuyển văn bản #{doc_id} sang người có thẩm quyền chứng thực ({copies} bản).")
        return see_other(f"/documents/{doc_id}")

    @r.post("/documents/{doc_id}/pages/{page}/rotate")
    def rotate(request: Request, doc_id: int, page: int, degrees: int = Form(90), u: Principal = clerk):
        with web.db.session() as s:
            pages.rotate(s, web.store, load_document(s, doc_id, u), page, degrees, actor=u.actor, sealer=sealer())
        web.flash(request, f"Đã xoay trang {page}.")
        return see_other(f"/documents/{doc_id}#page-{page}")

    @r.post("/documents/{doc_id}/split")
    def split(request: Request, doc_id: int, after: int = Form(...), u: Principal = clerk):
        with web.db.session() as s:
            new = pages.split(s, web.store, load_document(s, doc_id, u), after, actor=u.actor, sealer=sealer())
            new_id = new.id
        web.flash(request, f"Đã tách các trang sau trang {after} thành văn bản #{new_id} (đang chờ gắn hồ sơ).")
        return see_other(f"/documents/{new_id}")

    @r.post("/documents/{doc_id}/merge")
    def merge(request: Request, doc_id: int, other: int = Form(...), override_reason: str = Form(""),
              u: Principal = clerk):
        with web.db.session() as s:
            doc, src = load_document(s, doc_id, u), load_document(s, other, u)
            same_citizen(s, u, src, doc, override_reason, "merge")
            pages.merge(s, web.store, doc, src, actor=u.actor, sealer=sealer())
        web.flash(request, f"Đã gộp văn bản #{other} vào văn bản #{doc_id}.")
        return see_other(f"/documents/{doc_id}")

    @r.post("/documents/{doc_id}/pages/{page}/move")
    def move(request: Request, doc_id: int, page: int, target: int = Form(...), override_reason: str = Form(""),
             u: Principal = clerk):
        with web.db.session() as s:
            doc, dest = load_document(s, doc_id, u), load_document(s, target, u)
            same_citizen(s, u, doc, dest, override_reason, "move_page", page=page)
            pages.move_page(s, web.store, doc, page, dest, actor=u.actor, sealer=sealer())
        web.flash(request, f"Đã chuyển trang {page} sang văn bản #{target}.")
        return see_other(f"/documents/{doc_id}")

    return r
