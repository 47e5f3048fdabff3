"""Text lines found before they are read, for the pages where Tesseract's own layout analysis
fails (photos of cards, pages held by hand, tables, stamps over text).

The finder is the PP-OCRv4 DB text detector (PaddlePaddle, Apache-2.0) whose ONNX model ships
inside the ``rapidocr-onnxruntime`` wheel; it runs on ``onnxruntime`` (MIT) on the CPU, nothing is
downloaded at run time. Each line it finds is cut out along its own (possibly slanted) box,
brought to the height at which Tesseract reads best, and every line of the page is then read by
Tesseract's line recognizer (``--psm 7``) in a single process. The result has the same shape as
:func:`ocr.engine.run_tesseract`'s, so the pipeline can weigh it against its other reads.

The package is installed without its own dependencies (``scripts/install.sh``): only the model
file is used, located without importing the package. Without it, :func:`available` is False and
the pipeline keeps its other reads.
"""
from __future__ import annotations

import functools
import logging
import re

import cv2
import numpy as np
from rapidfuzz.distance import Levenshtein

from vocab.text import fold_keep

from . import engine
from .packages import package_file
from .textutil import DIGIT_LOOKALIKES, repair_digits

log = logging.getLogger("sohoa.ocr")

MODEL = "models/ch_PP-OCRv4_det_infer.onnx"
DETECT_SIDE = 960  # px: the long side the detector sees (its own default range is 736-2000)
LINE_HEIGHT = 52  # px: a line box's height when read (cap height ~30 px, x-height ~20-24 px)
MAX_LINES = 120
ROW_OVERLAP = 0.55  # of the lower box's height: two boxes sharing this much are one row
NEAR_GAP = 4.0  # heights: boxes further apart across (another column) must have their centres level too


@functools.lru_cache(maxsize=1)
def _session():
    try:
        import onnxruntime as ort

        model = package_file("rapidocr_onnxruntime", MODEL)  # located, not imported: only its model is used
        if model is None:
            return None
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1  # one core per page worker, as Tesseract
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        return ort.InferenceSession(str(model), sess_options=opts, providers=["CPUExecutionProvider"])
    except Exception:  # noqa: BLE001 - not installed or unusable: the pipeline does without
        return None


def available() -> bool:
    return _session() is not None


def _prob_map(gray: np.ndarray) -> tuple[np.ndarray, float]:
    """The detector's text probability map of ``gray`` (at most DETECT_SIDE on the long side,
    multiples of 32) and the scale from the map back to ``gray``."""
    h, w = gray.shape[:2]
    s = min(1.0, DETECT_SIDE / max(h, w))
    nh, nw = max(32, int(round(h * s / 32)) * 32), max(32, int(round(w * s / 32)) * 32)
    img = cv2.resize(gray, (nw, nh), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    rgb = cv2.cvtColor(img, cv2.COLOR_GRAY2RGB).astype(np.float32)
    x = ((rgb / 255.0 - 0.5) / 0.5).transpose(2, 0, 1)[None]
    sess = _session()
    out = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    return out[0, 0], (w / nw, h / nh)


def detect(gray: np.ndarray, *, thresh: float = 0.3, box_thresh: float = 0.55,
           unclip: float = 1.7) -> list[np.ndarray]:
    """Text-line boxes of ``gray`` as 4x2 float corner arrays (tl, tr, br, bl) in its pixels."""
    if _session() is None or min(gray.shape[:2]) < 32:
        return []
    prob, (sx, sy) = _prob_map(gray)
    mask = (prob > thresh).astype(np.uint8)
    mask = cv2.dilate(mask, np.ones((2, 2), np.uint8))
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    boxes = []
    for c in contours[:2000]:
        if len(c) < 4:
            continue
        (cx, cy), (bw, bh), ang = cv2.minAreaRect(c)
        if min(bw, bh) < 3:
            continue
        x, y, bw_, bh_ = cv2.boundingRect(c)
        m = np.zeros((bh_, bw_), np.uint8)
        cv2.drawContours(m, [c - [x, y]], -1, 1, -1)
        score = float(prob[y:y + bh_, x:x + bw_][m.astype(bool)].mean())
        if score < box_thresh:
            continue
        # DB's unclip: grow the shrunk kernel by area * ratio / perimeter on every side
        area, peri = bw * bh, 2 * (bw + bh)
        d = area * unclip / max(peri, 1e-6)
        rect = ((cx, cy), (bw + 2 * d, bh + 2 * d), ang)
        pts = cv2.boxPoints(rect)
        pts[:, 0] *= sx
        pts[:, 1] *= sy
        boxes.append(_order(pts))
    return boxes


def _order(pts: np.ndarray) -> np.ndarray:
    """Corners as tl, tr, br, bl (left pair and right pair by x, each by y)."""
    pts = pts[np.argsort(pts[:, 0])]
    left, right = pts[:2], pts[2:]
    tl, bl = left[np.argsort(left[:, 1])]
    tr, br = right[np.argsort(right[:, 1])]
    return np.array([tl, tr, br, bl], dtype=np.float32)


def _rows(boxes: list[np.ndarray]) -> list[list[np.ndarray]]:
    """Boxes grouped into rows (by how much of their height they share), rows top to bottom, boxes
    left to right: a label and its value found as two boxes are read as one line."""
    items = sorted(boxes, key=lambda b: float(b[:, 1].mean()))
    rows: list[list[np.ndarray]] = []
    for b in items:
        best, share = None, ROW_OVERLAP
        for row in rows:
            # a box is compared with the row's box nearest it across (the small English line
            # under a label does not join the label's row through the value further on; a
            # slanted line's boxes chain): centres level, one row whatever their sizes; else the
            # share of the lower box's height they have in common (a small label and the large
            # value beside it, their boxes offset, still overlap most of the label's height),
            # only when they stand near (another column must have its centres level)
            near = min(row, key=lambda r: _gap_across(b, r))
            gap = _gap_across(b, near)
            if _centred(b, near):
                s = 1.0
            elif gap > NEAR_GAP * min(_height(b), _height(near)):
                continue
            else:
                s = _shared(b, near)
            if s >= share:
                best, share = row, s
        if best is not None:
            best.append(b)
        else:
            rows.append([b])
    return [sorted(r, key=lambda b: float(b[:, 0].min())) for r in rows]


def _band(box: np.ndarray) -> tuple[float, float]:
    """The box's top and bottom about its centre, by its own height (a slanted line's corners
    reach above and below its neighbours')."""
    cy, h = float(box[:, 1].mean()), _height(box)
    return cy - h / 2, cy + h / 2


def _height(box: np.ndarray) -> float:
    return float(np.linalg.norm(box[3] - box[0]))


def _centred(a: np.ndarray, b: np.ndarray) -> bool:
    """Two boxes' centres at the same height (within 0.45 of the lower one's height)."""
    return abs(float(a[:, 1].mean()) - float(b[:, 1].mean())) < 0.45 * min(_height(a), _height(b))


def _gap_across(a: np.ndarray, b: np.ndarray) -> float:
    """The horizontal gap between two boxes (0 when they stand one above the other)."""
    return max(0.0, float(max(a[:, 0].min(), b[:, 0].min()) - min(a[:, 0].max(), b[:, 0].max())))


def _shared(a: np.ndarray, b: np.ndarray) -> float:
    """The share of the lower box's height that two boxes have in common; 0 when one is more than
    twice as high as the other and their centres are not level (a box over two lines belongs to
    neither's row)."""
    (at, ab), (bt, bb) = _band(a), _band(b)
    lo, hi = sorted((ab - at, bb - bt))
    if hi > 2 * lo:
        return 0.0
    return max(0.0, min(ab, bb) - max(at, bt)) / max(1.0, lo)


def _cut(gray: np.ndarray, box: np.ndarray) -> np.ndarray | None:
    """The box's content, straightened and scaled to LINE_HEIGHT."""
    w = float(np.linalg.norm(box[1] - box[0]))
    h = float(np.linalg.norm(box[3] - box[0]))
    if h < 6 or w < 6:
        return None
    if h > w * 1.5:  # a vertical box: not a line of text in reading direction
        return None
    s = LINE_HEIGHT / h
    ow, oh = max(8, int(round(w * s))), LINE_HEIGHT
    dst = np.array([[0, 0], [ow - 1, 0], [ow - 1, oh - 1], [0, oh - 1]], dtype=np.float32)
    m = cv2.getPerspectiveTransform(box.astype(np.float32), dst)
    return cv2.warpPerspective(gray, m, (ow, oh), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)


def flatten(cut: np.ndarray) -> np.ndarray:
    """A line's background evened out: divided by its own closing (strokes removed, the paper's
    shade, a card's guilloche, a shadow across the line kept) and stretched, so that the
    binarisation inside Tesseract sees dark letters on an even white."""
    k = max(15, (cut.shape[0] // 2) | 1)  # wider than any stroke of a LINE_HEIGHT line
    bg = cv2.morphologyEx(cut, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    even = cv2.divide(cut, bg, scale=255)
    if int(even.max()) - int(even.min()) < FLAT_RANGE:  # nothing on it: not stretched into noise
        return even
    return cv2.normalize(even, None, 0, 255, cv2.NORM_MINMAX)


FLAT_RANGE = 24  # grey levels: a cut evened out to less than this holds no print worth stretching


def _row_image(gray: np.ndarray, row: list[np.ndarray]) -> np.ndarray | None:
    cuts = [flatten(c) for c in (_cut(gray, b) for b in row) if c is not None]
    if not cuts:
        return None
    gap = np.full((LINE_HEIGHT, LINE_HEIGHT // 2), 255, np.uint8)
    parts = []
    for c in cuts:
        if parts:
            parts.append(gap)
        parts.append(c)
    img = np.hstack(parts)
    return cv2.copyMakeBorder(img, 12, 12, 16, 16, cv2.BORDER_CONSTANT, value=255)


THRESHOLDINGS = (1, 2)  # Tesseract's thresholding_method: LeptonicaOtsu (tiled), Sauvola


def words_score(words: list[dict]) -> float:
    """Characters read with some confidence, weighted by it: how much a line says (the pipeline
    weighs its whole reads by the same sum)."""
    return sum(w["conf"] * len(w["text"]) for w in words
               if w["conf"] >= 0.5 and any(c.isalnum() for c in w["text"]))


def _read_lines(images: list[np.ndarray], lang: str, timeout: float, config: dict) -> dict | None:
    """One pass over the lines; a pass that fails (a timeout, a crash) is None, the other kept."""
    try:
        return engine.read_line_images(images, lang=lang, dpi=300, timeout=timeout, config=config)
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - one binarisation failing leaves the other's read
        log.warning("line read (thresholding %s) skipped: %s: %s", config.get("thresholding_method"),
                    type(exc).__name__, exc)
        return None


def read(gray: np.ndarray, *, lang: str = "vie", timeout: float = 300, config: dict | None = None) -> dict | None:
    """See :func:`_read`; an extra read never fails its page: any error is logged and gives None."""
    try:
        return _read(gray, lang=lang, timeout=timeout, config=config)
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - the detector, OpenCV or Tesseract on one odd page
        log.warning("line-by-line read skipped: %s: %s", type(exc).__name__, exc)
        return None


def _read(gray: np.ndarray, *, lang: str, timeout: float, config: dict | None) -> dict | None:
    """The page read line by line (see the module's docstring): {'text', 'confidence', 'nwords',
    'lines', 'pdf': b'', 'boxes'} or None when no detector is installed or no line is found.
    ``config``: extra Tesseract variables (e.g. the MRZ's alphabet)."""
    boxes = detect(gray)
    if not boxes:
        return None
    images = [img for img in (_row_image(gray, row) for row in _rows(boxes)[:MAX_LINES]) if img is not None]
    if not images:
        return None
    # read twice, binarised by Tesseract two ways (tiled Otsu, Sauvola): each line keeps the read
    # that says more, by the recognizer's own word confidences (a line a shadow or a guilloche
    # defeats one way is often read the other)
    reads = [r for r in (_read_lines(images, lang, timeout, {"tessedit_do_invert": 0, "thresholding_method": m,
                                                             **(config or {})}) for m in THRESHOLDINGS)
             if r is not None]
    if not reads:
        return None
    by_page = {k: max((r.get(k, []) for r in reads), key=words_score)
               for k in sorted({k for r in reads for k in r})}
    _reread_numbers(images, by_page, timeout)
    lines = [{"key": (k, 0, 0, 0), "words": by_page[k]} for k in sorted(by_page)]
    conf, n = engine.lines_confidence(lines)
    return {"text": engine.lines_text(lines), "confidence": conf, "nwords": n, "lines": lines, "pdf": b"",
            "boxes": len(boxes)}


# a number's label at a line's start (the ID card's "Số", "Số / No.", "Số định danh cá nhân",
# "CCCD số", a certificate's "Số:") and the digit-like run after it
_NUMBER_LABEL = re.compile(r"^\W{0,3}(?:[5$s]?s[o0]?\W{0,2}(?:/\W*no\W*)?(?:d[il]nh\s*danh(?:\s*ca\s*nhan)?\W*)?"
                           r"|no\W+|(?:cccd|cmnd)\W*(?:so\W*)?)")  # on the folded line
_DIGITLIKE_CHARS = set("0123456789") | set(DIGIT_LOOKALIKES)
NUMBER_LENGTHS = (9, 12)  # the old card's number, the personal ID number
DIGITS_ONLY = {"tessedit_char_whitelist": "0123456789", "load_system_dawg": 0, "load_freq_dawg": 0}


def _number_words(words: list[dict]) -> tuple[list[dict], int] | None:
    """The words after a number label that make a digit-like run, and how many of the first
    word's characters are still the label's (a label glued to its number: "Số:0123…"), when the
    run is not already a number of a known length (look-alike letters read as digits); else
    None."""
    if not words:
        return None
    text = " ".join(w["text"] for w in words)
    folded = fold_keep(text)
    m = _NUMBER_LABEL.match(folded) if len(folded) == len(text) else None  # positions kept
    if not m:
        return None
    start = 0
    for i, w in enumerate(words):
        if start + len(w["text"]) > m.end():
            break
        start += len(w["text"]) + 1
    else:
        return None
    run, skip = words[i:], max(0, m.end() - start)
    chars = "".join(w["text"] for w in run)[skip:]
    digits = sum(c.isdigit() for c in chars)
    if digits < 5 or not 7 <= len(chars) <= 16 or re.search(r"\d\s*/\s*\w", chars) or \
            sum(c in _DIGITLIKE_CHARS for c in chars) < 0.6 * len(chars):
        return None  # not a number's run (a document's number and symbol has its slashes)
    number = repair_digits(re.sub(r"[\s.:;,'\"-]", "", chars))
    if len(number) in NUMBER_LENGTHS and number.isdigit():
        return None  # a number of a known length already: its read stands
    return run, skip


def _starts(img: np.ndarray, word: dict, skip: int) -> list[int]:
    """Where a number may start in a row image: the word's left edge; with a label glued to it
    ("Số0123…", "s20123…": the label's letters misread, maybe as a digit), each gap between
    glyphs in the word's first half and the place the label's share of characters gives."""
    left = word["left"]
    if not skip:
        return [left]
    _, ink = cv2.threshold(img, 0, 1, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    cols = ink[ink.shape[0] // 6: -max(1, ink.shape[0] // 6)].sum(axis=0)
    end = min(len(cols), left + word["width"] // 2)
    gaps = [c for c in range(left + 1, end) if cols[c] <= 1 and cols[c - 1] > 1]  # a gap's first column
    guess = left + int(word["width"] * skip / max(1, len(word["text"])))
    return sorted(set(gaps[:4] + [guess]))


def _reread_numbers(images: list[np.ndarray], by_page: dict[int, list[dict]], timeout: float) -> None:
    """A number after its label (an ID card's "Số") read again alone, as digits only: Tesseract's
    word model slips on a number printed over a guilloche or followed by a hatched band (a digit
    read as a sign, a band read as another digit, the label glued to the number). The line's words
    after the label are replaced by the digits read when they make a number of a known length
    (``NUMBER_LENGTHS``) within two slips of the first read's digits (the reread repairs a read;
    it does not replace one: a number the first read half saw is not taken from the digits read
    alone). With a glued label the cut is tried at each place the number may start; one number
    must come out."""
    todo, crops = [], []
    for k, words in by_page.items():
        found = _number_words(words)
        if found is None:
            continue
        run, skip = found
        img = images[k - 1]
        for x0 in _starts(img, run[0], skip):
            crops.append(cv2.copyMakeBorder(img[:, max(0, x0 - 3):], 0, 0, 16, 0, cv2.BORDER_CONSTANT, value=255))
            todo.append((k, run, skip))
    if not crops:
        return
    got = _digits_read(crops, timeout)
    fits = {}
    for j, (digits, conf) in got.items():
        _, run, skip = todo[j - 1]
        first = re.sub(r"\D", "", "".join(w["text"] for w in run)[skip:])
        if digits.isdigit() and len(digits) in NUMBER_LENGTHS and Levenshtein.distance(first, digits) <= 2:
            fits[j] = digits, conf
    by_row: dict[int, dict[str, float]] = {}
    for j, (digits, conf) in fits.items():
        row = by_row.setdefault(todo[j - 1][0], {})
        row[digits] = max(conf, row.get(digits, 0.0))
    for k, found in by_row.items():
        if len(found) != 1:
            continue  # two cuts, two numbers: neither is taken
        (digits, conf), = found.items()
        _, run, skip = next(t for t in todo if t[0] == k)
        words = by_page[k]
        keep = words[: len(words) - len(run)]
        if skip:  # the label's part of the glued word stays a word of its own
            keep.append({**run[0], "text": run[0]["text"][:skip], "width": 0})
        by_page[k] = keep + [{**run[0], "text": digits, "conf": conf}]


def _digits_read(crops: list[np.ndarray], timeout: float) -> dict[int, tuple[str, float]]:
    """Each cut read as digits only, as a raw line (``--psm 13``: the layout step finds no text
    in a number over a guilloche): {1-based cut number: (the digits read, their least word
    confidence)}; {} when the reread failed (it is extra: the lines keep their first read)."""
    try:
        got = engine.read_line_images(crops, lang="eng", dpi=300, timeout=timeout, config=DIGITS_ONLY, psm=13)
    except Exception as exc:  # noqa: BLE001
        log.warning("number reread skipped: %s: %s", type(exc).__name__, exc)
        return {}
    return {k: ("".join(w["text"] for w in ws), min(w["conf"] for w in ws)) for k, ws in (got or {}).items() if ws}
