"""The intake receipt (Giấy tiếp nhận hồ sơ và hẹn trả kết quả) with the dossier code as text and
QR. Printed at the counter; scanned back as a cover or separator sheet it routes the pages after it.
Rendered with reportlab and an embedded Vietnamese-capable TrueType font."""
from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

FONT_CANDIDATES = [
    ("/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf", "/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf"),
    ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
    ("/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf",
     "/usr/share/fonts/truetype/liberation2/LiberationSans-Bold.ttf"),
]


def _fonts() -> tuple[str, str]:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    for regular, bold in FONT_CANDIDATES:
        if Path(regular).exists() and Path(bold).exists():
            if "VN" not in pdfmetrics.getRegisteredFontNames():
                pdfmetrics.registerFont(TTFont("VN", regular))
                pdfmetrics.registerFont(TTFont("VN-Bold", bold))
            return "VN", "VN-Bold"
    raise RuntimeError("no Vietnamese-capable font found: install fonts-noto-core (Debian)")


def _vn_date(d: dt.datetime | dt.date) -> str:
    return f"ngày {d.day:02d} tháng {d.month:02d} năm {d.year}"


def render_receipt(*, code: str, unit: str, procedure_code: str, procedure_name: str, subject_name: str,
                   subject_id_masked: str, received_at: dt.datetime, due_at: dt.datetime | None,
                   required: list[str], reusable: list[str] | None = None) -> bytes:
    """The receipt as PDF bytes (A4)."""
    import qrcode
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    regular, bold = _fonts()
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, pageCompression=1)
    c.setTitle(f"Giấy tiếp nhận hồ sơ {code}")
    w, h = A4
    c.setFont(bold, 11)
    c.drawCentredString(w / 2, h - 20 * mm, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
    c.drawCentredString(w / 2, h - 26 * mm, "Độc lập - Tự do - Hạnh phúc")
    c.setFont(regular, 11)
    c.drawString(20 * mm, h - 38 * mm, unit.upper())
    c.drawString(20 * mm, h - 44 * mm, "BỘ PHẬN MỘT CỬA")
    c.setFont(bold, 14)
    c.drawCentredString(w / 2, h - 60 * mm, "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ")
    c.setFont(bold, 13)
    c.drawCentredString(w / 2, h - 68 * mm, f"Mã hồ sơ: {code}")

    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=10, border=4)
    qr.add_data(code)
    qr.make(fit=True)
    img = qr.make_image(fill_color="black", back_color="white").get_image()
    qbuf = io.BytesIO()
    img.save(qbuf, format="PNG")
    qbuf.seek(0)
    c.drawImage(ImageReader(qbuf), w - 70 * mm, h - 130 * mm, 50 * mm, 50 * mm)

    y = h - 84 * mm
    c.setFont(regular, 11)
    lines = [
        f"Thủ tục: {procedure_name} (mã {procedure_code})",
        f"Người nộp hồ sơ: {subject_name or '—'}",
        f"Số định danh cá nhân: {subject_id_masked}",
        f"Nhận hồ sơ lúc: {received_at:%H:%M}, {_vn_date(received_at)}",
        f"Hẹn trả kết quả: {_vn_date(due_at) if due_at else '—'}",
    ]
    for ln in lines:
        c.drawString(20 * mm, y, ln[:80])
        y -= 7 * mm
    y -= 4 * mm
    c.setFont(bold, 11)
    c.drawString(20 * mm, y, "Thành phần hồ sơ:")
    y -= 7 * mm
    c.setFont(regular, 11)
    reusable = reusable or []
    for i, t in enumerate(required, 1):
        note = " — đã có bản số hóa, không cần nộp lại" if t in reusable else ""
        c.drawString(25 * mm, y, f"{i}. {t}{note}")
        y -= 7 * mm
    y -= 6 * mm
    c.setFont(regular, 9)
    c.drawString(20 * mm, y, "Khi quét hồ sơ giấy, đặt tờ này lên trước các thành phần hồ sơ để hệ thống tự gắn vào hồ sơ.")
    c.showPage()
    c.save()
    return buf.getvalue()


def receipt_for(s, dossier, settings) -> bytes:
    """The receipt of a dossier as the registry holds it (names what need not be brought again)."""
    from registry.reuse import reusable_for_dossier
    from vocab.clock import local
    from vocab.text import mask_pid

    d = dossier
    return render_receipt(code=d.code, unit=settings.unit_name, procedure_code=d.procedure_code,
                          procedure_name=d.procedure.name, subject_name=d.subject.name,
                          subject_id_masked=mask_pid(d.subject.identifier), received_at=local(d.received_at),
                          due_at=local(d.due_at), required=list(d.procedure.required_types),
                          reusable=[r.get("doc_type") for r in reusable_for_dossier(s, d)])
