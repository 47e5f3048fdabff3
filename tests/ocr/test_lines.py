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
