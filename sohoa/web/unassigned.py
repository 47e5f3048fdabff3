"""The unassigned queue: documents read from the inbox that no dossier claimed yet, each with the
open dossiers it probably belongs to, and assigning one to a dossier."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request

from registry import access, service, shapes
from registry.errors import SubjectMismatch, TypeNotRequired
from registry.queues import dossier_summaries, open_dossier_codes, suggestions
from sohoa.web.base import CLERK, Principal, Web, load_document, load_dossier, see_other
from vocab.errors import Invalid, NotFound, SohoaError
from vocab.kinds import DOC_TYPES


def router(web: Web) -> APIRouter:
    r = APIRouter(include_in_schema=False, dependencies=[Depends(Web.csrf_guard)])
    clerk = Depends(web.require(CLERK))

    @r.get("/unassigned")
    def unassigned(request: Request, u: Principal = clerk):
        with web.db.session() as s:
            units = access.units_of(s, u)
            waiting = service.unassigned_documents(s, limit=200)
            suggested = suggestions(s, waiting, units=units)  # the whole page in two queries
            about = dossier_summaries(s, {c for cs in suggested.values() for c in cs})
            docs = [shapes.document_json(x) | {"source": x.source_name, "created_at": x.created_at,
                                               "suggest": [about[c] for c in suggested[x.id]]}
                    for x in waiting]
            open_dossiers = open_dossier_codes(s, units=units)
            access.audit_shown(s, u.actor, "unassigned.list", [x.subject_id for x in waiting])
        return web.page(request, "unassigned.html", docs=docs, open_dossiers=open_dossiers, types=DOC_TYPES,
                        undo=request.session.pop("undo", None))

    @r.post("/documents/{doc_id}/assign")
    def assign(request: Request, doc_id: int, code: str = Form(""), suggested: str = Form(""),
               doc_type: str = Form(""), override_reason: str = Form(""), confirm: str = Form(""),
               confirmed: str = Form(""), u: Principal = clerk):
        code = (suggested or code).strip()
        if not code:
            raise Invalid("Hãy nhập hoặc chọn mã hồ sơ.")
        confirmed = bool(confirm) or confirmed == "1"  # the override page is a confirmation too
        try:
            with web.db.session() as s:
                load_document(s, doc_id, u), load_dossier(s, code, u)  # both the account's to see
                comp = service.assign_document(s, doc_id, code, actor=u.actor, doc_type=doc_type or None,
                                               override_reason=override_reason.strip() or None)
                d = comp.dossier
                what = {"doc_id": doc_id, "code": d.code, "citizen": d.subject.name, "procedure": d.procedure.name,
                        "doc_type": comp.doc_type, "component": comp.id}
                if not confirmed:
                    s.rollback()  # a rehearsal: the clerk confirms first, nothing is kept
        except (SubjectMismatch, TypeNotRequired) as exc:  # ask for a confirmation with a reason
            return web.page(request, "assign_override.html", status=409, doc_id=doc_id, code=code,
                            doc_type=doc_type, message=exc.message, asked=bool(confirm))
        except NotFound:  # not the account's to see (or no such thing): a page that says so
            raise
        except SohoaError as exc:
            web.flash(request, f"Không gắn được văn bản {doc_id}: {exc.message}", error=True)
            return see_other("/unassigned")
        if not confirmed:
            return web.page(request, "assign_confirm.html", doc_type_chosen=doc_type, **what)
        request.session["undo"] = {"doc_id": doc_id, "code": what["code"], "component": what["component"]}
        web.flash(request, f"Đã gắn văn bản {doc_id} vào hồ sơ {code}."
                  + (" Lý do ghi đè đã được ghi vào nhật ký." if override_reason.strip() else ""))
        return see_other("/unassigned")

    @r.post("/documents/{doc_id}/unassign")
    def unassign(request: Request, doc_id: int, code: str = Form(...), component: int = Form(...),
                 u: Principal = clerk):
        """Undo an attachment just made (the document goes back to this queue; audited)."""
        with web.db.session() as s:
            service.detach_component(s, load_dossier(s, code, u), component, reason="Hoàn tác việc gắn vừa làm",
                                     actor=u.actor)
        web.flash(request, f"Đã hoàn tác: văn bản {doc_id} trở lại hàng chờ chưa gắn hồ sơ.")
        return see_other("/unassigned")

    return r
