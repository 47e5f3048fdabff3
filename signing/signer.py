"""The signing engine: one loaded key, reused for many documents.

* :meth:`Engine.certify` — the certifying officer's certification signature (DocMDP: form
  filling and further signatures allowed) with the lời chứng stamp placed where it hides nothing
  (free space on the last page, else a new last page; see :mod:`signing.placement`).
* :meth:`Engine.seal` — the organisation seal: an approval signature whose appearance follows
  Decree 30/2020 (top right of page 1, agency name and time, no image).

PAdES B-B without a TSA, B-T with one (RFC 3161), B-LT when revocation information for the chain
is reachable (validation data in the DSS), B-LTA (a document timestamp over it) when asked.
The space reserved for the CMS is measured, not guessed: the first signature of an Engine lets
pyHanko estimate it from a dry run with the real chain and timestamp; later ones reserve the
measured size plus a margin, and a signature that still does not fit is redone once with a
fresh estimate. SHA-256 (SHA-384 for P-384 keys); RSA keys sign with PSS.
"""
from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from signing.keys import LoadedKey, SignerKey, digest_for
from signing.stamp import (CERT_PHRASE, SEAL_REASON, STAMP_SIZES, CachedFontFactory, StampInfo,
                           certification_style, font_path, seal_size, seal_style, seal_text)
from signing.trust import Trust

log = logging.getLogger(__name__)
VC_MAX_AGE = 600.0  # seconds a per-thread validation context (and the CRLs it fetched) is reused
_BYTERANGE = re.compile(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]")


@dataclass(frozen=True)
class SignatureProfile:
    """What is signed and how — the PAdES level (timestamp, validation data, archive timestamp),
    the reasons, the appearance's font and agency, the chain carried in the CMS — never who signs
    nor the secret that opens the key (:class:`signing.keys.SignerKey`). Frozen and picklable,
    handed to pool initializers once (like pyHanko's ``PdfSignatureMetadata`` apart from its
    signer)."""

    tsa_url: str = ""
    trust: Trust = field(default_factory=Trust)
    extra_certs: tuple[bytes, ...] = ()  # path intermediates (DER) to carry in the CMS
    embed_validation: bool = False  # B-LT
    use_lta: bool = False  # B-LTA (document timestamp), needs a TSA and B-LT
    font_file: str = ""
    agency: str = ""  # the seal's appearance: the unit's name
    certify_reason: str = CERT_PHRASE
    seal_reason: str = SEAL_REASON

    @property
    def level(self) -> str:
        if self.embed_validation and self.tsa_url:
            return "B-LTA" if self.use_lta else "B-LT"
        return "B-T" if self.tsa_url else "B-B"


class Engine:
    """A loaded key plus everything reused between documents. Thread-safe."""

    def __init__(self, profile: SignatureProfile, key: LoadedKey | SignerKey) -> None:
        """``key``: an opened key, or the :class:`SignerKey` to open (a pool worker)."""
        from asn1crypto import x509 as asn1_x509

        self.profile = profile
        self.key = key.open() if isinstance(key, SignerKey) else key
        if profile.extra_certs:
            self.key.add_certs([asn1_x509.Certificate.load(d) for d in profile.extra_certs])
        self.timestamper = _timestamper(profile.tsa_url) if profile.tsa_url else None
        self.font = CachedFontFactory(Path(profile.font_file) if profile.font_file else font_path())
        self._vc_local = threading.local()  # per thread: validation context, last placement
        self._reserved: dict[str, int] = {}  # CMS space (hex digits) per kind of signature
        self._places: dict[str, object] = {}  # stamp placement per original (copies share it)
        self.md = digest_for(self.key.cert)

    @property
    def cert(self):
        return self.key.cert

    def _vc(self):
        """A validation context per thread (it caches fetched revocation data), renewed every
        ``VC_MAX_AGE`` seconds so a long-running process does not embed stale CRLs."""
        vc, born = getattr(self._vc_local, "vc", None), getattr(self._vc_local, "born", 0.0)
        if vc is None or time.monotonic() - born > VC_MAX_AGE:
            vc = self.profile.trust.validation_context(allow_fetching=True, revocation_mode="hard-fail",
                                                       other_certs=self.key.chain_certs)
            self._vc_local.vc, self._vc_local.born = vc, time.monotonic()
        return vc

    def _meta(self, field_name: str, **kw):
        from pyhanko.sign import signers
        from pyhanko.sign.fields import SigSeedSubFilter

        embed = bool(self.profile.embed_validation)
        return signers.PdfSignatureMetadata(
            field_name=field_name, md_algorithm=self.md, subfilter=SigSeedSubFilter.PADES,
            embed_validation_info=embed, validation_context=self._vc() if embed else None,
            use_pades_lta=bool(self.profile.use_lta and embed and self.timestamper is not None), **kw)

    def _sign(self, pdf: bytes, meta, kind: str, *, new_page: bool = False, stamp_style=None, field_spec=None,
              text_params=None, extra_fields=()) -> bytes:
        from pyhanko.sign import signers
        from pyhanko.sign.general import SigningError

        signer = self.key.signer

        def once(reserved):
            w = self._writer(pdf, new_page, extra_fields)
            out = io.BytesIO()
            pdf_signer = signers.PdfSigner(meta, signer=signer, timestamper=self.timestamper,
                                           stamp_style=stamp_style, new_field_spec=field_spec)
            # asn1crypto parses lazily and is not thread-safe, and pyHanko is pure Python
            # (GIL-bound): one signature at a time per Engine; parallelism comes from processes
            with self.key.lock:
                if self.remote:  # a remote (CSC) key: this signature alone, on its own authorization
                    signer.expect(1)
                try:
                    pdf_signer.sign_pdf(w, output=out, appearance_text_params=dict(text_params or {}),
                                        bytes_reserved=reserved)
                except SigningError:
                    if getattr(signer, "failure", None) is not None:
                        raise signer.failure from None  # what the remote service said
                    raise
            return out.getvalue()

        reserved = self._reserved.get(kind)
        try:
            data = once(reserved)
        except SigningError as exc:
            if reserved is None or "larger than expected" not in str(exc):
                raise
            log.info("%s signature larger than the measured size: estimated again", kind)
            data = once(None)
            reserved = None
        if reserved is None:
            self._reserved[kind] = _measured_reservation(data, len(pdf))
        return data

    @staticmethod
    def _writer(pdf: bytes, new_page: bool, extra_fields):
        from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
        from pyhanko.sign import fields

        w = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        if new_page:
            w.insert_page(_blank_page())
        for spec in extra_fields:
            fields.append_signature_field(w, spec)
        return w

    # -- officer certification --------------------------------------------------------------
    def certify(self, pdf: bytes, info: StampInfo, *, reason: str | None = None,
                seal_slot: tuple[str, tuple[float, float]] | None = None) -> bytes:
        """The officer's certification signature with the lời chứng stamp. A certification
        signature must be the first one in a PDF, so an original that already carries signatures
        (the organisation seal from the pipeline) is certified from its last unsigned revision.

        ``seal_slot``: ``(field name, size)`` of the organisation seal that will follow. Its empty
        signature field is created here, top right of page 1, because DocMDP lets later
        signatures fill existing fields but not add visible ones."""
        base, meta, kw, new_page = self._certify_plan(pdf, info, reason, seal_slot)
        self._vc_local.added_page = new_page
        return self._sign(base, meta, "certify", new_page=new_page, **kw)

    def _certify_plan(self, pdf: bytes, info: StampInfo, reason: str | None, seal_slot):
        """``(unsigned base, signature metadata, stamp/field arguments of _sign, page added)``."""
        from pyhanko.sign import fields
        from pyhanko.sign.fields import MDPPerm

        base = unsigned_base(pdf)
        place, seal_at = self._place_for(base, seal_slot[1] if seal_slot is not None else None)
        field_name = f"ChungThuc_{info.number}_{info.copy_index}_{secrets.token_hex(3)}"
        meta = self._meta(field_name, certify=True, docmdp_permissions=MDPPerm.FILL_FORMS,
                          reason=reason or self.profile.certify_reason,
                          location=info.body, name=info.officer_name)
        spec = fields.SigFieldSpec(sig_field_name=field_name, on_page=place.page, box=_box(place.rect))
        style = certification_style(info, self.font, rotate=place.rotate)
        extra = []
        if seal_at is not None:
            extra.append(fields.SigFieldSpec(sig_field_name=seal_slot[0], on_page=0, box=_box(seal_at.rect)))
        return base, meta, dict(stamp_style=style, field_spec=spec, text_params={"url": info.verify_url},
                                extra_fields=extra), place.new_page

    def certify_batch(self, items, *, reason: str | None = None) -> list[tuple[bytes, bool]]:
        """Certify several documents with signatures obtained TOGETHER: ``items`` are
        ``(pdf, StampInfo, seal_slot)``; returns ``(signed pdf, page added)`` per item, in order.
        With a remote (CSC) key, every hash of the batch goes to the service in one commit — one
        ``credentials/authorize`` for all of them; a local key signs them one by one. All or
        nothing: the first failure is raised and no output is returned."""
        if not self.remote:
            out = []
            for pdf, info, slot in items:
                out.append((self.certify(pdf, info, reason=reason, seal_slot=slot), self.added_page))
            return out
        return self._remote_batch([self._certify_plan(pdf, info, reason, slot) for pdf, info, slot in items])

    @property
    def remote(self) -> bool:
        """The key is a remote (CSC) credential: batches are authorized once."""
        return hasattr(self.key.signer, "expect")

    def _remote_batch(self, plans) -> list[tuple[bytes, bool]]:
        """Sign ``(base, meta, _sign arguments, page added)`` plans concurrently in one event
        loop: each stops at its raw signature until all hashes are in, then ONE commit
        (authorization + signHash) answers them all."""
        from pyhanko.sign import signers

        signer = self.key.signer

        async def one(base, meta, kw, new_page):
            try:
                w = self._writer(base, new_page, kw.get("extra_fields", ()))
                out = io.BytesIO()
                pdf_signer = signers.PdfSigner(meta, signer=signer, timestamper=self.timestamper,
                                               stamp_style=kw.get("stamp_style"), new_field_spec=kw.get("field_spec"))
                await pdf_signer.async_sign_pdf(w, output=out, appearance_text_params=dict(kw.get("text_params") or {}))
                return out.getvalue(), new_page
            except BaseException:
                signer.expect_fewer()
                raise

        async def run_all():
            return await asyncio.gather(*(one(*p) for p in plans), return_exceptions=True)

        with self.key.lock:
            signer.expect(len(plans))
            try:
                results = asyncio.run(run_all())
            finally:
                signer.batch_size = 1
        failure = signer.failure
        errors = [r for r in results if isinstance(r, BaseException)]
        if failure is not None:
            raise failure
        if errors:
            raise errors[0]
        return results

    @property
    def added_page(self) -> bool:
        """Whether the last certification by this thread appended a certification page."""
        return bool(getattr(self._vc_local, "added_page", False))

    def _place_for(self, base: bytes, seal_size=None):
        """(stamp placement, seal placement or None), computed once per original and seal size
        (the copies of one act share them)."""
        from signing.placement import plan

        key = (hashlib.sha256(base).hexdigest(), seal_size)
        found = self._places.get(key)
        if found is None:
            found = plan(base, STAMP_SIZES, seal_size)
            if len(self._places) > 64:
                self._places.clear()
            self._places[key] = found
        return found

    # -- organisation seal ---------------------------------------------------------------------
    def seal_slot(self) -> tuple[str, tuple[float, float]]:
        """The field name and size a certification signature should reserve for this seal."""
        agency = self.agency
        return f"DauCoQuan_{secrets.token_hex(4)}", seal_size(agency)

    @property
    def agency(self) -> str:
        return self.profile.agency or _cert_org(self.cert)

    def seal(self, pdf: bytes, *, reason: str | None = None) -> bytes:
        """The organisation seal (Decree 30/2020 appearance: top right of page 1, no image, the
        agency's name and the signing time with +07:00) — in the empty seal field a
        certification signature reserved, else in a new field."""
        pdf, meta, kw, _ = self._seal_plan(pdf, reason)
        return self._sign(pdf, meta, "seal", **kw)

    def seal_batch(self, pdfs: list[bytes], *, reason: str | None = None) -> list[bytes]:
        """Seal several documents; with a remote (CSC) seal key on one authorization."""
        if not self.remote:
            return [self.seal(p, reason=reason) for p in pdfs]
        return [data for data, _ in self._remote_batch([self._seal_plan(p, reason) for p in pdfs])]

    def _seal_plan(self, pdf: bytes, reason: str | None):
        from pyhanko.sign import fields

        from signing.placement import seal_place
        from vocab.clock import vn_now

        agency = self.agency
        slot, rotate = _empty_seal_field(pdf)
        spec = None
        if slot is None:
            place = seal_place(pdf, seal_size(agency))
            slot, rotate = f"DauCoQuan_{secrets.token_hex(4)}", place.rotate
            spec = fields.SigFieldSpec(sig_field_name=slot, on_page=place.page, box=_box(place.rect))
        meta = self._meta(slot, reason=reason or self.profile.seal_reason, location=agency, name=agency)
        style = seal_style(seal_text(agency, vn_now()), self.font, rotate=rotate)
        return pdf, meta, dict(stamp_style=style, field_spec=spec), False

    def close(self) -> None:
        self.key.close()


def _empty_seal_field(pdf: bytes) -> tuple[str | None, int]:
    """The empty seal field reserved by a certification signature and its page's /Rotate."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.fields import enumerate_sig_fields

    r = PdfFileReader(io.BytesIO(pdf), strict=False)
    for name, _value, field_ref in enumerate_sig_fields(r, filled_status=False):
        if name.startswith("DauCoQuan_"):
            page = field_ref.get_object().get("/P")
            rotate = 0
            node = page.get_object() if page is not None else None
            while node is not None:
                if "/Rotate" in node:
                    rotate = int(node["/Rotate"]) % 360
                    break
                parent = node.get("/Parent")
                node = parent.get_object() if parent is not None else None
            return name, rotate
    return None, 0


def _measured_reservation(data: bytes, start: int) -> int:
    """Hex digits to reserve next time: the CMS just written (the first signature of this
    update), plus room for a timestamp token or chain a little longer."""
    m = _BYTERANGE.search(data, start)
    if m is None:
        return 0
    a, b = int(m.group(2)), int(m.group(3))
    used = len(data[a + 1:b - 1].rstrip(b"0"))
    used += used % 2
    return used + max(2048, used // 8) * 2


def _box(rect) -> tuple:
    return tuple(round(v, 2) for v in rect)


def _blank_page():
    from pyhanko.pdf_utils import generic

    from signing.placement import A4

    return generic.DictionaryObject({
        generic.pdf_name("/Type"): generic.pdf_name("/Page"),
        generic.pdf_name("/MediaBox"): generic.ArrayObject([generic.FloatObject(v) for v in (0, 0, *A4)]),
        generic.pdf_name("/Resources"): generic.DictionaryObject(),
    })


def _cert_org(cert) -> str:
    try:
        subj = cert.subject.native
        return str(subj.get("organization_name") or subj.get("common_name") or "")
    except Exception:  # noqa: BLE001
        return ""


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
    return strip_signatures(pdf)


def strip_signatures(pdf: bytes) -> bytes:
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
            page.obj.Annots = pikepdf.Array([a for a in annots if a.objgen not in sig_fields
                                             and a.get("/FT") != pikepdf.Name.Sig])
        for key in ("/Perms", "/DSS"):
            if key in doc.Root:
                del doc.Root[key]
        out = io.BytesIO()
        doc.save(out)
        return out.getvalue()
