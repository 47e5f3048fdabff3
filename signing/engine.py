"""The signing engine: one loaded key, reused for many documents.

* :meth:`Engine.certify` — the certifying officer's certification signature (DocMDP, form filling
  and signing still allowed) with the visible lời chứng stamp (Vietnamese text in an embedded
  Noto Sans subset, QR code to the verification endpoint) on the last page.
* :meth:`Engine.seal` — the organisation seal: an invisible PAdES approval signature.

PAdES B-B without a TSA, B-T with one (RFC 3161), B-LT when revocation information for the chain
is reachable (validation data embedded in the DSS). SHA-256; RSA keys sign with PSS.
"""
from __future__ import annotations

import datetime as dt
import io
import logging
import os
import secrets
import threading
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from signing.keys import LoadedKey, load_signer, load_trust_roots, validation_context

log = logging.getLogger(__name__)

FONT_FILE = Path(__file__).with_name("fonts") / "NotoSans-VN.ttf"
SYSTEM_FONT = Path("/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf")
CERT_PHRASE = "Chứng thực bản sao đúng với bản chính"
VN_TZ_NAME = "Asia/Ho_Chi_Minh"


def vn_now() -> dt.datetime:
    try:
        from zoneinfo import ZoneInfo

        return dt.datetime.now(ZoneInfo(VN_TZ_NAME))
    except Exception:  # noqa: BLE001 - no tzdata: Vietnam has no DST, UTC+7 is exact
        return dt.datetime.now(dt.timezone(dt.timedelta(hours=7)))


def font_path() -> Path:
    return FONT_FILE if FONT_FILE.is_file() else SYSTEM_FONT


@dataclass
class StampInfo:
    """What the lời chứng says."""

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


from pyhanko.pdf_utils.font.api import FontEngineFactory  # noqa: E402


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
        if self.presubset:
            try:
                ga = self._shared_accumulator(writer, obj_stream)
            except Exception:  # noqa: BLE001 - pyHanko internals changed: the plain way still works
                log.debug("shared font accumulator unavailable", exc_info=True)
                ga = GlyphAccumulator(writer=writer, font_handle=io.BytesIO(self._bytes),
                                      font_size=self.font_size, obj_stream=obj_stream)
        else:
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
            glyph_set = tt.getGlyphSet(preferCFF=True)
            shared = self._shared = {
                "tt": tt, "hb_font": hb.Font(hb.Face(self._bytes)), "glyph_set": glyph_set,
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


def _fast_qr_style_class():
    """pyHanko's QR stamp, with a fixed QR mask pattern: ``qrcode`` otherwise renders the symbol
    eight times to pick the 'best' mask (~10 ms a stamp); any mask is a valid, readable QR code."""
    from dataclasses import dataclass as _dc

    from pyhanko.pdf_utils.layout import LayoutError
    from pyhanko.pdf_utils.writer import init_xobject_dictionary
    from pyhanko.stamp import QRStampStyle
    from pyhanko.stamp.qr import QRStamp

    class FastQRStamp(QRStamp):
        def _qr_xobject(self):
            import qrcode
            from pyhanko.pdf_utils.qr import PdfStreamQRImage

            qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, mask_pattern=2)
            qr.add_data(self.url)
            qr.make(fit=True)
            img = qr.make_image(image_factory=PdfStreamQRImage)
            command_stream = img.render_command_stream()
            bbox_size = (qr.modules_count + 2 * qr.border) * qr.box_size
            qr_xobj = init_xobject_dictionary(command_stream, bbox_size, bbox_size)
            qr_xobj.compress()
            return self.writer.add_object(qr_xobj), bbox_size

    @_dc(frozen=True)
    class FastQRStampStyle(QRStampStyle):
        def create_stamp(self, writer, box, text_params):
            try:
                url = text_params.pop("url")
            except KeyError:
                raise LayoutError("Using a QR stamp style requires a 'url' text parameter.") from None
            return FastQRStamp(writer, style=self, url=url, text_params=text_params, box=box)

    return FastQRStampStyle


_QR_STYLE = None


def _white_background():
    """An opaque white box under the stamp, so it stays legible over a noisy scan."""
    from pyhanko.pdf_utils.content import RawContent
    from pyhanko.pdf_utils.layout import BoxConstraints

    return RawContent(b"1 g -2 -2 104 104 re f", box=BoxConstraints(100, 100))


class _FloatNoiseFilter(logging.Filter):
    """pyHanko warns when a stretched box exceeds its container by 1e-14 (float rounding)."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        return not ("is too wide for container" in msg or "is too tall for container" in msg)


logging.getLogger("pyhanko.pdf_utils.layout").addFilter(_FloatNoiseFilter())


def _full_bleed():
    from pyhanko.pdf_utils import layout

    return layout.SimpleBoxLayoutRule(x_align=layout.AxisAlignment.ALIGN_MID,
                                      y_align=layout.AxisAlignment.ALIGN_MID,
                                      margins=layout.Margins.uniform(0.5),
                                      inner_content_scaling=layout.InnerScaling.STRETCH_FILL)


def qr_style_class():
    global _QR_STYLE
    if _QR_STYLE is None:
        _QR_STYLE = _fast_qr_style_class()
    return _QR_STYLE


@dataclass
class Profile:
    """Everything a signing process needs; picklable, handed to pool initializers once."""

    key_ref: str
    secret: bytes | None = None  # passphrase / PIN, resolved once by the parent
    env_var: str = "SOHOA_OFFICER_PASSPHRASE"
    tsa_url: str = ""
    trust_roots: list = field(default_factory=list)  # DER bytes or paths
    crl_dirs: list = field(default_factory=list)
    embed_validation: bool = False  # B-LT
    use_lta: bool = False  # B-LTA (document timestamp), needs a TSA
    font_file: str = ""
    prefer_local_tsa_cache: bool = True


class Engine:
    """A loaded key plus everything reused between documents. Thread-safe."""

    def __init__(self, profile: Profile, key: LoadedKey | None = None) -> None:
        self.profile = profile
        self.key = key or load_signer(profile.key_ref, env_var=profile.env_var, secret=profile.secret)
        self.trust_roots = load_trust_roots(list(profile.trust_roots))
        self.timestamper = _timestamper(profile.tsa_url) if profile.tsa_url else None
        self.font = CachedFontFactory(Path(profile.font_file) if profile.font_file else font_path())
        self._vc_local = threading.local()
        self._lock = threading.Lock()

    # -- helpers ------------------------------------------------------------------------------
    @property
    def cert(self):
        return self.key.cert

    def _vc(self):
        """A validation context per thread (they cache fetched revocation data)."""
        vc = getattr(self._vc_local, "vc", None)
        if vc is None:
            vc = validation_context(self.trust_roots, self.profile.crl_dirs, allow_fetching=True,
                                    revocation_mode="hard-fail")
            self._vc_local.vc = vc
        return vc

    def _sign(self, pdf: bytes, meta, *, stamp_style=None, field_spec=None, text_params=None) -> bytes:
        from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
        from pyhanko.sign import signers

        w = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        if field_spec is not None and field_spec.box is not None and field_spec.on_page == -1:
            field_spec = self._place_on_last_page(w, field_spec)
        pdf_signer = signers.PdfSigner(meta, signer=self.key.signer, timestamper=self.timestamper,
                                       stamp_style=stamp_style, new_field_spec=field_spec)
        out = io.BytesIO()
        # a fixed reservation spares pyHanko a dummy signature per document to measure the size
        reserved = 8192 + (8192 if self.timestamper is not None else 0) + (16384 if meta.embed_validation_info else 0)
        kw = dict(output=out, appearance_text_params=text_params, bytes_reserved=reserved)
        # asn1crypto parses lazily and is not thread-safe, and pyHanko is pure Python (GIL-bound):
        # one signature at a time per Engine; parallelism comes from processes (see service.py)
        with self.key.lock:
            pdf_signer.sign_pdf(w, **kw)
        return out.getvalue()

    @staticmethod
    def _place_on_last_page(w, spec):
        """Bottom-right of the last page, inside its MediaBox / CropBox."""
        from dataclasses import replace

        page_ref, _ = w.find_page_for_modification(-1)
        page = page_ref.get_object()
        box = None
        node = page
        while node is not None and box is None:
            box = node.get("/CropBox") or node.get("/MediaBox")
            parent = node.get("/Parent")
            node = parent.get_object() if parent is not None and box is None else None
        x0, y0, x1, y1 = ([float(v) for v in box] if box is not None else [0, 0, 595.28, 841.89])
        width, height = spec.box[2] - spec.box[0], spec.box[3] - spec.box[1]
        width = min(width, (x1 - x0) - 20)
        height = min(height, (y1 - y0) / 3)
        margin = 18.0
        bx1 = x1 - margin
        by0 = y0 + margin
        return replace(spec, box=(int(bx1 - width), int(by0), int(bx1), int(by0 + height)))

    # -- officer certification --------------------------------------------------------------
    def certify(self, pdf: bytes, info: StampInfo, *, reason: str = CERT_PHRASE) -> bytes:
        """The officer's certification signature. A certification signature must be the first one
        in a PDF, so an original that already carries signatures (the organisation seal from the
        pipeline) is certified from its last unsigned revision (see :func:`unsigned_base`)."""
        return self._certify(unsigned_base(pdf), info, reason=reason)

    def _certify(self, pdf: bytes, info: StampInfo, *, reason: str = CERT_PHRASE) -> bytes:
        from pyhanko.pdf_utils.text import TextBoxStyle
        from pyhanko.sign import fields, signers
        from pyhanko.sign.fields import MDPPerm, SigSeedSubFilter

        field_name = f"ChungThuc_{info.number}_{info.copy_index}_{secrets.token_hex(3)}"
        embed = bool(self.profile.embed_validation)
        meta = signers.PdfSignatureMetadata(
            field_name=field_name, md_algorithm="sha256", certify=True,
            docmdp_permissions=MDPPerm.FILL_FORMS, subfilter=SigSeedSubFilter.PADES,
            reason=reason, location=info.body, name=info.officer_name,
            embed_validation_info=embed,
            use_pades_lta=bool(self.profile.use_lta and embed and self.timestamper is not None),
            validation_context=self._vc() if embed else None,
        )
        style = qr_style_class()(
            stamp_text=info.text().replace("%", "%%"),
            text_box_style=TextBoxStyle(font=self.font, font_size=8, leading=10),
            border_width=1, innsep=4,
            background=_white_background(), background_opacity=1.0,
            background_layout=_full_bleed(),
        )
        spec = fields.SigFieldSpec(sig_field_name=field_name, on_page=-1, box=(0, 0, 330, 112))
        return self._sign(pdf, meta, stamp_style=style, field_spec=spec, text_params={"url": info.verify_url})

    # -- organisation seal ---------------------------------------------------------------------
    def seal(self, pdf: bytes, *, reason: str = "Ký số lưu kho", location: str = "") -> bytes:
        from pyhanko.sign import fields, signers
        from pyhanko.sign.fields import SigSeedSubFilter

        field_name = f"DauCoQuan_{secrets.token_hex(4)}"
        embed = bool(self.profile.embed_validation)
        meta = signers.PdfSignatureMetadata(
            field_name=field_name, md_algorithm="sha256", subfilter=SigSeedSubFilter.PADES,
            reason=reason, location=location or None, embed_validation_info=embed,
            validation_context=self._vc() if embed else None,
        )
        spec = fields.SigFieldSpec(sig_field_name=field_name)
        return self._sign(pdf, meta, field_spec=spec)

    def close(self) -> None:
        self.key.close()


# -- process pool plumbing: one Engine per worker process ---------------------------------------

_PROC_ENGINE: Engine | None = None


def _pool_init(profile: Profile) -> None:
    global _PROC_ENGINE
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    _PROC_ENGINE = Engine(profile)


def _pool_certify(pdf: bytes, info: StampInfo) -> bytes:
    assert _PROC_ENGINE is not None, "pool initializer did not run"
    return _PROC_ENGINE.certify(pdf, info)


def _pool_seal(pdf: bytes) -> bytes:
    assert _PROC_ENGINE is not None, "pool initializer did not run"
    return _PROC_ENGINE.seal(pdf)


def _timestamper(url: str):
    """RFC 3161 client over ``requests`` (pyHanko's default aiohttp client leaves sessions open
    when used from many short event loops)."""
    from pyhanko.sign.timestamps.requests_client import RequestsHTTPTimeStamper

    return RequestsHTTPTimeStamper(url, timeout=15)


def unsigned_base(pdf: bytes) -> bytes:
    """``pdf`` without its signatures: the revision before the first signature when signatures
    were added as incremental updates (pyHanko always does; the original bytes come back exactly),
    else a rewrite without signature fields (pikepdf; images and the text layer are kept)."""
    if b"/ByteRange" not in pdf:
        return pdf
    from pyhanko.pdf_utils.reader import PdfFileReader

    try:
        sigs = PdfFileReader(io.BytesIO(pdf), strict=False).embedded_signatures
    except Exception:  # noqa: BLE001 - unreadable here: let the signer report it
        return pdf
    if not sigs:
        return pdf
    starts = []
    for sig in sigs:
        try:
            starts.append(int(sig.sig_object["/ByteRange"][1]))
        except Exception:  # noqa: BLE001
            pass
    if starts:
        idx = pdf.rfind(b"%%EOF", 0, min(starts))
        if idx > 0:
            end = idx + 5
            while end < len(pdf) and pdf[end:end + 1] in (b"\r", b"\n"):
                end += 1
            base = pdf[:end]
            try:
                if not PdfFileReader(io.BytesIO(base), strict=False).embedded_signatures:
                    return base
            except Exception:  # noqa: BLE001
                pass
    return _strip_signatures(pdf)


def _strip_signatures(pdf: bytes) -> bytes:
    import pikepdf

    with pikepdf.open(io.BytesIO(pdf)) as doc:
        acro = doc.Root.get("/AcroForm")
        sig_fields = set()
        if acro is not None and "/Fields" in acro:
            keep = pikepdf.Array()
            for f in acro.Fields:
                if f.get("/FT") == pikepdf.Name.Sig:
                    sig_fields.add(f.objgen)
                else:
                    keep.append(f)
            acro.Fields = keep
            if "/SigFlags" in acro:
                del acro["/SigFlags"]
        for page in doc.pages:
            annots = page.obj.get("/Annots")
            if annots is None:
                continue
            kept = pikepdf.Array([a for a in annots if a.objgen not in sig_fields
                                  and a.get("/FT") != pikepdf.Name.Sig])
            page.obj.Annots = kept
        for key in ("/Perms", "/DSS"):
            if key in doc.Root:
                del doc.Root[key]
        out = io.BytesIO()
        doc.save(out)
        return out.getvalue()
