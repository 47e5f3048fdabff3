"""The ingest job: journaled files in → OCR'd, typed, sealed documents attached to dossiers out.

``process_batch(ctx, entry_ids)`` is the job boundary. It reads everything it needs from the
journal by id, so the same call runs in-process (``sohoa watch``/``run``) or on a Celery worker
(``sohoa worker``). It reads top to bottom as the data path:

    claim → validate (quarantine bad files) → OCR pages concurrently → split into documents
    (receipt QR pages, document titles) → assemble, seal → record + route, one commit → move files

It talks to three doors only: the journal (``ingest.journal.Journal``: every state change of a
file), the ingest core (``ingest.core``: pages read with the pixel budget, the ``Incoming`` built;
the backlog import reads through the same core) and the registry's intake (``registry.intake``:
record and attach), and walks the route chain (``sohoa.jobs.routes``) it is given. No SQL here.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path

import ocr
from ingest import Claimed, Journal, core, reasons
from ingest.core import Scan
from ocr import OcrInputError, PageResult
from registry.codes import parse_receipt_qr
from registry import Incoming, IntakeTx, Store
from sohoa.config import Settings
from sohoa.jobs.routes import DEFAULT_ROUTES, Route, RouteHints, first_match
from vocab.kinds import IMAGE_SUFFIXES, RoutedBy

log = logging.getLogger("sohoa.jobs.inbox")


class Transient(Exception):
    """Worth another try later (a dependency not ready yet, a worker pool that broke)."""


class PoolBroken(Transient):
    """A page worker died (killed, out of memory): the pool must be renewed before the retry."""


@dataclass
class JobContext:
    settings: Settings
    store: Store
    journal: Journal
    executor: Executor | None = None  # runs ocr.read_page per page; None = serially here
    sealer: object | None = None  # signing.Sealer, when an organisation seal is configured
    routes: Sequence[Route] = DEFAULT_ROUTES

    @property
    def budget(self) -> core.Budget:
        return core.Budget.of(self.settings)


@dataclass
class PageRef:
    entry_id: int
    source: Path
    page: PageResult


@dataclass
class Segment:
    """Pages that make one document, and the dossier a receipt QR before them named."""

    pages: list[PageRef] = field(default_factory=list)
    qr_target: str | None = None


@dataclass
class BatchOutcome:
    documents: list[int] = field(default_factory=list)  # documents recorded by this batch (new ones)
    attached: list[tuple[int, str]] = field(default_factory=list)  # (document id, dossier code)
    unassigned: list[int] = field(default_factory=list)
    quarantined: list[int] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)
    retry: list[int] = field(default_factory=list)
    deferred: list[int] = field(default_factory=list)  # duplicates waiting for their original (no attempt spent)
    retaken: list[int] = field(default_factory=list)  # bytes changed after they were taken: back to the inbox
    pool_broken: bool = False
    seconds: float = 0.0


# -- pure steps ---------------------------------------------------------------------------------

def receipt_code(page: PageResult) -> str | None:
    for payload in page.qr:
        code = parse_receipt_qr(payload)
        if code:
            return code
    return None


def split_documents(refs: list[PageRef]) -> list[Segment]:
    """Cut a batch of pages into documents.

    A page whose QR holds a dossier code is a receipt (cover / separator sheet): it is not kept and
    routes what follows. A page with a document title starts a new document, and so does a new
    file, except a single title-less image page right after image pages of the same run (scanners
    that write one file per page).
    """
    segments: list[Segment] = []
    target: str | None = None
    cur: Segment | None = None
    for ref in refs:
        code = receipt_code(ref.page)
        if code:
            target, cur = code, None
            continue
        new_file = cur is not None and ref.entry_id != cur.pages[-1].entry_id
        continuation_image = (new_file and not ref.page.starts_document and ref.page.index == 0
                              and ref.source.suffix.lower() in IMAGE_SUFFIXES
                              and cur.pages[-1].source.suffix.lower() in IMAGE_SUFFIXES)
        if cur is None or ref.page.starts_document and cur.pages or (new_file and not continuation_image):
            cur = Segment(qr_target=target)
            segments.append(cur)
        cur.pages.append(ref)
    return [s for s in segments if s.pages]


# -- the job ---------------------------------------------------------------------------------------

def process_batch(ctx: JobContext, entry_ids: list[int]) -> BatchOutcome:
    t0 = time.monotonic()
    out = BatchOutcome()
    entries = ctx.journal.claim(entry_ids)
    if not entries:
        return out
    ids = [e.id for e in entries]
    by_id = {e.id: e for e in entries}
    try:
        originals = [e for e in entries if e.duplicate_of is None]
        dups = _check_duplicates(ctx, [e for e in entries if e.duplicate_of is not None], ids, out)
        good = _validate(ctx, originals, out)
        refs = _ocr_pages(ctx, good, out)
        out.retaken = ctx.journal.changed([sc.key for sc in good if sc.key not in out.quarantined])
        if out.retaken:  # a scanner still writing into a file it had open when it was taken
            ctx.journal.retake(out.retaken)
            refs = [r for r in refs if r.entry_id not in out.retaken]
        documents = [_incoming(ctx, seg, by_id[seg.pages[0].entry_id]) for seg in split_documents(refs)]
        late_quarantine = [e.id for e in dups if e.duplicate_of in out.quarantined]  # its twin here was bad
        skip = set(out.quarantined) | set(late_quarantine) | set(out.deferred) | set(out.retaken)
        finished = [i for i in ids if i not in skip]
        with ctx.journal.finishing(finished) as session:
            tx = IntakeTx(session, ctx.store)
            for doc, hints in documents:
                _record_and_route(ctx, tx, doc, hints, out)
            for e in dups:
                if e.id not in late_quarantine:
                    _link_duplicate(ctx, tx, e, out)
        for i in late_quarantine:
            other = by_id[i].duplicate_of
            ctx.journal.quarantine(i, reasons.explain("duplicate_of_quarantined", f"same content as #{other}",
                                                      other=f"#{other}").text())
            out.quarantined.append(i)
        ctx.journal.finish_files(finished)
    except Transient as exc:
        out.pool_broken = out.pool_broken or isinstance(exc, PoolBroken)
        _retry(ctx, ids, str(exc), out)
    except Exception as exc:  # unexpected: retried with backoff, quarantined when attempts run out
        log.exception("batch %s failed", ids)
        _retry(ctx, ids, f"{type(exc).__name__}: {exc}", out)
    out.seconds = time.monotonic() - t0
    return out


def _retry(ctx: JobContext, ids: list[int], error: str, out: BatchOutcome) -> None:
    """The batch's files still in hand go back for another try; those out of attempts are
    quarantined by the journal, and counted so."""
    rest = [i for i in ids if i not in out.quarantined and i not in out.deferred and i not in out.retaken]
    out.retry = ctx.journal.retry_later(rest, error, ctx.settings.max_attempts)
    states = ctx.journal.states([i for i in rest if i not in out.retry])
    out.quarantined += [i for i, st in states.items() if st == "quarantined"]


def _quarantine(ctx: JobContext, entry_id: int, exc: BaseException, out: BatchOutcome) -> None:
    why = reasons.for_exception(exc)
    ctx.journal.quarantine(entry_id, why.text())
    out.quarantined.append(entry_id)


def _validate(ctx: JobContext, entries: list[Claimed], out: BatchOutcome) -> list[Scan]:
    good = []
    for e in entries:
        try:
            n = core.count_pages(e.work_path, ctx.budget)
            good.append(core.Scan(e.id, e.work_path, e.sha256, n))
            ctx.journal.note_progress(e.id, 0, n)
        except (OcrInputError, OSError) as exc:  # unreadable, or the file itself gone / not readable
            _quarantine(ctx, e.id, exc, out)
    return good


def _ocr_pages(ctx: JobContext, good: list[Scan], out: BatchOutcome) -> list[PageRef]:
    """Every page of every good file, concurrently, through the ingest core (the pixel budget, a
    failed page read again alone, a dead worker signalled). A file whose page cannot be read even
    alone is quarantined with the page's reason and the rest of the batch goes on."""
    reading = core.Reading()
    refs: list[PageRef] = []
    for sc, got in core.read_scans(good, ctx.budget, ctx.executor, reading,
                                   on_page=lambda sc, i: ctx.journal.note_progress(sc.key, i + 1)):
        if isinstance(got, BaseException):
            _quarantine(ctx, sc.key, got, out)
            continue
        refs += [PageRef(sc.key, Path(sc.path), page) for page in got]
    out.pool_broken = out.pool_broken or reading.pool_broken  # the host replaces the pool after this batch
    return refs


def _incoming(ctx: JobContext, seg: Segment, first: Claimed) -> tuple[Incoming, RouteHints]:
    """Assemble and seal one document; the plain dataclass the registry's intake records."""
    res = ocr.assemble(str(seg.pages[0].source), [r.page for r in seg.pages])
    doc = core.incoming(res, sealer=ctx.sealer, source_name=first.name, ingest_id=first.id,
                        page_from=seg.pages[0].page.index + 1, page_to=seg.pages[-1].page.index + 1)
    return doc, RouteHints(qr_target=seg.qr_target, folder=first.route_hint)


def _record_and_route(ctx: JobContext, tx: IntakeTx, doc: Incoming, hints: RouteHints, out: BatchOutcome) -> None:
    rec = tx.record(doc)
    if rec.new:
        out.documents.append(rec.id)
    found = first_match(doc, hints, ctx.routes, tx)
    place = tx.attach(rec.id, found[0], found[1]) if found else tx.leave_unassigned(rec.id)
    if place.dossier_code:  # None: no route, or the route's dossier is another person's (intake refused)
        out.attached.append((rec.id, place.dossier_code))
    else:
        out.unassigned.append(rec.id)
    log.info("document #%d %s (%d p., %.0f%%) from %s → %s", rec.id, doc.doc_type, doc.pages,
             100 * doc.type_confidence, doc.source_name, place.dossier_code or "unassigned")


def _check_duplicates(ctx: JobContext, dups: list[Claimed], batch: list[int], out: BatchOutcome) -> list[Claimed]:
    """Same bytes as an earlier file: link to its documents, never OCR again. Checked before any
    OCR. A duplicate whose original is still being processed waits (deferred, no attempt spent)
    while the rest of the batch goes on."""
    ready = []
    for e in dups:
        if e.duplicate_of in batch:
            ready.append(e)
            continue
        state = ctx.journal.state_of(e.duplicate_of) or "missing"
        if state in ("pending", "working", "retry"):
            ctx.journal.defer([e.id], f"same content as journal entry #{e.duplicate_of}, which is still being "
                                      "processed: waiting for it")
            out.deferred.append(e.id)
            continue
        if state == "quarantined":
            ctx.journal.quarantine(e.id, reasons.explain(
                "duplicate_of_quarantined", f"same content as journal entry #{e.duplicate_of}, quarantined earlier",
                other=f"#{e.duplicate_of}").text())
            out.quarantined.append(e.id)
            continue
        ready.append(e)
    return ready


def _link_duplicate(ctx: JobContext, tx: IntakeTx, e: Claimed, out: BatchOutcome) -> None:
    """Route the original's documents by the duplicate's own sub-folder, if it names a dossier."""
    out.duplicates.append(e.id)
    if not e.route_hint or not tx.dossier_exists(e.route_hint):
        return
    for doc_id in tx.documents_of_entry(e.duplicate_of):
        if tx.attach(doc_id, e.route_hint, RoutedBy.FOLDER).dossier_code:
            out.attached.append((doc_id, e.route_hint))
