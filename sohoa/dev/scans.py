"""Synthetic scanned pages for tests and benchmarks: a grayscale JPEG per page plus an invisible
OCR text layer, as the pipeline stores them."""
from __future__ import annotations

import io
import random


def scanned_pdf(text_lines=("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "GIẤY KHAI SINH", "Họ và tên: Trần Thị Bình"),
                ocr_text: str = "GIAY KHAI SINH Tran Thi Binh so dinh danh 001203004567",
                dpi: int = 300, pages: int = 1, noise: bool = True, seed: int = 1, quality: int = 75) -> bytes:
    """An A4 'scan': a grayscale JPEG per page at ``dpi`` plus an invisible text layer (render
    mode 3, like OCRmyPDF's), so tests can check the OCR layer survives signing."""
    import pikepdf
    from PIL import Image, ImageDraw, ImageFilter

    w, h = int(8.27 * dpi), int(11.69 * dpi)
    rnd = random.Random(seed)
    pdf = pikepdf.new()
    for p in range(pages):
        cached = _JPEG_CACHE.get((tuple(text_lines), dpi, p, noise, seed, quality))
        if cached is not None:
            _add_page(pdf, cached, w, h, ocr_text, p)
            continue
        img = Image.new("L", (w, h), 245)
        dr = ImageDraw.Draw(img)
        y = int(h * 0.08)
        for ln in text_lines:
            dr.text((int(w * 0.1), y), ln, fill=20)
            y += int(dpi * 0.4)
        for _ in range(120):  # lines of "printed text"
            x0, yy = rnd.randint(int(w * 0.1), int(w * 0.2)), rnd.randint(int(h * 0.2), int(h * 0.75))
            dr.line((x0, yy, x0 + rnd.randint(int(w * 0.3), int(w * 0.7)), yy), fill=rnd.randint(10, 90),
                    width=max(1, dpi // 100))
        if noise:
            img = img.filter(ImageFilter.GaussianBlur(0.6))
            px = img.load()
            for _ in range(w * h // 400):
                px[rnd.randrange(w), rnd.randrange(h)] = rnd.randint(0, 255)
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=quality)
        _JPEG_CACHE[(tuple(text_lines), dpi, p, noise, seed, quality)] = buf.getvalue()
        _add_page(pdf, buf.getvalue(), w, h, ocr_text, p)
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


_JPEG_CACHE: dict = {}


def _add_page(pdf, jpeg: bytes, w: int, h: int, ocr_text: str, p: int) -> None:
    import pikepdf

    page_w, page_h = 595.0, 842.0
    image = pikepdf.Stream(pdf, jpeg)
    image.Type, image.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
    image.Width, image.Height = w, h
    image.ColorSpace, image.BitsPerComponent = pikepdf.Name.DeviceGray, 8
    image.Filter = pikepdf.Name.DCTDecode
    font = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                                                BaseFont=pikepdf.Name.Helvetica,
                                                Encoding=pikepdf.Name.WinAnsiEncoding))
    safe = ocr_text.encode("cp1252", "replace").decode("cp1252").replace("\\", "").replace("(", "").replace(")", "")
    content = (f"q {page_w} 0 0 {page_h} 0 0 cm /Im0 Do Q\n"
               f"BT 3 Tr /F0 12 Tf 60 760 Td ({safe} trang {p + 1}) Tj ET\n").encode("latin-1")
    page = pikepdf.Page(pikepdf.Dictionary(
        Type=pikepdf.Name.Page, MediaBox=[0, 0, page_w, page_h],
        Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image), Font=pikepdf.Dictionary(F0=font)),
        Contents=pdf.make_stream(content)))
    pdf.pages.append(page)
