"""The dossier's processing flow on the staff pages: intake with the persons concerned, and each step
(forward, pause, supplement, resume, decide, return the result, return without a result, ask for
certification) in two requests — the first checks the form and shows what will happen for the
clerk to confirm, the second does it. The rules are registry.flow's; this module only reads forms
and renders (a form with errors goes back to the dossier page with what was typed)."""
from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select

from registry import flow, lifecycle, persons, service
from registry.errors import ComponentsIncomplete, FormErrors, InvalidField
from registry.models import Document, Dossier, Staff
from registry.units import display_name, list_units
from sohoa import i18n
from sohoa.web.base import CLERK, OFFICER, Principal, Web, load_dossier
from vocab.clock import VN_TZ, local, utcnow
from vocab.errors import Conflict, Invalid, NotFound, SohoaError

TITLES = {"forward": "Chuyển xử lý", "pause": "Tạm dừng hồ sơ", "supplement": "Yêu cầu bổ sung hồ sơ",
          "resume": "Tiếp tục xử lý", "decide": "Quyết định giải quyết", "return_result": "Trả kết quả",
          "return": "Trả lại hồ sơ (không giải quyết)", "certify": "Yêu cầu chứng thực bản sao"}
MAX_PERSONS = 4


def form_values(form) -> dict[str, Any]:
    """A submitted form as plain values to show again (a repeated field as a list)."""
    out: dict[str, Any] = {}
    for k in form.keys():
        vals = [str(x) for x in form.getlist(k)]
        out[k] = vals if len(vals) > 1 or k == "document" else vals[0]
    return out


def _back(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def form_persons(form) -> list[persons.PersonIn]:
    """The rows of the intake form's persons table that were filled in (``person-<n>-role|id|name``)."""
    out = []
    for n in range(1, MAX_PERSONS + 1):
        role, pid, name = (str(form.get(f"person-{n}-{k}") or "").strip() for k in ("role", "id", "name"))
        if role or pid or name:
            out.append(persons.PersonIn(role, pid, name))
    return out


def _renumber(errors: dict[str, str], form) -> dict[str, str]:
    """The person errors name the n-th filled row; put them on the form row they came from."""
    rows = [n for n in range(1, MAX_PERSONS + 1)
            if any(str(form.get(f"person-{n}-{k}") or "").strip() for k in ("role", "id", "name"))]
    out = {}
    for k, v in errors.items():
        if k.startswith("person-") and k.split("-")[1].isdigit() and int(k.split("-")[1]) <= len(rows):
            _, i, part = k.split("-", 2)
            k = f"person-{rows[int(i) - 1]}-{part}"
        out[k] = v
    return out


async def intake(web: Web, request: Request, u: Principal) -> RedirectResponse:
    """POST /dossiers: open a dossier with the persons concerned; on an error, the form again with
    every value typed and each message beside its field."""
    from sohoa.jobs.population import verifier_for

    form = await request.form()
    values = form_values(form)
    try:
        with web.db.session() as s:  # audited; the applicant's identity checked (registry.population)
            d = service.open_dossier(
                s, procedure=values.get("procedure", ""), subject=values.get("subject", ""),
                name=values.get("name") or None, birth_date=values.get("birth_date") or None,
                agency=web.settings.agency_code, channel=values.get("channel") or "counter", actor=u.actor,
                verifier=verifier_for(web.settings), unit=u.unit, persons=form_persons(form), phone=values.get("phone", ""),
                address=values.get("address", ""), sets=values.get("sets") or "1", fee=values.get("fee") or "0")
            code = d.code
    except FormErrors as exc:
        web.keep_form(request, "new-dossier", values, _renumber(exc.errors, form))
        web.flash(request, "Chưa tiếp nhận được hồ sơ: hãy sửa các ô được đánh dấu.", error=True)
        return _back("/dossiers#new-dossier")
    except InvalidField as exc:
        web.keep_form(request, "new-dossier", values, {"subject": exc.message})
        web.flash(request, "Chưa tiếp nhận được hồ sơ: hãy sửa các ô được đánh dấu.", error=True)
        return _back("/dossiers#new-dossier")
    except NotFound:  # the only thing intake looks up: the procedure
        web.keep_form(request, "new-dossier", values, {"procedure": "Không có thủ tục này trong danh mục của cơ quan."})
        web.flash(request, "Chưa tiếp nhận được hồ sơ: hãy chọn thủ tục trong danh sách.", error=True)
        return _back("/dossiers#new-dossier")
    except SohoaError as exc:
        web.keep_form(request, "new-dossier", values, {})
        web.flash(request, f"Chưa tiếp nhận được hồ sơ: {exc.message}", error=True)
        return _back("/dossiers#new-dossier")
    web.flash(request, f"Đã tiếp nhận hồ sơ {code}. In giấy tiếp nhận và đặt lên trước khi quét.")
    return _back(f"/dossiers/{code}")


def intake_context() -> dict[str, Any]:
    """What the intake form offers: the roles of persons concerned, the number of rows."""
    return {"person_roles": {k: v for k, v in persons.ROLES.items() if k != "applicant"},
            "person_rows": range(1, MAX_PERSONS + 1)}


def dossier_context(web: Web, s, d: Dossier, u: Principal) -> dict[str, Any]:
    """What the dossier page shows besides its components: the persons concerned, who holds it,
    the steps its state offers (none for a reader who is not a clerk), its certifications and timeline."""
    offered = flow.actions_for(d, u.role, u.username)
    holder = s.scalar(select(Staff).where(Staff.username == d.holder)) if d.holder else None
    names = {x: n for x, n in s.execute(select(Staff.username, Staff.name))}
    default_unit = web.settings.agency_code
    units = [{"code": x.code, "name": display_name(s, x.code, default_unit, web.settings.unit_name)}
             for x in list_units(s)]
    officers = [{"username": st.username, "name": st.name or st.username,
                 "unit": st.unit_code or default_unit,
                 "unit_name": display_name(s, st.unit_code or default_unit, default_unit, web.settings.unit_name)}
                for st in flow.officers_of(s, None, default_unit) if st.role in ("officer", "manager")]
    candidates = [{"id": x.id, "doc_type": x.doc_type, "certified": bool(x.certified_from_id)}
                  for x in flow.result_candidates(s, d)]
    result_doc = s.get(Document, d.result_document_id) if d.result_document_id else None
    return {
        "persons": persons.persons(s, d), "actions": offered, "titles": TITLES, "person_roles": persons.ROLES,
        "holder": {"name": holder.name or holder.username,
                   "unit": display_name(s, d.holder_unit, default_unit, web.settings.unit_name),
                   "due": d.step_due_at} if holder else None,
        "units": units, "officers": officers, "candidates": candidates,
        "certs": [vars(c) | {"requested_by": names.get(c.requested_by) or c.requested_by}
                  for c in flow.certifications(s, d)],
        "events": flow.timeline_rows(s, d), "handover_methods": flow.HANDOVER, "decisions": flow.DECISIONS,
        "handover": dict(d.handover or {}), "decision": d.decision,
        "result_doc": {"id": result_doc.id, "doc_type": result_doc.doc_type} if result_doc else None,
        "unit_name": display_name(s, d.unit, default_unit, web.settings.unit_name), "now_text": local(utcnow()).strftime("%d/%m/%Y %H:%M"),
        "intake": {"phone": d.phone, "address": d.address, "sets": d.sets, "fee": d.fee},
    }


def _parse_moment(text: str) -> dt.datetime | None:
    v = (text or "").strip()
    if not v:
        return None
    for f in ("%d/%m/%Y %H:%M", "%d/%m/%Y"):
        try:
            return dt.datetime.strptime(v, f).replace(tzinfo=VN_TZ).astimezone(dt.timezone.utc)
        except ValueError:
            pass
    raise FormErrors({"at": "Thời điểm viết dạng ngày/tháng/năm giờ:phút, ví dụ 05/12/2026 14:30."})


def _int(text: str, field: str, message: str) -> int | None:
    v = (text or "").strip()
    if not v:
        return None
    if not v.isdigit():
        raise FormErrors({field: message})
    return int(v)


def run_step(web: Web, s, d: Dossier, action: str, form, u: Principal) -> str:
    """Do ``action`` on ``d`` from the form's values; returns what was done, in a sentence."""
    v = {k: str(x) for k, x in form.items()}
    if action == "forward":
        try:
            due = i18n.parse_date(v.get("due"))
        except Invalid:
            raise FormErrors({"due": "Hạn xử lý viết dạng ngày/tháng/năm, ví dụ 09/12/2026."}) from None
        own = web.settings.agency_code
        label = display_name(s, v.get("unit") or None, own, web.settings.unit_name) if v.get("unit") else None
        flow.forward(s, d, unit_code=v.get("unit", ""), officer=v.get("officer", ""), due=due, note=v.get("note", ""),
                     actor=u.actor, default_unit=own, unit_label=label)
        st = s.scalar(select(Staff).where(Staff.username == d.holder))
        return (f"Chuyển hồ sơ {d.code} đến {label}, cán bộ {st.name or st.username} xử lý, "
                f"hạn xử lý bước này {i18n.fmt_date(d.step_due_at)}.")
    if action in ("pause", "supplement"):
        flow.allowed(d, action)
        reason = v.get("reason", "").strip()
        if not reason:
            raise FormErrors({"reason": "Hãy ghi rõ giấy tờ cần bổ sung." if action == "supplement"
                              else "Hãy ghi rõ lý do tạm dừng."})
        lifecycle.pause(s, d, reason, actor=u.actor, supplement=action == "supplement")
        return (f"Tạm dừng hồ sơ {d.code} để công dân bổ sung: {reason}." if action == "supplement"
                else f"Tạm dừng hồ sơ {d.code}: {reason}. Thời gian tạm dừng không tính vào thời hạn giải quyết.")
    if action == "resume":
        flow.allowed(d, action)
        lifecycle.resume(s, d, actor=u.actor)
        return f"Hồ sơ {d.code} tiếp tục được xử lý; hẹn trả mới {i18n.fmt_date(d.due_at)}."
    if action == "decide":
        doc_id = _int(v.get("result_document_id", ""), "result_document_id", "Hãy chọn văn bản kết quả.")
        flow.decide(s, d, outcome=v.get("outcome", ""), result_document_id=doc_id, note=v.get("note", ""),
                    override_reason=v.get("override_reason") or None, actor=u.actor)
        what = (f"văn bản kết quả #{doc_id} ({i18n.label('doc_type', s.get(Document, doc_id).doc_type)})"
                if doc_id else "không có văn bản kết quả")
        return f"Ghi nhận quyết định cho hồ sơ {d.code}: {flow.DECISIONS[d.decision].lower()}, {what}."
    if action == "return_result":
        doc_id = _int(v.get("document_id", ""), "document_id", "Hãy chọn văn bản kết quả.")
        at = _parse_moment(v.get("at", ""))
        flow.return_result(s, d, method=v.get("method", ""), recipient=v.get("recipient", ""), at=at,
                           document_id=doc_id, actor=u.actor)
        h = d.handover
        return (f"Trả kết quả hồ sơ {d.code} cho {h['recipient']} ({flow.HANDOVER[h['method']].lower()}) "
                f"lúc {i18n.fmt_time(h['at'])}; hồ sơ kết thúc, không nhận thêm giấy tờ.")
    if action == "return":
        flow.allowed(d, action)
        if not v.get("reason", "").strip():
            raise FormErrors({"reason": "Hãy ghi rõ lý do trả lại hồ sơ."})
        lifecycle.return_dossier(s, d, v["reason"], actor=u.actor)
        return f"Trả lại hồ sơ {d.code} cho công dân, không giải quyết: {v['reason'].strip()}."
    if action == "certify":
        ids = sorted({int(x) for x in form.getlist("document") if str(x).isdigit()})
        copies = _int(v.get("copies", ""), "copies", "Số bản sao là một số từ 1 đến 100.") or 0
        flow.request_certification(s, d, ids, copies, actor=u.actor)
        return (f"Chuyển {len(ids)} văn bản ({', '.join(f'#{i}' for i in ids)}) sang người có thẩm quyền "
                f"chứng thực, {copies} bản sao mỗi văn bản.")
    raise NotFound("Không có thao tác này.")


def router(web: Web) -> APIRouter:
    r = APIRouter(include_in_schema=False, dependencies=[Depends(Web.csrf_guard)])
    staff = Depends(web.require(CLERK, OFFICER))

    @r.post("/dossiers/{code}/steps/{action}")
    async def step(request: Request, code: str, action: str, u: Principal = staff):
        """First the check and a confirmation page (nothing saved); with ``confirm`` the step itself."""
        if action not in TITLES:
            raise NotFound("Không có thao tác này.")
        form = await request.form()
        values = form_values(form)
        confirmed = values.get("confirm") == "1"
        try:
            with web.db.session() as s:
                d = load_dossier(s, code, u)  # another unit's dossier, or one not forwarded to this officer: absent
                applicant = d.subject.name
                if action not in flow.actions_for(d, u.role, u.username):  # not this account's step here
                    raise Conflict(f"Hồ sơ {d.code}: không thực hiện được thao tác này (trạng thái hiện tại "
                                   "hoặc tài khoản của bạn không cho phép).")
                done = run_step(web, s, d, action, form, u)
                if not confirmed:
                    s.rollback()  # a rehearsal: the page asks to confirm, nothing is kept
        except FormErrors as exc:
            web.keep_form(request, f"step-{action}", values, exc.errors)
            web.flash(request, f"Chưa thực hiện “{TITLES[action].lower()}”: hãy sửa các ô được đánh dấu.", error=True)
            return _back(f"/dossiers/{code}#step-{action}")
        except NotFound:
            raise
        except ComponentsIncomplete:  # say which papers, by their names, beside the reason's field
            with web.db.session() as s:
                d = s.scalar(select(Dossier).where(Dossier.code == code))
                missing = [i18n.label("doc_type", c.doc_type) for c in service.component_states(s, d)
                           if c.state == "missing"]
            msg = ("Hồ sơ còn thiếu: " + ", ".join(missing) + ". Ghi lý do vẫn quyết định khi còn thiếu "
                   "(được ghi vào nhật ký).")
            web.keep_form(request, f"step-{action}", values, {"override_reason": msg})
            web.flash(request, f"Chưa thực hiện “{TITLES[action].lower()}”: {msg}", error=True)
            return _back(f"/dossiers/{code}#step-{action}")
        except SohoaError as exc:  # a conflict (state changed, another person's paper…): said on the page
            web.keep_form(request, f"step-{action}", values, {"_": exc.message})
            web.flash(request, f"Chưa thực hiện “{TITLES[action].lower()}”: {exc.message}", error=True)
            return _back(f"/dossiers/{code}#step-{action}")
        if not confirmed:
            hidden = [(k, v) for k, v in form.multi_items() if k not in ("csrf_token", "confirm")]
            return web.page(request, "confirm.html", code=code, action=action, title=TITLES[action], summary=done,
                            hidden=hidden, applicant=applicant)
        web.flash(request, "Đã thực hiện: " + done)
        return _back(f"/dossiers/{code}" if u.role == CLERK or action != "decide" else "/certify")

    return r
