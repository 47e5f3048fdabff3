"""What the counter's work queues hold, read for the clerk's pages: the ingest journal (files being
read, their OCR progress, the quarantine), the documents waiting for a dossier with the open
dossiers they probably belong to, and the open dossiers a scan may be routed to."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from registry.models import Document, Dossier, IngestEntry, Subject
from registry.service import unassigned_count
from vocab.errors import NotFound
from vocab.identifiers import PID_FIELDS
from vocab.kinds import ACTIVE_STATES, OPEN_STATUSES, EntryState
from vocab.text import fold

__all__ = ["inbox_counts", "journal_rows", "quarantined_entries", "quarantined_entry", "suggestions",
           "open_dossier_codes"]


def inbox_counts(s: Session) -> dict[str, int]:
    """Files being read, documents waiting for a dossier, files in quarantine (the clerk's cards)."""
    working = s.scalar(select(func.count()).select_from(IngestEntry).where(IngestEntry.state.in_(ACTIVE_STATES))) or 0
    quarantined = sum(1 for e in s.scalars(select(IngestEntry).where(IngestEntry.state == EntryState.QUARANTINED))
                      if not _handled(e))  # what the quarantine page lists: files still there
    return {"working": working, "unassigned": unassigned_count(s), "quarantined": quarantined}


def journal_rows(s: Session, limit: int = 30) -> list[dict]:
    """The newest journal rows with their state and, where the journal records it, OCR progress."""
    rows = []
    for e in s.scalars(select(IngestEntry).order_by(IngestEntry.id.desc()).limit(limit)):
        if _handled(e):  # deleted, or taken again under a new row: one row per file
            continue
        docs = list(s.execute(select(Document.id, Document.doc_type).where(Document.ingest_id == e.id)).all())
        rows.append({"id": e.id, "name": e.name, "state": e.state, "created_at": e.created_at,
                     "finished_at": e.finished_at, "error": e.error, "pages_total": e.pages_total,
                     "pages_done": e.pages_done, "documents": [{"id": d, "doc_type": t} for d, t in docs]})
    return rows


def _handled(e: IngestEntry) -> bool:
    """A quarantined file staff deleted or put back in the inbox: no longer on disk."""
    return e.state == EntryState.QUARANTINED and not (e.final_path and Path(e.final_path).is_file())


def quarantined_entries(s: Session, limit: int = 200) -> list[dict]:
    """The quarantined files still on disk, newest first."""
    rows = []
    for e in s.scalars(select(IngestEntry).where(IngestEntry.state == EntryState.QUARANTINED)
                       .order_by(IngestEntry.id.desc()).limit(500)):
        if e.final_path and Path(e.final_path).is_file():
            rows.append({"id": e.id, "name": e.name, "error": e.error, "at": e.finished_at,
                         "size": e.size, "kind": Path(e.name).suffix.lower()})
    return rows[:limit]


def quarantined_entry(s: Session, entry_id: int) -> tuple[IngestEntry, Path]:
    """A quarantined journal row whose file is still in the quarantine folder, with that file."""
    e = s.get(IngestEntry, entry_id)
    if e is None or e.state != EntryState.QUARANTINED or not e.final_path or not Path(e.final_path).is_file():
        raise NotFound("Tệp này không còn trong thư mục cách ly.")
    return e, Path(e.final_path)


def suggestions(s: Session, doc: Document, limit: int = 3) -> list[Dossier]:
    """Open dossiers a document probably belongs to: one that concerns a person whose ID number it
    carries (as applicant or related person), else one whose applicant has the same name."""
    from registry.persons import dossier_ids_of

    fields = doc.fields or {}
    pids = [str(fields[k]) for k in PID_FIELDS if fields.get(k)]
    out: list[Dossier] = []
    for pid in pids:
        out += [d for d in s.scalars(select(Dossier).where(Dossier.id.in_(dossier_ids_of(pid)),
                                                           Dossier.status.in_(OPEN_STATUSES))
                                     .order_by(Dossier.id.desc()).limit(limit)) if d not in out]
    out = out[:limit]
    name = fields.get("ho_ten")
    if not out and name:
        out = list(s.scalars(select(Dossier).join(Subject).where(
            Subject.name_folded == fold(name), Dossier.status.in_(OPEN_STATUSES)).order_by(Dossier.id.desc()).limit(limit)))
    return out


def open_dossier_codes(s: Session, limit: int = 200) -> list[str]:
    """The codes of the newest open dossiers (what a scan or a document may be routed to)."""
    return [c for c, in s.execute(select(Dossier.code).where(Dossier.status.in_(OPEN_STATUSES))
                                  .order_by(Dossier.id.desc()).limit(limit))]
