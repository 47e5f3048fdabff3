"""Certificate checks before anything is signed or registered (Decree 68/2024: path and
revocation checked before signing): validity period, a signing key usage, a path to one of the
configured anchor sets (with the key's own intermediates, the configured bundle and AIA), and
revocation. Also who the certificate names: the holder's name on the stamp comes from here."""
from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field

from signing.errors import CertificateRefused
from signing.trust import Trust, set_label
from vocab.text import fold, nfc

SIGNING_USAGES = {"digital_signature", "non_repudiation"}


@dataclass
class CertCheck:
    """The outcome of a passed check."""

    revocation_checked: bool  # the chain's revocation status is known (B-LT data can be embedded)
    anchor_set: str | None = None  # gov | public
    intermediates: list = field(default_factory=list)  # CA certificates of the validated path
    warnings: list[str] = field(default_factory=list)


def holder_name(cert) -> str:
    """The certificate holder's name (subject common name), NFC."""
    try:
        return nfc(str(cert.subject.native.get("common_name") or "")).strip()
    except Exception:  # noqa: BLE001
        return ""


def same_person(name: str, cert) -> bool:
    """``name`` is the certificate holder's (case, spacing and diacritics aside)."""
    return bool(name) and fold(name) == fold(holder_name(cert))


def _describe(cert) -> str:
    return holder_name(cert) or cert.subject.human_friendly


def basic_cert_checks(cert, now: dt.datetime | None = None) -> None:
    """Validity period and a signing key usage (no anchor needed)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    validity = cert["tbs_certificate"]["validity"]
    nb, na = validity["not_before"].native, validity["not_after"].native
    who = _describe(cert)
    if na < now:
        raise CertificateRefused(f"chứng thư số của {who} đã hết hạn ngày {na:%d/%m/%Y}: không được ký")
    if nb > now:
        raise CertificateRefused(f"chứng thư số của {who} chưa có hiệu lực (từ ngày {nb:%d/%m/%Y}): không được ký")
    ku = cert.key_usage_value
    usages = set(ku.native) if ku is not None else set(SIGNING_USAGES)
    if not usages & SIGNING_USAGES:
        raise CertificateRefused(f"chứng thư số của {who} không dùng để ký số (mục đích sử dụng khóa: "
                                 f"{', '.join(sorted(usages))}): không được ký")


def check_signing_cert(cert, trust: Trust, *, other_certs=(), allow_fetching: bool = True) -> CertCheck:
    """Refuse (:class:`CertificateRefused`) a certificate that must not sign now; tell which
    anchor set it chains to and whether its revocation status could be checked (then signatures
    get B-LT validation data). ``other_certs``: the key's own chain (PKCS#12 CA certificates)."""
    basic_cert_checks(cert)
    if not trust.roots:
        raise CertificateRefused("chưa cấu hình gốc tin cậy (trust_roots_gov / trust_roots_public): "
                                 "không kiểm tra được chứng thư số")
    from pyhanko_certvalidator import CertificateValidator
    from pyhanko_certvalidator.errors import (ExpiredError, InvalidCertificateError, NotYetValidError,
                                              PathBuildingError, PathValidationError, RevokedError)

    who = _describe(cert)

    def run(mode):
        vc = trust.validation_context(allow_fetching=allow_fetching, revocation_mode=mode, other_certs=other_certs)
        return asyncio.run(CertificateValidator(cert, validation_context=vc).async_validate_usage(set()))

    warnings: list[str] = []
    try:
        path, checked = run("require"), True
    except RevokedError as exc:
        raise CertificateRefused(f"chứng thư số của {who} đã bị thu hồi: không được ký", detail=str(exc)) from exc
    except (ExpiredError, NotYetValidError) as exc:
        raise CertificateRefused(f"chứng thư số trong chuỗi của {who} hết hạn hoặc chưa có hiệu lực: không được ký",
                                 detail=str(exc)) from exc
    except PathBuildingError as exc:
        sets = " / ".join(set_label(n) for n in trust.anchors) or "chưa cấu hình"
        raise CertificateRefused(f"chứng thư số của {who} không thuộc gốc tin cậy đã cấu hình ({sets}): "
                                 f"không được ký", detail=str(exc)) from exc
    except InvalidCertificateError as exc:
        raise CertificateRefused(f"chứng thư số của {who} không hợp lệ để ký", detail=str(exc)) from exc
    except PathValidationError:
        try:  # revocation information unavailable: check everything else without it
            path, checked = run("soft-fail"), False
        except RevokedError as exc:
            raise CertificateRefused(f"chứng thư số của {who} đã bị thu hồi: không được ký",
                                     detail=str(exc)) from exc
        except (PathValidationError, PathBuildingError, InvalidCertificateError) as exc:
            raise CertificateRefused(f"chứng thư số của {who} không hợp lệ", detail=str(exc)) from exc
        warnings.append("không kiểm tra được tình trạng thu hồi chứng thư (CRL/OCSP không truy cập được): "
                        "ký không kèm dữ liệu xác minh dài hạn (B-LT)")
    interm = [c for c in path.iter_certs(include_root=False) if c.dump() != cert.dump()]
    return CertCheck(revocation_checked=checked, anchor_set=trust.anchor_set(path.first), intermediates=interm,
                     warnings=warnings)
