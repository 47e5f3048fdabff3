"""What the signatures look like: the lời chứng stamp of a certified copy (its wording per the
product spec's certified-copy section) and the organisation seal's text block (Decree 30/2020).

* The stamp: the certification text in Vietnamese (Noto Sans Vietnamese subset, embedded through
  pyHanko's glyph accumulator) beside a QR code leading to the verification page; no background,
  so even where it is placed it hides nothing underneath.
* The seal: no image, the agency's name and the signing time as ``YYYY-MM-DDThh:mm:ss+07:00``.

Both honour the page's ``/Rotate``: the appearance stream gets a ``/Matrix`` that turns it
upright on a rotated page (pyHanko lays stamps out in unrotated user space).
"""
from __future__ import annotations

import datetime as dt
import io
import logging
import zlib
from dataclasses import dataclass
from pathlib import Path

from pyhanko.pdf_utils.font.api import FontEngineFactory

log = logging.getLogger(__name__)

FONT_FILE = Path(__file__).with_name("fonts") / "NotoSans-VN.ttf"
SYSTEM_FONT = Path("/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf")
CERT_PHRASE = "Chứng thực bản sao đúng với bản chính"
SEAL_REASON = "Ký số lưu kho"
SEAL_COLOR = (0.0, 0.0, 0.8)  # Decree 30/2020: the organisation signature's text in blue
# stamp sizes tried in order (display points, font size): the text shrinks with the box
STAMP_SIZES = ((330, 112), (280, 96), (236, 82))
SEAL_HEIGHT = 26


def font_path() -> Path:
    return FONT_FILE if FONT_FILE.is_file() else SYSTEM_FONT


@dataclass
class StampInfo:
    """What the lời chứng says. ``officer_name`` is the certificate holder's name."""

    number: int
    book: str
    date: dt.date
    body: str
    officer_name: str
    officer_title: str
    verify_url: str
    copy_index: int = 1
    copies: int = 1

    def text(self) -> str:
        d = self.date
        lines = [
            CERT_PHRASE,
            f"Số chứng thực: {self.number}    Quyển số: {self.book}",
            f"Ngày {d.day:02d} tháng {d.month:02d} năm {d.year}",
            self.body,
            f"{self.officer_title}: {self.officer_name}" if self.officer_title else self.officer_name,
        ]
        if self.copies > 1:
            lines.append(f"Bản sao số {self.copy_index}/{self.copies}")
        return "\n".join(lines)


def seal_text(agency: str, when: dt.datetime) -> str:
    """Decree 30/2020: the agency's name and the signing time, ISO 8601 with the +07:00 offset."""
    from vocab.clock import iso

    return f"{agency}\n{iso(when)}"


def seal_size(agency: str) -> tuple[int, int]:
    return int(min(300, max(150, 4.7 * len(agency) + 16))), SEAL_HEIGHT


class CachedFontFactory(FontEngineFactory):
    """pyHanko's glyph accumulator (HarfBuzz shaping, CID font, ToUnicode map) for a font that is
    read once per process. With ``presubset=True`` (our shipped Noto Sans Vietnamese subset, 45 kB)
    the font program is embedded as is, compressed once, instead of being re-subset with fontTools
    for every document (that alone was ~40 ms per signature)."""

    def __init__(self, path: Path, font_size: int = 8, presubset: bool | None = None) -> None:
        self.path = path
        self.font_size = font_size
        self._bytes = path.read_bytes()
        self.presubset = (path == FONT_FILE) if presubset is None else presubset
        self._compressed = zlib.compress(self._bytes, 6) if self.presubset else None

    def create_font_engine(self, writer, obj_stream=None):
        from pyhanko.pdf_utils import generic
        from pyhanko.pdf_utils.font.opentype import GlyphAccumulator

        if obj_stream is None and writer.stream_xrefs:
            obj_stream = writer.prepare_object_stream()
        ga = None
        if self.presubset:
            try:
                ga = self._shared_accumulator(writer, obj_stream)
            except Exception:  # noqa: BLE001 - pyHanko internals changed: the plain way still works
                log.debug("shared font accumulator unavailable", exc_info=True)
        if ga is None:
            ga = GlyphAccumulator(writer=writer, font_handle=io.BytesIO(self._bytes), font_size=self.font_size,
                                  obj_stream=obj_stream)
        if self.presubset and ga.cff_charset is None:
            compressed = self._compressed
            cidfont = ga.cidfont_obj

            def set_font_file(w, _cf=cidfont):
                stream = generic.StreamObject({generic.pdf_name("/Filter"): generic.pdf_name("/FlateDecode"),
                                               generic.pdf_name("/Length1"): generic.NumberObject(len(self._bytes))},
                                              encoded_data=compressed)
                ref = w.add_object(stream)
                _cf._font_descriptor[generic.pdf_name("/FontFile2")] = ref
                return ref

            cidfont.set_font_file = set_font_file
            ga._subset_created = True  # GIDs are kept: the whole (pre-subset) font is embedded
        return ga

    def _shared_accumulator(self, writer, obj_stream):
        """A GlyphAccumulator that reuses one parsed font (fontTools + HarfBuzz) per process: the
        font is never subset here (it is embedded whole), so the parsed tables are read-only."""
        from pyhanko.pdf_utils.font.api import FontEngine
        from pyhanko.pdf_utils.font.opentype import CIDFontType2, GlyphAccumulator, _read_ps_name

        shared = self.__dict__.get("_shared")
        if shared is None:
            import uharfbuzz as hb
            from fontTools import ttLib

            tt = ttLib.TTFont(io.BytesIO(self._bytes))
            if "CFF " in tt:
                raise ValueError("CFF font: use the plain accumulator")
            shared = self._shared = {
                "tt": tt, "hb_font": hb.Font(hb.Face(self._bytes)), "glyph_set": tt.getGlyphSet(preferCFF=True),
                "ps_name": _read_ps_name(tt), "upem": tt["head"].unitsPerEm,
                "reverse_cmap": tt["cmap"].buildReversed(),
            }
            for tag in ("hhea", "head", "OS/2", "post", "hmtx", "cmap"):
                tt[tag]  # noqa: B018 - parse now, read-only afterwards
        ga = GlyphAccumulator.__new__(GlyphAccumulator)
        FontEngine.__init__(ga, writer, shared["ps_name"], embedded_subset=True, obj_stream=obj_stream,
                            font_size=self.font_size)
        ga.hb_font = shared["hb_font"]
        ga.tt = shared["tt"]
        ga._font_ref = writer.allocate_placeholder()
        ga.cff_charset = None
        ga.use_raw_gids = True
        ga.cidfont_obj = CIDFontType2(shared["tt"], shared["ps_name"], ga.subset_prefix)
        ga.features = None
        ga.units_per_em = shared["upem"]
        ga._glyphs = {}
        ga._glyph_set = shared["glyph_set"]
        ga._cid_to_unicode = {}
        ga._GlyphAccumulator__reverse_cmap = shared["reverse_cmap"]
        ga.ot_language_tag = ga.ot_script_tag = ga.writing_direction = ga.bcp47_lang_code = None
        ga._subset_created = ga._write_prepared = False
        return ga


def rotation_matrix(rotate: int, width: float, height: float):
    """The appearance ``/Matrix`` that shows a ``width`` × ``height`` stamp upright on a page
    displayed turned ``rotate`` degrees clockwise (ISO 32000 §12.5.5 then fits it to /Rect)."""
    return {90: (0, 1, -1, 0, height, 0), 180: (-1, 0, 0, -1, width, height),
            270: (0, -1, 1, 0, 0, width)}.get(rotate % 360)


class _UprightMixin:
    """Stamps laid out in display orientation (``box`` swapped for 90/270) and turned back by a
    ``/Matrix`` in the form XObject."""

    def as_form_xobject(self):
        from pyhanko.pdf_utils import generic

        xobj = super().as_form_xobject()
        m = rotation_matrix(self.style.rotate, self.box.width, self.box.height)
        if m is not None:
            xobj[generic.pdf_name("/Matrix")] = generic.ArrayObject(generic.FloatObject(v) for v in m)
        return xobj


def _upright_box(box, rotate: int):
    from pyhanko.pdf_utils.layout import BoxConstraints

    if rotate % 180 == 90 and box.width_defined and box.height_defined:
        return BoxConstraints(width=box.height, height=box.width)
    return box


_STYLES: dict = {}


def _style_classes():
    """(stamp style with QR code, seal text style), both rotation-aware; built once per process.
    The QR symbol uses a fixed mask pattern: ``qrcode`` otherwise renders it eight times to pick
    the 'best' mask (~10 ms a stamp); any mask is a valid, readable QR code."""
    if _STYLES:
        return _STYLES["qr"], _STYLES["text"]
    from dataclasses import dataclass as _dc

    from pyhanko.pdf_utils.layout import LayoutError
    from pyhanko.pdf_utils.writer import init_xobject_dictionary
    from pyhanko.stamp import QRStampStyle, TextStampStyle
    from pyhanko.stamp.qr import QRStamp
    from pyhanko.stamp.text import TextStamp

    class UprightQRStamp(_UprightMixin, QRStamp):
        def _qr_xobject(self):
            import qrcode
            from pyhanko.pdf_utils.qr import PdfStreamQRImage

            qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, mask_pattern=2)
            qr.add_data(self.url)
            qr.make(fit=True)
            img = qr.make_image(image_factory=PdfStreamQRImage)
            bbox_size = (qr.modules_count + 2 * qr.border) * qr.box_size
            qr_xobj = init_xobject_dictionary(img.render_command_stream(), bbox_size, bbox_size)
            qr_xobj.compress()
            return self.writer.add_object(qr_xobj), bbox_size

    class UprightTextStamp(_UprightMixin, TextStamp):
        pass

    @_dc(frozen=True)
    class StampStyle(QRStampStyle):
        rotate: int = 0

        def create_stamp(self, writer, box, text_params):
            try:
                url = text_params.pop("url")
            except KeyError:
                raise LayoutError("Using a QR stamp style requires a 'url' text parameter.") from None
            return UprightQRStamp(writer, style=self, url=url, text_params=text_params,
                                  box=_upright_box(box, self.rotate))

    @_dc(frozen=True)
    class SealStyle(TextStampStyle):
        rotate: int = 0

        def create_stamp(self, writer, box, text_params):
            return UprightTextStamp(writer=writer, style=self, box=_upright_box(box, self.rotate),
                                    text_params=text_params)

    _STYLES.update(qr=StampStyle, text=SealStyle)
    return StampStyle, SealStyle


class _FloatNoiseFilter(logging.Filter):
    """pyHanko warns when a stretched box exceeds its container by 1e-14 (float rounding)."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        return not ("is too wide for container" in msg or "is too tall for container" in msg)


logging.getLogger("pyhanko.pdf_utils.layout").addFilter(_FloatNoiseFilter())


def certification_style(info: StampInfo, font: FontEngineFactory, rotate: int = 0):
    """The lời chứng stamp: text beside the QR code, a thin border, no background."""
    from pyhanko.pdf_utils.text import TextBoxStyle

    stamp_cls, _ = _style_classes()
    return stamp_cls(stamp_text=info.text().replace("%", "%%"),
                     text_box_style=TextBoxStyle(font=font, font_size=8, leading=10),
                     border_width=1, innsep=4, background=None, rotate=rotate)


def seal_style(text: str, font: FontEngineFactory, rotate: int = 0):
    """Decree 30/2020: text only (no image, no border), in blue."""
    from pyhanko.pdf_utils.text import TextBoxStyle

    _, seal_cls = _style_classes()
    return seal_cls(stamp_text=text.replace("%", "%%"),
                    text_box_style=TextBoxStyle(font=font, font_size=8, leading=10, text_color=SEAL_COLOR),
                    border_width=0, background=None, rotate=rotate)
