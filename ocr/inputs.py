"""Validate input files, count their pages, and decode one page at a time (no whole-file rasters)."""
from __future__ import annotations

import io
import os
import re
import subprocess
import tempfile
import warnings

import numpy as np
from PIL import Image

from ocr.types import OcrInputError

IMAGE_EXTS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".tif": "TIFF", ".tiff": "TIFF"}
PDF_EXTS = {".pdf"}
DEFAULT_MAX_PIXELS = 200_000_000
RASTER_DPI = 300


def _sniff(head: bytes) -> str | None:
    if head.startswith(b"%PDF") or b"%PDF-" in head[:1024]:
        return "PDF"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF"
    return None


def file_kind(path: str) -> str:
    """'PDF' | 'JPEG' | 'PNG' | 'TIFF' after checking the content agrees with the extension."""
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise OcrInputError(f"cannot read file: {exc}") from exc
    if size == 0:
        raise OcrInputError("empty file (0 bytes)")
    with open(path, "rb") as fh:
        head = fh.read(1024)
    kind = _sniff(head)
    ext = os.path.splitext(path)[1].lower()
    claimed = "PDF" if ext in PDF_EXTS else IMAGE_EXTS.get(ext)
    if kind is None:
        raise OcrInputError(f"not a PDF/JPEG/PNG/TIFF file (content does not match {ext or 'no extension'})")
    if claimed is not None and claimed != kind:
        raise OcrInputError(f"file content is {kind} but the extension claims {claimed}")
    return kind


# --------------------------------------------------------------------------- PDF

def _open_pdf(path: str):
    import pikepdf

    try:
        return pikepdf.open(path)
    except pikepdf.PasswordError as exc:
        raise OcrInputError("encrypted PDF (password protected)") from exc
    except pikepdf.PdfError as exc:
        raise OcrInputError(f"corrupt or truncated PDF: {exc}") from exc
    except Exception as exc:  # noqa: BLE001 - anything pikepdf raises here means an unreadable file
        raise OcrInputError(f"unreadable PDF: {exc}") from exc


def _page_box(page) -> tuple[float, float]:
    box = [float(v) for v in page.mediabox]
    w, h = abs(box[2] - box[0]), abs(box[3] - box[1])
    rot = int(page.obj.get("/Rotate", 0)) % 360
    return (h, w) if rot in (90, 270) else (w, h)


def _check_pdf_tail(path: str) -> None:
    """A PDF that was cut off (interrupted copy/scan) has no %%EOF marker near its end."""
    size = os.path.getsize(path)
    with open(path, "rb") as fh:
        fh.seek(max(0, size - 4096))
        tail = fh.read()
    if b"%%EOF" not in tail:
        raise OcrInputError("truncated PDF (no %%EOF at the end of the file)")


def _pdf_count(path: str, max_pixels: int) -> int:
    _check_pdf_tail(path)
    with _open_pdf(path) as pdf:
        if pdf.is_encrypted and not _allows_open(pdf):
            raise OcrInputError("encrypted PDF (password protected)")
        try:
            n = len(pdf.pages)
        except Exception as exc:  # noqa: BLE001
            raise OcrInputError(f"corrupt PDF page tree: {exc}") from exc
        if n == 0:
            raise OcrInputError("PDF has no pages")
        for page in pdf.pages:
            try:
                w, h = _page_box(page)
            except Exception as exc:  # noqa: BLE001
                raise OcrInputError(f"corrupt PDF page: {exc}") from exc
            px = (w / 72 * RASTER_DPI) * (h / 72 * RASTER_DPI)
            if px > max_pixels:
                raise OcrInputError(f"image too large: page of {w:.0f}x{h:.0f} pt = {px:.0f} pixels at "
                                    f"{RASTER_DPI} dpi > {max_pixels} (decompression bomb?)")
        return n


def _allows_open(pdf) -> bool:
    # pikepdf opens PDFs encrypted with an empty user password; those are readable, treat as plain.
    return True


def _page_has_text(page) -> bool:
    try:
        res = page.obj.get("/Resources")
        if res is None:
            return False
        fonts = res.get("/Font")
        if fonts is not None and len(fonts.keys()) > 0:
            return True
        xobjs = res.get("/XObject") or {}
        for k in xobjs.keys():
            xo = xobjs[k]
            if xo.get("/Subtype") == "/Form":
                r2 = xo.get("/Resources")
                if r2 is not None and r2.get("/Font") is not None:
                    return True
    except Exception:  # noqa: BLE001
        return False
    return False


def pdf_text_layer(path: str, index: int) -> str:
    out = subprocess.run(["pdftotext", "-q", "-enc", "UTF-8", "-f", str(index + 1), "-l", str(index + 1),
                          path, "-"], capture_output=True, timeout=120)
    return out.stdout.decode("utf-8", "replace")


def pdf_single_page(path: str, index: int) -> bytes:
    import pikepdf

    with _open_pdf(path) as src:
        dst = pikepdf.new()
        dst.pages.append(src.pages[index])
        buf = io.BytesIO()
        dst.save(buf)
        return buf.getvalue()


_WS = re.compile(r"\s+")


def _only_image(page):
    """The page's single full-page image XObject (a plain scan), or None."""
    import pikepdf

    try:
        res = page.obj.get("/Resources")
        xobjs = res.get("/XObject") if res is not None else None
        if xobjs is None or len(xobjs.keys()) != 1:
            return None
        xo = xobjs[list(xobjs.keys())[0]]
        if xo.get("/Subtype") != "/Image":
            return None
        content = b"".join(c.read_bytes() for c in (page.obj.Contents if isinstance(page.obj.Contents, pikepdf.Array)
                                                      else [page.obj.Contents]))
        if content.count(b"Do") != 1 or b"BT" in content:
            return None
        return pikepdf.PdfImage(xo)
    except Exception:  # noqa: BLE001
        return None


def decode_pdf_page(path: str, index: int, max_pixels: int) -> dict:
    """{'text': str|None (born-digital text), 'pdf': bytes|None, 'image': ndarray|None, 'dpi': int}."""
    with _open_pdf(path) as pdf:
        try:
            page = pdf.pages[index]
        except IndexError as exc:
            raise OcrInputError(f"page {index} out of range") from exc
        w_pt, h_pt = _page_box(page)
        if _page_has_text(page):
            text = pdf_text_layer(path, index)
            if len(_WS.sub("", text)) >= 20:
                return {"text": text, "pdf": pdf_single_page(path, index), "image": None, "dpi": RASTER_DPI,
                        "size_pt": (w_pt, h_pt)}
        rot = int(page.obj.get("/Rotate", 0)) % 360
        img = _only_image(page)
        if img is not None and rot == 0:
            try:
                if img.width * img.height > max_pixels:
                    raise OcrInputError(f"image too large: {img.width}x{img.height} > {max_pixels} pixels "
                                        "(decompression bomb?)")
                pil = img.as_pil_image()
                dpi = int(round(img.width / (w_pt / 72))) if w_pt else RASTER_DPI
                arr = _to_gray(pil)
                if 150 <= dpi <= 1200:
                    return {"text": None, "pdf": None, "image": arr, "dpi": dpi, "size_pt": (w_pt, h_pt)}
            except OcrInputError:
                raise
            except Exception:  # noqa: BLE001 - unusual encodings: fall back to rendering
                pass
    px = (w_pt / 72 * RASTER_DPI) * (h_pt / 72 * RASTER_DPI)
    if px > max_pixels:
        raise OcrInputError(f"image too large: {px:.0f} pixels > {max_pixels} (decompression bomb?)")
    arr = rasterize_pdf_page(path, index, RASTER_DPI)
    if arr is None:
        raise OcrInputError(f"cannot rasterize PDF page {index}")
    return {"text": None, "pdf": None, "image": arr, "dpi": RASTER_DPI, "size_pt": (w_pt, h_pt)}


def rasterize_pdf_page(path: str, index: int, dpi: int = RASTER_DPI) -> np.ndarray | None:
    """One page as an 8-bit grey array (pdftoppm straight to PGM: no intermediate formats)."""
    with tempfile.TemporaryDirectory(prefix="sohoa-ocr-") as td:
        base = os.path.join(td, "p")
        r = subprocess.run(["pdftoppm", "-q", "-r", str(dpi), "-gray", "-f", str(index + 1), "-l",
                            str(index + 1), "-singlefile", path, base], capture_output=True, timeout=300)
        if r.returncode != 0 or not os.path.exists(base + ".pgm"):
            return None
        with Image.open(base + ".pgm") as im:
            return np.array(im.convert("L"))


# --------------------------------------------------------------------------- images

def _to_gray(im: Image.Image) -> np.ndarray:
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
        bg.alpha_composite(im.convert("RGBA"))
        im = bg
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        a = np.array(im, dtype=np.float32)
        a = (a - a.min()) / max(1.0, float(a.max() - a.min())) * 255
        return a.astype(np.uint8)
    if im.mode in ("RGB", "CMYK", "YCbCr", "P"):
        rgb = np.array(im.convert("RGB"))
        return colour_to_gray(rgb)
    return np.array(im.convert("L"))


def colour_to_gray(rgb: np.ndarray) -> np.ndarray:
    """Grey for OCR. Red seals and stamps (con dấu) sit on top of the text of most Vietnamese
    official papers: when the page carries a fair amount of red, the red channel is used, in
    which red ink is nearly white and black print stays black."""
    small = rgb[::8, ::8].astype(np.int16)
    r, g, b = small[..., 0], small[..., 1], small[..., 2]
    red = (r - np.maximum(g, b)) > 60
    if red.mean() > 0.002:
        return np.ascontiguousarray(rgb[..., 0])
    import cv2

    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def _open_image(path: str, max_pixels: int) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            old = Image.MAX_IMAGE_PIXELS
            Image.MAX_IMAGE_PIXELS = None  # we enforce our own cap below
            try:
                im = Image.open(path)
            finally:
                Image.MAX_IMAGE_PIXELS = old
    except OcrInputError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise OcrInputError(f"unreadable image: {exc}") from exc
    w, h = im.size
    if w <= 0 or h <= 0:
        raise OcrInputError("image has no pixels")
    if w * h > max_pixels:
        raise OcrInputError(f"image too large: {w}x{h} = {w * h} pixels > {max_pixels} (decompression bomb?)")
    return im


def _image_count(path: str, max_pixels: int) -> int:
    im = _open_image(path, max_pixels)
    try:
        n = getattr(im, "n_frames", 1) or 1
        for i in range(n):
            if n > 1:
                im.seek(i)
            w, h = im.size
            if w * h > max_pixels:
                raise OcrInputError(f"image too large: frame {i} {w}x{h} > {max_pixels} pixels (decompression bomb?)")
        # cheap integrity check of the first frame's header/stream structure (no full decode)
        if im.format == "PNG":
            try:
                im.seek(0)
                im.verify()
            except Exception as exc:  # noqa: BLE001
                raise OcrInputError(f"corrupt PNG: {exc}") from exc
        return n
    except EOFError as exc:
        raise OcrInputError(f"truncated image: {exc}") from exc
    finally:
        im.close()


def decode_image_page(path: str, index: int, max_pixels: int) -> dict:
    im = _open_image(path, max_pixels)
    try:
        n = getattr(im, "n_frames", 1) or 1
        if index >= n:
            raise OcrInputError(f"frame {index} out of range ({n} frames)")
        if index:
            im.seek(index)
        dpi_info = im.info.get("dpi")
        try:
            dpi = int(round(float(dpi_info[0]))) if dpi_info else 0
        except Exception:  # noqa: BLE001
            dpi = 0
        try:
            from PIL import ImageOps

            if index == 0 and im.format == "JPEG":
                im = ImageOps.exif_transpose(im)
            arr = _to_gray(im)
        except Exception as exc:  # noqa: BLE001
            raise OcrInputError(f"corrupt or truncated image: {exc}") from exc
    finally:
        try:
            im.close()
        except Exception:  # noqa: BLE001
            pass
    if not (70 <= dpi <= 1200):
        # guess: an A4-ish page image at 300 dpi is ~2480 px wide
        dpi = 300 if max(arr.shape) >= 2000 else 200 if max(arr.shape) > 1200 else 150
    return {"text": None, "pdf": None, "image": arr, "dpi": dpi, "size_pt": None}


# --------------------------------------------------------------------------- public

def count_pages(path: str, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> int:
    """Validate ``path`` and return its number of pages, cheaply (no rasterizing)."""
    kind = file_kind(path)
    if kind == "PDF":
        return _pdf_count(path, max_pixels)
    return _image_count(path, max_pixels)


def decode_page(path: str, index: int, max_pixels: int = DEFAULT_MAX_PIXELS) -> dict:
    kind = file_kind(path)
    if kind == "PDF":
        return decode_pdf_page(path, index, max_pixels)
    return decode_image_page(path, index, max_pixels)
