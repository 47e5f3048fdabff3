"""Dossier lifecycle beyond intake (spec §3, §5): late flag, pause/resume with a written reason,
completion with an (electronic) result, and the apology slip for a late dossier."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
import os
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from registry import outbox
from registry.models import AuditEvent, Document, Dossier, Result, utcnow
from registry.service import audit
from vocab.clock import VN_TZ
from vocab.errors import Conflict, Invalid, NotFound


def _aware(t: dt.datetime | None) -> dt.datetime | None:
    if t is None:
        return None
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)  # SQLite returns naive UTC


def is_late(d: Dossier, now: dt.datetime | None = None) -> bool:
    """Late = completed after the due date, or still open (not paused) past it."""
    due = _aware(d.due_at)
    if due is None:
        return False
    if d.status in ("completed", "returned"):
        done = _aware(d.completed_at)
        return done is not None and done > due
    if d.status == "paused":
        return bool(d.late)
    return (now or utcnow()) > due


def refresh_late(s: Session, now: dt.datetime | None = None) -> int:
    """Set the late flag on open dossiers now past their due date; returns how many changed."""
    now = now or utcnow()
    res = s.execute(update(Dossier).where(Dossier.status.in_(("received", "processing")),
                                          Dossier.due_at.is_not(None), Dossier.due_at < now,
                                          Dossier.late.is_(False)).values(late=True))
    s.flush()
    return res.rowcount or 0


def pause(s: Session, d: Dossier, reason: str, *, actor: str, now: dt.datetime | None = None) -> Dossier:
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("tạm dừng hồ sơ cần ghi rõ lý do")
    if d.status not in ("received", "processing"):
        raise Conflict(f"hồ sơ {d.code} đang ở trạng thái {d.status}: chỉ tạm dừng được hồ sơ mới tiếp nhận hoặc đang xử lý")
    now = now or utcnow()
    d.late = is_late(d, now)
    d.status, d.pause_reason = "paused", reason
    audit(s, actor, "dossier.pause", subject_id=d.subject_id, object_type="dossier", object_id=d.code,
          detail={"reason": reason, "at": now.isoformat()})
    outbox.dossier_event(s, d, "dossier.paused", actor=actor, reason=reason)
    s.flush()
    return d


def resume(s: Session, d: Dossier, *, actor: str, now: dt.datetime | None = None) -> Dossier:
    """Back to processing; the due date moves by the time spent paused (not counted against the unit)."""
    if d.status != "paused":
        raise Conflict(f"hồ sơ {d.code} đang ở trạng thái {d.status}, không phải tạm dừng")
    now = now or utcnow()
    ev = s.scalar(select(AuditEvent).where(AuditEvent.action == "dossier.pause", AuditEvent.object_type == "dossier",
                                           AuditEvent.object_id == d.code).order_by(AuditEvent.id.desc()).limit(1))
    paused_at = None
    if ev is not None and ev.detail.get("at"):
        paused_at = dt.datetime.fromisoformat(ev.detail["at"])
    if paused_at and d.due_at:
        d.due_at = _aware(d.due_at) + max(dt.timedelta(0), now - paused_at)
    d.status = "processing" if d.components else "received"
    d.late = is_late(d, now)
    audit(s, actor, "dossier.resume", subject_id=d.subject_id, object_type="dossier", object_id=d.code,
          detail={"due_at": d.due_at.isoformat() if d.due_at else None})
    outbox.dossier_event(s, d, "dossier.resumed", actor=actor)
    s.flush()
    return d


def complete(s: Session, d: Dossier, *, actor: str, result_document_id: int | None = None,
             valid_until: dt.date | None = None, electronic: bool = True, reusable: bool = True,
             now: dt.datetime | None = None) -> Result | None:
    """Close the dossier; with a result document, record the Result (issued electronically by default)."""
    if d.status in ("completed", "returned"):
        raise Conflict(f"hồ sơ {d.code} đã ở trạng thái {d.status}")
    now = now or utcnow()
    result = None
    if result_document_id is not None:
        doc = s.get(Document, int(result_document_id))
        if doc is None:
            raise NotFound(f"không có tài liệu số {result_document_id}")
        if doc.subject_id is None:
            doc.subject_id = d.subject_id
        elif doc.subject_id != d.subject_id:
            raise Conflict(f"tài liệu số {doc.id} thuộc về chủ thể khác")
        result = Result(dossier_id=d.id, document_id=doc.id, valid_from=now.astimezone(VN_TZ).date(),
                        valid_until=valid_until, reusable=reusable, electronic=electronic)
        s.add(result)
    d.status, d.completed_at, d.pause_reason = "completed", now, None
    d.late = is_late(d, now)
    audit(s, actor, "dossier.complete", subject_id=d.subject_id, object_type="dossier", object_id=d.code,
          detail={"result_document_id": result_document_id, "late": d.late, "electronic": electronic})
    s.flush()
    outbox.dossier_event(s, d, "dossier.completed", actor=actor, late=d.late, completed_at=now,
                         result=outbox.result_json(s, result))
    return result


def apology(s: Session, d: Dossier, *, reason: str, new_date: dt.date, out: str | os.PathLike, actor: str,
            render: Callable[[Dossier, str, dt.date, dt.datetime], bytes], now: dt.datetime | None = None) -> Path:
    """Write the apology slip for a late dossier (``render`` makes its PDF: the registry renders
    nothing itself), move its due date, keep the reference on the dossier."""
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("phiếu xin lỗi cần ghi rõ lý do chậm")
    if d.status in ("completed", "returned"):
        raise Conflict(f"hồ sơ {d.code} đã ở trạng thái {d.status}")
    now = now or utcnow()
    if new_date <= now.astimezone(VN_TZ).date():
        raise Invalid("ngày hẹn mới phải sau hôm nay")
    data = render(d, reason, new_date, now)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, out)
    old_due = d.due_at
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
        raise Conflict(f"hồ sơ {d.code} đã ở trạng thái {d.status}")
    now = now or utcnow()
    d.status, d.completed_at, d.pause_reason = "returned", now, None
    audit(s, actor, "dossier.return", subject_id=d.subject_id, object_type="dossier", object_id=d.code,
          detail={"reason": reason})
    outbox.dossier_event(s, d, "dossier.returned", actor=actor, reason=reason, returned_at=now)
    s.flush()
    return d
