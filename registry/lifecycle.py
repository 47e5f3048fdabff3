"""Dossier lifecycle beyond intake (the product spec's registry model and certified copy): late
flag, pause/resume with a written reason, completion with an (electronic) result, and the apology
slip for a late dossier.

Lateness is judged against the *original* due date (the one on the receipt; time spent paused
moves it, an apology never does): an apology slip promises a new date to the citizen but does
not make a late dossier on time. An apology slip is written only for a dossier that is late, or
that the officer declares will be late (with the reason). Completing a dossier needs every
required component in a known state (registry.components) unless an override reason is given.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
import os
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from registry import metadata, outbox
from registry.components import STATE_LABELS, component_states
from registry.errors import ComponentsIncomplete, NotLate
from registry.models import AuditEvent, Document, Dossier, Result, utcnow
from registry.service import audit, link_subject, refuse_unless_overridden, subject_mismatch
from registry.subjects import owners
from vocab.clock import VN_TZ
from vocab.errors import Conflict, Invalid, NotFound
from vocab.kinds import status_name


def _aware(t: dt.datetime | None) -> dt.datetime | None:
    if t is None:
        return None
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)  # SQLite returns naive UTC


def original_due(d: Dossier) -> dt.datetime | None:
    return _aware(d.original_due_at or d.due_at)


def is_late(d: Dossier, now: dt.datetime | None = None) -> bool:
    """Late = completed after the original due date, or still open (not paused) past it."""
    due = original_due(d)
    if due is None:
        return False
    if d.status in ("completed", "returned"):
        done = _aware(d.completed_at)
        return done is not None and done > due
    if d.status == "paused":
        return bool(d.late)
    return (now or utcnow()) > due


def days_overdue(d: Dossier, now: dt.datetime | None = None) -> int:
    """Whole days past the original due date: until completion for a settled dossier, until now
    for an open one (0 when not late)."""
    due = original_due(d)
    if due is None:
        return 0
    end = _aware(d.completed_at) if d.status in ("completed", "returned") else (now or utcnow())
    if end is None or end <= due:
        return 0
    return max(1, (end - due).days + (1 if (end - due).seconds else 0))


def refresh_late(s: Session, now: dt.datetime | None = None) -> int:
    """Set the late flag on open dossiers now past their due date; returns how many changed."""
    now = now or utcnow()
    due = func.coalesce(Dossier.original_due_at, Dossier.due_at)
    res = s.execute(update(Dossier).where(Dossier.status.in_(("received", "processing", "decided")),
                                          due.is_not(None), due < now,
                                          Dossier.late.is_(False)).values(late=True))
    s.flush()
    return res.rowcount or 0


def pause(s: Session, d: Dossier, reason: str, *, actor: str, now: dt.datetime | None = None,
          supplement: bool = False) -> Dossier:
    """Stop the clock: a pause with its reason, or (``supplement``) a request that the citizen
    supplement the dossier, naming what is missing. Resumed by :func:`resume`."""
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("Hãy ghi rõ giấy tờ cần bổ sung." if supplement else "Tạm dừng hồ sơ cần ghi rõ lý do.")
    if d.status not in ("received", "processing"):
        raise Conflict(f"hồ sơ {d.code} đang ở trạng thái “{status_name(d.status).lower()}”: chỉ tạm dừng được hồ sơ mới tiếp nhận hoặc đang xử lý")
    now = now or utcnow()
    d.late = is_late(d, now)
    d.status, d.pause_reason = "paused", (f"Yêu cầu bổ sung: {reason}" if supplement else reason)
    audit(s, actor, "dossier.supplement" if supplement else "dossier.pause", subject_id=d.subject_id,
          object_type="dossier", object_id=d.code, detail={"reason": reason, "at": now.isoformat()})
    outbox.dossier_event(s, d, "dossier.paused", actor=actor, reason=d.pause_reason, supplement=supplement)
    s.flush()
    return d


def resume(s: Session, d: Dossier, *, actor: str, now: dt.datetime | None = None) -> Dossier:
    """Back to processing; the due date moves by the time spent paused (not counted against the unit)."""
    if d.status != "paused":
        raise Conflict(f"hồ sơ {d.code} đang ở trạng thái “{status_name(d.status).lower()}”, không phải tạm dừng")
    now = now or utcnow()
    ev = s.scalar(select(AuditEvent).where(AuditEvent.action.in_(("dossier.pause", "dossier.supplement")),
                                           AuditEvent.object_type == "dossier",
                                           AuditEvent.object_id == d.code).order_by(AuditEvent.id.desc()).limit(1))
    paused_at = None
    if ev is not None and ev.detail.get("at"):
        paused_at = dt.datetime.fromisoformat(ev.detail["at"])
    if paused_at and d.due_at:
        shift = max(dt.timedelta(0), now - paused_at)
        d.due_at = _aware(d.due_at) + shift
        if d.original_due_at:  # time paused is not counted against the unit
            d.original_due_at = _aware(d.original_due_at) + shift
    d.status = "processing" if d.components or d.holder else "received"
    d.pause_reason = None
    d.late = is_late(d, now)
    audit(s, actor, "dossier.resume", subject_id=d.subject_id, object_type="dossier", object_id=d.code,
          detail={"due_at": d.due_at.isoformat() if d.due_at else None})
    outbox.dossier_event(s, d, "dossier.resumed", actor=actor)
    s.flush()
    return d


def incomplete_components(s: Session, d: Dossier) -> ComponentsIncomplete | None:
    missing = [c.doc_type for c in component_states(s, d) if c.state == "missing"]
    if not missing:
        return None
    return ComponentsIncomplete(
        f"Hồ sơ {d.code} còn thành phần chưa có trạng thái hợp lệ ({STATE_LABELS['missing'].lower()}: "
        f"{', '.join(missing)}). Mỗi thành phần phải được số hóa, dùng lại, thay bằng dữ liệu quốc gia, "
        "hoặc ghi lý do không số hóa; hoàn thành mà không có thì phải ghi lý do ghi đè.")


def complete(s: Session, d: Dossier, *, actor: str, result_document_id: int | None = None,
             valid_until: dt.date | None = None, electronic: bool = True, reusable: bool = True,
             now: dt.datetime | None = None, override_reason: str | None = None,
             handover: dict | None = None, checked: bool = False) -> Result | None:
    """Close the dossier; with a result document, record the Result (issued electronically by default).

    Refused (ComponentsIncomplete) while a required component is missing, and (SubjectMismatch)
    when the result document is another person's, unless ``override_reason`` is given (audited
    as ``dossier.complete.override``). The result's validity defaults to the expiry the document
    carries."""
    if d.status in ("completed", "returned"):
        raise Conflict(f"hồ sơ {d.code} đã ở trạng thái “{status_name(d.status).lower()}”")
    now = now or utcnow()
    result = None
    handover = handover or {}
    doc = None
    if result_document_id is not None:
        doc = s.get(Document, int(result_document_id))
        if doc is None:
            raise NotFound(f"không có tài liệu số {result_document_id}")
    refuse_unless_overridden(s, [] if checked else [incomplete_components(s, d),
                                                    subject_mismatch(s, doc, d) if doc else None],
                             override_reason, actor=actor, action="dossier.complete.override",
                             subject_id=d.subject_id, object_type="dossier", object_id=d.code,
                             detail={"result_document_id": result_document_id})
    if doc is not None:
        if not owners(s, doc):  # a result that names nobody is the applicant's (the completion is audited)
            link_subject(s, doc, d.subject, "result")
        until = valid_until or metadata.valid_until(doc.fields, doc.doc_metadata)
        result = Result(dossier_id=d.id, document_id=doc.id, valid_from=now.astimezone(VN_TZ).date(),
                        valid_until=until, reusable=reusable, electronic=electronic)
        s.add(result)
    d.status, d.completed_at, d.pause_reason = "completed", now, None
    d.late = is_late(d, now)
    if handover:
        d.handover = dict(handover)
    audit(s, actor, "dossier.return_result" if handover else "dossier.complete", subject_id=d.subject_id,
          object_type="dossier", object_id=d.code,
          detail={"result_document_id": result_document_id, "late": d.late, "electronic": electronic, **handover})
    s.flush()
    outbox.dossier_event(s, d, "dossier.completed", actor=actor, late=d.late, completed_at=now,
                         result=outbox.result_json(s, result), **({"handover": handover} if handover else {}))
    return result


def apology(s: Session, d: Dossier, *, reason: str, new_date: dt.date, out: str | os.PathLike, actor: str,
            render: Callable[[Dossier, str, dt.date, dt.datetime], bytes], now: dt.datetime | None = None,
            declare_late: bool = False) -> Path:
    """Write the apology slip for a late dossier (``render`` makes its PDF: the registry renders
    nothing itself), promise the new date, keep the reference on the dossier.

    Only for a dossier past its due date, or one the officer declares will be late
    (``declare_late``; the reason is recorded as the declaration). The original due date is kept:
    the dossier stays late in the on-time rate."""
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("phiếu xin lỗi cần ghi rõ lý do chậm")
    if d.status in ("completed", "returned"):
        raise Conflict(f"hồ sơ {d.code} đã ở trạng thái “{status_name(d.status).lower()}”")
    now = now or utcnow()
    due = _aware(d.due_at)
    if not declare_late and not (due is not None and now > due):
        when = f"hẹn trả {due.astimezone(VN_TZ):%H:%M ngày %d/%m/%Y}" if due else "không có ngày hẹn trả"
        raise NotLate(f"Hồ sơ {d.code} chưa trễ hạn ({when}): chỉ lập phiếu xin lỗi cho hồ sơ đã trễ hạn, "
                      "hoặc khi cán bộ xác định hồ sơ sẽ trễ hạn (--declare-late, kèm lý do).")
    if new_date <= now.astimezone(VN_TZ).date():
        raise Invalid("ngày hẹn mới phải sau hôm nay")
    if declare_late:
        d.declared_late_reason = reason
        audit(s, actor, "dossier.declare_late", subject_id=d.subject_id, object_type="dossier", object_id=d.code,
              detail={"reason": reason, "due_at": due.isoformat() if due else None})
    data = render(d, reason, new_date, now)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, out)
    old_due = d.due_at
    if d.original_due_at is None:
        d.original_due_at = old_due
    d.late = True
    d.due_at = dt.datetime.combine(new_date, dt.time(17, 0), tzinfo=VN_TZ).astimezone(dt.timezone.utc)
    d.apology_ref = f"{now.astimezone(VN_TZ):%Y-%m-%d}:{out.name}"[:200]
    audit(s, actor, "dossier.apology", subject_id=d.subject_id, object_type="dossier", object_id=d.code,
          detail={"reason": reason, "new_date": new_date.isoformat(), "file": str(out),
                  "old_due_at": old_due.isoformat() if old_due else None})
    outbox.dossier_event(s, d, "dossier.apology", actor=actor, reason=reason, new_date=new_date,
                         apology_ref=d.apology_ref)
    s.flush()
    return out


def return_dossier(s: Session, d: Dossier, reason: str, *, actor: str, now: dt.datetime | None = None) -> Dossier:
    """Give the dossier back to the applicant without a result (trả lại hồ sơ), with the written reason."""
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("trả lại hồ sơ cần ghi rõ lý do")
    if d.status in ("completed", "returned"):
        raise Conflict(f"hồ sơ {d.code} đã ở trạng thái “{status_name(d.status).lower()}”")
    now = now or utcnow()
    d.status, d.completed_at, d.pause_reason = "returned", now, None
    audit(s, actor, "dossier.return", subject_id=d.subject_id, object_type="dossier", object_id=d.code,
          detail={"reason": reason})
    outbox.dossier_event(s, d, "dossier.returned", actor=actor, reason=reason, returned_at=now)
    s.flush()
    return d
