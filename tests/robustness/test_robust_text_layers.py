"""Case 8 of issue 13: wrong text must not be marked "ok". A text layer is trusted only when it
reads as text (legacy TCVN3/VNI layers are converted), and orientation follows Tesseract's
evidence when the fast ink-balance test is sure but wrong."""
from __future__ import annotations

import unicodedata

from rapidfuzz.distance import Levenshtein

import ocr
from tests.robustness.robust_fixtures import (SANS, VN_LINES, descender_page, swap_tounicode, text_pdf, to_tcvn3,
                                              to_vni)


def _cer(gt: str, hyp: str) -> float:
    g = " ".join(unicodedata.normalize("NFC", gt).split())
    h = " ".join(unicodedata.normalize("NFC", hyp).split())
    return Levenshtein.distance(g, h) / max(1, len(g))


def test_syllable_model_and_scores():
    from ocr.language import is_syllable, score_text

    for w in ("nghiêng", "Nguyễn", "KHUẾCH", "quyết", "gì", "ương", "UBND", "hoà", "tỉnh"):
        assert is_syllable(w) or w == "UBND", w
    for w in ("héi", "chñ", "ViÖt", "Coäng", "quick", "bạt̀", "tỉnhh"):
        assert not is_syllable(w), w
    assert not is_syllable("ác̀")  # two tones
    assert not is_syllable("bàt")  # a stop coda takes only sắc or nặng
    assert score_text("\n".join(VN_LINES)).is_vietnamese
    assert score_text("The quick brown fox jumps over the lazy dog again").wordlike > 0.9
    assert score_text("䌀漀渀最 栀漀愀 砀愀 栀漀椀").plausibility < 0.1
    assert score_text("ẹuịN 1ạ ợp uoq ẹp ọọuL ẹuọq gị ịq ạỵ").plausibility < 0.5


def test_tcvn3_text_layer_is_converted(tmp_path):
    p = tmp_path / "vantime.pdf"
    p.write_bytes(text_pdf([to_tcvn3(ln) for ln in VN_LINES]))
    (r,) = ocr.read_pages(str(p))
    assert r.born_digital and r.text_source == "pdf-tcvn3"
    assert "Cộng hòa xã hội chủ nghĩa Việt Nam" in r.text and "Độc lập - Tự do - Hạnh phúc" in r.text
    assert "số hóa hồ sơ được triển khai" in r.text
    assert _cer("\n".join(VN_LINES).casefold(), r.text.casefold()) < 0.01
    assert unicodedata.is_normalized("NFC", r.text)
    assert r.confidence < 1.0 and r.quality == "ok"
    # capitals typed with the all-capitals font (.VnTimeH) come back as capitals
    from ocr.language import best_reading

    assert best_reading(to_tcvn3("HỌ VÀ TÊN: NGUYỄN THỊ ƯƠNG")).text == "HỌ VÀ TÊN: NGUYỄN THỊ ƯƠNG"


def test_vni_text_layer_is_converted(tmp_path):
    p = tmp_path / "vni.pdf"
    p.write_bytes(text_pdf([to_vni(ln) for ln in VN_LINES]))
    (r,) = ocr.read_pages(str(p))
    assert r.born_digital and r.text_source == "pdf-vni"
    assert r.text.splitlines() == VN_LINES


def test_unicode_and_plain_latin_layers_are_kept_as_they_are(tmp_path):
    p = tmp_path / "unicode.pdf"
    p.write_bytes(text_pdf(VN_LINES, ttf=SANS))
    (r,) = ocr.read_pages(str(p))
    assert r.born_digital and r.text_source == "pdf" and r.confidence == 1.0
    assert r.text.splitlines() == VN_LINES
    e = tmp_path / "english.pdf"
    e.write_bytes(text_pdf(["Minutes of the meeting on digitising records", "held at the one-stop counter",
                            "All records were scanned and indexed the same day."]))
    (r,) = ocr.read_pages(str(e))
    assert r.born_digital and r.text_source == "pdf"


def test_byte_swapped_utf16_layer_is_not_trusted(tmp_path):
    p = tmp_path / "swapped.pdf"
    p.write_bytes(swap_tounicode(text_pdf(VN_LINES, ttf=SANS)))
    layer = ocr.inputs.pdf_text_layer(str(p), 0)
    assert sum(ord(c) > 0x2000 for c in layer) > 100  # the layer is garbage (CJK-looking code points)
    (r,) = ocr.read_pages(str(p))
    assert not r.born_digital and r.text_source == "ocr"
    assert r.confidence < 1.0
    assert _cer("\n".join(VN_LINES), r.text) < 0.05, r.text
    assert r.pdf  # the searchable page comes from the OCR of the rendering


def test_upright_page_that_fools_the_fast_test_is_not_flipped(tmp_path):
    up = tmp_path / "upright.png"
    descender_page(up)
    (r,) = ocr.read_pages(str(up))
    assert r.rotation == 0, r.text
    assert "yen my gia nghia quy nhon" in r.text and r.quality == "ok"
    assert r.plausibility >= 0.7
    down = tmp_path / "upside.png"
    descender_page(down, upside_down=True)
    (d,) = ocr.read_pages(str(down))
    assert d.rotation == 180 and "yen my gia nghia quy nhon" in d.text
