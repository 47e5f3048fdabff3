"""Where a visible signature goes without hiding anything: page image analysis.

The page is turned into an ink mask in display orientation (``/Rotate`` applied, CropBox ∩
MediaBox): for a scanned page (only images, and text in render mode 3 — the OCR layer) straight
from the stored image, decoded at reduced size (JPEG DCT scaling); for anything else rendered
with PDFium. Annotation rectangles count as ink. The mask is widened by a margin, and the first
free rectangle is chosen in the preferred corner (bottom right for the lời chứng, top right for
the organisation seal) for the first stamp size that fits. Coordinates go back to user space for
the widget's /Rect; :mod:`signing.stamp` turns the appearance upright on rotated pages.
"""
from __future__ import annotations

import io
import logging
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)

A4 = (595.28, 841.89)
EDGE = 14.0  # keep this far from the page edges (points)
MARGIN = 5.0  # and this far from any ink
_SAFE_OPS = {"q", "Q", "cm", "BT", "ET", "Tf", "Td", "TD", "Tm", "T*", "Tc", "Tw", "Tz", "TL", "Ts", "gs", "cs",
             "CS", "sc", "scn", "SC", "SCN", "g", "G", "rg", "RG", "k", "K", "w", "J", "j", "M", "d", "ri", "i",
             "re", "m", "l", "c", "v", "y", "h", "W", "W*", "n", "BMC", "BDC", "EMC", "MP", "DP", "BX", "EX",
             "d0", "d1"}
_TEXT_SHOW = {"Tj", "TJ", "'", '"'}


@dataclass(frozen=True)
class Geometry:
    """A page as displayed: visible box in user space and the clockwise rotation."""

    box: tuple[float, float, float, float]
    rotate: int

    @property
    def size(self) -> tuple[float, float]:
        """Displayed width and height in points."""
        w, h = self.box[2] - self.box[0], self.box[3] - self.box[1]
        return (h, w) if self.rotate % 180 == 90 else (w, h)

    def to_user(self, u: float, v: float) -> tuple[float, float]:
        """Display point (``u`` right, ``v`` down from the top-left corner) → user space."""
        x0, y0, x1, y1 = self.box
        r = self.rotate % 360
        if r == 90:
            return x0 + v, y0 + u
        if r == 180:
            return x1 - u, y0 + v
        if r == 270:
            return x1 - v, y1 - u
        return x0 + u, y1 - v

    def rect_to_user(self, u0, v0, u1, v1) -> tuple[float, float, float, float]:
        (ax, ay), (bx, by) = self.to_user(u0, v0), self.to_user(u1, v1)
        return min(ax, bx), min(ay, by), max(ax, bx), max(ay, by)

    def user_to_display(self, x: float, y: float) -> tuple[float, float]:
        x0, y0, x1, y1 = self.box
        r = self.rotate % 360
        if r == 90:
            return y - y0, x - x0
        if r == 180:
            return x1 - x, y - y0
        if r == 270:
            return y1 - y, x1 - x
        return x - x0, y1 - y


@dataclass(frozen=True)
class Placement:
    page: int  # page index; equal to the page count when a certification page is appended
    rect: tuple[float, float, float, float]  # the widget's /Rect, user space
    rotate: int
    size: tuple[float, float]  # the stamp as displayed (points)
    new_page: bool = False


def _inherited(page, key):
    node = page
    while node is not None:
        if key in node:
            return node[key]
        node = node.get("/Parent")
    return None


def page_geometry(page) -> Geometry:
    """CropBox ∩ MediaBox and /Rotate of a pikepdf page dictionary (inherited values included)."""
    media = [float(v) for v in (_inherited(page, "/MediaBox") or [0, 0, *A4])]
    mx0, my0, mx1, my1 = min(media[0], media[2]), min(media[1], media[3]), max(media[0], media[2]), max(media[1], media[3])
    crop = _inherited(page, "/CropBox")
    if crop is not None:
        c = [float(v) for v in crop]
        mx0, my0 = max(mx0, min(c[0], c[2])), max(my0, min(c[1], c[3]))
        mx1, my1 = min(mx1, max(c[0], c[2])), min(my1, max(c[1], c[3]))
    rot = int(_inherited(page, "/Rotate") or 0) % 360
    return Geometry((mx0, my0, mx1, my1), rot if rot in (0, 90, 180, 270) else 0)


# -- ink ---------------------------------------------------------------------------------------

def _mul(m, n):
    a, b, c, d, e, f = m
    A, B, C, D, E, F = n
    return (a * A + b * C, a * B + b * D, c * A + d * C, c * B + d * D, e * A + f * C + E, e * B + f * D + F)


def _scan_images(page):
    """``[(image xobject, ctm)]`` when the page shows nothing but images (and invisible text);
    None when anything else is drawn (then PDFium renders it)."""
    import pikepdf

    xobjs = page.obj.get("/Resources", {}).get("/XObject", {}) if "/Resources" in page.obj else {}
    ctm, stack, tr, out = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0), [], 0, []
    for operands, op in pikepdf.parse_content_stream(page):
        op = str(op)
        if op == "q":
            stack.append((ctm, tr))
        elif op == "Q":
            if stack:
                ctm, tr = stack.pop()
        elif op == "cm":
            ctm = _mul(tuple(float(v) for v in operands), ctm)
        elif op == "Tr":
            tr = int(operands[0])
        elif op in _TEXT_SHOW:
            if tr != 3:
                return None
        elif op == "Do":
            x = xobjs.get(str(operands[0])) if xobjs is not None else None
            if x is None or x.get("/Subtype") != pikepdf.Name.Image or "/ImageMask" in x or "/SMask" in x \
                    or "/Decode" in x or "/Mask" in x:
                return None
            out.append((x, ctm))
        elif op not in _SAFE_OPS:
            return None  # paths painted, inline images, shadings, forms: render for real
    return out


def _image_gray(x, want: tuple[int, int]):
    """An image XObject as 8-bit gray, decoded at about ``want`` pixels (JPEG DCT scaling)."""
    import pikepdf
    from PIL import Image

    filt = x.get("/Filter")
    if filt == pikepdf.Name.DCTDecode or (isinstance(filt, pikepdf.Array) and list(filt) == [pikepdf.Name.DCTDecode]):
        img = Image.open(io.BytesIO(x.read_raw_bytes()))
        img.draft("L", want)
        return img.convert("L")
    return pikepdf.PdfImage(x).as_pil_image().convert("L")


def _fast_canvas(page, geo: Geometry, res: float):
    """Draw a scanned page's images on a white canvas (user space, unrotated); None = not a
    plain scan."""
    from PIL import Image, ImageChops

    try:
        images = _scan_images(page)
    except Exception:  # noqa: BLE001 - an odd content stream: let PDFium handle it
        return None
    if not images:
        return None
    x0, y0, x1, y1 = geo.box
    cw, ch = max(1, round((x1 - x0) * res)), max(1, round((y1 - y0) * res))
    canvas = None
    for x, (a, b, c, d, e, f) in images:
        if abs(b) > 1e-6 or abs(c) > 1e-6:
            return None  # a turned image: render for real
        w, h = max(1, round(abs(a) * res)), max(1, round(abs(d) * res))
        img = _image_gray(x, (w, h)).resize((w, h), Image.Resampling.BOX)
        if a < 0:
            img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        if d < 0:
            img = img.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
        left, top = round((min(e, e + a) - x0) * res), round((y1 - max(f, f + d)) * res)
        if canvas is None and (left, top, w, h) == (0, 0, cw, ch):
            canvas = img  # the usual scan: one image covering the page
            continue
        layer = Image.new("L", (cw, ch), 255)
        layer.paste(img, (left, top))
        canvas = ImageChops.darker(canvas if canvas is not None else Image.new("L", (cw, ch), 255), layer)
    turn = {90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_90}
    return canvas.transpose(turn[geo.rotate]) if geo.rotate else canvas


def _rendered(pdf: bytes, index: int, res: float):
    """The page rendered by PDFium, display orientation, 8-bit gray."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    try:
        page = doc[index]
        img = page.render(scale=res, grayscale=True, draw_annots=True, may_draw_forms=True).to_pil()
        return img.convert("L")
    finally:
        doc.close()


class PageInk:
    """Ink masks of one document's pages, each analysed once (the stamp and the seal may share a
    page)."""

    def __init__(self, pdf: bytes, doc) -> None:
        self.pdf, self.doc = pdf, doc
        self._masks: dict[int, tuple[np.ndarray, float, Geometry]] = {}

    @property
    def pages(self) -> int:
        return len(self.doc.pages)

    def mask(self, index: int, avoid=()) -> tuple[np.ndarray, float, Geometry]:
        """``(mask, pixels per point, geometry)``: True where the displayed page has ink (and
        over the annotations' and ``avoid``'s rectangles, user space)."""
        index %= self.pages
        if index not in self._masks:
            self._masks[index] = self._analyse(index)
        mask, res, geo = self._masks[index]
        if avoid:
            mask = mask.copy()
            for rect in avoid:
                _mark(mask, geo, rect, res)
        return mask, res, geo

    def _analyse(self, index: int):
        page = self.doc.pages[index]
        geo = page_geometry(page.obj)
        res = 0.5
        img = _fast_canvas(page, geo, res)
        if img is None:
            res = 1.0
            img = _rendered(self.pdf, index, res)
        gray = np.asarray(img, dtype=np.uint8)
        # ink: clearly darker than the paper (the 90th percentile: scanned paper is not 255)
        paper = float(np.percentile(gray, 90))
        mask = gray < min(215.0, paper - 40.0)
        for rect in _annotation_rects(page.obj):
            _mark(mask, geo, rect, res)
        return mask, res, geo


def ink_mask(pdf: bytes, index: int = -1, avoid=()) -> tuple[np.ndarray, float, Geometry]:
    """The ink mask of one page (see :meth:`PageInk.mask`)."""
    import pikepdf

    with pikepdf.open(io.BytesIO(pdf)) as doc:
        return PageInk(pdf, doc).mask(index, avoid)


def _annotation_rects(page):
    for a in page.get("/Annots", []) or []:
        try:
            if int(a.get("/F", 0)) & 2:  # hidden
                continue
            r = [float(v) for v in a.Rect]
        except Exception:  # noqa: BLE001
            continue
        if abs(r[2] - r[0]) > 0.5 and abs(r[3] - r[1]) > 0.5:
            yield r


def _mark(mask: np.ndarray, geo: Geometry, rect, res: float) -> None:
    (u0, v0), (u1, v1) = geo.user_to_display(rect[0], rect[1]), geo.user_to_display(rect[2], rect[3])
    h, w = mask.shape
    c0, c1 = max(0, int(min(u0, u1) * res)), min(w, int(np.ceil(max(u0, u1) * res)) + 1)
    r0, r1 = max(0, int(min(v0, v1) * res)), min(h, int(np.ceil(max(v0, v1) * res)) + 1)
    mask[r0:r1, c0:c1] = True


# -- free space --------------------------------------------------------------------------------

def _free_positions(blocked: np.ndarray, w: int, h: int) -> np.ndarray:
    """Boolean array [row, col]: a w×h window with its top-left corner there holds no blocked pixel."""
    H, W = blocked.shape
    if w > W or h > H:
        return np.zeros((0, 0), dtype=bool)
    s = np.zeros((H + 1, W + 1), dtype=np.int32)
    s[1:, 1:] = blocked.astype(np.int32).cumsum(0).cumsum(1)
    win = s[h:, w:] - s[:-h, w:] - s[h:, :-w] + s[:-h, :-w]
    return win == 0


def find_place(ink: PageInk, sizes, *, page: int = -1, prefer: str = "bottom-right", avoid=()) -> Placement | None:
    """The first of ``sizes`` (display points, largest first) that fits on ``page`` without
    covering ink, in the ``prefer``-red corner (bottom-right | top-right); None when none fits."""
    import cv2

    mask, res, geo = ink.mask(page, avoid)
    H, W = mask.shape
    edge = int(np.ceil(EDGE * res))
    blocked = mask.copy()
    blocked[:edge, :] = blocked[-edge:, :] = True
    blocked[:, :edge] = blocked[:, -edge:] = True
    k = 2 * int(np.ceil(MARGIN * res)) + 1
    blocked = cv2.dilate(blocked.astype(np.uint8), np.ones((k, k), np.uint8)).astype(bool)
    for sw, sh in sizes:
        w, h = int(np.ceil(sw * res)) + 1, int(np.ceil(sh * res)) + 1
        free = _free_positions(blocked, w, h)
        if not free.any():
            continue
        rows, cols = np.nonzero(free)
        if prefer == "top-right":
            score = -rows.astype(np.int64) * (W + 1) + cols  # topmost, then rightmost
        else:
            score = rows.astype(np.int64) * (W + 1) + cols  # lowest, then rightmost
        i = int(np.argmax(score))
        u0, v0 = cols[i] / res + 0.5, rows[i] / res + 0.5
        rect = geo.rect_to_user(u0, v0, u0 + sw, v0 + sh)
        return Placement(page=page % ink.pages, rect=rect, rotate=geo.rotate, size=(sw, sh))
    return None


def appended_page_place(page_count: int, size, page_size=A4) -> Placement:
    """The stamp on a blank certification page added after the last page (A4 portrait): top
    right, below a 2 cm margin."""
    pw, ph = page_size
    sw, sh = size
    x1, y1 = pw - 56.7, ph - 56.7
    return Placement(page=page_count, rect=(x1 - sw, y1 - sh, x1, y1), rotate=0, size=(sw, sh), new_page=True)


def plan(pdf: bytes, sizes, seal_size=None) -> tuple[Placement, Placement | None]:
    """Where the lời chứng goes (free space on the last page, else a new last page) and, with
    ``seal_size``, where the organisation seal goes — each page analysed once."""
    import pikepdf

    with pikepdf.open(io.BytesIO(pdf)) as doc:
        ink = PageInk(pdf, doc)
        try:
            stamp = find_place(ink, sizes, page=-1, prefer="bottom-right")
        except Exception:  # noqa: BLE001 - an unanalysable page: never risk covering it
            log.warning("last page could not be analysed: a certification page is added", exc_info=True)
            stamp = None
        stamp = stamp or appended_page_place(ink.pages, sizes[0])
        if seal_size is None:
            return stamp, None
        avoid = [stamp.rect] if stamp.page == 0 and not stamp.new_page else []
        return stamp, _seal_place(ink, seal_size, avoid)


def seal_place(pdf: bytes, size) -> Placement:
    """Decree 30/2020: top right of page 1 — in free space when there is some in the top half,
    else in the top-right corner (the seal's text has no background: it covers nothing)."""
    import pikepdf

    with pikepdf.open(io.BytesIO(pdf)) as doc:
        return _seal_place(PageInk(pdf, doc), size, ())


def _seal_place(ink: PageInk, size, avoid) -> Placement:
    geo = page_geometry(ink.doc.pages[0].obj)
    try:
        place = find_place(ink, [size], page=0, prefer="top-right", avoid=avoid)
    except Exception:  # noqa: BLE001
        log.warning("first page could not be analysed: the seal goes to the corner", exc_info=True)
        place = None
    dw, dh = geo.size
    if place is not None:
        u0, v0 = geo.user_to_display(place.rect[0], place.rect[1])
        u1, v1 = geo.user_to_display(place.rect[2], place.rect[3])
        if max(v0, v1) <= dh / 2 and min(u0, u1) >= dw / 3:
            return place
    sw, sh = size
    u1, v0 = dw - 8, 6
    return Placement(page=0, rect=geo.rect_to_user(u1 - sw, v0, u1, v0 + sh), rotate=geo.rotate, size=(sw, sh))
