"""Dossier lifecycle beyond intake (spec §3, §5): late flag, pause/resume with a written reason,
completion with an (electronic) result, and the apology slip for a late dossier."""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from registry.models import AuditEvent, Document, Dossier, Result, utcnow
from registry.service import audit
from vocab.clock import VN_TZ
from vocab.errors import Conflict, Invalid, NotFound, Unavailable


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
    return result


def _font() -> str:
    here = Path(__file__).resolve().parent.parent
    for p in (here / "signing" / "fonts" / "NotoSans-Regular.ttf",
              Path("/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf"),
              Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")):
        if p.is_file():
            return str(p)
    raise Unavailable("không tìm thấy phông chữ tiếng Việt (cài fonts-noto-core hoặc fonts-dejavu-core)")


def apology_pdf(d: Dossier, reason: str, new_date: dt.date, *, unit_name: str, now: dt.datetime | None = None) -> bytes:
    """The slip "Phiếu xin lỗi và hẹn lại ngày trả kết quả" as PDF bytes (font embedded)."""
    from fpdf import FPDF

    now = (now or utcnow()).astimezone(VN_TZ)
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
    due = _aware(d.due_at).astimezone(VN_TZ).strftime("%d/%m/%Y") if d.due_at else "—"
    received = _aware(d.received_at).astimezone(VN_TZ).strftime("%d/%m/%Y") if d.received_at else "—"
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
        raise Invalid("phiếu xin lỗi cần ghi rõ lý do chậm")
    if d.status in ("completed", "returned"):
        raise Conflict(f"hồ sơ {d.code} đã ở trạng thái {d.status}")
    now = now or utcnow()
    if new_date <= now.astimezone(VN_TZ).date():
        raise Invalid("ngày hẹn mới phải sau hôm nay")
    data = apology_pdf(d, reason, new_date, unit_name=unit_name, now=now)
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
    s.flush()
    return out
