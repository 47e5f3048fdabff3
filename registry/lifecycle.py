"""Dossier lifecycle beyond intake (spec §3, §5): late flag, pause/resume with a written reason,
completion with an (electronic) result, and the apology slip for a late dossier."""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from registry import outbox
from registry.models import AuditEvent, Document, Dossier, Result, utcnow
from registry.service import RegistryError, audit

VN = dt.timezone(dt.timedelta(hours=7))


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
        raise RegistryError("pausing a dossier needs a written reason")
    if d.status not in ("received", "processing"):
        raise RegistryError(f"dossier {d.code} is {d.status}: only a received or processing dossier can be paused")
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
        raise RegistryError(f"dossier {d.code} is {d.status}, not paused")
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
        raise RegistryError(f"dossier {d.code} is already {d.status}")
    now = now or utcnow()
    result = None
    if result_document_id is not None:
        doc = s.get(Document, int(result_document_id))
        if doc is None:
            raise RegistryError(f"no document {result_document_id}")
        if doc.subject_id is None:
            doc.subject_id = d.subject_id
        elif doc.subject_id != d.subject_id:
            raise RegistryError(f"document {doc.id} belongs to another subject")
        result = Result(dossier_id=d.id, document_id=doc.id, valid_from=now.astimezone(VN).date(),
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


def _font() -> str:
    here = Path(__file__).resolve().parent.parent
    for p in (here / "signing" / "fonts" / "NotoSans-Regular.ttf",
              Path("/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf"),
              Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")):
        if p.is_file():
            return str(p)
    raise RegistryError("no Vietnamese-capable font found (install fonts-noto-core or fonts-dejavu-core)")


def apology_pdf(d: Dossier, reason: str, new_date: dt.date, *, unit_name: str, now: dt.datetime | None = None) -> bytes:
    """The slip "Phiếu xin lỗi và hẹn lại ngày trả kết quả" as PDF bytes (font embedded)."""
    from fpdf import FPDF

    now = (now or utcnow()).astimezone(VN)
    pdf = FPDF(format="A4")
    pdf.set_title("Phiếu xin lỗi và hẹn lại ngày trả kết quả")
    pdf.add_font("vn", "", _font())
    pdf.add_page()
    pdf.set_margins(20, 20, 20)
    w = pdf.w - 40

    def line(text: str, size: int = 12, align: str = "L", h: float = 7) -> None:
        pdf.set_font("vn", size=size)
        pdf.set_x(20)
        pdf.multi_cell(w, h, text, align=align)

    line(unit_name.upper(), 11, "L")
    line("BỘ PHẬN TIẾP NHẬN VÀ TRẢ KẾT QUẢ", 11, "L")
    pdf.ln(2)
    line("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 12, "C")
    line("Độc lập - Tự do - Hạnh phúc", 12, "C")
    pdf.ln(6)
    line("PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ", 15, "C", 9)
    pdf.ln(4)
    due = _aware(d.due_at).astimezone(VN).strftime("%d/%m/%Y") if d.due_at else "—"
    received = _aware(d.received_at).astimezone(VN).strftime("%d/%m/%Y") if d.received_at else "—"
    name = d.subject.name or "Ông/Bà"
    proc = d.procedure.name if d.procedure else d.procedure_code
    line(f"{unit_name} xin lỗi Ông/Bà: {name}")
    line(f"Ngày {received}, cơ quan đã tiếp nhận hồ sơ mã số {d.code} đề nghị giải quyết thủ tục hành chính: "
         f"{proc} (mã thủ tục {d.procedure_code}). Ngày hẹn trả kết quả là {due}.")
    line("Tuy nhiên đến nay, cơ quan chưa trả kết quả cho Ông/Bà đúng hẹn.")
    line(f"Lý do: {reason}")
    line("Sự chậm trễ này đã gây phiền hà, tốn kém chi phí, công sức của Ông/Bà. "
         "Chúng tôi thành thật xin lỗi và mong Ông/Bà thông cảm.")
    line(f"Cơ quan xin hẹn lại ngày trả kết quả là ngày {new_date:%d/%m/%Y}.")
    pdf.ln(8)
    line(f"Ngày {now.day:02d} tháng {now.month:02d} năm {now.year}", 12, "R")
    line("THỦ TRƯỞNG CƠ QUAN", 12, "R")
    return bytes(pdf.output())


def apology(s: Session, d: Dossier, *, reason: str, new_date: dt.date, out: str | os.PathLike, actor: str,
            unit_name: str, now: dt.datetime | None = None) -> Path:
    """Write the apology slip for a late dossier, move its due date, keep the reference on the dossier."""
    reason = (reason or "").strip()
    if not reason:
        raise RegistryError("an apology slip needs the reason for the delay")
    if d.status in ("completed", "returned"):
        raise RegistryError(f"dossier {d.code} is already {d.status}")
    now = now or utcnow()
    if new_date <= now.astimezone(VN).date():
        raise RegistryError("the new date must be after today")
    data = apology_pdf(d, reason, new_date, unit_name=unit_name, now=now)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, out)
    old_due = d.due_at
    d.late = True
    d.due_at = dt.datetime.combine(new_date, dt.time(17, 0), tzinfo=VN).astimezone(dt.timezone.utc)
    d.apology_ref = f"{now.astimezone(VN):%Y-%m-%d}:{out.name}"[:200]
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
        raise RegistryError("returning a dossier needs a written reason")
    if d.status in ("completed", "returned"):
        raise RegistryError(f"dossier {d.code} is already {d.status}")
    now = now or utcnow()
    d.status, d.completed_at, d.pause_reason = "returned", now, None
    audit(s, actor, "dossier.return", subject_id=d.subject_id, object_type="dossier", object_id=d.code,
          detail={"reason": reason})
    outbox.dossier_event(s, d, "dossier.returned", actor=actor, reason=reason, returned_at=now)
    s.flush()
    return d
