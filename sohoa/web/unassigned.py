"""The unassigned queue: documents read from the inbox that no dossier claimed yet, each with the
open dossiers it probably belongs to, and assigning one to a dossier."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request

from registry import service, shapes
from registry.errors import SubjectMismatch, TypeNotRequired
from registry.queues import open_dossier_codes, suggestions
from sohoa.web.base import CLERK, Principal, Web, see_other
from vocab.errors import Invalid, SohoaError
from vocab.kinds import DOC_TYPES


def router(web: Web) -> APIRouter:
    r = APIRouter(include_in_schema=False, dependencies=[Depends(Web.csrf_guard)])
    clerk = Depends(web.require(CLERK))

    @r.get("/unassigned")
    def unassigned(request: Request, u: Principal = clerk):
        with web.db.session() as s:
            docs = []
            for x in service.unassigned_documents(s, limit=200):
                docs.append(shapes.document_json(x) | {"source": x.source_name, "created_at": x.created_at,
                                                        "suggest": [d.code for d in suggestions(s, x)]})
            open_dossiers = open_dossier_codes(s)
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
            return see_other("/unassigned")
        web.flash(request, f"Đã gắn văn bản {doc_id} vào hồ sơ {code}."
                  + (" Lý do ghi đè đã được ghi vào nhật ký." if override_reason.strip() else ""))
        return see_other("/unassigned")

    return r
