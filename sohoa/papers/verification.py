"""One verification service for every surface: ``sohoa verify``'s sibling for uploads, used by the
API (``POST /api/v1/verify``) and the public ``/verify`` page behind a certified copy's QR code.

It checks the signatures (signing), finds the registry's record of the same bytes and of the
register entry the QR names, and audits the check.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from registry import reuse
from registry.db import read_audit_session
from registry.models import Document
from registry.service import audit
from vocab.errors import Invalid


@dataclass
class Verification:
    sha256: str
    document_id: int | None
    report: Any  # signing.VerifyReport
    register_entry: dict | None = None  # the certification register entry the QR code names

    @property
    def matches_register(self) -> bool:
        return bool(self.register_entry and self.register_entry.get("signed_sha256") == self.sha256)

    def to_json(self) -> dict:
        out = {"sha256": self.sha256, "document_id": self.document_id, "report": self.report.to_dict()}
        if self.register_entry is not None:
            out["register_entry"] = self.register_entry
            out["matches_register"] = self.matches_register
        return out


def check_signatures(settings, data: bytes):
    """The signing report for ``data`` against the configured trust anchors (never the OS store)."""
    from signing import Trust, verify_pdf

    try:
        return verify_pdf(data, Trust.from_settings(settings), allow_fetching=False)
    except Exception as exc:  # not a PDF, an unreadable signature dictionary, …
        raise Invalid("không xác minh được tệp này: đây không phải tệp PDF đọc được",
                      detail=f"{type(exc).__name__}: {exc}") from None


def register_entry(db, book: str, year: int, number: int) -> dict | None:
    from signing import find_certified

    return find_certified(db, book, int(year), int(number))


def verify_upload(settings, db, data: bytes, *, actor: str, relaxed: bool = True,
                  register_ref: tuple[str, int, int] | None = None) -> dict:
    return verify_bytes(settings, db, data, actor=actor, relaxed=relaxed, register_ref=register_ref).to_json()


def verify_bytes(settings, db, data: bytes, *, actor: str, relaxed: bool = True,
                 register_ref: tuple[str, int, int] | None = None) -> Verification:
    if not data:
        raise Invalid("chọn một tệp PDF để xác minh")
    report = check_signatures(settings, data)
    digest = hashlib.sha256(data).hexdigest()
    entry = register_entry(db, *register_ref) if register_ref else None
    with read_audit_session(db, relaxed) as s:
        doc = s.scalar(select(Document).where(Document.sha256 == digest))
        audit(s, actor, "document.verify", subject_id=reuse.document_subject_id(s, doc) if doc else None,
              object_type="document", object_id=str(doc.id) if doc else "", detail={"sha256": digest})
        doc_id = doc.id if doc else None
    return Verification(digest, doc_id, report, entry)
