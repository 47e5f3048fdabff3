"""Need-to-know for staff accounts: which dossiers and documents an account may see.

- **Clerks and managers** see the dossiers held by their unit and the units below it
  (:func:`registry.units.visible_units`; an account placed at the province sees all, by choice),
  and the documents of those dossiers (components, results, certified copies of them). Documents
  not yet attached to any dossier are the office's shared queue (unassigned, from the inbox):
  clerks and managers see them.
- **Certifying officers** see the originals queued for certification (pending, or being signed)
  of dossiers their units hold (or of no dossier), what they decided themselves, and the certified
  copies made of those.
- **Administrators** manage accounts only: no dossier, no document.

What is not theirs to see is answered as absent (never "forbidden"): the number or code of
another unit's dossier tells nothing. Nothing here knows of HTTP; the web layer passes who is asking.
"""
from __future__ import annotations

from typing import Protocol

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from registry.models import CertificationRequest, CertifiedCopy, Component, Document, Dossier, Officer, Result
from registry.service import audit
from registry.units import below

__all__ = ["Viewer", "units_of", "may_see_dossier", "may_see_document", "officer_queue_filter", "audit_shown", "visible_requests", "request_subjects",
           "own_officer_id"]

READERS = ("clerk", "manager")  # roles that read dossiers


class Viewer(Protocol):
    username: str
    role: str
    unit: str


def units_of(s: Session, who: Viewer) -> frozenset[str]:
    """The units whose dossiers ``who`` may see (empty for roles that read no dossier)."""
    if who.role not in READERS:
        return frozenset()
    return frozenset(below(s, who.unit))


def may_see_dossier(s: Session, who: Viewer, d: Dossier) -> bool:
    """Clerks and managers: the dossiers of their units; an officer: the dossiers forwarded to them
    (``Dossier.holder``, registry.flow)."""
    if who.role == "officer":
        return bool(d.holder) and d.holder == who.username
    return who.role in READERS and d.unit in units_of(s, who)


def _dossier_units_of_document(s: Session, doc: Document) -> set[str]:
    ids = [doc.id] + ([doc.certified_from_id] if doc.certified_from_id else [])
    src = s.scalar(select(CertifiedCopy.source_document_id).where(CertifiedCopy.signed_document_id == doc.id).limit(1))
    if src:
        ids.append(src)
    units = set(s.scalars(select(Dossier.unit).join(Component, Component.dossier_id == Dossier.id)
                          .where(Component.document_id.in_(ids))))
    units |= set(s.scalars(select(Dossier.unit).join(Result, Result.dossier_id == Dossier.id)
                           .where(Result.document_id.in_(ids))))
    return units


def may_see_document(s: Session, who: Viewer, doc: Document) -> bool:
    if who.role in READERS:
        units = _dossier_units_of_document(s, doc)
        return not units or bool(units & units_of(s, who))
    if who.role == "officer":
        return _officer_sees(s, who, doc)
    return False


def _officer_sees(s: Session, who: Viewer, doc: Document) -> bool:
    ids = [doc.id] + ([doc.certified_from_id] if doc.certified_from_id else [])
    src = s.scalar(select(CertifiedCopy.source_document_id).where(CertifiedCopy.signed_document_id == doc.id).limit(1))
    if src:
        ids.append(src)
    mine = s.scalar(select(CertificationRequest.id).where(
        CertificationRequest.document_id.in_(ids), CertificationRequest.decided_by == who.username).limit(1))
    if mine is not None:
        return True
    units = frozenset(below(s, who.unit))
    queued = s.execute(select(CertificationRequest.dossier_id).where(
        CertificationRequest.document_id == doc.id,
        CertificationRequest.status.in_(("pending", "signing")))).all()
    for (dossier_id,) in queued:
        if dossier_id is None:
            return True
        d = s.get(Dossier, dossier_id)
        if d is not None and d.unit in units:
            return True
    return False


def officer_queue_filter(s: Session, who: Viewer):
    """A condition on CertificationRequest: the requests ``who`` (an officer) may see in the queue."""
    units = sorted(below(s, who.unit))
    return or_(CertificationRequest.dossier_id.is_(None),
               CertificationRequest.dossier_id.in_(select(Dossier.id).where(Dossier.unit.in_(units))),
               CertificationRequest.decided_by == who.username)


def audit_shown(s: Session, actor: str, action: str, subject_ids, **detail) -> None:
    """One audit event for a list shown to someone, naming every subject on it (registry ids, in
    ``detail["subjects"]``; the first also as the event's subject when there is exactly one)."""
    ids = sorted({i for i in subject_ids if i is not None})
    audit(s, actor, action, subject_id=ids[0] if len(ids) == 1 else None, object_type="list",
          detail={**detail, "subjects": ids, "count": len(ids)})


def own_officer_id(s: Session, name: str, asked: str | int | None = None) -> int | None:
    """The certifying officer record of the signed-in account (the active officer of the same
    name), for acts recorded under an officer's name (a refusal). Naming another officer's id is
    refused: an account acts under its own name only."""
    from vocab.errors import Forbidden

    own = s.scalar(select(Officer.id).where(Officer.kind == "officer", Officer.status == "active",
                                            Officer.name == name).order_by(Officer.id).limit(1))
    if asked not in (None, "") and str(asked) != str(own):
        raise Forbidden("Chỉ ghi được việc từ chối dưới tên của chính mình.")
    return own


def visible_requests(s: Session, who: Viewer, ids) -> set[int]:
    """Of the certification requests ``ids``, those ``who`` (an officer) may see and act on."""
    ids = [int(i) for i in ids]
    if not ids or who.role != "officer":
        return set()
    return set(s.scalars(select(CertificationRequest.id).where(CertificationRequest.id.in_(ids),
                                                               officer_queue_filter(s, who))))


def request_subjects(s: Session, ids) -> list[int | None]:
    """The subjects of the documents of certification requests ``ids`` (for the audit of a list)."""
    ids = [int(i) for i in ids]
    if not ids:
        return []
    return list(s.scalars(select(Document.subject_id).join(CertificationRequest,
                                                            CertificationRequest.document_id == Document.id)
                          .where(CertificationRequest.id.in_(ids))))
