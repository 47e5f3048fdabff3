"""Refusing to certify an original, with the reason recorded (the product spec's certified copy;
Decree 23/2015 Art. 22).

The refusal row, the request's move to ``refused`` (with its one audit row,
:func:`registry.certification.refuse`) and the voiding of a number allocated for it and never
signed happen in one transaction."""
from __future__ import annotations

from dataclasses import dataclass

from signing.errors import SigningNotFound, check_choice

REFUSAL_REASONS = {
    "erased": "Bản chính bị tẩy xóa, sửa chữa, thêm, bớt nội dung không hợp lệ",
    "damaged": "Bản chính bị hư hỏng, cũ nát, không xác định được nội dung",
    "confidential": "Bản chính đóng dấu mật hoặc ghi rõ không được sao chụp",
    "unlawful": "Bản chính có nội dung trái pháp luật, đạo đức xã hội",
    "self_made": "Giấy tờ do cá nhân tự lập, không có xác nhận và đóng dấu của cơ quan có thẩm quyền",
}


@dataclass(frozen=True)
class Refusal:
    id: int  # the refusal's row
    document_id: int
    request_id: int


def record_refusal(db, document_id: int | None, reason: str, note: str = "", officer_id: int | None = None, *,
                   request_id: int | None = None, actor: str | None = None) -> Refusal:
    """Refuse a pending certification request: ``request_id`` (the officer's queue), else the
    document's request in the queue, else a request made and refused at once (the original
    refused at the counter). A request no longer pending: :class:`~vocab.errors.NotFound`."""
    from registry import certification
    from registry.models import CertificationRefusal, Document
    from signing.book import void_unfinished

    check_choice(reason, REFUSAL_REASONS, "lý do từ chối")
    actor = actor or (f"officer:{officer_id}" if officer_id else "staff")
    with db.session() as s:
        if request_id is not None:
            document_id = certification.pending_document(s, request_id)
        elif s.get(Document, document_id) is None:
            raise SigningNotFound(f"không có tài liệu số {document_id}")
        else:
            x = certification.open_request(s, document_id)
            request_id = x.id if x is not None else certification.request(s, document_id, 1, actor=actor)
        row = CertificationRefusal(document_id=document_id, reason=reason, note=note or "", officer_id=officer_id)
        s.add(row)
        s.flush()
        voided = void_unfinished(s, document_id, f"từ chối chứng thực: {REFUSAL_REASONS[reason]}")
        certification.refuse(s, request_id, refusal_id=row.id, actor=actor,
                             detail={"reason": reason, "refusal_id": row.id}
                             | ({"void_numbers": voided} if voided else {}))
        return Refusal(row.id, document_id, request_id)
