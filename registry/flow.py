"""The processing flow of a dossier at a one-stop office (spec §9), as the portal's step events
describe it:

    received → forwarded to a unit and an officer (with the step's due time)
             → paused / asked to supplement / resumed
             → decided (the result picked from the dossier's documents, or a refusal)
             → result returned (which document, how, to whom, when) → completed.

Each step is audited (the dossier's timeline), writes its portal event in the same transaction,
and is refused in a state where it makes no sense: :func:`actions` is the one list of what may be
done in each state, which the pages offer and the functions here enforce. Certification requests
of the dossier's papers and their copies are part of its life (:func:`certifications`).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from registry import lifecycle, outbox
from registry.errors import FormErrors
from registry.history import QUIET, actor_names
from registry.models import AuditEvent, CertificationRequest, CertifiedCopy, Document, Dossier, Officer, Staff, Unit
from registry.service import audit, refuse_unless_overridden, subject_mismatch
from vocab.clock import VN_TZ, local, utcnow
from vocab.errors import Conflict
from vocab.text import nfc

__all__ = ["ACTIONS", "HOLDER_ACTIONS", "actions_for", "held_by", "HANDOVER", "DECISIONS", "actions", "allowed", "forward", "decide", "return_result",
           "officers_of", "certifications", "request_certification", "timeline", "timeline_rows",
           "result_candidates", "CertificationView", "certification_fee", "register_details"]

# what may be done in each state (the pages offer exactly these)
ACTIONS: dict[str, tuple[str, ...]] = {
    "received": ("upload", "reuse", "exempt", "certify", "forward", "pause", "supplement", "return", "apology"),
    "processing": ("upload", "reuse", "exempt", "certify", "forward", "pause", "supplement", "decide", "return",
                   "apology"),
    "paused": ("upload", "resume", "return"),
    "decided": ("certify", "return_result", "apology"),
    "completed": (),
    "returned": (),
}
HANDOVER = {"counter": "Trực tiếp tại Bộ phận Một cửa", "postal": "Qua dịch vụ bưu chính công ích",
            "online": "Trực tuyến (tài khoản trên Cổng Dịch vụ công)"}
DECISIONS = {"approved": "Giải quyết (có kết quả)", "refused": "Từ chối giải quyết (có văn bản trả lời)"}


# what the officer a dossier is forwarded to may do on it (the counter does the rest)
HOLDER_ACTIONS = ("decide", "supplement", "pause")


def actions(d: Dossier) -> tuple[str, ...]:
    return ACTIONS.get(d.status, ())


def actions_for(d: Dossier, role: str, username: str) -> tuple[str, ...]:
    """The steps offered to this account: a clerk every step of the state; the officer who holds
    the dossier the decision, a request to supplement and a pause; anyone else none."""
    if role == "clerk":
        return actions(d)
    if role == "officer" and d.holder == username:
        return tuple(a for a in actions(d) if a in HOLDER_ACTIONS)
    return ()


def held_by(s: Session, username: str) -> list[Dossier]:
    """Open dossiers forwarded to this officer, the soonest step due first."""
    return list(s.scalars(select(Dossier).where(Dossier.holder == username, Dossier.status.in_(
        ("received", "processing", "paused"))).order_by(Dossier.step_due_at, Dossier.id)))


def allowed(d: Dossier, action: str) -> None:
    """Refuse (Conflict) an action the dossier's state does not offer."""
    if action not in actions(d):
        from vocab.kinds import status_name

        raise Conflict(f"Hồ sơ {d.code} đang ở trạng thái “{status_name(d.status).lower()}”: "
                       "không thực hiện được thao tác này.")


def officers_of(s: Session, unit_code: str | None, default_unit: str) -> list[Staff]:
    """Active staff who process dossiers in ``unit_code`` (an account without a unit belongs to the
    office's own unit, ``default_unit``)."""
    q = select(Staff).where(Staff.disabled.is_(False), Staff.role.in_(("officer", "manager", "clerk")))
    out = []
    for st in s.scalars(q.order_by(Staff.name)):
        if unit_code is None or (st.unit_code or default_unit) == unit_code:
            out.append(st)
    return out


def _vn_end_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(17, 0), tzinfo=VN_TZ).astimezone(dt.timezone.utc)


def forward(s: Session, d: Dossier, *, unit_code: str, officer: str, due: dt.date | None, note: str = "",
            actor: str, default_unit: str, now: dt.datetime | None = None, unit_label: str | None = None) -> Dossier:
    """Chuyển xử lý: hand the dossier to a unit and an officer of it, with the step's due date
    (the end of that working day; the dossier's own due date when none is given)."""
    allowed(d, "forward")
    now = now or utcnow()
    errors: dict[str, str] = {}
    unit = s.get(Unit, unit_code) if unit_code else None
    if unit is None:
        errors["unit"] = "Hãy chọn đơn vị xử lý."
    st = s.scalar(select(Staff).where(Staff.username == officer)) if officer else None
    if st is None or st.disabled:
        errors["officer"] = "Hãy chọn cán bộ xử lý."
    elif unit is not None and (st.unit_code or default_unit) != unit.code:
        errors["officer"] = f"Cán bộ {st.name or st.username} không thuộc {unit.name}."
    today = local(now).date()
    if due is not None and due < today:
        errors["due"] = "Hạn xử lý của bước này không được trước hôm nay."
    elif due is not None and d.due_at is not None and due > local(d.due_at).date():
        errors["due"] = (f"Hạn xử lý của bước này không được sau ngày hẹn trả kết quả "
                         f"({local(d.due_at):%d/%m/%Y}).")
    if errors:
        raise FormErrors(errors)
    step_due = _vn_end_of(due) if due is not None else d.due_at
    d.holder_unit, d.holder, d.step_due_at = unit.code, st.username, step_due
    d.status = "processing"
    note = nfc((note or "").strip())
    label = unit_label or unit.name  # the name as the page shows it (the office's own unit as configured)
    audit(s, actor, "dossier.forward", subject_id=d.subject_id, object_type="dossier", object_id=d.code,
          detail={"unit": unit.code, "unit_name": label, "officer": st.username, "officer_name": st.name,
                  "due_at": step_due.isoformat() if step_due else None, "note": note})
    outbox.step(s, d, "Chuyển xử lý" + (f": {note}" if note else ""), actor=actor, officer=st.name or st.username,
                title=outbox.ROLE_TITLES.get(st.role), unit=label, due_at=step_due)
    s.flush()
    return d


def result_candidates(s: Session, d: Dossier) -> list[Document]:
    """Documents a result may be picked from: the dossier's own (its components), newest first,
    and the certified copies made from them."""
    ids = [c.document_id for c in d.components if c.document_id]
    if not ids:
        return []
    return list(s.scalars(select(Document).where(or_(Document.id.in_(ids), Document.certified_from_id.in_(ids)))
                          .order_by(Document.id.desc())))


def decide(s: Session, d: Dossier, *, outcome: str, result_document_id: int | None, note: str = "",
           override_reason: str | None = None, actor: str, now: dt.datetime | None = None) -> Dossier:
    """The decision: ``approved`` with the result document picked from the dossier's documents,
    or ``refused`` with the written reason (and the reply letter, when scanned). A missing
    component or a result of another person needs an override reason (audited)."""
    allowed(d, "decide")
    now = now or utcnow()
    errors: dict[str, str] = {}
    if outcome not in DECISIONS:
        errors["outcome"] = "Hãy chọn kết quả giải quyết."
    doc = None
    if result_document_id:
        doc = s.get(Document, int(result_document_id))
        if doc is None or doc.id not in {x.id for x in result_candidates(s, d)}:
            errors["result_document_id"] = "Hãy chọn văn bản kết quả trong các văn bản của hồ sơ."
    elif outcome == "approved":
        errors["result_document_id"] = "Hãy chọn văn bản kết quả trong các văn bản của hồ sơ."
    note = nfc((note or "").strip())
    if outcome == "refused" and not note:
        errors["note"] = "Từ chối giải quyết cần ghi rõ lý do."
    if errors:
        raise FormErrors(errors)
    refuse_unless_overridden(s, [lifecycle.incomplete_components(s, d), subject_mismatch(s, doc, d) if doc else None],
                             override_reason, actor=actor, action="dossier.decide.override",
                             subject_id=d.subject_id, object_type="dossier", object_id=d.code,
                             detail={"result_document_id": doc.id if doc else None})
    d.status, d.decision, d.result_document_id = "decided", outcome, doc.id if doc else None
    d.holder = None
    audit(s, actor, "dossier.decide", subject_id=d.subject_id, object_type="dossier", object_id=d.code,
          detail={"outcome": outcome, "result_document_id": d.result_document_id, "note": note})
    outbox.step(s, d, ("Đã có kết quả giải quyết" if outcome == "approved" else f"Từ chối giải quyết: {note}"),
                actor=actor)
    s.flush()
    return d


def return_result(s: Session, d: Dossier, *, method: str, recipient: str, at: dt.datetime | None,
                  document_id: int | None = None, actor: str, now: dt.datetime | None = None):
    """Trả kết quả: the result handed over (which document, how, to whom, when); the dossier is done."""
    allowed(d, "return_result")
    now = now or utcnow()
    errors: dict[str, str] = {}
    if method not in HANDOVER:
        errors["method"] = "Hãy chọn hình thức trả kết quả."
    recipient = nfc((recipient or "").strip())
    if not recipient:
        errors["recipient"] = "Hãy ghi họ tên người nhận kết quả."
    if at is None or abs(now - at) < dt.timedelta(minutes=1):  # "now" as typed to the minute: now
        at = now
    if at > now + dt.timedelta(minutes=5):
        errors["at"] = "Thời điểm trả kết quả không được sau bây giờ."
    elif at < lifecycle._aware(d.received_at).replace(second=0, microsecond=0):
        errors["at"] = "Thời điểm trả kết quả không được trước lúc tiếp nhận hồ sơ."
    doc_id = document_id or d.result_document_id
    if document_id and document_id not in {x.id for x in result_candidates(s, d)}:
        errors["document_id"] = "Hãy chọn văn bản kết quả trong các văn bản của hồ sơ."
    if errors:
        raise FormErrors(errors)
    handover = {"method": method, "recipient": recipient, "at": at.isoformat(), "document_id": doc_id}
    return lifecycle.complete(s, d, actor=actor, result_document_id=doc_id if d.decision != "refused" else None,
                              now=at, handover=handover, checked=True)


# -- certification in the dossier ----------------------------------------------------------------

@dataclass(frozen=True)
class CertificationView:
    id: int
    document_id: int
    doc_type: str
    copies: int
    status: str
    requested_by: str
    created_at: dt.datetime
    decided_at: dt.datetime | None
    number: int | None
    book: str | None
    copy_ids: list[int]
    officer: str | None


def certifications(s: Session, d: Dossier) -> list[CertificationView]:
    """The dossier's certification requests with the acts and copies they produced, oldest first."""
    out = []
    for x in s.scalars(select(CertificationRequest).where(CertificationRequest.dossier_id == d.id)
                       .order_by(CertificationRequest.id)):
        cc = s.get(CertifiedCopy, x.certified_copy_id) if x.certified_copy_id else None
        copy_ids = list(cc.signed_document_ids or ([cc.signed_document_id] if cc.signed_document_id else [])) if cc else []
        officer = None
        if cc is not None:
            off = s.get(Officer, cc.officer_id)
            officer = off.name if off else None
        out.append(CertificationView(x.id, x.document_id, x.document.doc_type, x.copies, x.status, x.requested_by,
                                     x.created_at, x.decided_at, cc.number if cc else None, cc.book if cc else None,
                                     copy_ids, officer))
    return out


def request_certification(s: Session, d: Dossier, document_ids: list[int], copies: int, *, actor: str) -> list[int]:
    """Mark originals of the dossier for certification (chứng thực bản sao), ``copies`` copies each;
    returns the request ids. Each request is audited against its document and the dossier."""
    allowed(d, "certify")
    errors: dict[str, str] = {}
    if not document_ids:
        errors["documents"] = "Hãy đánh dấu ít nhất một văn bản cần chứng thực."
    if not 1 <= copies <= 100:
        errors["copies"] = "Số bản sao là một số từ 1 đến 100."
    own = {c.document_id for c in d.components if c.document_id}
    if any(i not in own for i in document_ids):
        errors["documents"] = "Chỉ chứng thực được văn bản của hồ sơ này."
    if errors:
        raise FormErrors(errors)
    from registry import certification

    busy = [i for i in document_ids if certification.open_request(s, i) is not None]
    if busy:
        raise FormErrors({"documents": "Văn bản " + ", ".join(f"#{i}" for i in busy) + " đang chờ chứng thực rồi."})
    ids = []
    for doc_id in document_ids:
        doc = s.get(Document, doc_id)
        if doc.doc_type == "certified_copy" or doc.certified_from_id:
            raise FormErrors({"documents": f"Văn bản #{doc_id} đã là bản sao chứng thực."})
        rid = certification.request(s, doc_id, copies, actor=actor)  # pending, audited on the document
        s.get(CertificationRequest, rid).dossier_id = d.id  # asked for from this dossier
        ids.append(rid)
    return ids


def certification_fee(pages: int, copies: int) -> int:
    """The fee of certifying a copy from the original (Circular 226/2016/TT-BTC): 2.000 đồng a page
    for the first two pages, 1.000 đồng a page from the third, at most 200.000 đồng a copy."""
    pages = max(1, int(pages or 1))
    per_copy = min(200_000, 2_000 * min(pages, 2) + 1_000 * max(0, pages - 2))
    return per_copy * max(1, int(copies or 1))


def register_details(s: Session, act_ids: list[tuple[int, int]]) -> dict[tuple[int, int], dict[str, Any]]:
    """For register entries (source document id, number): who asked (the dossier's applicant, else
    the paper's holder), the clerk who asked for it, the pages and the fee."""
    from registry.models import Subject

    out: dict[tuple[int, int], dict[str, Any]] = {}
    for doc_id, number in act_ids:
        req = s.scalar(select(CertificationRequest).join(CertifiedCopy, CertifiedCopy.id ==
                                                         CertificationRequest.certified_copy_id)
                       .where(CertifiedCopy.source_document_id == doc_id, CertifiedCopy.number == number).limit(1))
        doc = s.get(Document, doc_id)
        who = None
        if req is not None and req.dossier is not None:
            who = req.dossier.subject.name
        if not who and doc is not None and doc.subject_id:
            subj = s.get(Subject, doc.subject_id)
            who = subj.name if subj else None
        out[(doc_id, number)] = {"requester": who or (doc.fields or {}).get("ho_ten") if doc else who,
                                 "dossier": req.dossier.code if req is not None and req.dossier else None,
                                 "pages": doc.pages if doc else 1}
    return out


# -- the timeline --------------------------------------------------------------------------------

_QUIET = (*QUIET, "dossier.receipt")


def timeline(s: Session, d: Dossier, limit: int = 200) -> list[AuditEvent]:
    """The dossier's life, newest first: its own events and those of its papers' certification
    (requests, signatures, refusals, downloads of the copies)."""
    docs = {c.document_id for c in d.components if c.document_id}
    for cv in certifications(s, d):
        docs.add(cv.document_id)
        docs.update(cv.copy_ids)
    cond = (AuditEvent.object_type == "dossier") & (AuditEvent.object_id == d.code)
    if docs:
        cond = cond | ((AuditEvent.object_type == "document") & AuditEvent.object_id.in_([str(i) for i in docs])
                       & AuditEvent.action.like("certify%"))
    return list(s.scalars(select(AuditEvent).where(cond, AuditEvent.action.not_in(_QUIET))
                          .order_by(AuditEvent.id.desc()).limit(limit)))


def timeline_rows(s: Session, d: Dossier) -> list[dict[str, Any]]:
    """The timeline as pages show it: who by name, what the step changed (no codes)."""
    names = actor_names(s)
    out, seen = [], set()
    for e in timeline(s, d):
        number = (e.detail or {}).get("number")
        if e.action == "certify" and number is not None:  # the act is audited by the signer and by the page
            key = (e.object_id, number)
            if key in seen:
                continue
            seen.add(key)
        out.append({"at": e.at, "actor": names.get(e.actor) or e.actor.split(":", 1)[-1], "action": e.action,
                    "detail": e.detail or {}, "changes": []})
    return out
