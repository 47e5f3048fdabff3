"""The lời chứng stamp hides nothing: on an A4 portrait page, an A4 landscape page, an ID card, a
page full of text and a rotated page, every pixel the stamp draws lies where the original has no
ink (both rendered by poppler's pdftoppm), the stamp reads upright and inside the crop box, and
when there is no room a certification page is added at the end."""
from __future__ import annotations

import io
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
INK = 200  # darker than this, on a white page, is ink


def _page(size, draw, rotate: int = 0, crop=None) -> bytes:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    if "DejaVu" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("DejaVu", FONT))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=size)
    c.setFont("DejaVu", 10)
    draw(c, *size)
    c.showPage()
    c.save()
    if not rotate and not crop:
        return buf.getvalue()
    import pikepdf

    with pikepdf.open(io.BytesIO(buf.getvalue())) as pdf:
        if rotate:
            pdf.pages[0].Rotate = rotate
        if crop:
            pdf.pages[0].CropBox = list(crop)
        out = io.BytesIO()
        pdf.save(out)
        return out.getvalue()


def _a4_portrait(c, w, h):
    c.drawString(60, h - 60, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
    for i in range(30):
        c.drawString(60, h - 100 - 16 * i, f"Dòng {i + 1}: nội dung giấy tờ gốc cần được giữ nguyên, không bị che.")
    c.rect(w - 230, 150, 170, 70)  # the original's own signature box, bottom right
    c.drawString(w - 220, 200, "Người ký: Trần Văn Cũ")
    c.drawString(60, 120, "Ghi chú cuối trang: hết hạn 15/08/2038")


def _a4_landscape(c, w, h):
    for i in range(12):
        c.line(40, h - 60 - 25 * i, w - 40, h - 60 - 25 * i)
        c.drawString(50, h - 75 - 25 * i, f"Hàng {i + 1}   Nguyễn Thị Hoa   01/01/1990   Tân Phú")
    c.drawString(w - 300, 60, "Có giá trị đến: 31/12/2030")


def _id_card(c, w, h):
    c.drawString(8, h - 16, "CĂN CƯỚC CÔNG DÂN")
    c.drawString(8, h - 34, "Họ và tên: NGUYỄN VĂN AN")
    c.drawString(8, 10, "Có giá trị đến: 15/08/2038")


def _full_text(c, w, h):
    for i in range(int((h - 40) // 12)):
        c.drawString(30, h - 30 - 12 * i, "Văn bản dày đặc chữ " * 5)


def _rotated(c, w, h):
    for i in range(25):
        c.drawString(60, h - 80 - 14 * i, f"Trang xoay: dòng {i + 1} của bản chính.")


SHAPES = {  # page size, drawing, /Rotate, whether a certification page must be added, /CropBox
    "a4_portrait": ((595.28, 841.89), _a4_portrait, 0, False, None),
    "a4_landscape": ((841.89, 595.28), _a4_landscape, 0, False, None),
    "id_card": ((242.65, 153.07), _id_card, 0, True, None),
    "full_text": ((595.28, 841.89), _full_text, 0, True, None),
    "rotated": ((595.28, 841.89), _rotated, 90, False, None),
    # what lies outside the crop box is not shown: the stamp must land inside it
    "cropped": ((595.28, 841.89), _rotated, 0, False, (40, 380, 560, 830)),
}


def _render(data: bytes, page: int, tmp: Path, name: str) -> np.ndarray:
    f = tmp / f"{name}.pdf"
    f.write_bytes(data)
    subprocess.run(["pdftoppm", "-f", str(page), "-l", str(page), "-r", "72", "-gray", "-png", str(f),
                    str(tmp / name)], check=True)
    png = sorted(tmp.glob(f"{name}*.png"))[-1]
    with Image.open(png) as im:
        arr = np.asarray(im.convert("L"))
    png.unlink()
    return arr


def _pages(data: bytes) -> int:
    import pikepdf

    with pikepdf.open(io.BytesIO(data)) as pdf:
        return len(pdf.pages)


@pytest.mark.parametrize("shape", list(SHAPES))
def test_stamp_hides_nothing(shape, make_settings, sign_db, put_doc, officer_id, tmp_path):
    from signing import Certifier

    size, draw, rotate, appended, crop = SHAPES[shape]
    original = _page(size, draw, rotate, crop)
    with Certifier(make_settings(), sign_db, officer_id, workers=1, seal=False) as c:
        (res,) = c.certify([put_doc(sign_db, original)], out_dir=tmp_path / "out")
    signed = Path(res.copies[0].path).read_bytes()
    assert _pages(signed) == 1 + int(appended)
    from registry.models import Document

    with sign_db.session() as s:  # the registry knows the copy's page count
        assert s.get(Document, res.copies[0].document_id).pages == 1 + int(appended)
    before = _render(original, 1, tmp_path, "orig")
    after = _render(signed, 1, tmp_path, "signed")
    if appended:  # no room: the original page is untouched, the lời chứng is on a new last page
        assert before.shape == after.shape and np.array_equal(before, after)
        stamp_page = _render(signed, 2, tmp_path, "last")
        assert (stamp_page < INK).any()
        text = subprocess.run(["pdftotext", "-f", "2", "-l", "2", str(tmp_path / "signed.pdf"), "-"],
                              capture_output=True, text=True, check=True).stdout
        assert "Chứng thực bản sao đúng với bản chính" in text
        return
    assert before.shape == after.shape
    drawn = np.abs(after.astype(int) - before.astype(int)) > 40  # what the stamp drew
    assert drawn.any(), "no stamp on the page"
    ys, xs = np.nonzero(drawn)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    assert x1 - x0 > y1 - y0, "the stamp is not upright"  # 330 × 112: wider than tall as displayed
    under = before[y0:y1, x0:x1]
    assert not (under < INK).any(), f"{int((under < INK).sum())} inked pixels of the original under the stamp"
    # the original's text is all still there
    orig_txt = subprocess.run(["pdftotext", str(tmp_path / "orig.pdf"), "-"], capture_output=True, text=True).stdout
    new_txt = subprocess.run(["pdftotext", str(tmp_path / "signed.pdf"), "-"], capture_output=True, text=True).stdout
    for line in filter(None, (ln.strip() for ln in orig_txt.splitlines())):
        assert line in new_txt


def test_seal_appearance_follows_decree_30(make_settings, tpki, scan_pdf, tmp_path):
    """The organisation seal: top right of page 1, no image, the agency's name and the signing
    time as YYYY-MM-DDThh:mm:ss+07:00."""
    import re

    from pyhanko.pdf_utils.reader import PdfFileReader

    from signing import Sealer

    sealer = Sealer.from_settings(make_settings(seal_key=str(tpki.seal.p12_path)))
    sealed = sealer.seal(scan_pdf)
    sealer.close()
    (sig,) = PdfFileReader(io.BytesIO(sealed)).embedded_signatures
    widget = sig.sig_field
    x0, y0, x1, y1 = (float(v) for v in widget["/Rect"])
    assert x0 > 595.28 / 2 and y0 > 841.89 * 3 / 4  # top right
    ap = widget["/AP"]["/N"]
    xobjects = ap.get("/Resources", {}).get("/XObject", {})
    assert not any(x.get("/Subtype") == "/Image" for x in xobjects.values())  # no image
    f = tmp_path / "sealed.pdf"
    f.write_bytes(sealed)
    text = subprocess.run(["pdftotext", "-f", "1", "-l", "1", "-x", str(int(x0) - 2), "-y", str(int(841.89 - y1) - 2),
                           "-W", str(int(x1 - x0) + 4), "-H", str(int(y1 - y0) + 4), str(f), "-"],
                          capture_output=True, text=True, check=True).stdout
    assert "Ủy ban nhân dân xã Tân Phú" in text, text
    assert re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+07:00", text), text
