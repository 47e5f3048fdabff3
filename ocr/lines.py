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
import importlib.util
import logging
from pathlib import Path

import cv2
import numpy as np

from . import engine

log = logging.getLogger("sohoa.ocr")

MODEL = "models/ch_PP-OCRv4_det_infer.onnx"
DETECT_SIDE = 960  # px: the long side the detector sees (its own default range is 736-2000)
LINE_HEIGHT = 52  # px: a line box's height when read (cap height ~30 px, x-height ~20-24 px)
MAX_LINES = 120


@functools.lru_cache(maxsize=1)
def _session():
    try:
        import onnxruntime as ort

        spec = importlib.util.find_spec("rapidocr_onnxruntime")  # located, not imported: only its model is used
        if spec is None or not spec.submodule_search_locations:
            return None
        model = Path(list(spec.submodule_search_locations)[0]) / MODEL
        if not model.is_file():
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
    """Boxes grouped into rows (vertical overlap of their centres), rows top to bottom, boxes left
    to right: a label and its value found as two boxes are read as one line."""
    items = sorted(boxes, key=lambda b: float(b[:, 1].mean()))
    rows: list[list[np.ndarray]] = []
    for b in items:
        cy = float(b[:, 1].mean())
        hb = float(np.linalg.norm(b[3] - b[0]))
        for row in rows:
            r = row[-1]
            if abs(float(r[:, 1].mean()) - cy) < 0.45 * min(hb, float(np.linalg.norm(r[3] - r[0]))):
                row.append(b)
                break
        else:
            rows.append([b])
    return [sorted(r, key=lambda b: float(b[:, 0].min())) for r in rows]


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
    lines = [{"key": (k, 0, 0, 0), "words": by_page[k]} for k in sorted(by_page)]
    conf, n = engine.lines_confidence(lines)
    return {"text": engine.lines_text(lines), "confidence": conf, "nwords": n, "lines": lines, "pdf": b"",
            "boxes": len(boxes)}
