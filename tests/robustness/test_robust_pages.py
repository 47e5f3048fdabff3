"""Cases 3, 9 and 10 of issue 13 on the OCR side: one odd page cannot raise out of read_page
untyped; a document's identity is its input (not the bytes of an output carrying a timestamp)
and output PDFs are deterministic; memory per page is bounded."""
from __future__ import annotations

import io
import json
import subprocess
import sys
import time

import numpy as np
import pikepdf
import pytest
from PIL import Image, ImageDraw, ImageFont

import ocr
from tests.robustness.robust_fixtures import SANS


def test_a_page_100000_by_20_does_not_raise(tmp_path):
    p = tmp_path / "strip.png"
    Image.fromarray(np.full((20, 100_000), 255, np.uint8)).save(p)
    assert ocr.detect_qr(np.full((20, 100_000), 255, np.uint8)) == []
    (page,) = ocr.read_pages(str(p))
    assert page.quality == "review" and page.text == ""


def test_unexpected_failure_on_a_page_is_a_typed_page_error(tmp_path, monkeypatch):
    """Whatever a library raises inside one page comes out as OcrPageError with the page and a
    reason code (the job retries that page alone, then quarantines its file)."""
    from ingest import reasons
    from ocr import OcrInputError, OcrPageError, preprocess

    p = tmp_path / "page.png"
    Image.fromarray(np.full((600, 400), 250, np.uint8)).save(p)

    def boom(gray):
        raise AssertionError("OpenCV(5.0.0) (-215:Assertion failed) inv_scale_x > 0 in function 'resize'")

    monkeypatch.setattr(preprocess, "prepare", boom)  # a stand-in for a library bug on this page
    with pytest.raises(OcrPageError) as exc:
        ocr.read_page(str(p), 0)
    assert exc.value.page == 0 and exc.value.code == "page_failed"
    why = reasons.for_exception(exc.value)
    assert why.message.startswith("Trang 1 không xử lý được") and "OpenCV" in why.detail
    assert "OpenCV" not in why.message
    # a file that is not there is the file's problem, not a page's: it stays an OSError
    with pytest.raises(FileNotFoundError):
        ocr.read_page(str(tmp_path / "gone.png"), 0)
    assert issubclass(OcrPageError, OcrInputError)


def _page_png(path, text: str) -> None:
    f = ImageFont.truetype(SANS, 44)
    im = Image.new("L", (1240, 600), 255)
    ImageDraw.Draw(im).text((80, 200), text, font=f, fill=10)
    im.save(path, dpi=(150, 150))


def test_identity_is_the_input_and_pdfs_are_deterministic(tmp_path):
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    _page_png(a, "Giấy biên nhận hồ sơ số 12")
    _page_png(b, "Giấy biên nhận hồ sơ số 12")
    with open(b, "ab") as fh:  # same picture, different file (a scanner's trailing bytes)
        fh.write(b"\x00" * 16)
    pa, pb = ocr.read_page(str(a), 0), ocr.read_page(str(b), 0)
    time.sleep(1.1)  # Tesseract stamps its PDF with the time to the second
    pa2 = ocr.read_page(str(a), 0)
    da, db, da2 = ocr.assemble(str(a), [pa]), ocr.assemble(str(b), [pb]), ocr.assemble(str(a), [pa2])
    assert da.pdf == da2.pdf  # the same input gives the same bytes, whenever it is read
    assert da.content_key == da2.content_key
    assert da.content_key != db.content_key  # different inputs never share an identity ...
    with pikepdf.open(io.BytesIO(da.pdf)) as pdf:  # ... and no creation time is stored
        assert "/CreationDate" not in pdf.docinfo and "/ModDate" not in pdf.docinfo
        assert "/Metadata" not in pdf.Root
    # a document's key names its pages: the same file split in two gives two keys
    assert ocr.content_key([pa]) != ocr.content_key([pa, pa2.__class__(**{**pa2.__dict__, "index": 1})])


MEASURE = """
import json, re, sys
from ocr import inputs
d = inputs.decode_page(sys.argv[1], 0)
hwm = re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read())  # this process image's peak
print(json.dumps({"shape": list(d["image"].shape), "dpi": d["dpi"], "peak_mb": int(hwm.group(1)) / 1024}))
"""


def test_a_9000_pixel_square_page_is_decoded_within_bounds(tmp_path):
    """A 9000×9000 colour scan (81 Mpx) is analysed at no more than the work budget, and
    decoding it stays far below the 1.2 GB it used to take (docs/design.md "Memory per page")."""
    p = tmp_path / "poster.jpg"
    im = Image.new("RGB", (9000, 9000), (250, 248, 240))
    d = ImageDraw.Draw(im)
    f = ImageFont.truetype(SANS, 60)
    for i in range(0, 9000, 400):
        d.text((300, i + 100), "Ủy ban nhân dân tỉnh — bản đồ quy hoạch sử dụng đất", font=f, fill=(20, 20, 30))
    im.save(p, quality=85, dpi=(300, 300))
    del im, d
    r = subprocess.run([sys.executable, "-c", MEASURE, str(p)], capture_output=True, text=True, check=True)
    got = json.loads(r.stdout)
    h, w = got["shape"]
    assert h * w <= getattr(ocr.inputs, "DEFAULT_WORK_PIXELS", 30_000_000)
    assert got["dpi"] < 300  # the resolution follows the reduction
    assert got["peak_mb"] < 400, got
