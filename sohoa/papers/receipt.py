"""The intake receipt (Giấy tiếp nhận hồ sơ và hẹn trả kết quả) with the dossier code as text and
QR. Printed at the counter; scanned back as a cover or separator sheet it routes the pages after it.
Rendered with reportlab and an embedded Vietnamese-capable TrueType font.

The QR code sits in the upper-left corner, as Circular 01/2023/TT-VPCP asks, and carries the
dossier code, the procedure code, the subject's identifier, the paper's name, the issuing system,
the time and the appointment date (``registry.codes.receipt_qr_payload``; the router reads it back
with ``registry.codes.parse_receipt_qr``)."""
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


PAPER_NAME = "Giấy tiếp nhận hồ sơ và hẹn trả kết quả"
QR_SIZE_MM = 56  # a ~180-byte payload still reads from a skewed 150-dpi scan at this size


def render_receipt(*, code: str, unit: str, procedure_code: str, procedure_name: str, subject_name: str,
                   subject_id_masked: str, received_at: dt.datetime, due_at: dt.datetime | None,
                   required: list[str], reusable: list[str] | None = None, qr_payload: str | None = None) -> bytes:
    """The receipt as PDF bytes (A4); the QR (upper left) holds ``qr_payload`` (default: the code)."""
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
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_L, box_size=10, border=2)
    qr.add_data((qr_payload or code).encode("utf-8"))
    qr.make(fit=True)
    img = qr.make_image(fill_color="black", back_color="white").get_image()
    qbuf = io.BytesIO()
    img.save(qbuf, format="PNG")
    qbuf.seek(0)
    c.drawImage(ImageReader(qbuf), 10 * mm, h - (10 + QR_SIZE_MM) * mm, QR_SIZE_MM * mm, QR_SIZE_MM * mm)

    left = (14 + QR_SIZE_MM) * mm
    c.setFont(bold, 10)
    c.drawCentredString(w - 55 * mm, h - 18 * mm, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
    c.drawCentredString(w - 55 * mm, h - 24 * mm, "Độc lập - Tự do - Hạnh phúc")
    c.setFont(regular, 10)
    c.drawString(left, h - 40 * mm, unit.upper()[:60])
    c.drawString(left, h - 46 * mm, "BỘ PHẬN MỘT CỬA")
    c.setFont(bold, 14)
    c.drawCentredString(w / 2, h - 80 * mm, PAPER_NAME.upper())
    c.setFont(bold, 13)
    c.drawCentredString(w / 2, h - 88 * mm, f"Mã hồ sơ: {code}")

    y = h - 102 * mm
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
    from registry.codes import receipt_qr_payload
    from registry.reuse import reusable_for_dossier
    from vocab.clock import local
    from vocab.text import mask_pid

    d = dossier
    received, due = local(d.received_at), local(d.due_at)
    payload = receipt_qr_payload(code=d.code, procedure=d.procedure_code, subject=d.subject.identifier,
                                 paper=PAPER_NAME, system=f"sohoa {settings.agency_code}", issued_at=received,
                                 appointment=due)
    return render_receipt(code=d.code, unit=settings.unit_name, procedure_code=d.procedure_code,
                          procedure_name=d.procedure.name, subject_name=d.subject.name,
                          subject_id_masked=mask_pid(d.subject.identifier), received_at=received,
                          due_at=due, required=list(d.procedure.required_types),
                          reusable=[r.get("doc_type") for r in reusable_for_dossier(s, d)], qr_payload=payload)
