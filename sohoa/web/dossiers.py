"""The counter clerk's dossiers: the list with its search and filters, opening a dossier, the
receipt, reuse of an earlier document, pause and resume, completion, exemptions, the apology slip,
detaching a component. Managers may read dossiers (the late list links here)."""
from __future__ import annotations

import functools
from dataclasses import replace
from pathlib import Path

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, Response

from registry import access, backlog, lifecycle, service, shapes
from registry.history import history
from registry.models import Dossier
from registry.reuse import reusable_for_dossier, reuse_into_dossier
from registry.search import SORTS, DossierFilter, dossier_units, list_dossiers, matching_documents, procedures
from sohoa import i18n
from sohoa.i18n import parse_date
from sohoa.papers.slips import apology_pdf
from sohoa.web import steps
from sohoa.web.base import CLERK, MANAGER, OFFICER, Principal, Web, load_dossier, see_other
from vocab.clock import vn_today
from vocab.errors import Forbidden, Invalid, NotFound, SohoaError
from vocab.kinds import DossierStatus
from vocab.text import fold


def dossier_view(s, d: Dossier) -> dict:
    """A dossier as its page shows it: the JSON shape, its components' states and rows."""
    obj = shapes.dossier_json(d)
    obj.update(
        id=d.id, channel=d.channel, unit=d.unit, pause_reason=d.pause_reason, late=bool(d.late) or lifecycle.is_late(d),
        apology_ref=d.apology_ref, procedure_name=d.procedure.name, completed_at=d.completed_at,
        states=(states := [vars(c) for c in service.component_states(s, d)]),
        missing=[c["doc_type"] for c in states if c["state"] == "missing"],
        component_rows=[{"id": c.id, "doc_type": c.doc_type, "origin": c.origin, "routed_by": c.routed_by,
                         "created_at": c.created_at, "document": c.document} for c in d.components])
    return obj


def router(web: Web) -> APIRouter:  # noqa: C901 - one route per action on a dossier
    r = APIRouter(include_in_schema=False, dependencies=[Depends(Web.csrf_guard)])
    clerk = Depends(web.require(CLERK))
    reader = Depends(web.require(CLERK, MANAGER))  # managers may read dossiers (late list links here)

    @r.get("/dossiers")
    def dossier_list(request: Request, u: Principal = reader, status: str = "", procedure: str = "", unit: str = "",
                     date_from: str = "", date_to: str = "", late: str = "", q: str = "", sort: str = "received",
                     dir: str = "", page: int = 1):
        f = DossierFilter(status=status or None, procedure=procedure or None, unit=unit or None,
                          date_from=parse_date(date_from), date_to=parse_date(date_to), late=bool(late),
                          q=q.strip() or None)
        desc = None if dir not in ("asc", "desc") else dir == "desc"
        with web.db.session() as s:
            f = replace(f, units=access.units_of(s, u))  # need-to-know: the dossiers of the account's units
            pg = list_dossiers(s, f, sort=sort if sort in SORTS else "received", desc=desc, page=page)
            rows = [{"code": d.code, "subject_name": d.subject.name, "subject": d.subject.identifier,
                     "procedure": d.procedure_code, "procedure_name": d.procedure.name, "status": d.status,
                     "received_at": d.received_at, "due_at": d.due_at, "late": bool(d.late) or lifecycle.is_late(d),
                     "components": [c.doc_type for c in d.components]} for d in pg.items]
            docs = matching_documents(s, q, units=f.units) if q.strip() else []
            procs = procedures(s)
            units = dossier_units(s)
            backlog_status = backlog.status(s)
            access.audit_shown(s, u.actor, "dossier.search" if q.strip() else "dossier.list",
                               [d.subject_id for d in pg.items] + [x.subject_id for x in docs],
                               q=fold(q)[:40], page=pg.page, status=status, procedure=procedure)
        params = {k: v for k, v in dict(status=status, procedure=procedure, unit=unit, date_from=date_from,
                                        date_to=date_to, late=late, q=q, sort=sort, dir=dir).items() if v}
        return web.page(request, "dossiers.html", rows=rows, pg=pg, docs=docs, procedures=procs, backlog=backlog_status,
                        **steps.intake_context(),
                        units=units, statuses=list(DossierStatus), params=params, q=q, sort=sort, dir=dir,
                        late=late, sorts=list(SORTS))

    @r.get("/search")
    def search_page(request: Request, q: str = "", u: Principal = reader):
        return see_other(f"/dossiers?q={q}") if q else see_other("/dossiers")

    @r.post("/dossiers")
    async def dossier_create(request: Request, u: Principal = clerk):
        return await steps.intake(web, request, u)

    @r.get("/dossiers/{code}")
    def dossier_page(request: Request, code: str, u: Principal = Depends(web.require(CLERK, MANAGER, OFFICER))):
        with web.db.session() as s:
            d = load_dossier(s, code, u)
            if u.role == OFFICER and d.holder != u.username:  # an officer reads the dossiers forwarded to them
                raise Forbidden("Hồ sơ này không được chuyển cho bạn xử lý.")
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
            d = load_dossier(s, code, u)
            obj = dossier_view(s, d)
            web.audit(s, u, "dossier.show", subject_id=d.subject_id, object_type="dossier", object_id=d.code)
        return Response(web.fragment("_components.html", d=obj, can_act=u.role == CLERK, csrf=web.csrf_token(request)),
                        media_type="text/html")

    @r.get("/dossiers/{code}/receipt.pdf")
    def dossier_receipt(request: Request, code: str, u: Principal = clerk):
        from sohoa.papers.receipt import receipt_for

        with web.db.session() as s:
            d = load_dossier(s, code, u)
            pdf = receipt_for(s, d, web.settings)
            web.audit(s, u, "dossier.receipt", subject_id=d.subject_id, object_type="dossier", object_id=d.code)
        return Response(pdf, media_type="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="giay-tiep-nhan-{code}.pdf"'})

    @r.post("/dossiers/{code}/reuse")
    def dossier_reuse(request: Request, code: str, document_id: int = Form(...), u: Principal = clerk):
        with web.db.session() as s:
            load_dossier(s, code, u)  # another unit's dossier: as absent
        try:
            with web.db.session() as s:
                d = load_dossier(s, code, u)
                reuse_into_dossier(s, d, document_id, actor=u.actor, purpose="tiếp nhận hồ sơ")
        except SohoaError as exc:
            web.flash(request, f"Không dùng lại được: {exc.message}", error=True)
        else:
            web.flash(request, f"Đã dùng lại văn bản #{document_id}: công dân không phải nộp bản giấy.")
        return see_other(f"/dossiers/{code}")

    @r.post("/dossiers/{code}/pause")
    def dossier_pause(request: Request, code: str, reason: str = Form(""), u: Principal = clerk):
        with web.db.session() as s:
            lifecycle.pause(s, load_dossier(s, code, u), reason, actor=u.actor)
        web.flash(request, "Đã tạm dừng hồ sơ.")
        return see_other(f"/dossiers/{code}")

    @r.post("/dossiers/{code}/resume")
    def dossier_resume(request: Request, code: str, u: Principal = clerk):
        with web.db.session() as s:
            lifecycle.resume(s, load_dossier(s, code, u), actor=u.actor)
        web.flash(request, "Hồ sơ tiếp tục được xử lý.")
        return see_other(f"/dossiers/{code}")

    @r.post("/dossiers/{code}/complete")
    def dossier_complete(request: Request, code: str, result_document_id: str = Form(""),
                         override_reason: str = Form(""), confirm: str = Form(""), u: Principal = clerk):
        """Completion without the return step (kept for the older flow): never on one click — the
        first request shows what will happen, the confirmed one does it."""
        rid = result_document_id.strip()
        if rid and not rid.isdigit():
            raise Invalid("Số văn bản kết quả phải là một số.")
        with web.db.session() as s:  # a missing component or another person's result needs a reason (audited)
            d = load_dossier(s, code, u)
            applicant = d.subject.name
            lifecycle.complete(s, d, actor=u.actor, result_document_id=int(rid) if rid else None,
                               override_reason=override_reason.strip() or None)
            if confirm != "1":
                s.rollback()  # a rehearsal: nothing kept until confirmed
                return web.page(request, "confirm.html", code=code, action="complete", title="Hoàn thành hồ sơ",
                                summary=f"Kết thúc hồ sơ {code}" + (f" với văn bản kết quả #{rid}" if rid else "")
                                + "; sau đó không nhận thêm giấy tờ.", applicant=applicant,
                                post_to=f"/dossiers/{code}/complete",
                                hidden=[("result_document_id", rid), ("override_reason", override_reason)])
        web.flash(request, "Đã hoàn thành hồ sơ." + (" Lý do ghi đè đã được ghi vào nhật ký."
                                                      if override_reason.strip() else ""))
        return see_other(f"/dossiers/{code}")

    @r.post("/dossiers/{code}/exempt")
    def dossier_exempt(request: Request, code: str, doc_type: str = Form(...), reason: str = Form(...),
                       note: str = Form(""), u: Principal = clerk):
        """A required component not scanned, for a reason Circular 03/2025/TT-VPCP Art. 5 allows."""
        with web.db.session() as s:
            service.exempt_component(s, load_dossier(s, code, u), doc_type, reason, actor=u.actor, note=note.strip())
        web.flash(request, f"Đã ghi nhận: {i18n.label('doc_type', doc_type)} không phải số hóa "
                           f"({i18n.label('exempt_reason', reason)}).")
        return see_other(f"/dossiers/{code}")

    def apology_path(code: str) -> Path:
        return web.settings.home / "apology" / f"phieu-xin-loi-{code}.pdf"

    @r.post("/dossiers/{code}/apology")
    def dossier_apology(request: Request, code: str, reason: str = Form(""), new_date: str = Form(""),
                        declare_late: str = Form(""), u: Principal = clerk):
        day = parse_date(new_date)
        if day is None:
            raise Invalid("Hãy chọn ngày hẹn trả mới.")
        with web.db.session() as s:
            lifecycle.apology(s, load_dossier(s, code, u), reason=reason, new_date=day, out=apology_path(code),
                              actor=u.actor, render=functools.partial(apology_pdf, unit_name=web.settings.unit_name),
                              declare_late=bool(declare_late))
        web.flash(request, "Đã lập phiếu xin lỗi và hẹn lại ngày trả kết quả.")
        return see_other(f"/dossiers/{code}")

    @r.get("/dossiers/{code}/apology.pdf")
    def dossier_apology_pdf(request: Request, code: str, u: Principal = clerk):
        with web.db.session() as s:
            d = load_dossier(s, code, u)
            web.audit(s, u, "dossier.apology_read", subject_id=d.subject_id, object_type="dossier", object_id=d.code)
        p = apology_path(d.code)
        if not p.is_file():
            raise NotFound("Hồ sơ này chưa có phiếu xin lỗi.")
        return FileResponse(p, media_type="application/pdf", filename=p.name, content_disposition_type="inline")

    @r.post("/dossiers/{code}/components/{component_id}/detach")
    def dossier_detach(request: Request, code: str, component_id: int, reason: str = Form(""),
                       u: Principal = clerk):
        with web.db.session() as s:
            service.detach_component(s, load_dossier(s, code, u), component_id, reason=reason, actor=u.actor)
        web.flash(request, "Đã gỡ thành phần khỏi hồ sơ; văn bản trở lại hàng chờ chưa gắn hồ sơ.")
        return see_other(f"/dossiers/{code}")

    return r
