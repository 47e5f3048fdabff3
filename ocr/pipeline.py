"""Per-page work (runs in a worker process) and per-document assembly.

read_page: decode one page (within the work budget) -> QR -> clean-up (border, light,
orientation, deskew, denoise) -> Tesseract once (PDF + TSV) -> if the read is weak or does not
read as text, Tesseract's own evidence on orientation (OSD, the page read both ways up) ->
classify. Born-digital PDF pages keep their own text and page when that text reads as text
(legacy TCVN3/VNI layers converted); otherwise they are OCR'd. Anything unexpected on a page is
raised as OcrPageError for that page; assemble() gives a document its content key."""
from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import time
import unicodedata
from concurrent.futures import Executor
from dataclasses import replace
from functools import lru_cache

import cv2
import numpy as np

from ocr.classify import classify as _classify_text, starts_document as _starts_document
from ocr import engine, fields, inputs, language, lines, mrz, phrases, preprocess, tones
from ocr.cccd import apply_cccd_qr
from ocr.types import FIELD_REVIEW_BELOW, DocumentResult, OcrInputError, OcrPageError, PageResult, Problem

log = logging.getLogger("sohoa.ocr")

REVIEW_CONFIDENCE = 0.70
LOW_CONFIDENCE_FLIP = 0.60
MIN_WORDS = 5

os.environ.setdefault("OMP_THREAD_LIMIT", "1")
# One page per process is the parallelism. OpenCV's own thread pool buys nothing here, and a
# process that forks workers after OpenCV started its pool can deadlock in the children.
cv2.setNumThreads(1)


# --------------------------------------------------------------------------- QR

QR_SIDE = 1100  # px: the long side of the copy searched for QR codes first


def _zxing(img: np.ndarray) -> list[str]:
    import zxingcpp

    try:
        found = zxingcpp.read_barcodes(img, formats=zxingcpp.BarcodeFormat.QRCode, try_rotate=True,
                                       try_downscale=True)
    except Exception:  # noqa: BLE001 - a decoder failure is "no code", never a page failure
        return []
    return [r.text for r in found if r.valid and r.text]


def _qr_variants(gray: np.ndarray, photo: bool):
    """The page as it is, then (only while nothing was found) the forms in which a code on a
    photo reads: enlarged when small, and binarised (glare, uneven light) — for photos only."""
    h, w = gray.shape[:2]
    s = QR_SIDE / max(h, w)
    base = gray
    if s < 0.9:
        base = cv2.resize(gray, (max(1, int(w * s)), max(1, int(h * s))), interpolation=cv2.INTER_AREA)
    yield base
    if base is not gray and max(h, w) <= 4 * QR_SIDE:
        yield gray
    if not photo:
        return
    if max(h, w) < 1600:
        big = cv2.resize(gray, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_CUBIC)
        yield big
    else:
        big = gray if max(h, w) <= 4 * QR_SIDE else base
    yield cv2.adaptiveThreshold(big, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY, 51, 10)


def detect_qr(gray: np.ndarray, photo: bool = True) -> list[str]:
    """QR payloads on the page: zxing-cpp (reads angled, small and damaged codes in photos) on a
    reduced copy, then on the full page, an enlarged and a binarised one; OpenCV's detector when
    zxing-cpp is not installed. Never raises: a page too thin or too odd to hold a code simply has
    none."""
    h, w = gray.shape[:2]
    if min(h, w) < 21:  # the smallest QR code (version 1) is 21 modules square
        return []
    try:
        import zxingcpp  # noqa: F401
    except ImportError:
        return _detect_qr_cv(gray)
    for img in _qr_variants(gray, photo):
        found = _zxing(np.ascontiguousarray(img))
        if found:
            return list(dict.fromkeys(found))
    return []


def _detect_qr_cv(gray: np.ndarray) -> list[str]:
    """OpenCV's QR detector: a reduced copy first; full size only when something QR-like was
    located but not decoded."""
    h, w = gray.shape[:2]
    s = QR_SIDE / max(h, w)
    img = gray
    if s < 0.9:
        img = cv2.resize(gray, (max(1, int(w * s)), max(1, int(h * s))), interpolation=cv2.INTER_AREA)
    attempts = (img, gray) if img is not gray and min(img.shape) >= 21 else (gray,)
    if max(h, w) > 4 * QR_SIDE and len(attempts) > 1:
        attempts = attempts[:1]  # a huge page: the reduced copy only (memory and time)
    det = cv2.QRCodeDetector()
    for attempt in attempts:
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

PLAUSIBLE = 0.5  # TextScore.plausibility below which OCR text is not trusted as read
SURE_READ = 0.80  # a first read at least this confident and plausible is not read the other way


def _quality(conf: float, nwords: int, qr: list[str], plausibility: float = 1.0) -> str:
    if nwords < MIN_WORDS and not qr:
        return "review"
    if nwords >= MIN_WORDS and (conf < REVIEW_CONFIDENCE or plausibility < PLAUSIBLE):
        return "review"
    return "ok"


def _classify_page(res: PageResult) -> None:
    t, c = _classify_text(res.text)
    res.doc_type, res.type_confidence = t, c
    res.starts_document = _starts_document(res.text)


@lru_cache(maxsize=8)
def _file_sha256(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def file_sha256(path: str) -> str:
    st = os.stat(path)
    return _file_sha256(path, st.st_size, st.st_mtime_ns)


def read_page(path: str, index: int, *, lang: str = "vie", max_pixels: int = inputs.DEFAULT_MAX_PIXELS,
              work_pixels: int = inputs.DEFAULT_WORK_PIXELS, source_sha256: str | None = None) -> PageResult:
    """OCR page ``index`` of ``path`` (picklable; meant to run in a worker process).

    Raises :class:`OcrInputError` (with a :class:`Problem` code) when the page cannot be read,
    :class:`OcrPageError` for anything unexpected on this page (worth one retry of the page
    alone), and ``OSError`` only for the file itself (gone, no permission)."""
    os.environ["OMP_THREAD_LIMIT"] = "1"
    cv2.setNumThreads(1)
    try:
        res = _read_page(path, index, lang=lang, max_pixels=max_pixels, work_pixels=work_pixels)
        res.source_sha256 = source_sha256 or file_sha256(path)
        return res
    except OcrInputError as exc:
        if exc.page is None:
            exc.page = index
        raise
    except (FileNotFoundError, PermissionError, IsADirectoryError):
        raise
    except MemoryError as exc:
        raise OcrPageError(f"out of memory on page {index + 1}", page=index, code=Problem.TOO_LARGE) from exc
    except Exception as exc:  # noqa: BLE001 - one page's failure must stay that page's
        log.warning("page %d of %s failed: %s: %s", index + 1, os.path.basename(path), type(exc).__name__, exc)
        raise OcrPageError(f"{type(exc).__name__}: {exc}"[:1000], page=index) from exc


def _decode(path: str, index: int, max_pixels: int, work_pixels: int, want_text: bool = True) -> dict:
    try:
        return inputs.decode_page(path, index, max_pixels, work_pixels, want_text)
    except OcrInputError:
        raise
    except (FileNotFoundError, PermissionError):
        raise
    except (OSError, ValueError, SyntaxError, EOFError) as exc:  # undecodable content: permanent
        raise OcrInputError(f"cannot decode page {index + 1}: {type(exc).__name__}: {exc}",
                            code=Problem.IMAGE_CORRUPT, page=index) from exc


def _born_digital(path: str, index: int, d: dict, timings: dict, t0: float) -> PageResult | None:
    """The page's own text layer, if it reads as text (converted from a legacy Vietnamese font
    encoding when that is what it is); None when the page must be OCR'd instead."""
    raw = unicodedata.normalize("NFC", d["text"])
    raw = "\n".join(ln.rstrip() for ln in raw.replace("\f", "").splitlines()).strip("\n")
    reading = language.best_reading(raw, d.get("fonts") or ())
    sc = reading.score
    trusted = sc.words >= 3 and sc.odd < 0.05 and (sc.is_vietnamese or sc.wordlike >= 0.7)
    if trusted and language.mangled_vietnamese(reading.text) and not _layer_agrees(path, index, d, reading.text,
                                                                                     timings):
        log.info("page %d of %s: text layer is Vietnamese with its diacritics lost; OCR instead", index + 1,
                 os.path.basename(path))
        trusted = False
    if not trusted:
        log.info("page %d of %s: text layer does not read as text (%s); OCR instead", index + 1,
                 os.path.basename(path), sc)
        return None
    w_pt, h_pt = d["size_pt"]
    res = PageResult(index=index, text=reading.text, confidence=1.0 if reading.source == "plain" else 0.95,
                     born_digital=True, pdf=d["pdf"], width=int(round(w_pt / 72 * d["dpi"])),
                     height=int(round(h_pt / 72 * d["dpi"])), dpi=d["dpi"], timings=timings,
                     plausibility=sc.plausibility,
                     text_source="pdf" if reading.source == "plain" else f"pdf-{reading.source}")
    t = time.perf_counter()
    small = inputs.rasterize_pdf_page(path, index, dpi=min(150, inputs.raster_dpi(w_pt, h_pt, 4_000_000)))
    res.qr = detect_qr(small) if small is not None else []
    timings["qr"] = time.perf_counter() - t
    res.quality = "ok" if len(reading.text.split()) >= MIN_WORDS or res.qr else "review"
    _classify_page(res)
    timings["total"] = time.perf_counter() - t0
    return res


def _layer_agrees(path: str, index: int, d: dict, text: str, timings: dict) -> bool:
    """A text layer without Vietnamese marks is kept only when the page itself prints none: a
    quick OCR of the page (150 dpi) reads the same words and no more marks than the layer has."""
    t = time.perf_counter()
    try:
        w_pt, h_pt = d["size_pt"]
        img = inputs.rasterize_pdf_page(path, index, dpi=min(150, inputs.raster_dpi(w_pt, h_pt, 4_000_000)))
        if img is None:
            return False
        quick = engine.run_tesseract(img, dpi=150, want_pdf=False)["text"]
    except Exception:  # noqa: BLE001 - no check possible: the page is OCR'd
        return False
    finally:
        timings["layer_check"] = time.perf_counter() - t
    from rapidfuzz import fuzz
    from ocr.textutil import fold

    same = fuzz.ratio(" ".join(fold(text).split()), " ".join(fold(quick).split())) >= 75
    return same and language.marked_share(quick) <= language.marked_share(text) + 0.15


def _read(clean: np.ndarray, lang: str, dpi: int, want_pdf: bool = True) -> dict:
    tess = engine.run_tesseract(clean, lang=lang, dpi=dpi, want_pdf=want_pdf)
    tess["score"] = language.score_text(tess["text"])
    return tess


def _turned_reads(clean: np.ndarray, quarters: tuple[int, ...], lang: str, dpi: int) -> list[tuple[dict, np.ndarray, int]]:
    """The page read turned by each of ``quarters`` (degrees clockwise): (read, turned image,
    quarter) each, for the caller to weigh."""
    out = []
    for q in quarters:
        turned = preprocess.rot90k(clean, q)
        out.append((_read(turned, lang, dpi), turned, q))
    return out


def _merit(tess: dict) -> float:
    """How well a read went: confidence weighted by whether the words are words."""
    sc = tess["score"]
    if tess["nwords"] < 3:
        return 0.5 * tess["confidence"]
    return tess["confidence"] * (0.35 + 0.65 * sc.plausibility)


LOW_RES_XHEIGHT = 8.5  # px: print captured smaller than this is read (enlarged) but marked for review
BLURRED = 0.45  # edges spread over this share of the x-height: letters smeared, a person should check
GLARE = 0.08  # share of a photographed card blown out to white
PLAIN_BELOW = 0.85  # a cleaned read less confident than this is compared with a plain read


def _chars_score(tess: dict) -> float:
    """How much a read says: characters of the words read with some confidence, weighted by that
    confidence and by how much the whole reads as text (a read of the page's noise or of a
    mirrored page scores low however many tokens it has)."""
    n = sum(lines.words_score(ln["words"]) for ln in tess["lines"])
    return n * (0.35 + 0.65 * tess["score"].plausibility)


def _plain_read(orig: np.ndarray, info: dict, lang: str, dpi: int, budget: int | None = None) -> dict | None:
    """The page read as plain ``tesseract`` reads it (no clean-up, its own layout analysis), only
    enlarged when the print is small: the floor under the pipeline's own read."""
    if min(orig.shape[:2]) < 16:
        return None, orig
    scale = preprocess.ocr_scale(info, orig.shape, budget)
    img = orig
    if scale > 1.0:
        img = cv2.resize(orig, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
        dpi = int(round(dpi * scale))
    return _read(img, lang, dpi), img


# --------------------------------------------------------------------------- MRZ

_MRZ_HINT = re.compile(r"<{3,}|<<\w|\w<<|I[DO0]\s?VNM|VNM\s?<")
MRZ_SIDE = 2400  # px: the long side at which the zone's OCR-B print is read


def _line_read(upright: np.ndarray, lang: str) -> dict | None:
    """The page read line by line (ocr.lines), scored like the other reads; None without the
    detector or without lines."""
    lr = lines.read(upright, lang=lang)
    if lr is not None:
        lr["score"] = language.score_text(lr["text"])
    return lr


def _read_mrz(imgs: list[np.ndarray], text: str, line_img: np.ndarray | None = None) -> str:
    """The TD1 zone (three lines) when the page's text shows one and a read restricted to the
    zone's alphabet passes its check digits (of the page as read, or of its plain grey, or — for
    a photo, where the page's layout analysis merges or cuts the zone's lines — of the lines the
    detector found, each read on its own); else ''."""
    if len(_MRZ_HINT.findall(text)) < 2:
        return ""
    if line_img is not None:
        t = lines.read(line_img, lang="eng", config={"tessedit_char_whitelist": mrz.CHARSET,
                                                     "load_system_dawg": 0, "load_freq_dawg": 0})
        zone = mrz.find_td1(t["text"]) if t else None
        if zone is not None:
            return "\n".join(zone.lines)
    tries = [(imgs[0], 6)] + [(im, 6) for im in imgs[1:]] + [(imgs[0], 3)]
    for img, psm in tries:
        h, w = img.shape[:2]
        s = MRZ_SIDE / max(h, w)
        big = cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_CUBIC if s > 1 else cv2.INTER_AREA) \
            if abs(s - 1.0) > 0.1 else img
        t = engine.run_tesseract(big, lang="eng", psm=psm, want_pdf=False,
                                 config={"tessedit_char_whitelist": mrz.CHARSET, "load_system_dawg": 0,
                                         "load_freq_dawg": 0})
        zone = mrz.find_td1(t["text"])
        if zone is not None:
            return "\n".join(zone.lines)
    return ""


def _read_page(path: str, index: int, *, lang: str, max_pixels: int, work_pixels: int) -> PageResult:
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    d = _decode(path, index, max_pixels, work_pixels)
    timings["decode"] = time.perf_counter() - t0
    if d["text"] is not None:  # born-digital page: its own text, its own page, no OCR
        res = _born_digital(path, index, d, timings, t0)
        if res is not None:
            return res
        d = _decode(path, index, max_pixels, work_pixels, want_text=False)

    gray = d["image"]
    dpi = d["dpi"]
    card = None
    if d.get("photo"):
        t = time.perf_counter()
        card = preprocess.find_card(gray)
        timings["card"] = time.perf_counter() - t
    t = time.perf_counter()
    qr = detect_qr(gray, photo=bool(d.get("photo")))
    timings["qr"] = time.perf_counter() - t
    sides: list[np.ndarray] = []
    if not d.get("photo"):  # a card (or both its sides) photocopied on a sheet: each side cut out
        t = time.perf_counter()
        base = d["plain"] if d.get("plain") is not None else gray
        sides = [preprocess.crop_card(base, c) for c in preprocess.find_cards(gray)]
        timings["cards"] = time.perf_counter() - t

    t = time.perf_counter()
    orig = d.get("plain") if d.get("plain") is not None else gray
    orig_dpi, orig_scale = dpi, 1.0
    card_shaped = False
    if card is not None:  # a card photographed on a table: read the card, seen from the front
        # from the luminance: a card's coloured guilloche is dark in the red channel
        gray = preprocess.crop_card(d["plain"] if d.get("plain") is not None else gray, card)
        orig_scale = max(float(np.linalg.norm(card[1] - card[0])), float(np.linalg.norm(card[3] - card[0]))) \
            / max(gray.shape[:2])  # original px per cropped px
        # a card cut out (ID-1 proportions, CARD_WIDTH) is about 415 dpi; a page cut out is as
        # fine as an A4 sheet of its long side
        card_shaped = abs(max(gray.shape[:2]) / max(1, min(gray.shape[:2])) - preprocess.CARD_RATIO) < 0.02
        dpi = 415 if card_shaped else max(72, int(round(max(gray.shape[:2]) / 11.69)))
        if d.get("plain") is not None:
            d["plain"] = None  # the plain read below stays on the whole picture
    clean, info = preprocess.prepare(gray)
    flags = []
    if float(info.get("xheight") or 0.0) > 0 and preprocess.edge_width(gray) > BLURRED * float(info["xheight"]):
        flags.append("blur")
    if card_shaped and preprocess.blown_out(gray) > GLARE:  # (a page's paper is white: not glare)
        flags.append("glare")
    # kept for the line finder (photos and weak reads): the page as decoded, not binarised
    line_src = gray if lines.available() else None
    # what plain Tesseract would read: the original as decoded (its luminance when the red channel
    # was taken for the clean-up), kept for the pages whose cleaned read turns out weak
    photo = bool(d.get("photo"))
    del gray, d
    full_h, full_w, full_dpi = clean.shape[0], clean.shape[1], dpi
    scale = preprocess.ocr_scale(info, clean.shape, work_pixels)
    if scale != 1.0:
        clean = cv2.resize(clean, (max(1, int(round(clean.shape[1] * scale))), max(1, int(round(clean.shape[0] * scale)))),
                           interpolation=cv2.INTER_AREA if scale < 1.0 else cv2.INTER_CUBIC)
        dpi = int(round(dpi * scale))
    timings["preprocess"] = time.perf_counter() - t
    rotation = info["rotation"]
    has_text = info.get("ink", 0) > 0.002 and info.get("lines", 0) >= 1
    osd_done = False
    if not info.get("sure") and has_text:
        t = time.perf_counter()
        osd = engine.osd_rotation(clean, dpi)
        osd_done = True
        timings["osd"] = time.perf_counter() - t
        if osd and osd[0] and osd[1] >= 2.0:
            rotation = (rotation + osd[0]) % 360
            clean = preprocess.rot90k(clean, osd[0])
            if osd[0] in (90, 270):
                full_h, full_w = full_w, full_h

    t = time.perf_counter()
    tess = _read(clean, lang, dpi)
    timings["ocr"] = time.perf_counter() - t
    if tess["nwords"] < 3 and info.get("ink", 0) > 0.002:
        # ink but no words: the page may stand another way than the projections said (a sparse
        # page photographed sideways and tilted); each other way is read, the one that reads kept
        t = time.perf_counter()
        read, turned, q = max(_turned_reads(clean, (90, 180, 270), lang, dpi), key=lambda c: _merit(c[0]))
        if read["nwords"] >= 3 and _merit(read) > _merit(tess) + 0.05:
            tess, clean, rotation = read, turned, (rotation + q) % 360
            if q in (90, 270):
                full_h, full_w = full_w, full_h
        timings["ocr_turns"] = time.perf_counter() - t
    conf, plaus = tess["confidence"], tess["score"].plausibility
    doubtful = tess["nwords"] >= 3 and (plaus < PLAUSIBLE or conf < LOW_CONFIDENCE_FLIP or (
        conf < SURE_READ and abs(info.get("updown", 0.5) - 0.5) < 0.25))
    if doubtful and has_text:
        # the fast test and the result disagree (or the read is weak): let Tesseract's own
        # evidence decide — read the page the other way up, and ask OSD if it was not asked yet
        t = time.perf_counter()
        cands = [(tess, clean, rotation, False)]
        flipped = np.ascontiguousarray(clean[::-1, ::-1])
        cands.append((_read(flipped, lang, dpi), flipped, (rotation + 180) % 360, False))
        if not osd_done:
            osd = engine.osd_rotation(clean, dpi)
            if osd and osd[0] in (90, 270) and osd[1] >= 2.0:
                turned = preprocess.rot90k(clean, osd[0])
                cands.append((_read(turned, lang, dpi), turned, (rotation + osd[0]) % 360, True))
        best = max(cands, key=lambda c: _merit(c[0]))
        if best[0] is not tess and _merit(best[0]) > _merit(tess) + 0.05:
            tess, clean, rotation, sideways = best
            if sideways:
                full_h, full_w = full_w, full_h
        timings["ocr_flip"] = time.perf_counter() - t
    pdf_turn = 0  # quarter turn the page read's PDF page still needs to stand upright
    if _words_stand(tess["lines"]):
        # Tesseract read the page by turning its lines itself: the page is sideways (its words
        # stand taller than wide); the quarter turn that lays them down is the page's
        t = time.perf_counter()
        turns = [c for c in _turned_reads(clean, (90, 270), lang, dpi) if not _words_stand(c[0]["lines"])]
        if turns:
            read, turned, q = max(turns, key=lambda c: _merit(c[0]))
            if _merit(read) >= _merit(tess) - 0.05:
                tess, clean = read, turned
            else:  # the sideways read says more: its text is kept, its PDF page turned upright
                pdf_turn = q
            rotation = (rotation + q) % 360
            full_h, full_w = full_w, full_h
        timings["ocr_turn"] = time.perf_counter() - t
    t = time.perf_counter()
    if engine.reread_weak_lines(clean, tess["lines"], lang=lang, dpi=dpi):
        tess["text"] = engine.lines_text(tess["lines"])
        tess["confidence"], tess["nwords"] = engine.lines_confidence(tess["lines"])
        tess["score"] = language.score_text(tess["text"])
    timings["reread"] = time.perf_counter() - t
    weak = photo or tess["confidence"] < PLAIN_BELOW or tess["score"].plausibility < PLAUSIBLE
    upright = rotation  # the cleaned reads' evidence on which way is up
    text_source = "ocr"
    reads = [tess]  # every read of the page: the ones that lose still lend fields (assemble)
    if weak:
        t = time.perf_counter()
        alt, alt_img = _plain_read(orig, {**info, "xheight": float(info.get("xheight") or 0.0) * orig_scale},
                                   lang, orig_dpi, work_pixels)
        if alt is not None:
            reads.append(alt)
        if alt is not None and _chars_score(alt) > 1.05 * _chars_score(tess):
            tess, rotation, clean, pdf_turn = alt, 0, alt_img, 0
            full_h, full_w = orig.shape[:2]
            info = {**info, "skew": 0.0}
        timings["plain"] = time.perf_counter() - t
    upright_src = None  # the page as decoded, turned the way the cleaned reads found up
    if weak and line_src is not None:
        upright_src = preprocess.rot90k(line_src, upright)
    del line_src
    if upright_src is not None:
        # the text lines found by the detector, each read on its own: where Tesseract's own
        # layout analysis loses lines (cards, photos, tables, stamps), this read keeps them
        t = time.perf_counter()
        lr = _line_read(upright_src, lang)
        if lr is not None:
            reads.append(lr)
            if _chars_score(lr) > 1.05 * _chars_score(tess):
                tess = {**lr, "pdf": tess["pdf"]}  # the page's searchable PDF stays the page read's
                text_source = "ocr-lines"
        timings["lines"] = time.perf_counter() - t
    if tones.available():
        # tone marks the recognizer dropped or swapped, on the words it was unsure of, put back
        # where the word list tells which (a word read surely keeps its tone); the page's text
        # changes, its searchable PDF keeps the recognizer's own layer
        t = time.perf_counter()
        if tones.repair_lines(tess["lines"], WORD_SURE):
            tess["text"] = engine.lines_text(tess["lines"])
        timings["tones"] = time.perf_counter() - t
    t = time.perf_counter()
    # a photo's MRZ is looked for in the detector's lines too (photo implies weak)
    zone = _read_mrz([clean] + ([orig] if orig.shape != clean.shape or photo else []), tess["text"],
                     upright_src if photo else None)
    del upright_src
    timings["mrz"] = time.perf_counter() - t
    del orig
    h, w, dpi = full_h, full_w, full_dpi  # the page as scanned (upright); the OCR copy may be smaller
    # the national header read with a slip is put back as every paper prints it (ocr.phrases)
    res = PageResult(index=index, text=phrases.snap(tess["text"]), confidence=tess["confidence"],
                     rotation=rotation, skew=round(float(info["skew"]), 3), qr=qr,
                     pdf=_turn_pdf(tess["pdf"], pdf_turn) if pdf_turn else tess["pdf"], width=w, height=h,
                     dpi=dpi, timings=timings, plausibility=tess["score"].plausibility, mrz=zone,
                     text_source=text_source,
                     alt_texts=[phrases.snap(r["text"]) for r in reads
                                if r["text"] != tess["text"] and r["text"].strip()])
    res.weak_words = _weak_words(tess["lines"])
    res.quality = _quality(res.confidence, tess["nwords"], qr, res.plausibility)
    xh_seen = float(info.get("xheight") or 0.0) * orig_scale  # the print's size as captured
    if 0 < xh_seen < LOW_RES_XHEIGHT:
        flags.append("small-print")  # letters a few pixels high: read, but a person should check
    if handwritten_lines(reads[0]["lines"]) >= HANDWRITTEN_LINES:
        flags.append("handwriting")  # lines of ink the recognizer cannot read as print
    res.flags = flags
    if flags:
        res.quality = "review"
    if sides:
        t = time.perf_counter()
        _read_sides(res, sides, tess, lang, work_pixels)
        timings["sides"] = time.perf_counter() - t
    _classify_page(res)
    timings["total"] = time.perf_counter() - t0
    return res


HANDWRITTEN_LINES = 3  # lines holding handwriting before a page is said to be filled in by hand
_HAND_CONF = 0.5  # a word read below this…
_PRINT_CONF = 0.8  # …among print read at least this surely


def handwritten_lines(lines_: list[dict]) -> int:
    """How many of a page read's lines hold handwriting: a run of two or more words the recognizer
    read below ``_HAND_CONF`` that are no Vietnamese syllables, letters as tall as the page's
    print at least (Tesseract reads a cursive hand as "MWWm", "xwwWwm" at 0-45 %, where print
    beside it reads at 90 % and more). Specks (short or small) and a print's own slips (a
    syllable, a word read half surely) do not count; a page with too little print read surely
    to compare with (a card, a photo read badly) gives 0: its other flags speak for it."""
    heights = sorted(w["height"] for ln in lines_ for w in ln["words"]
                     if w["conf"] >= _PRINT_CONF and sum(c.isalpha() for c in w["text"]) >= 2)
    if len(heights) < 10:
        return 0
    tall = 0.8 * heights[len(heights) // 2]
    n = 0
    for ln in lines_:
        run = best = 0
        for w in ln["words"]:
            t = w["text"].strip(".,:;!?'\"“”‘’()[]-–—")
            junk = (0 <= w["conf"] < _HAND_CONF and len(t) >= 2 and t.isalpha() and w["height"] >= tall
                    and not language.is_syllable(t))
            run = run + 1 if junk else 0
            best = max(best, run)
        n += best >= 2
    return n


def _turn_pdf(pdf: bytes, degrees: int) -> bytes:
    """The one-page PDF shown turned clockwise by ``degrees`` (its /Rotate): image and text layer
    turn together."""
    import pikepdf

    if not pdf:
        return pdf
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        for page in doc.pages:
            page.rotate(degrees, relative=True)
        out = io.BytesIO()
        doc.save(out)
    return out.getvalue()


def _words_stand(lines_: list[dict]) -> bool:
    """Most words of three characters or more stand taller than wide: the page was read sideways
    (Tesseract turns vertical lines itself, so the text may even be right while the page image is
    not; read the wrong way round, it is noise in tall boxes)."""
    ws = [w for ln in lines_ for w in ln["words"] if len(w["text"]) >= 3]
    return len(ws) >= 3 and sum(w["height"] > 1.5 * w["width"] for w in ws) >= 0.6 * len(ws)


WORD_SURE = 0.9  # a word read at least this confidently does not lower a field made of it


def _weak_words(lines_: list[dict]) -> list[tuple[str, float]]:
    return [(unicodedata.normalize("NFC", w["text"]), round(float(w["conf"]), 3))
            for ln in lines_ for w in ln["words"]
            if 0 <= w["conf"] < WORD_SURE and any(c.isalnum() for c in w["text"])]


def _words_confidence(value: str, weak: list[tuple[str, float]]) -> float | None:
    """The lowest confidence among the unsure words that make up ``value``, or None when none of
    them does. A word makes up a value when its digits are the value's (or six or more of them,
    a number printed in groups), or when it is one of the value's words printed in capitals (a
    name as cards and certificates print it; a "Nam" elsewhere on the page is not the name's)."""
    vd = re.sub(r"\D", "", value)
    vw = {w.lower() for w in re.findall(r"[^\W\d_]{2,}", value)}
    low = None
    for text, conf in weak:
        td = re.sub(r"\D", "", text)
        tw = text.strip(".,:;|'\"“”()")
        digits = len(vd) >= 4 and (td == vd or (len(td) >= 6 and td in vd))
        word = len(tw) >= 2 and tw.isupper() and tw.isalpha() and tw.lower() in vw
        if digits or word:
            low = conf if low is None else min(low, conf)
    return low


def _read_side(crop: np.ndarray, lang: str, work_pixels: int) -> tuple[dict, str]:
    """One side of a card cut out of a sheet: cleaned and read, line by line too when the
    detector is installed (the better of the two), and its MRZ."""
    clean, info = preprocess.prepare(crop)
    dpi = 415  # crop_card: a card at CARD_WIDTH px
    scale = preprocess.ocr_scale(info, clean.shape, work_pixels)
    if scale != 1.0:
        clean = cv2.resize(clean, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
        dpi = int(round(dpi * scale))
    tess = _read(clean, lang, dpi, want_pdf=False)  # the sheet's PDF is the page's
    if lines.available():
        lr = _line_read(preprocess.rot90k(crop, info["rotation"]), lang)
        if lr is not None and _chars_score(lr) > 1.05 * _chars_score(tess):
            tess = lr
    return tess, _read_mrz([clean], tess["text"])


def _read_sides(res: PageResult, sides: list[np.ndarray], whole: dict, lang: str, work_pixels: int) -> None:
    """A card on a sheet, or both its sides, each read on its own: the page's text becomes the
    card's (the front's then the back's) unless the sheet read whole says clearly more (the
    page's PDF stays the whole sheet)."""
    reads = [_read_side(c, lang, work_pixels) for c in sides]
    words = [w for t, _ in reads for ln in t["lines"] for w in ln["words"]]
    if not words:
        return
    text = "\n\n".join(t["text"] for t, _ in reads)
    joined = {"lines": [ln for t, _ in reads for ln in t["lines"]], "score": language.score_text(text)}
    # the sheet holds nothing but the cards (find_cards checks): their own reads are preferred
    # unless the sheet read whole clearly says more
    better = _chars_score(joined) >= 0.95 * _chars_score(whole)
    if not better and res.mrz:
        return
    if better:
        confs = [w["conf"] for w in words if w["conf"] >= 0]
        res.alt_texts = [res.text] + res.alt_texts  # the sheet read whole may still lend a field
        res.text = phrases.snap(text)
        res.weak_words = _weak_words(joined["lines"])
        res.confidence = float(np.mean(confs)) if confs else 0.0
        res.plausibility = joined["score"].plausibility
        res.text_source = "ocr-cards"
        res.quality = _quality(res.confidence, len(confs), res.qr, res.plausibility) \
            if res.quality == "ok" else res.quality
    if not res.mrz:
        res.mrz = next((z for _, z in reads if z), "")


def read_pages(path: str, executor: Executor | None = None, **kw) -> list[PageResult]:
    """All pages of ``path`` in order; one task per page on ``executor`` (serial when None)."""
    n = inputs.count_pages(path, max_pixels=kw.get("max_pixels", inputs.DEFAULT_MAX_PIXELS))
    kw.setdefault("source_sha256", file_sha256(path))
    if executor is None:
        return [read_page(path, i, **kw) for i in range(n)]
    futures = [executor.submit(read_page, path, i, **kw) for i in range(n)]
    return [f.result() for f in futures]


# --------------------------------------------------------------------------- document

def normalize_pdf(pdf) -> bytes:
    """Save a PDF so that the same pages give the same bytes: no creation/modification time in
    the document information, no XMP packet, a file identifier derived from the content."""
    info = pdf.trailer.get("/Info")
    if info is not None:
        for key in ("/CreationDate", "/ModDate"):
            if key in info:
                del info[key]
    if "/Metadata" in pdf.Root:
        del pdf.Root["/Metadata"]
    buf = io.BytesIO()
    pdf.save(buf, deterministic_id=True, static_id=False)
    return buf.getvalue()


def merge_pdfs(pdfs: list[bytes]) -> bytes:
    """Concatenate one-page (or any) PDFs in order; deterministic bytes (:func:`normalize_pdf`)."""
    import pikepdf

    parts = [p for p in pdfs if p]
    if not parts:
        return b""
    if len(parts) == 1:
        with pikepdf.open(io.BytesIO(parts[0])) as one:
            return normalize_pdf(one)
    out = pikepdf.new()
    srcs = []
    for p in parts:
        src = pikepdf.open(io.BytesIO(p))
        srcs.append(src)
        out.pages.extend(src.pages)
    data = normalize_pdf(out)
    for s in srcs:
        s.close()
    return data


def content_key(pages: list[PageResult]) -> str:
    """The identity of a document by its input: sha256 over each source file's sha256 and the
    page ranges taken from it, in order. Two different inputs never share it; the same input
    always gets it, whatever the OCR output's bytes."""
    runs: list[list] = []
    for p in pages:
        if runs and runs[-1][0] == p.source_sha256 and runs[-1][2] == p.index - 1:
            runs[-1][2] = p.index
        else:
            runs.append([p.source_sha256, p.index, p.index])
    return hashlib.sha256("\n".join(f"{sha}:{a + 1}-{b + 1}" for sha, a, b in runs).encode()).hexdigest()


def _in_order(pages: list[PageResult]) -> list[PageResult]:
    """Pages in their sources' order (as given), each source's pages by index."""
    first: dict[str, int] = {}
    for i, p in enumerate(pages):
        first.setdefault(p.source_sha256, i)
    return sorted(pages, key=lambda p: (first[p.source_sha256], p.index))


def assemble(path: str, pages: list[PageResult]) -> DocumentResult:
    """Classify and extract over all pages' text; merge the page PDFs."""
    pages = _in_order(pages)
    text = "\n\n".join(p.text for p in pages if p.text)
    doc_type, conf = _classify_text(text)
    # a multi-page document: the first titled page names the document
    titled = [p for p in pages if p.starts_document and p.doc_type not in ("khac",)]
    if titled and titled[0].doc_type != doc_type and titled[0].type_confidence >= conf:
        doc_type, conf = titled[0].doc_type, titled[0].type_confidence
    if doc_type == "khac" and any(p.alt_texts for p in pages):
        # the chosen reads say too little to tell: all the reads of the pages together may (a
        # heading one read lost and another kept), at a confidence that asks for review
        t, c = _classify_text("\n\n".join([text] + [a for p in pages for a in p.alt_texts]))
        if t != "khac":
            doc_type, conf = t, min(c, UNION_TYPE_CONFIDENCE)
    flds = _with_alternates(doc_type, fields.extract_fields(doc_type, text), pages)
    ocr_conf = [p.confidence for p in pages if not p.born_digital]
    quality = "review" if any(p.quality == "review" for p in pages) else "ok"
    if conf < 0.5:
        quality = "review"
    if any(f.flags for f in flds.values()):
        quality = "review"
    if ocr_conf:
        cap = 0.5 + 0.5 * float(np.mean(ocr_conf))
        if any(p.flags for p in pages):  # blurred, glared or tiny print: its values are guesses
            cap = min(cap, HARD_PAGE_CAP)
        conf = min(conf, cap) if doc_type != "khac" else conf
        # a value read off a page the recognizer was unsure of is no surer than the page, nor
        # than the words it is made of
        weak = [w for p in pages for w in p.weak_words]

        def sure(f):
            low = _words_confidence(f.value, weak) if weak and not f.source else None
            return min(cap, 0.5 + 0.5 * low) if low is not None else cap

        flds = {k: (replace(f, confidence=min(f.confidence, sure(f))) if f.confidence > sure(f) else f)
                for k, f in flds.items()}
    if any(f.confidence < FIELD_REVIEW_BELOW for f in flds.values()):
        quality = "review"  # a value read from its place alone, through slips, or from doubted words
    return apply_cccd_qr(DocumentResult(path=path, pages=pages, doc_type=doc_type, confidence=float(conf),
                                        fields=flds, text=text, quality=quality,
                                        pdf=merge_pdfs([p.pdf for p in pages]), content_key=content_key(pages)))


UNION_TYPE_CONFIDENCE = 0.45  # a type only the page's reads together tell: a person checks it
ALTERNATE_CONFIDENCE = 0.6  # a value only a losing read of the page gave: a person checks it
HARD_PAGE_CAP = 0.7  # no value read off a page marked hard to read (PageResult.flags) is surer


def _with_alternates(doc_type: str, flds: dict, pages: list[PageResult]) -> dict:
    """Fields the chosen reads did not give, taken from the other reads of the same pages (the
    plain read, the line-by-line read) when a value there passes its own checks: at a confidence
    that sends the document for review, flagged ``alternate_read``. A value the chosen text gave
    is never replaced."""
    out = dict(flds)
    texts = [p.text for p in pages]
    for i, p in enumerate(pages):
        for alt in p.alt_texts:
            other = fields.extract_fields(doc_type, "\n\n".join(texts[:i] + [alt] + texts[i + 1:]), known=flds)
            for k, f in other.items():
                if k in out or f.flags:
                    continue
                out[k] = replace(f, confidence=min(f.confidence, ALTERNATE_CONFIDENCE),
                                 flags=("alternate_read",))
    return out


def ocr_file(path: str, executor: Executor | None = None, **kw) -> DocumentResult:
    """count_pages + read_pages + assemble."""
    pages = read_pages(path, executor, **kw)
    return assemble(path, pages)


__all__ = ["read_page", "read_pages", "assemble", "merge_pdfs", "normalize_pdf", "content_key", "file_sha256",
           "ocr_file", "detect_qr", "OcrInputError", "OcrPageError"]
