"""Whose a document is: the subject comes from what the document says (its personal ID fields,
which the chip ID card's own QR code overrides at intake) or from an explicit, audited decision
by staff. Nothing here re-labels a document silently.

A document may name several people (a marriage certificate names both spouses): each one it
names with a well-formed ID number is linked to it (``document_subjects``); the first one is its
primary subject (``Document.subject_id``); ``registry.service.label_document`` records the links. Reuse offers a document to the people it is linked to
and to the subject of the dossier it was issued in as a result — never to the subject of a
dossier it was merely attached to.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vocab.identifiers import PID_FIELDS, pid_problems
from vocab.text import fold
from registry.models import Document, DocumentSubject

__all__ = ["named_pids", "subject_for_fields", "owners", "names_in_text"]


def _flagged(confidences: Mapping[str, Any] | None, name: str) -> bool:
    """OCR flagged the field as a likely misread (the QR and staff corrections clear flags)."""
    info = (confidences or {}).get(name) or {}
    flags = set(info.get("flags") or [])
    return bool(flags - {"corrected", "qr", "qr_mismatch"})


def named_pids(fields: Mapping[str, str] | None, confidences: Mapping[str, Any] | None = None) -> list[str]:
    """The personal ID numbers a document names in its ID fields that pass the structure check
    (the holder's own number also against its date of birth), in field order, without duplicates."""
    out: list[str] = []
    fields = fields or {}
    for name in PID_FIELDS:
        v = (fields.get(name) or "").strip()
        if not v or v in out or _flagged(confidences, name):
            continue
        own = name == "so_dinh_danh"
        if not pid_problems(v, birth_date=fields.get("ngay_sinh") if own else None):
            out.append(v)
    return out


def subject_for_fields(fields: Mapping[str, str] | None,
                       confidences: Mapping[str, Any] | None = None) -> str | None:
    """The identifier of the person a document is about, from what it says; None when it names
    nobody it can be trusted to name."""
    pids = named_pids(fields, confidences)
    return pids[0] if pids else None


def owners(s: Session, doc: Document) -> set[int]:
    """Subject ids the document belongs to: its primary subject and every person it is linked to."""
    ids = set(s.scalars(select(DocumentSubject.subject_id).where(DocumentSubject.document_id == doc.id)))
    if doc.subject_id is not None:
        ids.add(doc.subject_id)
    return ids


_HOLDER_NAMES = ("ho_ten", "ho_ten_chong", "ho_ten_vo")


def names_in_text(doc: Document, name: str) -> bool:
    """Whether the document names a person called ``name`` as a party other than the holders of the
    ID numbers it carries — the parents on a child's birth certificate. The values of its name
    fields are left out first, so a stranger who shares the name (the holder of another ID card
    called Nguyễn Văn An) does not count. Full names only (two words or more), whole words."""
    key = fold(name)
    if len(key.split()) < 2:
        return False
    text = f" {fold(doc.text or '')} "
    for field in _HOLDER_NAMES:
        held = fold((doc.fields or {}).get(field) or "")
        if held:
            text = re.sub(rf"(?<![a-z0-9]){re.escape(held)}(?![a-z0-9])", " ", text)
    return re.search(rf"(?<![a-z0-9]){re.escape(key)}(?![a-z0-9])", text) is not None
