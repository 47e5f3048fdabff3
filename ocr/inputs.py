"""Validate input files, count their pages, and decode one page at a time (no whole-file rasters).

The content decides what a file is (:func:`sniff`), never its extension. PDFs are read with
pikepdf (qpdf); a PDF that qpdf cannot open but poppler can (broken page tree, attachments-only
encryption) is read with poppler alone and OCR'd from its rendering.

Memory is bounded per page: a page larger than ``max_pixels`` is refused (an image) or rendered
at a lower resolution (a PDF page, which is vector); every page is analysed and OCR'd at no more
than ``work_pixels`` (JPEGs are decoded straight at a reduced scale, other images downscaled
right after decoding). See README "Memory per page".
"""
from __future__ import annotations

import io
import math
import mmap
import os
import re
import subprocess
import tempfile
import warnings
from functools import lru_cache

import numpy as np
from PIL import Image

from ocr.types import OcrInputError, Problem
from vocab.formats import KINDS, describe, sniff_bytes  # noqa: F401 - KINDS: part of this module's face

DEFAULT_MAX_PIXELS = 200_000_000  # decompression-bomb cap: an image page above this is refused
DEFAULT_WORK_PIXELS = 30_000_000  # a page is analysed and OCR'd at most this big (≈ A4 at 550 dpi)
MAX_SIDE = 30_000  # Tesseract refuses an image side above 32767 px
RASTER_DPI = 300

# --------------------------------------------------------------------------- what a file is

def _read_ends(path: str, head_n: int = 65536, tail_n: int = 4096) -> tuple[bytes, bytes, int]:
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            head = fh.read(head_n)
            fh.seek(max(0, size - tail_n))
            tail = fh.read()
    except (FileNotFoundError, PermissionError):
        raise  # the file's own problem (gone, not ours to read), for the job to handle
    except OSError as exc:
        raise OcrInputError(f"cannot read file: {exc.strerror or exc}", code=Problem.UNREADABLE) from exc
    return head, tail, size


def sniff(path: str) -> str | None:
    head, tail, _ = _read_ends(path)
    return sniff_bytes(head, tail)


def file_kind(path: str) -> str:
    """'PDF' | 'JPEG' | 'PNG' | 'TIFF' by content, whatever the extension says."""
    head, tail, size = _read_ends(path)
    if size == 0:
        raise OcrInputError("empty file (0 bytes)", code=Problem.EMPTY)
    kind = sniff_bytes(head, tail)
    if kind is None:
        ext = os.path.splitext(path)[1].lower() or "no extension"
        raise OcrInputError(f"not a PDF/JPEG/PNG/TIFF file: the content looks like {describe(head)} ({ext})",
                            code=Problem.NOT_A_SCAN)
    return kind


# --------------------------------------------------------------------------- PDF: opening

def _file_has(path: str, needle: bytes) -> bool:
    try:
        with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            return mm.find(needle) >= 0
    except (OSError, ValueError):
        return False


def last_eof(path: str) -> int:
    """Offset just past the file's last ``%%EOF`` marker, or -1."""
    try:
        with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            i = mm.rfind(b"%%EOF")
            return -1 if i < 0 else i + 5
    except (OSError, ValueError):
        return -1


def check_pdf_tail(path: str) -> None:
    """A PDF cut off by an interrupted copy or scan has no ``%%EOF`` ending a parseable file.

    Writers may leave data after the last ``%%EOF`` (padding, a second copy's start, a mail
    footer): a PDF whose last ``%%EOF`` anywhere in the file ends a PDF that opens as it stands
    (no reconstruction needed) is complete, however much follows."""
    head, tail, size = _read_ends(path, 1024, 4096)
    if b"%%EOF" in tail:
        return
    end = last_eof(path)
    if end < 0:
        raise OcrInputError("truncated PDF (no %%EOF marker anywhere)", code=Problem.PDF_TRUNCATED)
    import pikepdf

    with open(path, "rb") as fh:
        prefix = fh.read(end) + b"\n"
    try:
        with pikepdf.open(io.BytesIO(prefix), attempt_recovery=False):
            return
    except pikepdf.PasswordError:
        return  # complete; whether it can be read is decided by the encryption check
    except Exception as exc:  # noqa: BLE001
        raise OcrInputError(f"truncated PDF: the last %%EOF (at byte {end} of {size}) does not end a readable "
                            f"PDF: {exc}", code=Problem.PDF_TRUNCATED) from exc


_PUBSEC = re.compile(rb"/Filter\s*/Adobe\.PubSec|/SubFilter\s*/adbe\.pkcs7\.s[45]")


def _poppler_info(path: str, first: int | None = None, last: int | None = None) -> dict | None:
    """pdfinfo's view: {'pages', 'encrypted', 'sizes': {page: (w, h)}} or None if poppler cannot read it."""
    cmd = ["pdfinfo"]
    if first is not None:
        cmd += ["-f", str(first), "-l", str(last or first)]
    try:
        r = subprocess.run(cmd + [path], capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if r.returncode != 0:
        return None
    out = r.stdout.decode("latin-1", "replace")
    m = re.search(r"^Pages:\s+(\d+)", out, re.M)
    if not m:
        return None
    sizes = {int(p): (float(w), float(h)) for p, w, h in
             re.findall(r"^Page\s+(\d+) size:\s+([\d.]+) x ([\d.]+)", out, re.M)}
    one = re.search(r"^Page size:\s+([\d.]+) x ([\d.]+)", out, re.M)
    if one and first is None:
        sizes[1] = (float(one.group(1)), float(one.group(2)))
    rot = {int(p): int(r) for p, r in re.findall(r"^Page\s+(\d+) rot:\s+(\d+)", out, re.M)}
    for p, r_ in rot.items():
        if p in sizes and r_ % 180 == 90:
            sizes[p] = sizes[p][::-1]
    enc = re.search(r"^Encrypted:\s+(\w+)", out, re.M)
    return {"pages": int(m.group(1)), "encrypted": bool(enc and enc.group(1) == "yes"), "sizes": sizes}


class _PopplerOnly(Exception):
    """qpdf cannot open the file, poppler can: read it with poppler."""


def _open_pdf(path: str):
    import pikepdf

    try:
        return pikepdf.open(path)
    except pikepdf.PasswordError as exc:
        if _PUBSEC.search(_encrypt_dict(path)):
            raise OcrInputError(f"PDF encrypted for certificate holders: {exc}", code=Problem.PDF_CERTIFICATE) from exc
        info = _poppler_info(path)
        if info and not info["encrypted"] and info["pages"] > 0:
            # e.g. only the attachments are encrypted (/EFF): the document itself is readable
            raise _PopplerOnly(str(exc)) from exc
        raise OcrInputError(f"encrypted PDF (password protected): {exc}", code=Problem.PDF_PASSWORD) from exc
    except Exception as exc:  # noqa: BLE001 - pikepdf.PdfError and anything else qpdf raises on open
        msg = str(exc)
        if "encryption" in msg and _PUBSEC.search(_encrypt_dict(path)):
            raise OcrInputError(f"PDF encrypted for certificate holders (public-key security): {msg}",
                                code=Problem.PDF_CERTIFICATE) from exc
        info = _poppler_info(path)
        if info and info["pages"] > 0 and not info["encrypted"]:
            raise _PopplerOnly(msg) from exc
        raise OcrInputError(f"corrupt PDF: {msg}", code=Problem.PDF_CORRUPT) from exc


def _encrypt_dict(path: str) -> bytes:
    """The bytes around the file's /Encrypt dictionaries (cheap: no parsing)."""
    try:
        with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            out, i = [], 0
            while len(out) < 8:
                i = mm.find(b"/Filter", i)
                if i < 0:
                    break
                out.append(mm[max(0, i - 400): i + 400])
                i += 7
            return b"\n".join(out)
    except (OSError, ValueError):
        return b""


@lru_cache(maxsize=64)
def _pdf_mode(path: str, size: int, mtime_ns: int) -> str:
    """'qpdf' or 'poppler' (raises OcrInputError when neither can read the file)."""
    try:
        with _open_pdf(path):
            return "qpdf"
    except _PopplerOnly:
        return "poppler"


def pdf_mode(path: str) -> str:
    st = os.stat(path)
    return _pdf_mode(path, st.st_size, st.st_mtime_ns)


def _page_box(page) -> tuple[float, float]:
    box = [float(v) for v in page.mediabox]
    w, h = abs(box[2] - box[0]), abs(box[3] - box[1])
    rot = int(page.obj.get("/Rotate", 0)) % 360
    return (h, w) if rot in (90, 270) else (w, h)


def raster_dpi(w_pt: float, h_pt: float, work_pixels: int, dpi: int = RASTER_DPI) -> int:
    """The resolution at which a page of w×h points fits in ``work_pixels`` (at most ``dpi``)."""
    area_in = max(1e-6, (w_pt / 72) * (h_pt / 72))
    fit = math.sqrt(work_pixels / area_in)
    return max(10, min(dpi, int(fit)))


def _pdf_count(path: str) -> int:
    check_pdf_tail(path)
    if pdf_mode(path) == "poppler":
        info = _poppler_info(path)
        return info["pages"] if info else 0
    with _open_pdf(path) as pdf:
        try:
            n = len(pdf.pages)
            for page in pdf.pages:
                _page_box(page)
        except Exception as exc:  # noqa: BLE001 - a page tree qpdf cannot walk
            info = _poppler_info(path)
            if info and info["pages"] > 0:
                _pdf_mode.cache_clear()
                return info["pages"]
            raise OcrInputError(f"corrupt PDF page tree: {exc}", code=Problem.PDF_CORRUPT) from exc
    if n == 0:
        raise OcrInputError("PDF has no pages", code=Problem.PDF_NO_PAGES)
    return n


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


def page_fonts(page) -> tuple[str, ...]:
    """Base font names used by a page (and its form XObjects), e.g. ('.VnTime', 'Arial')."""
    names: list[str] = []

    def walk(res, depth: int = 0) -> None:
        if res is None or depth > 3:
            return
        fonts = res.get("/Font")
        if fonts is not None:
            for k in fonts.keys():
                try:
                    names.append(str(fonts[k].get("/BaseFont", "")).lstrip("/"))
                except Exception:  # noqa: BLE001
                    pass
        xobjs = res.get("/XObject")
        if xobjs is not None:
            for k in xobjs.keys():
                try:
                    if xobjs[k].get("/Subtype") == "/Form":
                        walk(xobjs[k].get("/Resources"), depth + 1)
                except Exception:  # noqa: BLE001
                    pass

    try:
        walk(page.obj.get("/Resources"))
    except Exception:  # noqa: BLE001
        pass
    return tuple(dict.fromkeys(n for n in names if n))


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
        dst.save(buf, deterministic_id=True)
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


def decode_pdf_page(path: str, index: int, max_pixels: int = DEFAULT_MAX_PIXELS,
                    work_pixels: int = DEFAULT_WORK_PIXELS, want_text: bool = True) -> dict:
    """{'text': str|None (the page's own text layer, as stored), 'fonts', 'pdf': bytes|None,
    'image': ndarray|None, 'dpi': int, 'size_pt'}. With ``want_text`` False the page is rendered."""
    if pdf_mode(path) == "poppler":
        info = _poppler_info(path, index + 1)
        if not info:
            raise OcrInputError(f"poppler cannot read page {index + 1}", code=Problem.PDF_CORRUPT, page=index)
        w_pt, h_pt = info["sizes"].get(index + 1, (595.0, 842.0))
        return _rendered(path, index, w_pt, h_pt, work_pixels)
    with _open_pdf(path) as pdf:
        try:
            page = pdf.pages[index]
        except IndexError as exc:
            raise OcrInputError(f"page {index} out of range", code=Problem.PDF_CORRUPT, page=index) from exc
        w_pt, h_pt = _page_box(page)
        if want_text and _page_has_text(page):
            text = pdf_text_layer(path, index)
            if len(_WS.sub("", text)) >= 20:
                return {"text": text, "fonts": page_fonts(page), "pdf": pdf_single_page(path, index), "image": None,
                        "dpi": RASTER_DPI, "size_pt": (w_pt, h_pt)}
        rot = int(page.obj.get("/Rotate", 0)) % 360
        img = _only_image(page)
        if img is not None and rot == 0:
            try:
                px = img.width * img.height
                dpi = int(round(img.width / (w_pt / 72))) if w_pt else RASTER_DPI
                if px <= min(max_pixels, 4 * work_pixels) and 150 <= dpi <= 1200:
                    arr = _to_gray(img.as_pil_image())
                    arr, dpi = fit_work(arr, dpi, work_pixels)
                    return {"text": None, "pdf": None, "image": arr, "dpi": dpi, "size_pt": (w_pt, h_pt)}
            except OcrInputError:
                raise
            except Exception:  # noqa: BLE001 - unusual encodings: fall back to rendering
                pass
    return _rendered(path, index, w_pt, h_pt, work_pixels)


def _rendered(path: str, index: int, w_pt: float, h_pt: float, work_pixels: int) -> dict:
    dpi = raster_dpi(w_pt, h_pt, work_pixels)
    arr = rasterize_pdf_page(path, index, dpi)
    if arr is None:
        raise OcrInputError(f"poppler could not render page {index + 1}", code=Problem.PDF_CORRUPT, page=index)
    return {"text": None, "pdf": None, "image": arr, "dpi": dpi, "size_pt": (w_pt, h_pt)}


def rasterize_pdf_page(path: str, index: int, dpi: int = RASTER_DPI) -> np.ndarray | None:
    """One page as an 8-bit grey array (pdftoppm straight to PGM: no intermediate formats)."""
    with tempfile.TemporaryDirectory(prefix="sohoa-ocr-") as td:
        base = os.path.join(td, "p")
        try:
            r = subprocess.run(["pdftoppm", "-q", "-r", str(dpi), "-gray", "-f", str(index + 1), "-l",
                                str(index + 1), "-singlefile", path, base], capture_output=True, timeout=300)
        except subprocess.TimeoutExpired:
            return None
        if r.returncode != 0 or not os.path.exists(base + ".pgm"):
            return None
        with Image.open(base + ".pgm") as im:
            return np.array(im.convert("L"))


# --------------------------------------------------------------------------- images

def fit_work(arr: np.ndarray, dpi: int, work_pixels: int) -> tuple[np.ndarray, int]:
    """Downscale ``arr`` to at most ``work_pixels`` and ``MAX_SIDE`` (its resolution follows)."""
    h, w = arr.shape[:2]
    if h * w <= work_pixels and max(h, w) <= MAX_SIDE:
        return arr, dpi
    import cv2

    s = min(math.sqrt(work_pixels / (h * w)), MAX_SIDE / max(h, w))
    out = cv2.resize(arr, (max(1, int(w * s)), max(1, int(h * s))), interpolation=cv2.INTER_AREA)
    return out, max(10, int(round(dpi * s)))


def _to_gray(im: Image.Image, want_luma: list | None = None) -> np.ndarray:
    """8-bit grey for OCR (the red channel when the page carries red seals or print; then the
    plain luminance is appended to ``want_luma`` when a list is given)."""
    import cv2

    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
        bg.alpha_composite(im.convert("RGBA"))
        im = bg
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        a = np.asarray(im)
        if not a.dtype.isnative:
            a = a.astype(a.dtype.newbyteorder("="))
        if a.dtype not in (np.uint8, np.uint16, np.int16, np.int32, np.float32):
            a = a.astype(np.float32)
        return cv2.normalize(a, None, 0, 255, cv2.NORM_MINMAX, cv2.CV_8U)
    if im.mode in ("RGB", "CMYK", "YCbCr", "P", "RGBX", "LAB", "HSV"):
        rgb = im if im.mode == "RGB" else im.convert("RGB")
        probe = np.asarray(rgb.reduce(8) if min(rgb.size) >= 64 else rgb)
        if red_share(probe) > 0.002:
            if want_luma is not None:
                want_luma.append(np.asarray(rgb.convert("L")))
            return np.asarray(rgb.getchannel("R"))
        return np.asarray(rgb.convert("L"))
    return np.asarray(im if im.mode == "L" else im.convert("L"))


def red_share(rgb: np.ndarray) -> float:
    """Share of clearly red pixels (seals, stamps) in an RGB array."""
    a = rgb.astype(np.int16)
    r, g, b = a[..., 0], a[..., 1], a[..., 2]
    return float(((r - np.maximum(g, b)) > 60).mean())


def colour_to_gray(rgb: np.ndarray) -> np.ndarray:
    """Grey for OCR. Red seals and stamps (con dấu) sit on top of the text of most Vietnamese
    official papers: when the page carries a fair amount of red, the red channel is used, in
    which red ink is nearly white and black print stays black."""
    if red_share(rgb[::8, ::8]) > 0.002:
        return np.ascontiguousarray(rgb[..., 0])
    import cv2

    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def _reduce_to(im: Image.Image, work_pixels: int) -> Image.Image:
    """An image over the work budget, reduced by an integer factor in Pillow before it becomes
    an array (a box filter, native code, no float copies)."""
    px = im.size[0] * im.size[1]
    k = math.ceil(math.sqrt(px / work_pixels)) if px > work_pixels else 1
    k = max(k, math.ceil(max(im.size) / MAX_SIDE))
    if k <= 1:
        return im
    try:
        return im.reduce(k)
    except (ValueError, NotImplementedError):  # a mode reduce() does not take
        return im


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
        raise OcrInputError(f"unreadable image: {exc}", code=Problem.IMAGE_CORRUPT) from exc
    w, h = im.size
    if w <= 0 or h <= 0:
        raise OcrInputError("image has no pixels", code=Problem.IMAGE_CORRUPT)
    if w * h > max_pixels:
        raise OcrInputError(f"image too large: {w}x{h} = {w * h} pixels > {max_pixels} (decompression bomb?)",
                            code=Problem.TOO_LARGE)
    return im


def image_frames(path: str) -> int | None:
    """Frames of an image file (TIFF pages), or None when it cannot be opened (yet)."""
    try:
        with Image.open(path) as im:
            return getattr(im, "n_frames", 1) or 1
    except Exception:  # noqa: BLE001
        return None


def _image_count(path: str, max_pixels: int) -> int:
    im = _open_image(path, max_pixels)
    try:
        n = getattr(im, "n_frames", 1) or 1
        for i in range(n):
            if n > 1:
                im.seek(i)
            w, h = im.size
            if w * h > max_pixels:
                raise OcrInputError(f"image too large: frame {i} {w}x{h} > {max_pixels} pixels (decompression bomb?)",
                                    code=Problem.TOO_LARGE, page=i)
        # cheap integrity check of the first frame's header/stream structure (no full decode)
        if im.format == "PNG":
            try:
                im.seek(0)
                im.verify()
            except Exception as exc:  # noqa: BLE001
                raise OcrInputError(f"corrupt PNG: {exc}", code=Problem.IMAGE_CORRUPT) from exc
        return n
    except (EOFError, OSError, ValueError, SyntaxError) as exc:
        raise OcrInputError(f"truncated or corrupt image: {exc}", code=Problem.IMAGE_CORRUPT) from exc
    finally:
        im.close()


def decode_image_page(path: str, index: int, max_pixels: int = DEFAULT_MAX_PIXELS,
                      work_pixels: int = DEFAULT_WORK_PIXELS) -> dict:
    im = _open_image(path, max_pixels)
    try:
        n = getattr(im, "n_frames", 1) or 1
        if index >= n:
            raise OcrInputError(f"frame {index} out of range ({n} frames)", code=Problem.IMAGE_CORRUPT, page=index)
        if index:
            im.seek(index)
        full_w = im.size[0]
        dpi_info = im.info.get("dpi")
        try:
            dpi = int(round(float(dpi_info[0]))) if dpi_info else 0
        except Exception:  # noqa: BLE001
            dpi = 0
        try:
            from PIL import ImageOps

            fmt = im.format
            orientation = im.getexif().get(0x0112, 1) if fmt == "JPEG" and index == 0 else 1
            if fmt == "JPEG" and im.size[0] * im.size[1] > work_pixels:
                # decode at 1/2, 1/4 or 1/8 scale straight from the DCT (a fraction of the memory);
                # a JPEG just over the budget (A4 at 600 dpi) comes out at about 300 dpi
                s = math.sqrt(work_pixels / (im.size[0] * im.size[1])) / 2
                im.draft(im.mode if im.mode in ("RGB", "L") else None, (int(im.size[0] * s), int(im.size[1] * s)))
            im.load()
            im = _reduce_to(im, work_pixels)
            if orientation != 1:
                im = ImageOps.exif_transpose(im)
            luma: list = []
            arr = _to_gray(im, luma)
        except OcrInputError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise OcrInputError(f"corrupt or truncated image: {exc}", code=Problem.IMAGE_CORRUPT, page=index) from exc
    finally:
        try:
            im.close()
        except Exception:  # noqa: BLE001
            pass
    if not (70 <= dpi <= 2400):
        # guess: an A4-ish page image at 300 dpi is ~2480 px wide
        big = max(arr.shape) * full_w / max(1, arr.shape[1])
        dpi = 300 if big >= 2000 else 200 if big > 1200 else 150
    dpi = max(10, int(round(dpi * arr.shape[1] / max(1, full_w))))  # after a reduced-scale decode
    arr, dpi0 = fit_work(arr, dpi, work_pixels)
    # the luminance (what plain Tesseract reads) when the red channel was taken instead: the
    # pipeline may read it too and keep the better read
    plain = fit_work(luma[0], dpi, work_pixels)[0] if luma else None
    return {"text": None, "pdf": None, "image": arr, "dpi": dpi0, "size_pt": None, "plain": plain,
            "photo": photo_like(full_w, dpi_info)}


def photo_like(width: int, dpi_info) -> bool:
    """An image that looks like a phone photo or a social-media copy rather than a scan: no
    resolution recorded (or the 72/96 dpi of cameras and screens)."""
    try:
        d = float(dpi_info[0]) if dpi_info else 0.0
    except Exception:  # noqa: BLE001
        d = 0.0
    return d < 150


# --------------------------------------------------------------------------- public

def count_pages(path: str, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> int:
    """Validate ``path`` and return its number of pages, cheaply (no rasterizing)."""
    kind = file_kind(path)
    if kind == "PDF":
        return _pdf_count(path)
    return _image_count(path, max_pixels)


def decode_page(path: str, index: int, max_pixels: int = DEFAULT_MAX_PIXELS,
                work_pixels: int = DEFAULT_WORK_PIXELS, want_text: bool = True) -> dict:
    kind = file_kind(path)
    if kind == "PDF":
        return decode_pdf_page(path, index, max_pixels, work_pixels, want_text)
    return decode_image_page(path, index, max_pixels, work_pixels)
