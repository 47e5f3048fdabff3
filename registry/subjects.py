"""Whose a document is: the subject comes from what the document says (its personal ID fields,
which the chip ID card's own QR code overrides at intake) or from an explicit, audited decision
by staff. Nothing here re-labels a document silently.

A document may name several people (a marriage certificate names both spouses): each one it
names with a well-formed ID number is linked to it (``document_subjects``); the first one is its
primary subject (``Document.subject_id``). Reuse offers a document to the people it is linked to
and to the subject of the dossier it was issued in as a result — never to the subject of a
dossier it was merely attached to.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.identity import PID_FIELDS, pid_problems
from registry.models import Document, DocumentSubject, Subject

__all__ = ["named_pids", "subject_for_fields", "owners", "label_document", "link_subject"]


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


def link_subject(s: Session, doc: Document, subject: Subject, source: str) -> None:
    """Link ``doc`` to ``subject`` (idempotent); the first link becomes the primary subject."""
    if doc.id is None:
        s.flush()
    if doc.subject_id is None:
        doc.subject_id = subject.id
    exists = s.scalar(select(DocumentSubject.id).where(DocumentSubject.document_id == doc.id,
                                                       DocumentSubject.subject_id == subject.id))
    if exists is None:
        s.add(DocumentSubject(document_id=doc.id, subject_id=subject.id, source=source))
        s.flush()


def label_document(s: Session, doc: Document, *, source: str = "fields", create: bool = True) -> list[str]:
    """Link a document to the people its fields name (creating their subjects when ``create``);
    returns the identifiers linked. Used at intake and after a staff correction of an ID field."""
    from registry.service import get_or_create_subject  # service imports this module

    pids = named_pids(doc.fields, doc.field_confidences)
    name_of = {"so_dinh_danh": doc.fields.get("ho_ten"), "so_dinh_danh_chong": doc.fields.get("ho_ten_chong"),
               "so_dinh_danh_vo": doc.fields.get("ho_ten_vo")} if doc.fields else {}
    linked = []
    for pid in pids:
        field = next((k for k in PID_FIELDS if (doc.fields or {}).get(k) == pid), "so_dinh_danh")
        subj = (get_or_create_subject(s, pid, name_of.get(field)) if create
                else s.scalar(select(Subject).where(Subject.identifier == pid)))
        if subj is not None:
            link_subject(s, doc, subj, source)
            linked.append(pid)
    return linked
