"""Keeping stored certified copies verifiable for years (PAdES B-LTA maintenance).

A signature is provable only while the certificates that prove its time are: the TSA certificate
of the last timestamp (or, without any timestamp, the signer's own). Before that chain expires,
``refresh_archive`` adds the validation data of the last timestamp (certificates, CRLs) to the
document security store and a new document timestamp over everything — pyHanko's
``PdfTimeStamper.update_archival_timestamp_chain``; a copy without a document timestamp first
gets the validation data of each of its signatures. The refreshed file is verified before it
replaces the stored one (the old bytes stay in the content-addressed store); each refresh is
audited. ``sohoa archive refresh`` runs it and prints the report.
"""
from __future__ import annotations

import datetime as dt
import io
import json
import logging
from dataclasses import asdict, dataclass, field

from signing.errors import SigningInvalid
from signing.trust import Trust
from vocab.clock import iso, utcnow

log = logging.getLogger(__name__)
DEFAULT_WITHIN_DAYS = 90


@dataclass
class RefreshItem:
    document_id: int
    certified_copy_id: int | None
    status: str  # refreshed | not_due | failed
    expires: str | None = None  # when the chain proving the last timestamp (or the signer) expires
    old_sha256: str = ""
    new_sha256: str | None = None
    new_expires: str | None = None  # the same, after the refresh
    message: str = ""


@dataclass
class RefreshReport:
    checked: int = 0
    refreshed: int = 0
    not_due: int = 0
    failed: int = 0
    within_days: int = DEFAULT_WITHIN_DAYS
    items: list[RefreshItem] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)

    def lines(self) -> list[str]:
        out = [f"Đã kiểm tra {self.checked} bản sao: gia hạn {self.refreshed}, chưa đến hạn {self.not_due}, "
               f"lỗi {self.failed} (gia hạn khi chuỗi chứng thư của dấu thời gian cuối còn dưới "
               f"{self.within_days} ngày)"]
        for it in self.items:
            if it.status != "not_due":
                word = {"refreshed": "đã gia hạn", "failed": "LỖI"}.get(it.status, it.status)
                out.append(f"  tài liệu {it.document_id}: {word} (hết hạn {it.expires or '?'}"
                           + (f" → {it.new_expires}" if it.new_expires else "") + ")"
                           + (f" {it.old_sha256[:12]} → {it.new_sha256[:12]}" if it.new_sha256 else "")
                           + (f": {it.message}" if it.message else ""))
        return out


def proof_expiry(data: bytes) -> dt.datetime | None:
    """When the certificates proving the time of ``data``'s signatures expire: the TSA chain
    of the last document timestamp, else of the latest signature timestamp, else the earliest
    signer certificate's expiry. None for an unsigned file."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation.generic_cms import extract_tst_data_iter

    reader = PdfFileReader(io.BytesIO(data), strict=False)
    sigs = list(reader.embedded_signatures)
    if not sigs:
        return None
    doc_ts = [s for s in sigs if s.sig_object_type == "/DocTimeStamp"]
    if doc_ts:
        return _chain_expiry(doc_ts[-1].signed_data)
    tokens = []
    for s in sigs:
        try:
            tokens.extend(extract_tst_data_iter(s.signer_info, signed=False))
        except Exception:  # noqa: BLE001
            continue
    if tokens:
        return max(_chain_expiry(t) for t in tokens)
    return min(s.signer_cert["tbs_certificate"]["validity"]["not_after"].native for s in sigs if s.signer_cert)


def _chain_expiry(signed_data) -> dt.datetime:
    """The earliest expiry among the non-root certificates a CMS (a timestamp token) carries."""
    dates = [c.chosen["tbs_certificate"]["validity"]["not_after"].native for c in signed_data["certificates"]
             if c.name == "certificate" and c.chosen.self_signed == "no"]
    return min(dates)


def refresh_copy(data: bytes, tsa_url: str, trust: Trust, *, allow_fetching: bool = True) -> bytes:
    """``data`` with validation data for its last timestamp (or its signatures) and a new
    document timestamp."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign import validation
    from pyhanko.sign.signers import PdfTimeStamper

    from signing.signer import _timestamper

    reader = PdfFileReader(io.BytesIO(data), strict=False)
    sigs = list(reader.embedded_signatures)

    def vc():
        certs = [c for s in sigs for c in s.other_embedded_certs]
        return trust.validation_context(allow_fetching=allow_fetching, revocation_mode="hard-fail", other_certs=certs)

    if not any(s.sig_object_type == "/DocTimeStamp" for s in sigs):
        for i in range(len(sigs)):  # DSS entries for each signature (and its signature timestamp)
            reader = PdfFileReader(io.BytesIO(data), strict=False)
            out = validation.add_validation_info(reader.embedded_signatures[i], vc(), in_place=False)
            data = out.getvalue()
    reader = PdfFileReader(io.BytesIO(data), strict=False)
    out = io.BytesIO()
    PdfTimeStamper(_timestamper(tsa_url)).update_archival_timestamp_chain(reader, vc(), in_place=False, output=out)
    return out.getvalue()


def refresh_archive(settings, db, *, within_days: int = DEFAULT_WITHIN_DAYS, trust: Trust | None = None,
                    now: dt.datetime | None = None, allow_fetching: bool = True, dry_run: bool = False) -> RefreshReport:
    """Refresh every stored certified copy whose proof expires within ``within_days``."""
    from sqlalchemy import select

    from registry.models import AuditEvent, CertifiedCopy, Document
    from registry.store import Store
    from signing.verify import verify_pdf

    if not settings.tsa_url and not dry_run:
        raise SigningInvalid("cần cấu hình máy chủ dấu thời gian (tsa_url / SOHOA_TSA_URL) để gia hạn lưu trữ dài hạn")
    trust = trust or Trust.from_settings(settings)
    now = now or utcnow()
    store = Store(settings.store_dir)
    report = RefreshReport(within_days=within_days)
    with db.session() as s:
        targets = []
        for cc in s.scalars(select(CertifiedCopy).where(CertifiedCopy.status == "signed").order_by(CertifiedCopy.id)):
            for doc_id in cc.signed_document_ids or ([cc.signed_document_id] if cc.signed_document_id else []):
                targets.append((doc_id, cc.id))
    for doc_id, cc_id in targets:
        with db.session() as s:
            doc = s.get(Document, doc_id)
            sha = doc.sha256 if doc is not None else ""
        report.checked += 1
        item = RefreshItem(document_id=doc_id, certified_copy_id=cc_id, status="not_due", old_sha256=sha)
        report.items.append(item)
        try:
            data = store.read(sha)
            expires = proof_expiry(data)
            item.expires = iso(expires)
            if expires is not None and expires - now > dt.timedelta(days=within_days):
                report.not_due += 1
                continue
            if dry_run:
                item.status = "due"
                continue
            new = refresh_copy(data, settings.tsa_url, trust, allow_fetching=allow_fetching)
            rep = verify_pdf(new, trust, allow_fetching=allow_fetching)
            if not rep.valid:
                raise SigningInvalid("bản đã gia hạn không xác minh được: " + "; ".join(rep.summary_lines()[1:] or
                                                                                   rep.errors))
            new_sha, _ = store.put_bytes(new)
            with db.session() as s:
                d = s.get(Document, doc_id)
                d.sha256, d.size = new_sha, len(new)
                s.add(AuditEvent(actor="system", action="archive.refresh", subject_id=d.subject_id,
                                 object_type="document", object_id=str(doc_id),
                                 detail={"old_sha256": sha, "new_sha256": new_sha, "expired": item.expires}))
            item.status, item.new_sha256 = "refreshed", new_sha
            item.new_expires = iso(proof_expiry(new))
            report.refreshed += 1
        except Exception as exc:  # noqa: BLE001 - one bad copy must not stop the others; reported
            log.warning("archive refresh of document %s failed: %s", doc_id, exc)
            item.status, item.message = "failed", getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            report.failed += 1
    return report
