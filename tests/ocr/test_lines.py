"""Text lines found before they are read (ocr/lines.py): the PP-OCR DB detector's boxes, each line
cut out along its own slant and read by Tesseract's line recognizer."""
from __future__ import annotations

import numpy as np
from PIL import Image

from ocr import lines
from sohoa.dev import samples
from tests import photos
from tests.ocr.conftest import nfc

MAN = samples.Person("Lê Văn Phúc", "079203004567", "30/11/2003", "Nam")


def _gray(img: Image.Image) -> np.ndarray:
    return np.asarray(img.convert("L"))


def test_detector_is_installed_and_local():
    assert lines.available(), "the PP-OCR detector model (rapidocr-onnxruntime) is installed by scripts/install.sh"


def test_lines_of_a_card_are_found_in_rows_top_to_bottom():
    card = _gray(photos.card_front(MAN, qr=False, seed=3))
    boxes = lines.detect(card)
    assert len(boxes) >= 8
    # a label and its value found as two boxes on one line are read as one row, left to right
    box = lambda x0, y0, x1, y1: np.float32([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])  # noqa: E731
    value, label, below = box(300, 100, 600, 130), box(20, 102, 250, 128), box(20, 160, 400, 190)
    rows = lines._rows([below, value, label])
    assert [[float(b[0, 0]) for b in r] for r in rows] == [[20.0, 300.0], [20.0]]
    # the photo block is not text: no box is mostly inside it (x 40-250, y 190-450)
    inside = [b for b in boxes if 40 <= b[:, 0].mean() <= 250 and 190 <= b[:, 1].mean() <= 450 and
              (b[:, 0].max() - b[:, 0].min()) < 200]
    assert not inside


def test_slanted_card_lines_are_read_each_on_its_own():
    card = photos.card_front(MAN, qr=False, seed=3).rotate(7, expand=True, fillcolor=(90, 70, 50))
    res = lines.read(_gray(card))
    assert res is not None and res["nwords"] >= 20
    text = nfc(res["text"])
    assert MAN.pid in text.replace(" ", "")
    assert "LÊ VĂN PHÚC" in text.upper()
    assert "30/11/2003" in text
    assert res["confidence"] > 0.7


def test_blank_picture_has_no_lines():
    assert lines.detect(np.full((600, 900), 235, np.uint8)) == []
    assert lines.read(np.full((600, 900), 235, np.uint8)) is None


def _box(x0, y0, x1, y1):
    return np.float32([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])


def test_a_label_beside_a_raised_value_is_one_row_and_the_small_line_under_it_is_not():
    # the old card prints its holder's name above the dotted line, higher than its small label:
    # their boxes share most of the label's height though their centres are apart
    label, name = _box(270, 230, 390, 266), _box(450, 205, 880, 252)
    assert [[float(b[0, 0]) for b in r] for r in lines._rows([label, name])] == [[270.0, 450.0]]
    # the small English line under a label ("Date of expiry") stays its own row, though the value
    # further on reaches down beside it
    expiry, english, address = _box(112, 557, 300, 590), _box(122, 587, 172, 607), _box(310, 565, 770, 605)
    rows = lines._rows([expiry, english, address])
    assert [[float(b[0, 0]) for b in r] for r in rows] == [[112.0, 310.0], [122.0]]
    # another column's box, as offset, is another row; level with it, the same row
    left, right = _box(20, 100, 200, 136), _box(900, 80, 1300, 118)
    assert len(lines._rows([left, right])) == 2
    assert len(lines._rows([left, _box(900, 98, 1300, 136)])) == 1
    # a box over two lines joins neither line's row
    assert len(lines._rows([_box(20, 100, 400, 136), _box(420, 90, 900, 200)])) == 2


def test_a_raised_name_is_read_on_its_label_line():
    from PIL import ImageDraw, ImageFont

    img = Image.new("L", (1300, 260), 236)
    d = ImageDraw.Draw(img)
    d.text((40, 120), "Họ tên:", font=ImageFont.truetype(photos.SANS, 26), fill=40)
    for x in range(170, 1240, 12):  # the dotted line the name is written above
        d.point((x, 150), fill=60)
    d.text((230, 95), "HOÀNG MINH QUÂN", font=ImageFont.truetype(photos.SANS, 40), fill=30)  # raised
    res = lines.read(np.asarray(img))
    assert res is not None
    rows = [nfc(ln) for ln in res["text"].splitlines() if ln.strip()]
    assert any("tên" in ln and "HOÀNG MINH" in ln for ln in rows), rows
