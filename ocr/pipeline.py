"""Per-page work (runs in a worker process) and per-document assembly.

read_page: decode one page -> QR -> clean-up (border, light, orientation, deskew, denoise) ->
Tesseract once (PDF + TSV) -> classify. Born-digital PDF pages keep their own text and page."""
from __future__ import annotations

import io
import logging
import os
import time
import unicodedata
from concurrent.futures import Executor

import cv2
import numpy as np

from ocr.classify import classify as _classify_text, starts_document as _starts_document
from ocr import engine, fields, inputs, preprocess
from ocr.cccd import apply_cccd_qr
from ocr.types import DocumentResult, OcrInputError, PageResult

log = logging.getLogger("sohoa.ocr")

REVIEW_CONFIDENCE = 0.70
LOW_CONFIDENCE_FLIP = 0.60
MIN_WORDS = 5

os.environ.setdefault("OMP_THREAD_LIMIT", "1")
# One page per process is the parallelism. OpenCV's own thread pool buys nothing here, and a
# process that forks workers after OpenCV started its pool can deadlock in the children.
cv2.setNumThreads(1)


# --------------------------------------------------------------------------- QR

def detect_qr(gray: np.ndarray) -> list[str]:
    """QR payloads on the page (OpenCV). A reduced copy first; full size only when something
    QR-like was located but not decoded."""
    det = cv2.QRCodeDetector()
    h, w = gray.shape
    s = 1100 / max(h, w)
    img = cv2.resize(gray, (int(w * s), int(h * s)), interpolation=cv2.INTER_AREA) if s < 0.9 else gray
    for attempt in (img, gray) if img is not gray else (gray,):
        try:
            _ok, texts, pts, _ = det.detectAndDecodeMulti(attempt)
        except cv2.error:
            texts, pts = (), None
        found = [t for t in (texts or ()) if t]
        if found:
            return list(dict.fromkeys(found))
        try:  # the multi detector misses some single codes that this one reads (OpenCV 4.x/5.x)
            one, one_pts, _ = det.detectAndDecode(attempt)
        except cv2.error:
            one, one_pts = "", None
        if one:
            return [one]
        if pts is None and one_pts is None:
            return []
    return []


# --------------------------------------------------------------------------- page

def _quality(conf: float, nwords: int, qr: list[str]) -> str:
    if nwords < MIN_WORDS and not qr:
        return "review"
    if nwords >= MIN_WORDS and conf < REVIEW_CONFIDENCE:
        return "review"
    return "ok"


def _classify_page(res: PageResult) -> None:
    t, c = _classify_text(res.text)
    res.doc_type, res.type_confidence = t, c
    res.starts_document = _starts_document(res.text)


def read_page(path: str, index: int, *, lang: str = "vie",
              max_pixels: int = inputs.DEFAULT_MAX_PIXELS) -> PageResult:
    """OCR page ``index`` of ``path`` (picklable; meant to run in a worker process)."""
    os.environ["OMP_THREAD_LIMIT"] = "1"
    cv2.setNumThreads(1)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    try:
        d = inputs.decode_page(path, index, max_pixels)
    except OcrInputError:
        raise
    except (OSError, ValueError, SyntaxError, EOFError, cv2.error) as exc:  # undecodable content: permanent
        raise OcrInputError(f"cannot decode page {index}: {type(exc).__name__}: {exc}") from exc
    except Exception as exc:  # noqa: BLE001 - pikepdf.PdfError and friends
        if type(exc).__module__.startswith(("pikepdf", "PIL")):
            raise OcrInputError(f"cannot decode page {index}: {exc}") from exc
        raise
    timings["decode"] = time.perf_counter() - t0

    if d["text"] is not None:  # born-digital page: its own text, its own page, no OCR
        text = unicodedata.normalize("NFC", d["text"])
        text = "\n".join(ln.rstrip() for ln in text.replace("\f", "").splitlines()).strip("\n")
        w_pt, h_pt = d["size_pt"]
        res = PageResult(index=index, text=text, confidence=1.0, born_digital=True, pdf=d["pdf"],
                         width=int(round(w_pt / 72 * d["dpi"])), height=int(round(h_pt / 72 * d["dpi"])),
                         dpi=d["dpi"], timings=timings)
        t = time.perf_counter()
        small = inputs.rasterize_pdf_page(path, index, dpi=150)
        res.qr = detect_qr(small) if small is not None else []
        timings["qr"] = time.perf_counter() - t
        res.quality = "ok" if len(text.split()) >= MIN_WORDS or res.qr else "review"
        _classify_page(res)
        timings["total"] = time.perf_counter() - t0
        return res

    gray = d["image"]
    dpi = d["dpi"]
    t = time.perf_counter()
    qr = detect_qr(gray)
    timings["qr"] = time.perf_counter() - t

    t = time.perf_counter()
    clean, info = preprocess.prepare(gray)
    del gray
    full_h, full_w, full_dpi = clean.shape[0], clean.shape[1], dpi
    scale = preprocess.ocr_scale(info, clean.shape)
    if scale < 1.0:
        clean = cv2.resize(clean, (int(round(clean.shape[1] * scale)), int(round(clean.shape[0] * scale))),
                           interpolation=cv2.INTER_AREA)
        dpi = int(round(dpi * scale))
    timings["preprocess"] = time.perf_counter() - t
    rotation = info["rotation"]
    if not info.get("sure") and info.get("ink", 0) > 0.002 and info.get("lines", 0) >= 1:
        t = time.perf_counter()
        osd = engine.osd_rotation(clean, dpi)
        timings["osd"] = time.perf_counter() - t
        if osd and osd[0] and osd[1] >= 2.0:
            rotation = (rotation + osd[0]) % 360
            clean = preprocess.rot90k(clean, osd[0])
            if osd[0] in (90, 270):
                full_h, full_w = full_w, full_h

    t = time.perf_counter()
    tess = engine.run_tesseract(clean, lang=lang, dpi=dpi)
    timings["ocr"] = time.perf_counter() - t
    if tess["confidence"] < LOW_CONFIDENCE_FLIP and abs(info.get("updown", 0.5) - 0.5) < 0.3:
        # unreadable as it stands: maybe the orientation guess was wrong; read it the other way up
        t = time.perf_counter()
        flipped = np.ascontiguousarray(clean[::-1, ::-1])
        other = engine.run_tesseract(flipped, lang=lang, dpi=dpi)
        timings["ocr_flip"] = time.perf_counter() - t
        if other["confidence"] > tess["confidence"] + 0.1:
            tess, clean, rotation = other, flipped, (rotation + 180) % 360
    t = time.perf_counter()
    if engine.reread_weak_lines(clean, tess["lines"], lang=lang, dpi=dpi):
        tess["text"] = engine.lines_text(tess["lines"])
        tess["confidence"], tess["nwords"] = engine.lines_confidence(tess["lines"])
    timings["reread"] = time.perf_counter() - t
    h, w, dpi = full_h, full_w, full_dpi  # the page as scanned (upright); the OCR copy may be smaller
    res = PageResult(index=index, text=unicodedata.normalize("NFC", tess["text"]), confidence=tess["confidence"], rotation=rotation,
                     skew=round(float(info["skew"]), 3), qr=qr, pdf=tess["pdf"], width=w, height=h, dpi=dpi,
                     timings=timings)
    res.quality = _quality(res.confidence, tess["nwords"], qr)
    _classify_page(res)
    timings["total"] = time.perf_counter() - t0
    return res


def read_pages(path: str, executor: Executor | None = None, **kw) -> list[PageResult]:
    """All pages of ``path`` in order; one task per page on ``executor`` (serial when None)."""
    n = inputs.count_pages(path, max_pixels=kw.get("max_pixels", inputs.DEFAULT_MAX_PIXELS))
    if executor is None:
        return [read_page(path, i, **kw) for i in range(n)]
    futures = [executor.submit(read_page, path, i, **kw) for i in range(n)]
    return [f.result() for f in futures]


# --------------------------------------------------------------------------- document

def merge_pdfs(pdfs: list[bytes]) -> bytes:
    """Concatenate one-page (or any) PDFs in order."""
    import pikepdf

    parts = [p for p in pdfs if p]
    if not parts:
        return b""
    if len(parts) == 1:
        return parts[0]
    out = pikepdf.new()
    srcs = []
    for p in parts:
        src = pikepdf.open(io.BytesIO(p))
        srcs.append(src)
        out.pages.extend(src.pages)
    buf = io.BytesIO()
    out.save(buf)
    for s in srcs:
        s.close()
    return buf.getvalue()


def assemble(path: str, pages: list[PageResult]) -> DocumentResult:
    """Classify and extract over all pages' text; merge the page PDFs."""
    pages = sorted(pages, key=lambda p: p.index)
    text = "\n\n".join(p.text for p in pages if p.text)
    doc_type, conf = _classify_text(text)
    # a multi-page document: the first titled page names the document
    titled = [p for p in pages if p.starts_document and p.doc_type not in ("khac",)]
    if titled and titled[0].doc_type != doc_type and titled[0].type_confidence >= conf:
        doc_type, conf = titled[0].doc_type, titled[0].type_confidence
    flds = fields.extract_fields(doc_type, text)
    ocr_conf = [p.confidence for p in pages if not p.born_digital]
    quality = "review" if any(p.quality == "review" for p in pages) else "ok"
    if conf < 0.5:
        quality = "review"
    if any(f.flags for f in flds.values()):
        quality = "review"
    if ocr_conf:
        conf = min(conf, 0.5 + 0.5 * float(np.mean(ocr_conf))) if doc_type != "khac" else conf
    return apply_cccd_qr(DocumentResult(path=path, pages=pages, doc_type=doc_type, confidence=float(conf), fields=flds,
                                        text=text, quality=quality, pdf=merge_pdfs([p.pdf for p in pages])))


def ocr_file(path: str, executor: Executor | None = None, **kw) -> DocumentResult:
    """count_pages + read_pages + assemble."""
    pages = read_pages(path, executor, **kw)
    return assemble(path, pages)


__all__ = ["read_page", "read_pages", "assemble", "merge_pdfs", "ocr_file", "detect_qr", "OcrInputError"]
