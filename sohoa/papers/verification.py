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
    verdict: str = ""  # verification.verdict: genuine | modified | revoked | untrusted | invalid | unsigned

    @property
    def matches_register(self) -> bool:
        return bool(self.register_entry and self.register_entry.get("signed_sha256") == self.sha256)

    def to_json(self) -> dict:
        out = {"sha256": self.sha256, "document_id": self.document_id, "report": self.report.to_dict(),
               "verdict": self.verdict}
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
    return Verification(digest, doc_id, report, entry, verdict(report, data))


# -- what a citizen reads: one plain verdict first, the detail folded below --------------------------

VERDICTS = {
    "genuine": "Bản sao điện tử hợp lệ: đúng bản đã được ký, chưa bị sửa đổi, người ký có chứng thư số tin cậy.",
    "modified": "Tệp đã bị sửa đổi sau khi ký: đây không phải bản sao hợp lệ.",
    "revoked": "Chứng thư số của người ký đã bị thu hồi trước khi ký: bản sao không có giá trị.",
    "untrusted": "Tệp được ký bằng chứng thư số không thuộc tổ chức cung cấp dịch vụ tin cậy: không xác nhận được "
                 "người ký.",
    "invalid": "Chữ ký số trên tệp không hợp lệ: đây không phải bản sao hợp lệ.",
    "unsigned": "Tệp này không có chữ ký số: đây không phải bản sao điện tử chứng thực.",
}
_KINDS = {"certification": "Chữ ký chứng thực", "approval": "Chữ ký (dấu) của cơ quan", "timestamp": "Dấu thời gian"}


def verdict(report, data: bytes | None = None) -> str:
    """One word for the report, worst reason first: unsigned, modified, revoked, untrusted, invalid, genuine.
    A tampered copy is "modified" even though its changed bytes also break the chain of trust; so is a
    file that carries a signature dictionary no longer readable as a signature (``data``: the file)."""
    sigs = [s for s in report.signatures if s.kind != "timestamp"] or list(report.signatures)
    if not report.signed or not sigs:
        return "modified" if data is not None and b"/ByteRange" in data else "unsigned"
    if not report.intact or report.modified_after_signing or any(not s.intact for s in sigs):
        return "modified"
    if any(s.revocation == "revoked" for s in sigs):
        return "revoked"
    if not report.trusted or any(not s.trusted for s in sigs):
        return "untrusted"
    if not report.valid:
        return "invalid"
    return "genuine"


def _when(value) -> str:
    from sohoa.i18n import fmt_time

    try:
        return fmt_time(value) if value else "—"
    except ValueError:
        return "—"


def detail_lines(report) -> list[str]:
    """The detail in plain Vietnamese: who signed, as what, when, whether intact, trusted, revoked."""
    yn = lambda b: "có" if b else "không"  # noqa: E731
    out = []
    for s in report.signatures:
        who = s.signer or "người ký không rõ"
        if s.title:
            who += f", {s.title}"
        if s.organisation:
            who += f", {s.organisation}"
        out.append(f"{_KINDS.get(s.kind, 'Chữ ký')}: {who}.")
        out.append(f"  Thời điểm ký: {_when(s.proven_time or s.timestamp or s.signing_time)}"
                   + (" (được chứng minh bằng dấu thời gian)." if s.proven_time else "."))
        out.append(f"  Nội dung còn nguyên như lúc ký: {yn(s.intact)}. Chữ ký đúng: {yn(s.valid)}.")
        out.append("  Chứng thư số: " + ("tin cậy" + (f" ({s.anchor_set_label})" if s.anchor_set_label else "")
                                          if s.trusted else "không thuộc tổ chức cung cấp dịch vụ tin cậy") + ".")
        rev = {"good": "còn hiệu lực", "revoked": f"đã bị thu hồi lúc {_when(s.revoked_at)}, trước khi ký",
               "revoked_later": f"bị thu hồi lúc {_when(s.revoked_at)}, sau khi ký (chữ ký vẫn có giá trị)"}
        out.append(f"  Tình trạng chứng thư số: {rev.get(s.revocation, 'chưa kiểm tra được việc thu hồi')}.")
        if s.modified_after:
            out.append("  Có nội dung được thêm hoặc sửa sau chữ ký này.")
    return out
