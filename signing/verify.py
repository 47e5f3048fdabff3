"""Verification of any sohoa PDF (the product spec's electronic certified copy) — the one service
behind ``sohoa verify``, ``POST /api/v1/verify`` and the public ``/verify`` page.

``verify_pdf(data, trust, *, allow_fetching=True, path=None) -> VerifyReport``

Each signature is judged at the right time: a signature with a trusted timestamp is judged as of
that timestamp (point-in-time validation with pyHanko's ValidationContext, revocation data issued
later accepted retroactively) — so a copy timestamped before its officer's certificate was
revoked stays valid, and one without such proof does not. Signature timestamps whose TSA
certificate has since expired are proven by the chain of document timestamps after them
(PAdES B-LTA, each judged as of the next one). Trust comes only from the configured anchor sets
(:class:`signing.trust.Trust`); the report names the set that anchored each signature. When the
revocation status cannot be obtained at all, the signature is judged without it and the report
says so. What changed after each signature comes from pyHanko's difference analysis
(:mod:`signing.changes` describes it in Vietnamese). Nothing here raises for a bad file: the
report says what is wrong.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import io
import json
import logging
from dataclasses import asdict, dataclass, field

from signing.changes import BENIGN, Change, describe_changes
from signing.trust import Trust, set_label

# pyHanko logs (with tracebacks) what it also returns in its results: keep stderr for people
for _name in ("pyhanko.sign.diff_analysis", "pyhanko.sign.validation", "pyhanko_certvalidator",
              "pyhanko.pdf_utils.reader"):
    logging.getLogger(_name).setLevel(logging.CRITICAL)

REVOCATION_TEXT = {"good": "chưa bị thu hồi", "revoked": "ĐÃ BỊ THU HỒI",
                   "revoked_later": "bị thu hồi sau thời điểm ký đã được chứng minh",
                   "unknown": "không kiểm tra được tình trạng thu hồi"}
KIND_TEXT = {"certification": "chữ ký chứng thực (DocMDP)", "approval": "chữ ký phê duyệt / dấu cơ quan",
             "timestamp": "dấu thời gian tài liệu"}
REASON_TEXT = {"key_compromise": "lộ khóa bí mật", "ca_compromise": "CA bị xâm phạm",
               "affiliation_changed": "thay đổi nơi công tác", "superseded": "đã có chứng thư thay thế",
               "cessation_of_operation": "ngừng hoạt động", "certificate_hold": "tạm dừng",
               "privilege_withdrawn": "rút quyền", "unspecified": "không nêu lý do"}


@dataclass
class SignatureReport:
    field: str
    kind: str  # certification | approval | timestamp
    signer: str = ""
    title: str = ""
    organisation: str = ""
    cert_fingerprint: str = ""
    cert_serial: str = ""
    cert_not_after: str | None = None
    signing_time: str | None = None  # claimed by the signer
    timestamp: str | None = None  # RFC 3161 signature timestamp
    timestamp_trusted: bool | None = None
    proven_time: str | None = None  # signing time proven by a trusted timestamp
    intact: bool = False
    valid: bool = False  # cryptographically
    trusted: bool = False
    anchor_set: str | None = None  # gov | public
    anchor_set_label: str = ""
    revocation: str = "unknown"  # good | revoked | revoked_later | unknown
    revoked_at: str | None = None
    revocation_reason: str | None = None
    expired: bool = False
    judged_at: str | None = None  # the time the certificate chain was judged at
    coverage: str = ""
    modification_level: str = ""
    docmdp_ok: bool | None = None
    docmdp_permissions: str | None = None
    modified_after: bool = False
    changes: list[Change] = field(default_factory=list)
    pades_level: str = ""
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.intact and self.valid and self.trusted and not self.modified_after \
            and self.revocation != "revoked" and not self.errors


@dataclass
class VerifyReport:
    valid: bool = False
    intact: bool = False
    trusted: bool = False
    modified_after_signing: bool = False
    signed: bool = False
    anchor_sets: list[str] = field(default_factory=list)
    signatures: list[SignatureReport] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    sha256: str = ""
    path: str | None = None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["summary"] = self.summary_lines()
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, default=str)

    def summary_lines(self) -> list[str]:
        """The verdict in a few Vietnamese sentences (what a person reads first)."""
        out = [("HỢP LỆ" if self.valid else "KHÔNG HỢP LỆ") + (f" — {self.path}" if self.path else "")]
        if not self.signed:
            out.append("Tài liệu không có chữ ký số.")
        for s in self.signatures:
            if s.kind == "timestamp":
                continue
            who = s.signer + (f" ({s.title})" if s.title else "")
            state = "hợp lệ" if s.ok else "không hợp lệ"
            anchor = f", tin cậy theo {s.anchor_set_label}" if s.trusted else ", không thuộc gốc tin cậy đã cấu hình"
            when = f", ký lúc {s.proven_time or s.timestamp or s.signing_time}" if (s.proven_time or s.timestamp
                                                                                     or s.signing_time) else ""
            kind = KIND_TEXT.get(s.kind, s.kind)
            out.append(f"{kind[:1].upper()}{kind[1:]} của {who}: {state}{anchor}{when}.")
            if s.revocation == "revoked_later":
                out.append(f"Chứng thư số của {s.signer} bị thu hồi lúc {s.revoked_at}, sau thời điểm ký đã được "
                           "chứng minh bằng dấu thời gian: chữ ký vẫn có giá trị.")
            bad = [c.text for c in s.changes if not c.allowed]
            if bad:
                out.append(f"Sau chữ ký của {s.signer or s.field}: " + "; ".join(bad) + ".")
        return out

    def to_text(self) -> str:
        """Human answer, in Vietnamese."""
        yn = lambda b: "có" if b else "không"  # noqa: E731
        lines = [f"Kết quả xác minh: {self.summary_lines()[0]}", *self.summary_lines()[1:]]
        lines.append(f"Toàn vẹn (không bị sửa đổi nội dung đã ký): {yn(self.intact)}")
        lines.append(f"Tin cậy (chuỗi chứng thư đến gốc tin cậy đã cấu hình): {yn(self.trusted)}"
                     + (f" — {', '.join(set_label(a) for a in self.anchor_sets)}" if self.anchor_sets else ""))
        lines.append(f"Bị thay đổi sau khi ký: {yn(self.modified_after_signing)}")
        for i, s in enumerate(self.signatures, 1):
            lines.append(f"Chữ ký {i} ({KIND_TEXT.get(s.kind, s.kind)}, trường {s.field}):")
            if s.signer:
                lines.append(f"  Người ký: {s.signer}" + (f" — {s.title}" if s.title else "")
                             + (f" — {s.organisation}" if s.organisation else ""))
            if s.signing_time:
                lines.append(f"  Thời điểm ký (do người ký khai): {s.signing_time}")
            if s.timestamp:
                lines.append(f"  Dấu thời gian (RFC 3161): {s.timestamp}" + ("" if s.timestamp_trusted else " (không tin cậy)"))
            elif s.kind != "timestamp":
                lines.append("  Dấu thời gian: không có")
            if s.proven_time and s.kind != "timestamp":
                lines.append(f"  Thời điểm ký được chứng minh: {s.proven_time}")
            lines.append(f"  Toàn vẹn: {yn(s.intact)}; chữ ký đúng: {yn(s.valid)}; tin cậy: {yn(s.trusted)}"
                         + (f" ({s.anchor_set_label})" if s.trusted and s.anchor_set_label else ""))
            if s.kind != "timestamp":
                rev = REVOCATION_TEXT.get(s.revocation, s.revocation)
                if s.revoked_at:
                    rev += f" (lúc {s.revoked_at}, lý do: {REASON_TEXT.get(s.revocation_reason or '', s.revocation_reason)})"
                lines.append(f"  Chứng thư số: {'hết hạn' if s.expired else 'còn hiệu lực'} (đến {s.cert_not_after}); {rev}")
            if s.pades_level:
                lines.append(f"  Mức PAdES: {s.pades_level}")
            for c in s.changes:
                lines.append(f"  {'Thay đổi sau chữ ký (được phép)' if c.allowed else 'CẢNH BÁO — thay đổi sau chữ ký'}: "
                             f"{c.text}")
            if s.modified_after and not any(not c.allowed for c in s.changes):
                lines.append("  CẢNH BÁO: tài liệu đã bị thay đổi sau chữ ký này")
            lines.extend(f"  Cảnh báo: {w}" for w in s.warnings)
            lines.extend(f"  Lỗi: {e}" for e in s.errors)
        lines.extend(f"Cảnh báo: {w}" for w in self.warnings)
        lines.extend(f"Lỗi: {e}" for e in self.errors)
        return "\n".join(lines)


def _name_attr(cert, attr: str) -> str:
    try:
        return str(cert.subject.native.get(attr) or "")
    except Exception:  # noqa: BLE001
        return ""


def _iso(t) -> str | None:
    from vocab.clock import iso

    return iso(t) if t is not None else None


def verify_pdf(data: bytes, trust: Trust, *, allow_fetching: bool = True, path: str | None = None,
               moment: dt.datetime | None = None) -> VerifyReport:
    """Verify every signature of ``data`` against ``trust`` (``Trust.from_settings(settings)``
    for the configured one). ``allow_fetching``: CRLs and intermediate certificates may be
    fetched from the addresses in the certificates (else only what the file, the configured
    intermediates and the local CRL directories hold). ``moment``: judge as of that time instead
    of now (audits, and tests of what a copy will say in the future)."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    if not isinstance(trust, Trust):
        raise TypeError("verify_pdf needs a signing.Trust (Trust.from_settings(settings) or Trust.build(...))")
    report = VerifyReport(path=path, sha256=hashlib.sha256(data).hexdigest())
    if not trust.roots:
        report.warnings.append("chưa cấu hình gốc tin cậy (trust_roots_gov / trust_roots_public): không chữ ký nào "
                               "được coi là tin cậy")
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        sigs = list(reader.embedded_signatures)
    except Exception as exc:  # noqa: BLE001 - not a PDF, broken xref, …
        report.errors.append(f"không đọc được tệp PDF ({type(exc).__name__})")
        return report
    if not sigs:
        report.errors.append("tài liệu không có chữ ký số")
        return report
    report.signed = True
    try:
        ctx = _Context(trust, reader, allow_fetching, moment)
    except Exception as exc:  # noqa: BLE001 - a damaged signature dictionary or DSS
        report.errors.append(f"không đọc được dữ liệu chữ ký ({type(exc).__name__})")
        return report
    last = len(sigs) - 1
    for idx, sig in enumerate(sigs):
        try:
            sig.compute_integrity_info()  # coverage and pyHanko's difference analysis, once
            sr = ctx.timestamp_report(sig) if sig.sig_object_type == "/DocTimeStamp" else ctx.signature_report(sig)
            _fill_modification(sr, sig, reader, idx == last)
        except Exception as exc:  # noqa: BLE001 - one broken signature must not hide the others
            sr = SignatureReport(field=sig.field_name or "", kind="approval")
            sr.errors.append(f"không kiểm tra được chữ ký ({type(exc).__name__}: {str(exc)[:200]})")
        report.signatures.append(sr)
    regular = [s for s in report.signatures if s.kind != "timestamp"]
    report.intact = all(s.intact for s in report.signatures)
    report.trusted = bool(regular) and all(s.trusted for s in regular)
    report.anchor_sets = sorted({s.anchor_set for s in regular if s.anchor_set})
    report.modified_after_signing = any(s.modified_after for s in report.signatures) or not report.intact
    report.valid = bool(regular) and all(s.ok for s in regular) and report.intact and not report.errors \
        and not any(s.modified_after or s.errors for s in report.signatures)
    if report.modified_after_signing:
        report.errors.append("tài liệu đã bị thay đổi sau khi ký")
    return report


class _Context:
    """Validation data for one file: anchors, the file's DSS and embedded certificates, local
    CRLs, and the times the document-timestamp chain proves."""

    def __init__(self, trust: Trust, reader, allow_fetching: bool, moment) -> None:
        self.trust, self.reader, self.allow_fetching = trust, reader, allow_fetching
        self.now = moment or dt.datetime.now(dt.timezone.utc)
        self.moment = moment
        self.dss = _read_dss(reader)
        self.dss_crls = _dss_crls(self.dss)
        self.certs = [c for s in reader.embedded_signatures for c in s.other_embedded_certs]
        if self.dss is not None:
            self.certs += list(self.dss.load_certs())
        self.proofs = self._doc_timestamp_chain()

    def vc(self, at=None, mode: str = "require", *, embedded: bool = True):
        """A context judging as of ``at`` (None: now), revocation data issued later accepted.
        ``embedded=False``: without the CRLs embedded at signing time (for the status today)."""
        at = at if at is not None else self.moment
        return self.trust.validation_context(allow_fetching=self.allow_fetching, revocation_mode=mode,
                                             other_certs=self.certs, extra_crls=self.dss_crls if embedded else (),
                                             moment=at, retroactive=at is not None)

    def _doc_timestamp_chain(self) -> dict:
        """``{revision: (status, judged at)}`` for the document timestamps: the last judged now,
        each earlier one as of the next (its TSA certificate may have expired since)."""
        from pyhanko.sign.validation import validate_pdf_timestamp

        out, at = {}, None
        dts = sorted((s for s in self.reader.embedded_signatures if s.sig_object_type == "/DocTimeStamp"),
                     key=lambda s: s.signed_revision)
        for ts in reversed(dts):
            try:
                st = validate_pdf_timestamp(ts, validation_context=self.vc(at, "soft-fail"))
            except Exception:  # noqa: BLE001 - a broken timestamp ends the chain
                break
            out[ts.signed_revision] = (st, at)
            if not (st.intact and st.valid and st.trusted):
                break
            at = st.timestamp
        return out

    def proof_time(self, revision: int):
        """The earliest time a trusted document timestamp after ``revision`` proves (None: now)."""
        times = [st.timestamp for rev, (st, _at) in self.proofs.items()
                 if rev > revision and st.intact and st.valid and st.trusted]
        return min(times) if times else None

    def signature_report(self, sig) -> SignatureReport:
        from pyhanko.sign.validation import validate_pdf_signature
        from pyhanko.sign.validation.settings import KeyUsageConstraints

        docmdp = sig.docmdp_level
        sr = SignatureReport(field=sig.field_name or "", kind="certification" if docmdp is not None else "approval",
                             docmdp_permissions=docmdp.name if docmdp is not None else None)
        cert = sig.signer_cert
        if cert is not None:
            sr.signer = _name_attr(cert, "common_name")
            sr.title = _name_attr(cert, "title")
            sr.organisation = _name_attr(cert, "organization_name")
            sr.cert_fingerprint = hashlib.sha256(cert.dump()).hexdigest()
            sr.cert_serial = format(cert.serial_number, "x")
            sr.cert_not_after = _iso(cert["tbs_certificate"]["validity"]["not_after"].native)
        kus = KeyUsageConstraints(key_usage={"digital_signature", "non_repudiation"}, match_all_key_usages=False)
        ts_vc = self.vc(self.proof_time(sig.signed_revision), "soft-fail")

        def check(at, mode):
            return validate_pdf_signature(sig, signer_validation_context=self.vc(at, mode),
                                          ts_validation_context=ts_vc, key_usage_settings=kus)

        status = check(None, "require")
        tsv = status.timestamp_validity
        if tsv is not None:
            sr.timestamp = _iso(tsv.timestamp)
            sr.timestamp_trusted = bool(tsv.intact and tsv.valid and tsv.trusted)
            if not sr.timestamp_trusted:
                sr.warnings.append("dấu thời gian của chữ ký không tin cậy hoặc không hợp lệ")
        at = tsv.timestamp if sr.timestamp_trusted else None
        if at is not None:  # judge the signer as of the proven signing time
            status = check(at, "require")
            sr.proven_time = _iso(at)
        sr.judged_at = _iso(at or self.now)
        revinfo_known = True
        if not status.trusted and not status.revoked:
            soft = check(at, "soft-fail")
            if soft.trusted:
                status, revinfo_known = soft, False
        sr.intact, sr.valid, sr.trusted = bool(status.intact), bool(status.valid), bool(status.trusted)
        sr.signing_time = _iso(status.signer_reported_dt)
        path = status.validation_path
        sr.anchor_set = self.trust.anchor_set(path.first) if (path is not None and sr.trusted) else None
        sr.anchor_set_label = set_label(sr.anchor_set) if sr.anchor_set else ""
        if sr.trusted and sr.anchor_set is None:
            sr.trusted = False
        if not sr.trusted:
            sr.errors.append(_trust_problem(status, cert))
        self._revocation(sr, cert, revinfo_known)
        if not sr.intact:
            sr.errors.append("nội dung đã ký bị thay đổi (sai mã băm)")
        elif not sr.valid:
            sr.errors.append("chữ ký số không đúng")
        sr.pades_level = _pades_level(sig, sr, self.dss)
        return sr

    def _revocation(self, sr: SignatureReport, cert, revinfo_known: bool) -> None:
        """The certificate's revocation status now, and whether it came after the proven time."""
        if cert is None:
            return
        from pyhanko_certvalidator import CertificateValidator
        from pyhanko_certvalidator.errors import RevokedError

        try:
            vc = self.vc(None, "require", embedded=not self.allow_fetching)  # today's CRLs when reachable
            asyncio.run(CertificateValidator(cert, validation_context=vc).async_validate_path())
            sr.revocation = "good"
        except RevokedError as exc:
            sr.revoked_at = _iso(exc.revocation_dt)
            sr.revocation_reason = getattr(exc.reason, "native", None) or str(exc.reason)
            sr.revocation = "revoked_later" if sr.trusted and sr.proven_time else "revoked"
        except Exception:  # noqa: BLE001 - path or revocation data unavailable now
            sr.revocation = "unknown"
        if sr.trusted and (not revinfo_known or sr.revocation == "unknown"):
            sr.revocation = "unknown"
            sr.warnings.append("không kiểm tra được tình trạng thu hồi chứng thư (CRL/OCSP không truy cập được)")
        if sr.revocation == "revoked":
            sr.errors.append("chứng thư số của người ký đã bị thu hồi"
                             + (" và không có dấu thời gian chứng minh chữ ký có trước thời điểm thu hồi"
                                if not sr.proven_time else ""))

    def timestamp_report(self, sig) -> SignatureReport:
        from pyhanko.sign.validation import validate_pdf_timestamp

        sr = SignatureReport(field=sig.field_name or "", kind="timestamp")
        st, at = self.proofs.get(sig.signed_revision, (None, None))
        if st is None:  # after a broken link of the chain: judged now
            st = validate_pdf_timestamp(sig, validation_context=self.vc(None, "soft-fail"))
        sr.intact, sr.valid, sr.trusted = bool(st.intact), bool(st.valid), bool(st.trusted)
        sr.timestamp = _iso(st.timestamp)
        sr.timestamp_trusted = sr.trusted
        sr.judged_at = _iso(at or self.now)
        cert = st.signing_cert
        if cert is not None:
            sr.signer = _name_attr(cert, "common_name")
            sr.cert_not_after = _iso(cert["tbs_certificate"]["validity"]["not_after"].native)
        if st.validation_path is not None and sr.trusted:
            sr.anchor_set = self.trust.anchor_set(st.validation_path.first)
            sr.anchor_set_label = set_label(sr.anchor_set) if sr.anchor_set else ""
        sr.revocation = "good" if st.trusted else "unknown"
        if not sr.trusted:
            sr.errors.append("dấu thời gian tài liệu không tin cậy")
        return sr


def _read_dss(reader):
    from pyhanko.sign.validation.dss import DocumentSecurityStore

    try:
        return DocumentSecurityStore.read_dss(reader)
    except Exception:  # noqa: BLE001 - no DSS (B-B / B-T), or a damaged one
        return None


def _dss_crls(dss) -> list:
    if dss is None:
        return []
    from asn1crypto import crl as asn1_crl

    out = []
    for ref in dss.crls:
        try:
            out.append(asn1_crl.CertificateList.load(ref.get_object().data))
        except Exception:  # noqa: BLE001
            continue
    return out


def _trust_problem(status, cert) -> str:
    name = getattr(status.trust_problem_indic, "name", "") or ""
    if "REVOKED" in name:
        return "chứng thư số của người ký đã bị thu hồi trước thời điểm ký"
    if "EXPIRED" in name or "OUT_OF_BOUNDS" in name:
        return "chứng thư số đã hết hạn tại thời điểm ký và không có dấu thời gian chứng minh chữ ký có trước đó"
    if "NOT_YET_VALID" in name:
        return "chứng thư số chưa có hiệu lực tại thời điểm ký"
    if "CONSTRAINTS" in name:
        return "chứng thư số không đáp ứng ràng buộc (mục đích sử dụng khóa, chính sách)"
    if "NO_CERTIFICATE_CHAIN" in name or "CHAIN" in name or cert is None:
        return ("chứng thư số không thuộc gốc tin cậy đã cấu hình (không phải CA chuyên dùng Chính phủ hay CA công "
                "cộng được cấu hình)")
    return f"chứng thư số không tin cậy ({name or 'không rõ'})"


def _fill_modification(sr: SignatureReport, sig, reader, is_last: bool) -> None:
    """pyHanko's verdict on the revisions after this signature, and what they did."""
    from pyhanko.sign.diff_analysis import ModificationLevel, SuspiciousModification
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    info = sig.summarise_integrity_info()
    cov, diff = info.get("coverage"), info.get("diff_result")
    sr.coverage = cov.name if cov is not None else sr.coverage
    sr.docmdp_ok = info.get("docmdp_ok")
    level = None
    if isinstance(diff, SuspiciousModification):
        level = ModificationLevel.OTHER
    elif diff is not None:
        level = diff.modification_level
    sr.modification_level = level.name if level is not None else ""
    modified = cov is not None and cov < SignatureCoverageLevel.ENTIRE_REVISION
    # after the last signature only validation data and document timestamps may follow; earlier
    # signatures may be followed by further signatures (the organisation seal) and, under DocMDP
    # level 2, form filling — nothing else
    allowed = ModificationLevel.LTA_UPDATES if is_last and sr.kind != "certification" else ModificationLevel.FORM_FILLING
    if level is not None and level > allowed:
        modified = True
    if sr.docmdp_ok is False:
        modified = True
    sr.modified_after = modified
    try:
        changes = describe_changes(reader, sig.signed_revision)
    except Exception:  # noqa: BLE001 - describing is best effort, the verdict is pyHanko's
        changes = []
    for c in changes:
        c.allowed = c.kind in BENIGN or (not modified and c.kind == "form_field_changed")
    if modified and not any(not c.allowed for c in changes):
        detail = str(diff) if isinstance(diff, SuspiciousModification) else (sr.modification_level or "")
        changes.append(Change("other", f"thay đổi không được phép sau khi ký ({detail[:160]})", allowed=False))
    sr.changes = changes


def _pades_level(sig, sr: SignatureReport, dss) -> str:
    if sr.timestamp is None:
        return "B-B"
    reader = sig.reader
    later_ts = any(s.sig_object_type == "/DocTimeStamp" and s.signed_revision > sig.signed_revision
                   for s in reader.embedded_signatures)
    has_lt = dss is not None and bool(dss.crls or dss.ocsps)
    if has_lt and later_ts:
        return "B-LTA"
    return "B-LT" if has_lt else "B-T"
