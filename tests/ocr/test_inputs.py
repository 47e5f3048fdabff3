"""count_pages / input validation: cheap, and refusing what cannot be a document."""
from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pikepdf
import pytest
from PIL import Image

import ocr
from ocr import OcrInputError


def _pdf_bytes(pages: int = 2) -> bytes:
    pdf = pikepdf.new()
    for _ in range(pages):
        pdf.add_blank_page(page_size=(595, 842))
    buf = io.BytesIO()
    pdf.save(buf)
    return buf.getvalue()


def test_counts_pdf_png_jpeg_and_tiff_frames(tmp_path):
    p = tmp_path / "a.pdf"
    p.write_bytes(_pdf_bytes(3))
    assert ocr.count_pages(str(p)) == 3
    img = Image.fromarray(np.full((100, 80), 255, np.uint8))
    img.save(tmp_path / "a.png")
    img.save(tmp_path / "a.jpg")
    assert ocr.count_pages(str(tmp_path / "a.png")) == 1
    assert ocr.count_pages(str(tmp_path / "a.jpg")) == 1
    frames = [Image.fromarray(np.full((60, 50), v, np.uint8)) for v in (255, 200, 100)]
    frames[0].save(tmp_path / "m.tif", save_all=True, append_images=frames[1:])
    assert ocr.count_pages(str(tmp_path / "m.tif")) == 3


def test_zero_bytes(tmp_path):
    p = tmp_path / "empty.pdf"
    p.write_bytes(b"")
    with pytest.raises(OcrInputError, match="empty"):
        ocr.count_pages(str(p))


def test_truncated_pdf(tmp_path):
    data = _pdf_bytes(2)
    p = tmp_path / "trunc.pdf"
    p.write_bytes(data[: len(data) // 3])
    with pytest.raises(OcrInputError):
        ocr.count_pages(str(p))


def test_encrypted_pdf(tmp_path):
    pdf = pikepdf.new()
    pdf.add_blank_page()
    p = tmp_path / "enc.pdf"
    pdf.save(p, encryption=pikepdf.Encryption(user="secret", owner="owner", R=6))
    with pytest.raises(OcrInputError, match="encrypted PDF"):
        ocr.count_pages(str(p))


def test_text_renamed_pdf_is_refused_and_content_decides_the_type(tmp_path):
    p = tmp_path / "notes.pdf"
    p.write_text("just some text, not a PDF\n")
    with pytest.raises(OcrInputError) as exc:
        ocr.count_pages(str(p))
    assert exc.value.code == "not_a_scan" and "text" in exc.value.detail
    # a JPEG is a JPEG whatever its name says (.png, .jfif, .jpe, no extension)
    for name in ("photo.png", "scan.jfif", "scan.jpe", "scan"):
        q = tmp_path / name
        Image.fromarray(np.full((20, 20), 255, np.uint8)).save(q, format="JPEG")
        assert ocr.sniff(str(q)) == "JPEG"
        assert ocr.count_pages(str(q)) == 1


def _png_header_only(w: int, h: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_pixel_cap_bomb(tmp_path):
    p = tmp_path / "bomb.png"
    p.write_bytes(_png_header_only(60000, 60000))
    with pytest.raises(OcrInputError, match="decompression bomb"):
        ocr.count_pages(str(p))
    with pytest.raises(OcrInputError, match="too large"):
        ocr.read_page(str(p), 0)
    small = tmp_path / "small.png"
    Image.fromarray(np.full((200, 200), 255, np.uint8)).save(small)
    with pytest.raises(OcrInputError):
        ocr.count_pages(str(small), max_pixels=10_000)


def test_merge_pdfs():
    merged = ocr.merge_pdfs([_pdf_bytes(1), _pdf_bytes(2)])
    with pikepdf.open(io.BytesIO(merged)) as pdf:
        assert len(pdf.pages) == 3
