"""Lists that scale and one search box: dossiers by filters, sorted and paged; a search over dossier
codes, subjects' names and ID numbers, and document text, with or without diacritics.

Everything is matched on the diacritic-free fold (:func:`vocab.fold`): ``documents.text_folded``
and ``subjects.name_folded`` hold it, and the query is folded the same way, so "Nguyễn Văn Đức"
and "nguyen van duc" find the same rows. Document text goes through a full-text index — SQLite
FTS5 (an external-content table kept in step by triggers) on the default install, a GIN index
over ``to_tsvector('simple', text_folded)`` on PostgreSQL — created by migration 0007_web with
:func:`create_fulltext`.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, func, or_, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, selectinload

from registry.models import Component, Document, Dossier, Procedure, Subject
from vocab.clock import VN_TZ, utcnow
from vocab.identifiers import clean_identifier
from vocab.kinds import DossierStatus
from vocab.text import fold, fold_keep, nfc

__all__ = ["DossierFilter", "Page", "SORTS", "list_dossiers", "search", "matching_documents", "SearchResult", "DocumentHit",
           "fts_query", "snippet"]

# sort key → (column, descending first)
SORTS: dict[str, tuple[Any, bool]] = {
    "received": (Dossier.received_at, True),
    "due": (Dossier.due_at, False),
    "code": (Dossier.code, False),
    "status": (Dossier.status, False),
}


@dataclass(frozen=True)
class DossierFilter:
    status: str | None = None
    procedure: str | None = None
    unit: str | None = None
    date_from: dt.date | None = None  # received on or after this Vietnam day
    date_to: dt.date | None = None  # received on or before this Vietnam day
    late: bool = False  # open past its due date (or flagged late: apology slip), or completed after it
    q: str | None = None  # the search box
    units: frozenset[str] | None = None  # need-to-know: only dossiers held by these units (None: all)


@dataclass
class Page:
    items: list[Dossier]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


MAX_PAGE = 10 ** 6
_EARLIEST, _LATEST = dt.date(1900, 1, 1), dt.date(9998, 12, 31)  # days outside never hold a dossier


def _day_start(d: dt.date) -> dt.datetime:
    d = min(max(d, _EARLIEST), _LATEST)
    return dt.datetime.combine(d, dt.time(), tzinfo=VN_TZ).astimezone(dt.timezone.utc)


def _conditions(s: Session, f: DossierFilter) -> list:
    conds = []
    if f.units is not None:
        conds.append(Dossier.unit.in_(sorted(f.units)))
    if f.status:
        conds.append(Dossier.status == f.status)
    if f.procedure:
        conds.append(Dossier.procedure_code == f.procedure)
    if f.unit:
        conds.append(Dossier.unit == f.unit)
    if f.date_from:
        conds.append(Dossier.received_at >= _day_start(f.date_from))
    if f.date_to and f.date_to < _LATEST:
        conds.append(Dossier.received_at < _day_start(f.date_to + dt.timedelta(days=1)))
    if f.late:
        now = utcnow()
        conds.append(or_(
            and_(Dossier.status.in_((DossierStatus.RECEIVED, DossierStatus.PROCESSING, DossierStatus.DECIDED)),
                 or_(Dossier.due_at < now, Dossier.late.is_(True))),
            and_(Dossier.status == DossierStatus.PAUSED, Dossier.late.is_(True)),
            and_(Dossier.status.in_((DossierStatus.COMPLETED, DossierStatus.RETURNED)),
                 Dossier.completed_at > Dossier.due_at)))
    if f.q and f.q.strip():
        conds.append(_dossier_match(s, f.q))
    return conds


def _dossier_match(s: Session, q: str):
    """Dossiers whose code, subject ID, subject name or one of whose documents' text matches."""
    raw = nfc(q).strip()
    folded = fold(raw)
    subject_ids = select(Subject.id).where(or_(Subject.identifier == clean_identifier(raw),
                                               Subject.name_folded.contains(folded, autoescape=True)))
    conds = [Dossier.code.contains(raw, autoescape=True), Dossier.subject_id.in_(subject_ids)]
    doc_ids = _fulltext_ids(s, folded, limit=500)
    if doc_ids:
        conds.append(Dossier.id.in_(select(Component.dossier_id).where(Component.document_id.in_(doc_ids))))
    return or_(*conds)


def list_dossiers(s: Session, f: DossierFilter = DossierFilter(), *, sort: str = "received", desc: bool | None = None,
                  page: int = 1, per_page: int = 25) -> Page:
    """One page of dossiers (subject, procedure and components loaded), and the total count."""
    per_page = max(1, min(200, per_page))
    page = max(1, min(MAX_PAGE, page))
    col, default_desc = SORTS.get(sort, SORTS["received"])
    desc = default_desc if desc is None else desc
    conds = _conditions(s, f)
    where = and_(*conds) if conds else True
    total = s.scalar(select(func.count()).select_from(Dossier).where(where)) or 0
    order = [col.desc() if desc else col.asc(), Dossier.id.desc() if desc else Dossier.id.asc()]
    stmt = (select(Dossier).where(where).order_by(*order).limit(per_page).offset((page - 1) * per_page)
            .options(selectinload(Dossier.subject), selectinload(Dossier.procedure),
                     selectinload(Dossier.components)))
    return Page(items=list(s.scalars(stmt)), total=total, page=page, per_page=per_page)


# -- full text -------------------------------------------------------------------------------------

_TOKEN = re.compile(r"[0-9a-z]+")


def fts_query(q: str) -> str:
    """An FTS5 query: every folded word, as a prefix, all required (``"nguyen"* "van"*``)."""
    return " ".join(f'"{t}"*' for t in _TOKEN.findall(fold(q)))


def _tsquery(q: str) -> str:
    return " & ".join(f"{t}:*" for t in _TOKEN.findall(fold(q)))


def _fulltext_ids(s: Session, folded: str, *, limit: int = 50, offset: int = 0) -> list[int]:
    if not _TOKEN.search(folded):
        return []
    conn = s.connection()
    if conn.dialect.name == "sqlite":
        if not _has_fts(conn):
            return list(s.scalars(select(Document.id).where(Document.text_folded.contains(folded, autoescape=True))
                                  .order_by(Document.id.desc()).limit(limit).offset(offset)))
        rows = conn.execute(text("SELECT rowid FROM documents_fts WHERE documents_fts MATCH :q "
                                 "ORDER BY rank LIMIT :n OFFSET :o"),
                            {"q": fts_query(folded), "n": limit, "o": offset})
        return [r[0] for r in rows]
    if conn.dialect.name == "postgresql":
        rows = conn.execute(text("SELECT id FROM documents WHERE to_tsvector('simple', text_folded) "
                                 "@@ to_tsquery('simple', :q) ORDER BY id DESC LIMIT :n OFFSET :o"),
                            {"q": _tsquery(folded), "n": limit, "o": offset})
        return [r[0] for r in rows]
    return list(s.scalars(select(Document.id).where(Document.text_folded.contains(folded, autoescape=True))
                          .order_by(Document.id.desc()).limit(limit).offset(offset)))


def _has_fts(conn: Connection) -> bool:
    return conn.execute(text("SELECT 1 FROM sqlite_master WHERE name = 'documents_fts'")).first() is not None


def snippet(original: str, q: str, width: int = 80) -> str:
    """A window of the original (diacritics kept) around the first folded match of a query word.
    :func:`vocab.text.fold_keep` keeps positions, so a match in the fold is a match in the text."""
    text_ = nfc(original or "")
    hay = fold_keep(text_)
    pos = -1
    for t in _TOKEN.findall(fold(q)):
        pos = hay.find(t)
        if pos >= 0:
            break
    if pos < 0:
        return " ".join(text_[:width].split())
    start = max(0, pos - width // 3)
    out = " ".join(text_[start:start + width].split())
    return ("…" if start else "") + out + ("…" if start + width < len(text_) else "")


@dataclass
class DocumentHit:
    id: int
    doc_type: str
    snippet: str
    dossiers: list[str] = field(default_factory=list)
    created_at: dt.datetime | None = None
    subject_id: int | None = None


@dataclass
class SearchResult:
    q: str
    dossiers: Page
    documents: list[DocumentHit]


def matching_documents(s: Session, q: str, *, limit: int = 20, units: frozenset[str] | None = None) -> list[DocumentHit]:
    """Documents whose text matches, best first, with a snippet of the original text; with
    ``units``, only documents of dossiers those units hold and documents of no dossier yet (the
    office's unassigned queue, see registry.access)."""
    ids = _fulltext_ids(s, fold(q), limit=limit if units is None else 500)
    if not ids:
        return []
    if units is not None:  # documents of those units' dossiers, and the office's unassigned ones
        held = s.execute(select(Component.document_id, Dossier.unit).join(Dossier, Dossier.id == Component.dossier_id)
                         .where(Component.document_id.in_(ids))).all()
        seen = {d for d, u in held if u in units}
        attached = {d for d, _ in held}
        ids = [i for i in ids if i in seen or i not in attached][:limit]
    rows = {d.id: d for d in s.scalars(select(Document).where(Document.id.in_(ids))
                                       .options(selectinload(Document.components).selectinload(Component.dossier)))}
    return [DocumentHit(id=d.id, doc_type=d.doc_type, snippet=snippet(d.text, q),
                        dossiers=[c.dossier.code for c in d.components], created_at=d.created_at,
                        subject_id=d.subject_id)
            for d in (rows.get(i) for i in ids) if d is not None]


def search(s: Session, q: str, *, page: int = 1, per_page: int = 25, doc_limit: int = 20,
           units: frozenset[str] | None = None) -> SearchResult:
    """The search box: matching dossiers (a page of them) and the documents whose text matches,
    within ``units`` (need-to-know; None: everything)."""
    return SearchResult(q=q, dossiers=list_dossiers(s, DossierFilter(q=q, units=units), page=page, per_page=per_page),
                        documents=matching_documents(s, q, limit=doc_limit, units=units))


# -- the choices a dossier list offers -------------------------------------------------------------

def procedures(s: Session) -> list[Procedure]:
    """Every procedure of the catalogue, by code."""
    return list(s.scalars(select(Procedure).order_by(Procedure.code)))


def dossier_units(s: Session) -> list[str]:
    """The units that have dossiers, by code."""
    return [x for x, in s.execute(select(Dossier.unit).distinct().order_by(Dossier.unit)) if x]
