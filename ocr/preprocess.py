"""Cheap page clean-up before Tesseract: dark borders, uneven light, orientation (0/90/180/270),
deskew, denoise. Everything heavy runs on a downscaled copy; the full-size image is touched by a
handful of O(pixels) OpenCV calls and one warp."""
from __future__ import annotations

import math

import cv2
import numpy as np

WORK_WIDTH = 1000
SKEW_SIGN = 1.0
WHITEN: int | None = None  # grey level above which the (normalised) paper is set to white


def _small(gray: np.ndarray, target: int = WORK_WIDTH) -> tuple[np.ndarray, float]:
    h, w = gray.shape
    s = min(1.0, target / max(1, min(h, w)))
    if s >= 1.0:
        return gray, 1.0
    return cv2.resize(gray, (max(1, int(w * s)), max(1, int(h * s))), interpolation=cv2.INTER_AREA), s


def remove_dark_borders(gray: np.ndarray) -> tuple[np.ndarray, bool]:
    """Whiten dark scanner margins (runs of dark rows/columns touching the edge)."""
    small, s = _small(gray, 400)
    bg = float(np.percentile(small, 90))
    if bg < 60:
        return gray, False
    dark = small < bg * 0.5
    h, w = small.shape
    out = gray
    changed = False

    def run(frac: np.ndarray) -> int:
        n = 0
        for v in frac:
            if v > 0.6:
                n += 1
            else:
                break
        return n

    col = dark.mean(axis=0)
    row = dark.mean(axis=1)
    left, right = run(col), run(col[::-1])
    top, bottom = run(row), run(row[::-1])
    H, W = gray.shape
    pad = 2
    if left and left < w * 0.25:
        x = min(W, int(math.ceil((left + pad) / s)))
        out = out.copy() if not changed else out
        out[:, :x] = 255
        changed = True
    if right and right < w * 0.25:
        x = max(0, W - int(math.ceil((right + pad) / s)))
        out = out.copy() if not changed else out
        out[:, x:] = 255
        changed = True
    if top and top < h * 0.25:
        y = min(H, int(math.ceil((top + pad) / s)))
        out = out.copy() if not changed else out
        out[:y, :] = 255
        changed = True
    if bottom and bottom < h * 0.25:
        y = max(0, H - int(math.ceil((bottom + pad) / s)))
        out = out.copy() if not changed else out
        out[y:, :] = 255
        changed = True
    return out, changed


def normalize_background(gray: np.ndarray) -> tuple[np.ndarray, float]:
    """Divide by an estimate of the paper's brightness (uneven light, grey paper) -> white paper.
    Returns the image and the light unevenness (0 = flat)."""
    small, s = _small(gray, 160)
    k = max(3, int(round(min(small.shape) / 12)) | 1)
    bg = cv2.morphologyEx(small, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    bg = cv2.GaussianBlur(bg, (0, 0), k / 2)
    lo, hi = np.percentile(bg, [5, 95])
    unevenness = float((hi - lo) / max(hi, 1.0))
    paper = float(np.median(bg))
    if unevenness < 0.06 and paper > 225:
        return gray, unevenness
    bgf = cv2.resize(bg, (gray.shape[1], gray.shape[0]), interpolation=cv2.INTER_LINEAR)
    bgf = np.maximum(bgf, 30)
    out = cv2.divide(gray, bgf, scale=255)
    return out, unevenness


def _binary_small(gray: np.ndarray, target: int) -> tuple[np.ndarray, float]:
    small, s = _small(gray, target)
    _, b = cv2.threshold(small, 0, 1, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    return b, s


def _proj_score(ys: np.ndarray, xs: np.ndarray, angle_deg: float, nbins: int) -> float:
    t = math.radians(angle_deg)
    proj = ys * math.cos(t) - xs * math.sin(t)
    proj = proj - proj.min()
    hist = np.bincount(proj.astype(np.int32), minlength=nbins)
    return float(np.dot(hist, hist.astype(np.float64)))


def _points(b: np.ndarray, limit: int = 150_000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.nonzero(b)
    if len(ys) > limit:
        idx = np.random.default_rng(seed).choice(len(ys), limit, replace=False)
        ys, xs = ys[idx], xs[idx]
    return ys.astype(np.float32), xs.astype(np.float32)


def find_skew(b: np.ndarray, max_angle: float = 10.0) -> tuple[float, float]:
    """Angle (deg) by which the text lines in binary image ``b`` are tilted, and a sharpness score.
    Rotating the image by -angle (cv2 convention) straightens it."""
    ys, xs = _points(b)
    if len(ys) < 200:
        return 0.0, 0.0
    n = int(math.hypot(*b.shape)) + 2
    best, best_s = 0.0, -1.0
    for a in np.arange(-max_angle, max_angle + 1e-6, 0.5):
        sc = _proj_score(ys, xs, a, n)
        if sc > best_s:
            best, best_s = float(a), sc
    for step, span in ((0.1, 0.5), (0.02, 0.1)):
        center = best
        for a in np.arange(center - span, center + span + 1e-6, step):
            sc = _proj_score(ys, xs, a, n)
            if sc > best_s:
                best, best_s = float(a), sc
    base = _proj_score(ys, xs, best + 5.0 if best < 0 else best - 5.0, n)
    return best, best_s / max(base, 1.0)


def _line_runs(b: np.ndarray) -> list[tuple[int, int]]:
    row = b.sum(axis=1).astype(np.float64)
    if row.max() <= 0:
        return []
    on = row > max(1.0, 0.02 * row.max())
    runs, start = [], None
    for i, v in enumerate(on):
        if v and start is None:
            start = i
        elif not v and start is not None:
            runs.append((start, i))
            start = None
    if start is not None:
        runs.append((start, len(on)))
    if len(runs) < 2:
        return runs
    # glue diacritics (and i-dots) that float above/below their line back onto it: gaps shorter
    # than half the typical glyph height are inside a line, not between lines
    n, _lab, stats, _c = cv2.connectedComponentsWithStats(b.astype(np.uint8), connectivity=8)
    hs = stats[1:, cv2.CC_STAT_HEIGHT] if n > 1 else np.array([])
    hs = hs[hs > 2]
    xh = float(np.median(hs)) if len(hs) else 0.0
    merged = [runs[0]]
    for s0, e0 in runs[1:]:
        ps, pe = merged[-1]
        if s0 - pe <= max(1.0, 0.5 * xh):
            merged[-1] = (ps, e0)
        else:
            merged.append((s0, e0))
    return merged


def updown_score(b: np.ndarray) -> tuple[float, int]:
    """For a deskewed binary page: share of off-core ink above the x-height band (upright text in
    Latin scripts, and more so Vietnamese with its stacked diacritics, has far more ink above the
    core than below it). > 0.5 = upright, < 0.5 = upside down. Returns (score, lines used)."""
    above = below = 0.0
    used = 0
    runs = _line_runs(b)
    hs = [e - s for s, e in runs]
    if not hs:
        return 0.5, 0
    med = float(np.median(hs))
    for s, e in runs:
        h = e - s
        if h < 5 or h > 2.2 * med or h < 0.5 * med:
            continue
        prof = b[s:e].sum(axis=1).astype(np.float64)
        if prof.sum() < 20:
            continue
        core = np.nonzero(prof >= 0.45 * prof.max())[0]
        c0, c1 = core[0], core[-1]
        above += prof[:c0].sum()
        below += prof[c1 + 1:].sum()
        used += 1
    tot = above + below
    if tot <= 0:
        return 0.5, used
    return above / tot, used


def rotate_bound(img: np.ndarray, angle: float, border: int = 255) -> np.ndarray:
    """Rotate by ``angle`` degrees (cv2 convention: counter-clockwise) keeping the same size."""
    h, w = img.shape[:2]
    M = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    return cv2.warpAffine(img, M, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=border)


def rot90k(img: np.ndarray, rotation: int) -> np.ndarray:
    """Rotate clockwise by ``rotation`` (0/90/180/270)."""
    k = (rotation // 90) % 4
    if k == 0:
        return img
    return np.ascontiguousarray(np.rot90(img, -k))


def _without_bars(b: np.ndarray) -> np.ndarray:
    """``b`` without its long thin dark shapes: a strip of the table or the scanner lid left at a
    cut-out's border, a rule or a fold, each one long line that would outweigh the text's lines
    in the orientation and skew projections (and join every line into one). A table's grid is
    one wide and tall shape, and stays."""
    h, w = b.shape
    n, lab, stats, _c = cv2.connectedComponentsWithStats(b.astype(np.uint8), connectivity=8)
    if n <= 1:
        return b
    cw, ch = stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_HEIGHT]
    bar = ((ch >= 0.25 * h) & (cw <= 0.1 * ch)) | ((cw >= 0.25 * w) & (ch <= 0.1 * cw))
    drop = np.nonzero(bar)[0] + 1
    if not len(drop):
        return b
    return b & ~np.isin(lab, drop)


def analyse(gray: np.ndarray) -> dict:
    """Orientation and skew of a (background-normalised) page. rotation = clockwise degrees to apply."""
    b, s = _binary_small(gray, WORK_WIDTH)
    ink = float(b.mean())
    if ink < 0.002:
        return {"rotation": 0, "skew": 0.0, "updown": 0.5, "sure": False, "ink": ink}
    b = _without_bars(b)
    a0, sc0 = find_skew(b)
    bt = np.ascontiguousarray(np.rot90(b, -1))
    a1, sc1 = (0.0, 0.0) if sc0 >= 1.6 else find_skew(bt)  # sharp lines as it stands: not sideways
    if sc1 > sc0 * 1.15:
        base, b2, ang = 90, bt, a1
    else:
        base, b2, ang = 0, b, a0
    straight = rotate_bound(b2.astype(np.uint8) * 255, SKEW_SIGN * ang, border=0) > 127
    ud, used = updown_score(straight)
    rotation = base
    if ud < 0.5:
        rotation = (base + 180) % 360
    xh = glyph_height(b) / s
    # the diacritics that tell up from down are a pixel or two on small print (a phone photo of a
    # whole page, a social-media copy): there the test is a hint, and Tesseract's reads decide
    sure = used >= 3 and abs(ud - 0.5) > 0.1 and xh >= SURE_XHEIGHT
    return {"rotation": rotation, "skew": ang, "updown": ud, "sure": sure, "ink": ink, "lines": used,
            "xheight": xh}


def glyph_height(b: np.ndarray) -> float:
    """Median height of the connected components that look like glyphs (px of ``b``)."""
    n, _lab, stats, _c = cv2.connectedComponentsWithStats(b.astype(np.uint8), connectivity=8)
    if n <= 1:
        return 0.0
    hs = stats[1:, cv2.CC_STAT_HEIGHT]
    ws = stats[1:, cv2.CC_STAT_WIDTH]
    keep = (hs > 2) & (hs < 0.05 * b.shape[0] + 3) & (ws < 4 * hs + 3)
    return float(np.median(hs[keep])) if keep.any() else 0.0


OCR_XHEIGHT = 20.0  # px: Tesseract's LSTM reads this size as well as larger, and faster
MIN_OCR_SCALE = 0.6
SURE_XHEIGHT = 12.0  # px: below this the up/down test is only a hint
SMALL_XHEIGHT = 12.0  # px: print this small is enlarged before OCR (and never median-filtered)
UP_XHEIGHT = 17.0  # px: ... to about this size
MAX_UPSCALE = 3.0
UPSCALE_PIXELS = 6_000_000  # an enlarged page stays within this


def ocr_scale(info: dict, shape: tuple[int, int], budget: int | None = None) -> float:
    """Downscale factor for the OCR image: large print is read as well at a smaller size; small
    print is enlarged, never past ``budget`` pixels (the configured ``work_pixels``) nor
    ``UPSCALE_PIXELS``."""
    xh = float(info.get("xheight") or 0.0)
    if 3.0 <= xh < SMALL_XHEIGHT:
        # small print (a whole page photographed, a recompressed copy): Tesseract misreads
        # glyphs under ~10 px; enlarging (bicubic) brings them to the size it reads best, within
        # a budget of pixels (time grows with them)
        cap = math.sqrt(min(UPSCALE_PIXELS, budget or UPSCALE_PIXELS) / max(1, shape[0] * shape[1]))
        return max(1.0, min(MAX_UPSCALE, UP_XHEIGHT / xh, cap))
    if xh <= 0 or max(shape) < 1800:
        return 1.0
    s = OCR_XHEIGHT / xh
    return 1.0 if s >= 0.95 else max(MIN_OCR_SCALE, s)


def straighten(gray: np.ndarray, rotation: int, skew: float) -> np.ndarray:
    """Apply the clockwise quarter-turn ``rotation`` and remove ``skew`` (degrees, measured after
    the 0/90 part of it), in at most one quarter turn plus one warp."""
    out = rot90k(gray, rotation % 180)
    angle = SKEW_SIGN * skew + (180.0 if rotation >= 180 else 0.0)
    if abs(angle) < 0.01:
        return out
    if abs(angle - 180.0) < 0.01:
        return np.ascontiguousarray(out[::-1, ::-1])
    return rotate_bound(out, angle)


def noise_level(gray: np.ndarray) -> float:
    small = gray[::4, ::4].astype(np.float32)
    med = cv2.medianBlur(gray[::4, ::4], 3).astype(np.float32)
    d = np.abs(small - med)
    bgmask = med > 180
    if bgmask.sum() < 100:
        return 0.0
    return float(d[bgmask].mean())


def prepare(gray: np.ndarray) -> tuple[np.ndarray, dict]:
    """The whole clean-up. Returns the upright, deskewed, white-paper image and what was done."""
    info: dict = {}
    gray, info["border_removed"] = remove_dark_borders(gray)
    gray, info["unevenness"] = normalize_background(gray)
    a = analyse(gray)
    info.update(a)
    out = straighten(gray, a["rotation"], a["skew"])
    info["noise"] = nl = noise_level(out)
    # a median filter removes speckle from a scan, and with it the strokes of small print
    if nl > 6.0 and float(info.get("xheight") or 0.0) >= SMALL_XHEIGHT:
        out = cv2.medianBlur(out, 3)
        info["denoised"] = True
    if WHITEN is not None:
        # paper speckle to pure white: smaller page images in the PDF, nothing lost for OCR
        out = np.where(out > WHITEN, np.uint8(255), out) if not out.flags.writeable else out
        if out.flags.writeable:
            out[out > WHITEN] = 255
    return out, info


# --------------------------------------------------------------------------- the card in a photo

CARD_RATIO = 85.6 / 54.0  # ID-1 (ISO/IEC 7810): every Vietnamese ID card
CARD_WIDTH = 1400  # px: a card is read at this width at least (about 415 dpi: an x-height near 20 px)
CROP_MAX = 3000  # px: the long side of a cut-out is kept up to this


def _order(pts: np.ndarray) -> np.ndarray:
    """Corners as top-left, top-right, bottom-right, bottom-left."""
    s, d = pts.sum(axis=1), np.diff(pts, axis=1).ravel()
    return np.float32([pts[np.argmin(s)], pts[np.argmin(d)], pts[np.argmax(s)], pts[np.argmax(d)]])


def find_card(gray: np.ndarray) -> np.ndarray | None:
    """The four corners (full-size px) of an ID card photographed on a background: the largest
    convex quadrilateral with the card's proportions covering 12-90 % of the picture; None when
    there is none (a scan, a page, a card filling the frame)."""
    h, w = gray.shape[:2]
    s = 600 / max(h, w)
    small = cv2.resize(gray, (max(1, int(w * s)), max(1, int(h * s))), interpolation=cv2.INTER_AREA) if s < 1 else gray
    s = min(s, 1.0)
    small = cv2.GaussianBlur(small, (5, 5), 0)
    area = small.shape[0] * small.shape[1]
    for lo, hi in ((30, 90), (60, 160)):
        edges = cv2.dilate(cv2.Canny(small, lo, hi), np.ones((3, 3), np.uint8))
        contours, _ = cv2.findContours(edges, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        for c in sorted(contours, key=cv2.contourArea, reverse=True)[:5]:
            hull = cv2.convexHull(c)
            quad = cv2.approxPolyDP(hull, 0.02 * cv2.arcLength(hull, True), True)
            a = cv2.contourArea(quad)
            if len(quad) != 4 or not (0.12 * area < a < 0.9 * area):
                continue
            (_cx, _cy), (rw, rh), _ang = cv2.minAreaRect(quad)
            ratio = max(rw, rh) / max(1.0, min(rw, rh))
            if abs(ratio - CARD_RATIO) < 0.25:
                return _order(quad.reshape(4, 2).astype(np.float32) / s)
    return None


def edge_width(gray: np.ndarray) -> float:
    """How many pixels the print's edges spread over: the page's contrast over its steepest
    gradients (a sharp capture ~1-2 px; a blurred one more). Divided by the x-height, it says
    whether the letters are still letters, whatever the resolution."""
    g = gray.astype(np.float32)
    if g.size > 4_000_000:  # a quarter of the pixels tells the same
        g = g[::2, ::2]
        f = 2.0
    else:
        f = 1.0
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3) / 8
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3) / 8
    mag = np.hypot(gx, gy)
    lo, hi = float(np.percentile(g, 2)), float(np.percentile(g, 98))
    contrast = hi - lo
    # the gradients around the print only: on a sparse page the background's noise would
    # otherwise make up the top percentile
    near = cv2.dilate((g < lo + 0.5 * contrast).astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    sample = mag[near] if int(near.sum()) >= 2000 else mag
    steep = float(np.percentile(sample, 99))
    return f * contrast / max(steep, 1e-3)


def blown_out(gray: np.ndarray) -> float:
    """Share of a card's pixels blown out to white (glare): a card's ground is tinted, never white."""
    return float((gray >= 250).mean())


def find_cards(gray: np.ndarray, *, most: int = 2) -> list[np.ndarray]:
    """Corners of the ID cards photocopied or scanned on one sheet: the common "both sides of the
    card on one A4 page", or one card alone on the sheet. One or two card-shaped regions of 2-45 %
    of the sheet each, of about the same size, not overlapping and holding nearly all the sheet's
    ink; top to bottom, then left to right. [] for anything else (a page of text, a photo)."""
    h, w = gray.shape[:2]
    s = min(1.0, 900 / max(h, w))
    small = cv2.resize(gray, (max(1, int(w * s)), max(1, int(h * s))), interpolation=cv2.INTER_AREA) if s < 1 else gray
    small = cv2.GaussianBlur(small, (5, 5), 0)
    sh, sw = small.shape[:2]
    area = sh * sw
    paper = float(np.percentile(small, 90))
    if paper < 150:  # not a light sheet: a photo or a dark scan
        return []
    ink = (small < paper - 14).astype(np.uint8)
    if ink.mean() < 0.01:
        return []
    # a card's print and its tinted ground merge into one blob; blobs stay apart across the gap
    k = max(5, int(0.025 * max(sh, sw)))
    blobs = cv2.morphologyEx(ink, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    contours, _ = cv2.findContours(blobs, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    found = []
    for c in sorted(contours, key=cv2.contourArea, reverse=True)[:most + 1]:
        rect = cv2.minAreaRect(c)
        (_cx, _cy), (rw, rh), _ang = rect
        a = rw * rh
        ratio = max(rw, rh) / max(1.0, min(rw, rh))
        if 0.02 * area < a < 0.45 * area and abs(ratio - CARD_RATIO) < 0.3 and cv2.contourArea(c) > 0.8 * a:
            found.append((cv2.boxPoints(rect), rect, c))
    if not found:
        return []
    found = found[:most]
    sizes = [f[1][1][0] * f[1][1][1] for f in found]
    if max(sizes) > 1.6 * min(sizes) or any(_overlap(a[0], b[0]) for i, a in enumerate(found) for b in found[i + 1:]):
        return []
    inside = np.zeros_like(ink)
    for box, _, _ in found:
        cv2.fillPoly(inside, [box.astype(np.int32)], 1)
    if float((ink & (1 - inside)).sum()) > 0.08 * float(ink.sum()):  # other print on the sheet: a page, not cards
        return []
    found.sort(key=lambda f: (round(f[1][0][1] / (0.25 * sh)), f[1][0][0]))
    return [_order(box / s) for box, _, _ in found]


def _overlap(a: np.ndarray, b: np.ndarray) -> bool:
    ax0, ay0 = a.min(axis=0)
    ax1, ay1 = a.max(axis=0)
    bx0, by0 = b.min(axis=0)
    bx1, by1 = b.max(axis=0)
    return not (ax1 <= bx0 or bx1 <= ax0 or ay1 <= by0 or by1 <= ay0)


def crop_card(gray: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """The card (or page) cut out of the photo and seen from the front (perspective removed),
    landscape: a card ``CARD_WIDTH`` px wide in the ID-1 proportions; a page in its own
    proportions at the photo's resolution (``CARD_WIDTH`` to ``CROP_MAX`` px), so that its small
    print keeps its detail. Orientation is left to the page analysis."""
    tl, tr, br, bl = corners
    top, bottom = np.linalg.norm(tr - tl), np.linalg.norm(br - bl)
    left, right = np.linalg.norm(bl - tl), np.linalg.norm(br - tr)
    wide = top + bottom >= left + right
    long_side = max(top, bottom, left, right)
    across, down = (top + bottom) / 2, (left + right) / 2  # opposite sides averaged: perspective evened out
    ratio = max(across, down) / max(1.0, min(across, down))
    if ratio >= 1.5:  # nearer a card's 1.585 than A4's 1.414: a card, at the width it reads best
        W, H = CARD_WIDTH, int(round(CARD_WIDTH / CARD_RATIO))
    else:  # a page: its detail kept
        W = int(round(min(CROP_MAX, max(CARD_WIDTH, long_side))))
        H = int(round(W / ratio))
    if not wide:  # the card stands upright in the picture: its long side runs down
        W, H = H, W
    M = cv2.getPerspectiveTransform(corners, np.float32([[0, 0], [W, 0], [W, H], [0, H]]))
    return cv2.warpPerspective(gray, M, (W, H), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
