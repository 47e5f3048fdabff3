"""Certifying officers and the organisation seal in the registry.

An officer is registered with the key that signs for them, checked then and there like at
signing time: validity period, a signing key usage, a path to a configured anchor set, revocation.
The name is the certificate holder's (``--name`` only confirms it: someone else's certificate is
refused); title and body are the registry's. A certificate already registered is never silently
renamed or moved to someone else. Revoking records why — an officer who left is not a key
compromise.
"""
from __future__ import annotations

import re

from signing.checks import basic_cert_checks, check_signing_cert, holder_name, same_person
from signing.errors import CertificateRefused, SigningConflict, SigningInvalid, SigningNotFound, check_choice
from signing.keys import cert_fingerprint, cert_to_pem, load_signer, secret_env_var
from signing.trust import Trust
from vocab.clock import iso, utcnow
from vocab.text import nfc

# sohoa's reason -> (RFC 5280 CRLReason a CA would publish, what it means)
REVOCATION_REASONS = {
    "left": ("affiliation_changed", "nghỉ việc hoặc chuyển công tác"),
    "superseded": ("superseded", "đã được cấp chứng thư số mới"),
    "ceased": ("cessation_of_operation", "thôi làm nhiệm vụ chứng thực"),
    "key-compromise": ("key_compromise", "lộ hoặc mất khóa bí mật"),
    "other": ("unspecified", "lý do khác"),
}


def read_key_cert(key_ref: str, secret: bytes | str | None = None, secret_file: str | None = None):
    """``(certificate, chain certificates)`` of a key (opening it proves the passphrase / PIN)."""
    key = load_signer(key_ref, env_var=secret_env_var(key_ref), secret=secret, secret_file=secret_file)
    try:
        return key.cert, key.chain_certs
    finally:
        key.close()


def add_officer(db, key_ref: str, *, name: str | None = None, title: str = "", body: str = "",
                kind: str = "officer", trust: Trust | None = None, secret: bytes | str | None = None,
                secret_file: str | None = None, allow_fetching: bool = True, cert=None, chain=()) -> dict:
    """Register an officer (or the seal, ``kind="seal"``) after checking the certificate.
    Adding the same certificate again with the same details changes nothing (``created`` False)."""
    from sqlalchemy import select

    from registry.models import Officer

    if kind not in ("officer", "seal"):
        raise SigningInvalid("kind phải là officer hoặc seal")
    if cert is None:
        cert, chain = read_key_cert(key_ref, secret, secret_file)
    holder = holder_name(cert)
    if kind == "officer":
        if name and not same_person(name, cert):
            raise SigningInvalid(f"chứng thư số này cấp cho {holder}, không phải {nfc(name)}: không đăng ký "
                                 "người ký bằng chứng thư số của người khác")
        name = holder
    name = nfc(name or holder)
    trust = trust or Trust()
    if trust.roots:
        check = check_signing_cert(cert, trust, other_certs=chain, allow_fetching=allow_fetching)
        warnings, anchor = check.warnings, check.anchor_set
    elif kind == "officer":
        raise CertificateRefused("chưa cấu hình gốc tin cậy (trust_roots_gov / trust_roots_public): không kiểm tra "
                                 "được chứng thư số của người ký")
    else:
        basic_cert_checks(cert)
        warnings, anchor = ["chưa cấu hình gốc tin cậy: chỉ kiểm tra thời hạn và mục đích sử dụng khóa"], None
    fp = cert_fingerprint(cert)
    title, body = nfc(title), nfc(body)
    with db.session() as s:
        row = s.scalars(select(Officer).where(Officer.cert_fingerprint == fp)).first()
        if row is not None:
            if row.kind != kind or row.name != name or (title and title != row.title) or (body and body != row.body):
                raise SigningConflict(f"chứng thư số này đã đăng ký cho {row.name} ({row.title or row.kind}, số "
                                      f"{row.id}): không đổi tên hay chức danh người đã đăng ký")
            if row.key_ref != key_ref:
                row.key_ref = key_ref  # the same certificate's key moved (file path, token slot)
            return {**officer_dict(row), "created": False, "anchor_set": anchor, "warnings": warnings}
        row = Officer(kind=kind, name=name, title=title, body=body, cert_pem=cert_to_pem(cert), cert_fingerprint=fp,
                      key_ref=key_ref, status="active")
        s.add(row)
        s.flush()
        return {**officer_dict(row), "created": True, "anchor_set": anchor, "warnings": warnings}


def officer_dict(row) -> dict:
    return {"id": row.id, "kind": row.kind, "name": row.name, "title": row.title, "body": row.body,
            "status": row.status, "cert_fingerprint": row.cert_fingerprint, "key_ref": _redact(row.key_ref),
            "revoked_at": iso(row.revoked_at), "revocation_reason": row.revocation_reason}


def _redact(ref: str) -> str:
    return re.sub(r"(pin-value=)[^&;]*", r"\1***", ref or "")


def list_officers(db, kind: str | None = "officer") -> list[dict]:
    from sqlalchemy import select

    from registry.models import Officer

    with db.session() as s:
        q = select(Officer).order_by(Officer.id)
        if kind:
            q = q.where(Officer.kind == kind)
        return [officer_dict(r) for r in s.scalars(q)]


def revoke_officer(db, officer_id: int, reason: str) -> dict:
    """The officer can no longer certify; ``reason`` is one of :data:`REVOCATION_REASONS`.
    Returns the officer with ``crl_reason`` (what the CA should publish) and ``cert_pem``."""
    from registry.models import AuditEvent, Officer

    check_choice(reason, REVOCATION_REASONS, "lý do thu hồi")
    with db.session() as s:
        row = s.get(Officer, officer_id)
        if row is None:
            raise SigningNotFound(f"không có người ký số {officer_id}")
        if row.status != "revoked":
            row.status, row.revoked_at, row.revocation_reason = "revoked", utcnow(), reason
            s.add(AuditEvent(actor="staff", action="officer.revoke", object_type="officer", object_id=str(row.id),
                             detail={"reason": reason}))
        s.flush()
        return {**officer_dict(row), "crl_reason": REVOCATION_REASONS[row.revocation_reason or reason][0],
                "reason_text": REVOCATION_REASONS[row.revocation_reason or reason][1], "cert_pem": row.cert_pem}
