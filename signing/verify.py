"""Verification of any sohoa PDF (spec §5): intact, trusted (explicit roots only), signer and
title, signing time and timestamp, certificate validity and revocation (a warning when it cannot
be checked), and whether anything changed after signing. Answers in Vietnamese and in JSON."""
from __future__ import annotations

import io
import json
from dataclasses import asdict, dataclass, field

from signing.keys import load_local_crls, load_trust_roots, validation_context

REVOCATION_TEXT = {"good": "chưa bị thu hồi", "revoked": "ĐÃ BỊ THU HỒI",
                   "unknown": "không kiểm tra được tình trạng thu hồi"}


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
    timestamp: str | None = None  # RFC 3161 time-stamp (trusted)
    timestamp_trusted: bool | None = None
    intact: bool = False
    valid: bool = False  # cryptographically
    trusted: bool = False
    revocation: str = "unknown"  # good | revoked | unknown
    expired: bool = False
    coverage: str = ""
    modification_level: str = ""
    docmdp_ok: bool | None = None
    docmdp_permissions: str | None = None
    modified_after: bool = False
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
    signatures: list[SignatureReport] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    path: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, default=str)

    def to_text(self) -> str:
        """Human answer, in Vietnamese."""
        yn = lambda b: "có" if b else "không"  # noqa: E731
        lines = []
        head = "HỢP LỆ" if self.valid else "KHÔNG HỢP LỆ"
        lines.append(f"Kết quả xác minh: {head}" + (f" — {self.path}" if self.path else ""))
        if not self.signed:
            lines.append("Tài liệu không có chữ ký số.")
        lines.append(f"Toàn vẹn (không bị sửa đổi nội dung đã ký): {yn(self.intact)}")
        lines.append(f"Tin cậy (chuỗi chứng thư đến gốc tin cậy đã cấu hình): {yn(self.trusted)}")
        lines.append(f"Bị thay đổi sau khi ký: {yn(self.modified_after_signing)}")
        for i, s in enumerate(self.signatures, 1):
            kind = {"certification": "chữ ký chứng thực (DocMDP)", "approval": "chữ ký phê duyệt / đóng dấu",
                    "timestamp": "dấu thời gian tài liệu"}.get(s.kind, s.kind)
            lines.append(f"Chữ ký {i} ({kind}, trường {s.field}):")
            if s.signer:
                lines.append(f"  Người ký: {s.signer}" + (f" — {s.title}" if s.title else "")
                             + (f" — {s.organisation}" if s.organisation else ""))
            if s.signing_time:
                lines.append(f"  Thời điểm ký (do người ký khai): {s.signing_time}")
            if s.timestamp:
                lines.append(f"  Dấu thời gian (RFC 3161): {s.timestamp}"
                             + ("" if s.timestamp_trusted else " (không tin cậy)"))
            else:
                lines.append("  Dấu thời gian: không có")
            lines.append(f"  Toàn vẹn: {yn(s.intact)}; chữ ký đúng: {yn(s.valid)}; tin cậy: {yn(s.trusted)}")
            lines.append(f"  Chứng thư số: {'hết hạn' if s.expired else 'còn hiệu lực'}"
                         f" (đến {s.cert_not_after}); {REVOCATION_TEXT.get(s.revocation, s.revocation)}")
            if s.pades_level:
                lines.append(f"  Mức PAdES: {s.pades_level}")
            if s.modified_after:
                lines.append(f"  CẢNH BÁO: tài liệu đã bị thay đổi sau chữ ký này ({s.modification_level})")
            for w in s.warnings:
                lines.append(f"  Cảnh báo: {w}")
            for e in s.errors:
                lines.append(f"  Lỗi: {e}")
        for w in self.warnings:
            lines.append(f"Cảnh báo: {w}")
        for e in self.errors:
            lines.append(f"Lỗi: {e}")
        return "\n".join(lines)


def _name_attr(cert, attr: str) -> str:
    try:
        return str(cert.subject.native.get(attr) or "")
    except Exception:  # noqa: BLE001
        return ""


def _iso(t) -> str | None:
    return t.isoformat() if t is not None else None


def _validate(sig, vc_factory, mode: str):
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.settings import KeyUsageConstraints

    vc = vc_factory(mode)
    kus = KeyUsageConstraints(key_usage={"digital_signature", "non_repudiation"}, match_all_key_usages=False)
    return validate_pdf_signature(sig, signer_validation_context=vc, ts_validation_context=vc_factory(mode),
                                  key_usage_settings=kus)


def verify_pdf(data: bytes, trust_roots, crl_dirs=(), *, allow_fetching: bool = True,
               path: str | None = None) -> VerifyReport:
    """Verify every signature in ``data`` against the explicit ``trust_roots`` (certificates, PEM
    paths, or a comma-separated string of paths). ``crl_dirs``: directories with local ``*.crl``."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.diff_analysis import ModificationLevel
    from pyhanko.sign.validation.dss import DocumentSecurityStore
    from pyhanko.sign.validation.errors import NoDSSFoundError
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    report = VerifyReport(path=path)
    roots = load_trust_roots(trust_roots)
    if not roots:
        report.warnings.append("chưa cấu hình gốc tin cậy (trust_roots): không chữ ký nào được coi là tin cậy")
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        sigs = list(reader.embedded_signatures)
    except Exception as exc:  # noqa: BLE001
        report.errors.append(f"không đọc được tệp PDF: {exc}")
        return report
    if not sigs:
        report.errors.append("tài liệu không có chữ ký số")
        return report
    report.signed = True
    try:
        dss = DocumentSecurityStore.read_dss(reader)
    except NoDSSFoundError:
        dss = None
    except Exception:  # noqa: BLE001
        dss = None

    local_crls = load_local_crls(crl_dirs)
    dss_certs, dss_crls, dss_ocsps = [], [], []
    if dss is not None:  # validation data embedded by a B-LT signature
        try:
            dss_vc = dss.as_validation_context({"trust_roots": roots})
            dss_certs = list(dss.load_certs())
            dss_crls, dss_ocsps = list(dss_vc.crls or []), list(dss_vc.ocsps or [])
        except Exception:  # noqa: BLE001 - a damaged DSS: validate without it
            pass

    def vc_factory(mode: str):
        return validation_context(roots, (), allow_fetching=allow_fetching, revocation_mode=mode,
                                  other_certs=dss_certs, extra_crls=local_crls + dss_crls, ocsps=dss_ocsps)

    last_sig_index = len(sigs) - 1
    for idx, sig in enumerate(sigs):
        field_name = sig.field_name or ""
        if sig.sig_object_type == "/DocTimeStamp":
            sr = SignatureReport(field=field_name, kind="timestamp")
            try:
                from pyhanko.sign.validation import validate_pdf_timestamp

                st = validate_pdf_timestamp(sig, validation_context=vc_factory("soft-fail"))
                sr.intact, sr.valid, sr.trusted = st.intact, st.valid, st.trusted
                sr.timestamp = _iso(st.timestamp)
                sr.timestamp_trusted = st.trusted
                _fill_modification(sr, st, idx == last_sig_index, ModificationLevel, SignatureCoverageLevel)
                sr.revocation = "good" if st.trusted else "unknown"
            except Exception as exc:  # noqa: BLE001
                sr.errors.append(f"không kiểm tra được dấu thời gian: {exc}")
            report.signatures.append(sr)
            continue
        docmdp = sig.docmdp_level
        sr = SignatureReport(field=field_name, kind="certification" if docmdp is not None else "approval",
                             docmdp_permissions=docmdp.name if docmdp is not None else None)
        cert = sig.signer_cert
        if cert is not None:
            sr.signer = _name_attr(cert, "common_name")
            sr.title = _name_attr(cert, "title")
            sr.organisation = _name_attr(cert, "organization_name")
            import hashlib

            sr.cert_fingerprint = hashlib.sha256(cert.dump()).hexdigest()
            sr.cert_serial = format(cert.serial_number, "x")
            sr.cert_not_after = _iso(cert["tbs_certificate"]["validity"]["not_after"].native)
        try:
            status = _validate(sig, vc_factory, "require")
            if status.trusted:
                sr.revocation = "good"
            elif status.revoked:
                sr.revocation = "revoked"
            else:
                soft = _validate(sig, vc_factory, "soft-fail")
                if soft.trusted and not soft.revoked:
                    sr.revocation = "unknown"
                    sr.warnings.append("không kiểm tra được tình trạng thu hồi chứng thư (CRL/OCSP không truy cập được)")
                    status = soft
                elif soft.revoked:
                    sr.revocation = "revoked"
                    status = soft
                else:
                    status = soft
        except Exception as exc:  # noqa: BLE001
            sr.errors.append(f"không kiểm tra được chữ ký: {exc}")
            report.signatures.append(sr)
            continue
        sr.intact, sr.valid, sr.trusted = bool(status.intact), bool(status.valid), bool(status.trusted)
        sr.signing_time = _iso(status.signer_reported_dt)
        tsv = status.timestamp_validity
        if tsv is not None:
            sr.timestamp = _iso(tsv.timestamp)
            sr.timestamp_trusted = bool(tsv.trusted and tsv.intact and tsv.valid)
            if not sr.timestamp_trusted:
                sr.warnings.append("dấu thời gian không tin cậy hoặc không hợp lệ")
        indic = status.trust_problem_indic
        if indic is not None and not sr.trusted:
            name = getattr(indic, "name", str(indic))
            if "EXPIRED" in name or "OUT_OF_BOUNDS" in name:
                sr.expired = True
            if "REVOKED" in name:
                sr.revocation = "revoked"
            sr.errors.append(f"chứng thư không tin cậy: {name}")
        if not sr.intact:
            sr.errors.append("nội dung đã ký bị thay đổi (sai mã băm)")
        elif not sr.valid:
            sr.errors.append("chữ ký số không đúng")
        if sr.revocation == "revoked":
            sr.errors.append("chứng thư số của người ký đã bị thu hồi")
        _fill_modification(sr, status, idx == last_sig_index, ModificationLevel, SignatureCoverageLevel)
        sr.pades_level = _pades_level(sig, sr, dss)
        report.signatures.append(sr)

    regular = [s for s in report.signatures if s.kind != "timestamp"]
    report.intact = all(s.intact for s in report.signatures)
    report.trusted = bool(regular) and all(s.trusted for s in regular)
    report.modified_after_signing = any(s.modified_after for s in report.signatures) or not report.intact
    report.valid = bool(regular) and all(s.ok for s in report.signatures) and not report.errors
    if report.modified_after_signing:
        report.errors.append("tài liệu đã bị thay đổi sau khi ký")
    return report


def _fill_modification(sr: SignatureReport, status, is_last: bool, ModificationLevel, SignatureCoverageLevel) -> None:
    cov = getattr(status, "coverage", None)
    lvl = getattr(status, "modification_level", None)
    sr.coverage = cov.name if cov is not None else ""
    sr.modification_level = lvl.name if lvl is not None else ""
    sr.docmdp_ok = getattr(status, "docmdp_ok", None)
    modified = False
    if cov is not None and cov < SignatureCoverageLevel.ENTIRE_REVISION:
        modified = True  # the signature does not even cover its own revision
    if lvl is not None:
        # after the last signature only DSS / document timestamps may follow; earlier signatures
        # may be followed by further signatures (the organisation seal), nothing else
        allowed = ModificationLevel.LTA_UPDATES if is_last else ModificationLevel.FORM_FILLING
        if lvl > allowed:
            modified = True
    if sr.docmdp_ok is False:
        modified = True
    sr.modified_after = modified


def _pades_level(sig, sr: SignatureReport, dss) -> str:
    if sr.timestamp is None:
        return "B-B"
    return "B-LT" if dss is not None and (dss.crls or dss.ocsps) else "B-T"
