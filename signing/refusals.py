"""Refusing to certify an original, with the reason recorded (the product spec's certified copy;
Decree 23/2015 Art. 22)."""
from __future__ import annotations

from signing.errors import SigningNotFound, check_choice

REFUSAL_REASONS = {
    "erased": "Bản chính bị tẩy xóa, sửa chữa, thêm, bớt nội dung không hợp lệ",
    "damaged": "Bản chính bị hư hỏng, cũ nát, không xác định được nội dung",
    "confidential": "Bản chính đóng dấu mật hoặc ghi rõ không được sao chụp",
    "unlawful": "Bản chính có nội dung trái pháp luật, đạo đức xã hội",
    "self_made": "Giấy tờ do cá nhân tự lập, không có xác nhận và đóng dấu của cơ quan có thẩm quyền",
}


def record_refusal(db, document_id: int, reason: str, note: str = "", officer_id: int | None = None) -> int:
    """Record the refusal (and an audit event); returns its id."""
    from registry.models import AuditEvent, CertificationRefusal, Document

    check_choice(reason, REFUSAL_REASONS, "lý do từ chối")
    with db.session() as s:
        doc = s.get(Document, document_id)
        if doc is None:
            raise SigningNotFound(f"không có tài liệu số {document_id}")
        row = CertificationRefusal(document_id=document_id, reason=reason, note=note or "", officer_id=officer_id)
        s.add(row)
        s.flush()
        s.add(AuditEvent(actor=f"officer:{officer_id}" if officer_id else "staff", action="certify.refuse",
                         subject_id=doc.subject_id, object_type="document", object_id=str(document_id),
                         detail={"reason": reason, "refusal_id": row.id}))
        return row.id
