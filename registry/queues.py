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

__all__ = ["inbox_counts", "journal_rows", "quarantined_entries", "quarantined_entry", "suggestions", "dossier_summaries",
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


def _open(units: frozenset[str] | None) -> list:
    conds = [Dossier.status.in_(OPEN_STATUSES)]
    if units is not None:  # need-to-know: only the dossiers of these units
        conds.append(Dossier.unit.in_(sorted(units)))
    return conds


def suggestions(s: Session, docs: list[Document], limit: int = 3,
                units: frozenset[str] | None = None) -> dict[int, list[str]]:
    """For a page of documents at once, the codes of the open dossiers each probably belongs to,
    newest first, ``limit`` at most, in two queries: by any ID number it carries — a dossier that
    concerns that person as applicant or as a person concerned (``registry.persons``) — else by the
    applicant's name, folded. Closed dossiers never, nor those of units outside ``units``."""
    from registry.models import DossierPerson

    wanted = {d.id: [str(d.fields[k]) for k in PID_FIELDS if (d.fields or {}).get(k)] for d in docs}
    pids = sorted({p for ps in wanted.values() for p in ps})
    by_pid: dict[str, list[tuple[int, str]]] = {}
    if pids:
        applicant = (select(Subject.identifier, Dossier.id, Dossier.code).join(Dossier, Dossier.subject_id == Subject.id)
                     .where(Subject.identifier.in_(pids), *_open(units)))
        related = (select(Subject.identifier, Dossier.id, Dossier.code)
                   .join(DossierPerson, DossierPerson.subject_id == Subject.id)
                   .join(Dossier, Dossier.id == DossierPerson.dossier_id)
                   .where(Subject.identifier.in_(pids), *_open(units)))
        for pid, did, code in s.execute(applicant.union(related)):
            by_pid.setdefault(pid, []).append((did, code))
    out: dict[int, list[str]] = {}
    names: dict[int, str] = {}
    for d in docs:
        found = sorted({x for p in wanted[d.id] for x in by_pid.get(p, [])}, reverse=True)
        out[d.id] = [code for _, code in found[:limit]]
        if not out[d.id] and (d.fields or {}).get("ho_ten"):
            names[d.id] = fold(d.fields["ho_ten"])
    if names:
        by_name: dict[str, list[str]] = {}
        for folded, code in s.execute(select(Subject.name_folded, Dossier.code).join(Dossier, Dossier.subject_id == Subject.id)
                                      .where(Subject.name_folded.in_(set(names.values())),
                                             *_open(units)).order_by(Dossier.id.desc())):
            by_name.setdefault(folded, []).append(code)
        for doc_id, folded in names.items():
            out[doc_id] = by_name.get(folded, [])[:limit]
    return out


def dossier_summaries(s: Session, codes: set[str]) -> dict[str, dict[str, str]]:
    """Code, applicant's name and procedure name of these dossiers (what a suggestion shows), one query."""
    from registry.models import Procedure

    if not codes:
        return {}
    return {c: {"code": c, "citizen": n, "procedure": p} for c, n, p in s.execute(
        select(Dossier.code, Subject.name, Procedure.name).join(Subject, Subject.id == Dossier.subject_id)
        .join(Procedure, Procedure.code == Dossier.procedure_code).where(Dossier.code.in_(sorted(codes))))}


def open_dossier_codes(s: Session, limit: int = 200, units: frozenset[str] | None = None) -> list[str]:
    """The codes of the newest open dossiers (what a scan or a document may be routed to)."""
    return [c for c, in s.execute(select(Dossier.code).where(*_open(units)).order_by(Dossier.id.desc()).limit(limit))]
