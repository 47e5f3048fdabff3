"""One backlog scan checked against its manifest row: the result to record (``Decision``), or why
a person must look at it first (``Review``: a code from :data:`REVIEW_REASONS` and the sentence
people read, ID numbers masked). A row that OCR contradicts never goes in silently."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from ocr import DocumentResult
from registry import backlog as journal
from sohoa.i18n import label
from vocab.identifiers import PID_FIELDS, is_pid
from vocab.text import mask_pid

__all__ = ["decide", "Review", "REVIEW_REASONS", "TYPE_SURE", "read_json"]

TYPE_SURE = 0.6  # OCR's type confidence from which it may contradict the manifest

# code -> the sentence an officer reads in the review queue. Placeholders: {page}, {row}, {pid}.
REVIEW_REASONS: dict[str, str] = {
    "pid_differs": "số định danh trên trang ({page}) khác với bảng kê ({row})",
    "no_pid": "không đọc được số định danh của chủ thể trên trang và bảng kê không ghi",
    "pid_flagged": "số định danh đọc được ({pid}) không khớp ngày sinh hoặc mã tỉnh: cần kiểm tra",
    "type_differs": "loại giấy tờ trên trang ({page}) khác với bảng kê ({row})",
    "no_type": "không xác định được loại giấy tờ và bảng kê không ghi",
    "low_quality": "chất lượng bản quét thấp và không có bảng kê để đối chiếu",
}


@dataclass(frozen=True)
class Review:
    """Why a scan waits for a person: a code of :data:`REVIEW_REASONS` and its sentence."""

    code: str
    message: str

    @classmethod
    def of(cls, code: str, **params: str) -> "Review":
        return cls(code, REVIEW_REASONS[code].format(**params))

    def __str__(self) -> str:
        return self.message


def read_json(res: DocumentResult) -> dict[str, Any]:
    """What OCR read, as the review queue keeps it."""
    return {"doc_type": res.doc_type, "confidence": round(res.confidence, 3), "quality": res.quality,
            "fields": {k: f.value for k, f in res.fields.items()}}


def decide(row: dict[str, Any], res: DocumentResult, *, trust_row: bool = False) -> journal.Decision | Review:
    """The result to record, or why it goes to review.

    ``trust_row``: an officer settling the review queue vouches for the row (with a reason that
    is audited): what the page says no longer contradicts it, but a subject and a type are still
    needed."""
    pids: list[tuple[str, tuple[str, ...]]] = []
    for name in PID_FIELDS:
        f = res.fields.get(name)
        if f and is_pid(f.value) and f.value not in [p for p, _ in pids]:
            pids.append((f.value, tuple(f.flags)))
    read_pids = [p for p, _ in pids]
    subject = row.get("subject_id") or ""
    if subject and read_pids and subject not in read_pids and not trust_row:
        return Review.of("pid_differs", page=", ".join(mask_pid(p) for p in read_pids), row=mask_pid(subject))
    if not subject:
        if not pids:
            return Review.of("no_pid")
        subject, flags = pids[0]
        if flags:
            return Review.of("pid_flagged", pid=mask_pid(subject))
    doc_type = row.get("doc_type") or ""
    if doc_type and res.doc_type not in ("khac", doc_type) and res.confidence >= TYPE_SURE and not trust_row:
        return Review.of("type_differs", page=label("doc_type", res.doc_type), row=label("doc_type", doc_type))
    if not doc_type:
        if res.doc_type == "khac" or res.confidence < TYPE_SURE:
            return Review.of("no_type")
        doc_type = res.doc_type
        if res.quality != "ok" and not trust_row:
            return Review.of("low_quality")
    fields = {k: f.value for k, f in res.fields.items()}
    meta = {"so_ky_hieu": row.get("number"), "ma_ket_qua": row.get("result_code"),
            "co_quan_ban_hanh": row.get("issuer"), "ngay_ban_hanh": _ddmmyyyy(row.get("issued_on")),
            "hieu_luc_den": _ddmmyyyy(row.get("valid_until"))}
    meta = {k: v for k, v in meta.items() if v}
    if not meta.get("so_ky_hieu"):
        number = next((fields[k] for k in ("so", "so_hieu", "so_phat_hanh") if fields.get(k)), None)
        if number:
            fields["so_ky_hieu"] = number
    fields.update(meta)
    return journal.Decision(subject=subject, doc_type=doc_type, fields=fields, manifest_fields=tuple(meta),
                            issued_on=_iso_date(row.get("issued_on")), valid_until=_iso_date(row.get("valid_until")))


def _iso_date(v: str | None) -> dt.date | None:
    return dt.date.fromisoformat(v) if v else None


def _ddmmyyyy(v: str | None) -> str | None:
    return dt.date.fromisoformat(v).strftime("%d/%m/%Y") if v else None
