"""Printed slips other than the receipt, rendered with reportlab (the one PDF library for slips,
with the receipt in ``sohoa.papers.receipt``) and the same embedded Vietnamese-capable font."""
from __future__ import annotations

import datetime as dt
import io

from sohoa.papers.receipt import _fonts
from vocab.clock import local


def apology_pdf(d, reason: str, new_date: dt.date, now: dt.datetime, *, unit_name: str) -> bytes:
    """"Phiếu xin lỗi và hẹn lại ngày trả kết quả" for dossier ``d`` as PDF bytes (A4)."""
    from reportlab.lib.enums import TA_CENTER, TA_RIGHT
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    regular, bold = _fonts()
    body = ParagraphStyle("body", fontName=regular, fontSize=12, leading=17, spaceAfter=4)
    head = ParagraphStyle("head", parent=body, fontName=bold, fontSize=11, leading=15, spaceAfter=0)
    centre = ParagraphStyle("centre", parent=head, fontSize=12, alignment=TA_CENTER)
    title = ParagraphStyle("title", parent=centre, fontSize=15, leading=20, spaceBefore=14, spaceAfter=12)
    right = ParagraphStyle("right", parent=body, alignment=TA_RIGHT)
    now = local(now)
    due = f"{local(d.due_at):%d/%m/%Y}" if d.due_at else "—"
    received = f"{local(d.received_at):%d/%m/%Y}" if d.received_at else "—"
    name = d.subject.name or "Ông/Bà"
    proc = d.procedure.name if d.procedure else d.procedure_code
    esc = lambda s: str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")  # noqa: E731
    story = [
        Paragraph(esc(unit_name.upper()), head), Paragraph("BỘ PHẬN TIẾP NHẬN VÀ TRẢ KẾT QUẢ", head),
        Spacer(1, 4 * mm),
        Paragraph("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", centre), Paragraph("Độc lập - Tự do - Hạnh phúc", centre),
        Paragraph("PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ", title),
        Paragraph(esc(f"{unit_name} xin lỗi Ông/Bà: {name}"), body),
        Paragraph(esc(f"Ngày {received}, cơ quan đã tiếp nhận hồ sơ mã số {d.code} đề nghị giải quyết thủ tục "
                      f"hành chính: {proc} (mã thủ tục {d.procedure_code}). Ngày hẹn trả kết quả là {due}."), body),
        Paragraph("Tuy nhiên đến nay, cơ quan chưa trả kết quả cho Ông/Bà đúng hẹn.", body),
        Paragraph(esc(f"Lý do: {reason}"), body),
        Paragraph("Sự chậm trễ này đã gây phiền hà, tốn kém chi phí, công sức của Ông/Bà. "
                  "Chúng tôi thành thật xin lỗi và mong Ông/Bà thông cảm.", body),
        Paragraph(f"Cơ quan xin hẹn lại ngày trả kết quả là ngày {new_date:%d/%m/%Y}.", body),
        Spacer(1, 8 * mm),
        Paragraph(f"Ngày {now.day:02d} tháng {now.month:02d} năm {now.year}", right),
        Paragraph("THỦ TRƯỞNG CƠ QUAN", ParagraphStyle("sign", parent=right, fontName=bold)),
    ]
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm, topMargin=20 * mm,
                            bottomMargin=20 * mm, title="Phiếu xin lỗi và hẹn lại ngày trả kết quả",
                            author=unit_name)
    doc.build(story)
    return buf.getvalue()
