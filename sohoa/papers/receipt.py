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
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class ReceiptData:
    """What the receipt prints (plain values: the registry is read once, in :func:`receipt_for`)."""

    code: str
    agency: str  # the unit's name, e.g. "Ủy ban nhân dân xã Tân Phú"
    procedure_code: str
    procedure_name: str
    subject_name: str
    subject_id_masked: str
    received_at: dt.datetime
    due_at: dt.datetime | None
    papers: list[str]  # the papers by their Vietnamese names
    reusable: list[str] = field(default_factory=list)  # of those, the ones already digitized
    persons: list[tuple[str, str]] = field(default_factory=list)  # (role name, person name) besides the applicant
    address: str = ""
    phone: str = ""
    sets: int = 1
    fee: int = 0
    days: int | None = None
    clerk: str = ""
    qr_payload: str | None = None


def _wrapped(c, text: str, x: float, y: float, width: float, font: str, size: float, leading: float,
             *, centred: bool = False) -> float:
    """Draw ``text`` wrapped at word boundaries to ``width`` (from ``x``, or centred on it); returns the
    y below it (never cut)."""
    from reportlab.lib.utils import simpleSplit

    draw = c.drawCentredString if centred else c.drawString
    c.setFont(font, size)
    for line in simpleSplit(text, font, size, width) or [""]:
        draw(x, y, line)
        y -= leading
    return y


def _centred(c, text: str, cx: float, y: float, width: float, font: str, size: float, leading: float) -> float:
    return _wrapped(c, text, cx, y, width, font, size, leading, centred=True)


def _vn_money(n: int) -> str:
    return f"{n:,}".replace(",", ".") + " đồng"


def render_receipt(r: ReceiptData) -> bytes:
    """The receipt as PDF bytes (A4), laid out as Circular 01/2018/TT-VPCP's form no. 01 (Giấy
    tiếp nhận hồ sơ và hẹn trả kết quả), with the routing QR in the upper-left corner (Circular
    01/2023/TT-VPCP). Long texts wrap at word boundaries; nothing is cut."""
    import qrcode
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    regular, bold = _fonts()
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, pageCompression=1)
    c.setTitle(f"Giấy tiếp nhận hồ sơ {r.code}")
    w, h = A4
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_L, box_size=10, border=2)
    qr.add_data((r.qr_payload or r.code).encode("utf-8"))
    qr.make(fit=True)
    img = qr.make_image(fill_color="black", back_color="white").get_image()
    qbuf = io.BytesIO()
    img.save(qbuf, format="PNG")
    qbuf.seek(0)
    c.drawImage(ImageReader(qbuf), 10 * mm, h - (10 + QR_SIZE_MM) * mm, QR_SIZE_MM * mm, QR_SIZE_MM * mm)

    # heading beside the QR: the agency (left column) and the national motto (right column)
    left_cx, right_cx = (14 + QR_SIZE_MM + 27) * mm, w - 40 * mm
    y = _centred(c, r.agency.upper(), left_cx, h - 16 * mm, 52 * mm, bold, 9, 4.2 * mm)
    y = _centred(c, "BỘ PHẬN MỘT CỬA", left_cx, y, 52 * mm, bold, 9, 4.2 * mm)
    c.line(left_cx - 10 * mm, y + 2.4 * mm, left_cx + 10 * mm, y + 2.4 * mm)
    c.setFont(bold, 9)
    c.drawCentredString(right_cx, h - 16 * mm, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
    c.drawCentredString(right_cx, h - 20.2 * mm, "Độc lập - Tự do - Hạnh phúc")
    c.line(right_cx - 20 * mm, h - 21.6 * mm, right_cx + 20 * mm, h - 21.6 * mm)
    place = r.agency.split(" xã ")[-1] if " xã " in r.agency else ""
    c.setFont(regular, 9)
    c.drawCentredString(right_cx, h - 28 * mm, f"{place + ', ' if place else ''}{_vn_date(r.received_at)}")
    c.drawString((14 + QR_SIZE_MM) * mm, min(y - 4 * mm, h - 36 * mm), f"Số: {r.code}/TNHS")

    y = h - (14 + QR_SIZE_MM) * mm
    c.setFont(bold, 14)
    c.drawCentredString(w / 2, y, PAPER_NAME.upper())
    c.setFont(bold, 12)
    c.drawCentredString(w / 2, y - 6.5 * mm, f"Mã hồ sơ: {r.code}")
    y -= 15 * mm

    x, width, lead = 20 * mm, w - 40 * mm, 5.4 * mm
    y = _wrapped(c, f"{r.agency}, Bộ phận Một cửa tiếp nhận hồ sơ của: {r.subject_name or '—'} "
                    f"(số định danh cá nhân {r.subject_id_masked})", x, y, width, regular, 11, lead)
    for role, name in r.persons:
        y = _wrapped(c, f"{role}: {name or '—'}", x + 5 * mm, y, width - 5 * mm, regular, 11, lead)
    if r.address:
        y = _wrapped(c, f"Địa chỉ: {r.address}", x, y, width, regular, 11, lead)
    if r.phone:
        y = _wrapped(c, f"Số điện thoại: {r.phone}", x, y, width, regular, 11, lead)
    y = _wrapped(c, f"Nội dung yêu cầu giải quyết: {r.procedure_name} (mã thủ tục {r.procedure_code})",
                 x, y, width, regular, 11, lead)
    y -= 2 * mm
    y = _wrapped(c, "1. Thành phần hồ sơ nộp gồm:", x, y, width, bold, 11, lead)
    for i, name in enumerate(r.papers, 1):
        note = " — đã có bản số hóa, không phải nộp lại" if name in r.reusable else ""
        y = _wrapped(c, f"{i}) {name}{note}", x + 5 * mm, y, width - 5 * mm, regular, 11, lead)
    y = _wrapped(c, f"2. Số lượng hồ sơ: {r.sets} bộ.", x, y, width, regular, 11, lead)
    if r.days is not None:
        y = _wrapped(c, f"3. Thời gian giải quyết hồ sơ theo quy định: {r.days} ngày làm việc.", x, y, width,
                     regular, 11, lead)
    y = _wrapped(c, f"4. Thời gian nhận hồ sơ: {r.received_at:%H} giờ {r.received_at:%M} phút, "
                    f"{_vn_date(r.received_at)}.", x, y, width, regular, 11, lead)
    due = (f"{r.due_at:%H} giờ {r.due_at:%M} phút, {_vn_date(r.due_at)}" if r.due_at else "—")
    y = _wrapped(c, f"5. Thời gian trả kết quả giải quyết hồ sơ: {due}.", x, y, width, bold, 11, lead)
    y = _wrapped(c, "6. Đăng ký nhận kết quả tại: Bộ phận Một cửa, " + r.agency + ".", x, y, width, regular, 11, lead)
    y = _wrapped(c, f"7. Lệ phí đã thu: {_vn_money(r.fee)}.", x, y, width, regular, 11, lead)

    # signature lines
    y -= 8 * mm
    for cx, title, name in ((w / 4, "NGƯỜI NỘP HỒ SƠ", r.subject_name), (3 * w / 4, "NGƯỜI TIẾP NHẬN HỒ SƠ", r.clerk)):
        c.setFont(bold, 11)
        c.drawCentredString(cx, y, title)
        c.setFont(regular, 9)
        c.drawCentredString(cx, y - 4.5 * mm, "(Ký và ghi rõ họ tên)")
        c.setFont(bold, 11)
        if name:
            _centred(c, name, cx, y - 28 * mm, w / 2 - 20 * mm, bold, 11, lead)
    c.setFont(regular, 8.5)
    c.drawString(x, 14 * mm, "Khi quét hồ sơ giấy, đặt tờ này lên trước các thành phần hồ sơ để hệ thống tự gắn vào hồ sơ.")
    c.showPage()
    c.save()
    return buf.getvalue()


def receipt_for(s, dossier, settings) -> bytes:
    """The receipt of a dossier as the registry holds it (names what need not be brought again)."""
    from sqlalchemy import select

    from registry.codes import receipt_qr_payload
    from registry.models import Staff
    from registry.persons import persons
    from registry.reuse import reusable_for_dossier
    from registry.units import display_name
    from sohoa.i18n import label
    from vocab.clock import local
    from vocab.text import mask_pid

    d = dossier
    received, due = local(d.received_at), local(d.due_at) if d.due_at else None
    payload = receipt_qr_payload(code=d.code, procedure=d.procedure_code, subject=d.subject.identifier,
                                 paper=PAPER_NAME, system=f"sohoa {settings.agency_code}", issued_at=received,
                                 appointment=due)
    clerk = ""
    if (d.created_by or "").startswith("staff:"):
        st = s.scalar(select(Staff).where(Staff.username == d.created_by.split(":", 1)[1]))
        clerk = (st.name or st.username) if st else ""
    agency = display_name(s, d.unit, settings.agency_code, settings.unit_name)
    reusable = {r.get("doc_type") for r in reusable_for_dossier(s, d)}
    required = list(d.procedure.required_types)
    return render_receipt(ReceiptData(
        code=d.code, agency=agency, procedure_code=d.procedure_code, procedure_name=d.procedure.name,
        subject_name=d.subject.name, subject_id_masked=mask_pid(d.subject.identifier), received_at=received,
        due_at=due, papers=[label("doc_type", t) for t in required],
        reusable=[label("doc_type", t) for t in required if t in reusable],
        persons=[(p.role_name, p.name) for p in persons(s, d)[1:]], address=d.address or "", phone=d.phone or "",
        sets=d.sets or 1, fee=d.fee or 0, days=None if d.procedure.certification else d.procedure.days,
        clerk=clerk, qr_payload=payload))
