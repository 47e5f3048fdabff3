"""The ingest job: journaled files in → OCR'd, typed, sealed documents attached to dossiers out.

``process_batch(ctx, entry_ids)`` is the job boundary. It reads everything it needs from the
journal by id, so the same call runs in-process (``sohoa watch``/``run``) or on a Celery worker
(``sohoa worker``). It reads top to bottom as the data path:

    claim → validate (quarantine bad files) → OCR pages concurrently → split into documents
    (receipt QR pages, document titles) → assemble, seal, store → route → one commit → move files
"""
from __future__ import annotations

import logging
import time
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

import ocr
from ingest.journal import Journal
from ocr.types import DocumentResult, OcrInputError, PageResult
from registry import service
from registry.codes import find_dossier_code
from registry.db import Database
from registry.models import Document, Dossier, IngestEntry, Subject, utcnow
from registry.store import Store
from sohoa.config import Settings
from vocab.text import fold, mask_pid, nfc

log = logging.getLogger("sohoa.pipeline")

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".tif", ".tiff"}
PID_FIELDS = ("so_dinh_danh", "so_dinh_danh_chong", "so_dinh_danh_vo")


class Transient(Exception):
    """Worth another try later (a dependency not ready yet, a worker pool that broke)."""


class PoolBroken(Transient):
    """A page worker died (killed, out of memory): the pool must be renewed before the retry."""


@dataclass
class JobContext:
    settings: Settings
    db: Database
    store: Store
    journal: Journal
    executor: Executor | None = None  # runs ocr.read_page per page; None = serially here
    sealer: object | None = None  # signing.Sealer, when an organisation seal is configured


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
    documents: list[int] = field(default_factory=list)
    attached: list[tuple[int, str]] = field(default_factory=list)  # (document id, dossier code)
    unassigned: list[int] = field(default_factory=list)
    quarantined: list[int] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)
    retry: list[int] = field(default_factory=list)
    pool_broken: bool = False
    seconds: float = 0.0


# -- pure steps ---------------------------------------------------------------------------------

def receipt_code(page: PageResult) -> str | None:
    for payload in page.qr:
        code = find_dossier_code(payload)
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


def subject_pids(result: DocumentResult) -> list[str]:
    """Personal ID numbers the document names that passed the structure check."""
    out = []
    for name in PID_FIELDS:
        f = result.fields.get(name)
        if f and f.value.isdigit() and len(f.value) == 12 and f.value not in out:
            out.append(f.value)
    return out


# -- the job ---------------------------------------------------------------------------------------

def process_batch(ctx: JobContext, entry_ids: list[int]) -> BatchOutcome:
    t0 = time.monotonic()
    out = BatchOutcome()
    entries = ctx.journal.claim(entry_ids)
    if not entries:
        return out
    ids = [e.id for e in entries]
    try:
        originals = [e for e in entries if e.duplicate_of is None]
        dups = _check_duplicates(ctx, [e for e in entries if e.duplicate_of is not None], ids, out)
        good = _validate(ctx, originals, out)
        refs = _ocr_pages(ctx, good, out)
        segments = split_documents(refs)
        by_id = {e.id: e for e in entries}
        results = [(seg, _assemble(seg)) for seg in segments]
        payloads = [(seg, res, _seal(ctx, res.pdf)) for seg, res in results]
        late_quarantine = []
        with ctx.db.session() as s:
            for seg, res, pdf in payloads:
                first = by_id[seg.pages[0].entry_id]
                doc = _record_document(ctx, s, seg, res, pdf, first)
                code = _route(s, seg, res, first, doc, out)
                out.documents.append(doc.id)
                log.info("document #%d %s (%d p., %.0f%%) from %s → %s", doc.id, res.doc_type, len(seg.pages),
                         100 * res.confidence, first.name, code or "unassigned")
            for e in dups:
                if e.duplicate_of in out.quarantined:  # its twin in this batch was bad: so is it
                    late_quarantine.append(e.id)
                    continue
                _link_duplicate(s, e, out)
            finished = [i for i in ids if i not in out.quarantined and i not in late_quarantine]
            for e in s.scalars(select(IngestEntry).where(IngestEntry.id.in_(finished))):
                e.state = "duplicate" if e.duplicate_of else "done"
                e.finished_at, e.error, e.lease_owner, e.lease_until = utcnow(), None, None, None
        for i in late_quarantine:
            ctx.journal.quarantine(i, "same content as a file of the same batch that was quarantined")
            out.quarantined.append(i)
        ctx.journal.finish_files([i for i in ids if i not in out.quarantined])
    except Transient as exc:
        out.pool_broken = isinstance(exc, PoolBroken)
        out.retry = ctx.journal.retry_later([i for i in ids if i not in out.quarantined], str(exc),
                                            ctx.settings.max_attempts)
    except Exception as exc:  # unexpected: retried with backoff, quarantined when attempts run out
        log.exception("batch %s failed", ids)
        out.retry = ctx.journal.retry_later([i for i in ids if i not in out.quarantined],
                                            f"{type(exc).__name__}: {exc}", ctx.settings.max_attempts)
    out.seconds = time.monotonic() - t0
    return out


def _validate(ctx: JobContext, entries: list[IngestEntry], out: BatchOutcome) -> list[tuple[IngestEntry, int]]:
    good = []
    for e in entries:
        try:
            n = ocr.count_pages(e.work_path, max_pixels=ctx.settings.max_pixels)
            if n < 1:
                raise OcrInputError("no pages")
            good.append((e, n))
        except OcrInputError as exc:
            ctx.journal.quarantine(e.id, str(exc))
            out.quarantined.append(e.id)
    return good


def _ocr_pages(ctx: JobContext, good: list[tuple[IngestEntry, int]], out: BatchOutcome) -> list[PageRef]:
    kw = dict(lang=ctx.settings.ocr_lang, max_pixels=ctx.settings.max_pixels)
    tasks: list[tuple[IngestEntry, int, Future | PageResult]] = []
    for e, n in good:
        for i in range(n):
            if ctx.executor is None:
                tasks.append((e, i, None))
            else:
                tasks.append((e, i, ctx.executor.submit(ocr.read_page, e.work_path, i, **kw)))
    refs: list[PageRef] = []
    failed: set[int] = set()
    for e, i, fut in tasks:
        if e.id in failed:
            continue
        try:
            page = ocr.read_page(e.work_path, i, **kw) if fut is None else fut.result()
        except OcrInputError as exc:
            failed.add(e.id)
            ctx.journal.quarantine(e.id, f"page {i + 1}: {exc}")
            out.quarantined.append(e.id)
            continue
        except Exception as exc:
            if type(exc).__name__ == "BrokenProcessPool":
                raise PoolBroken("the OCR worker pool broke (a worker died); will retry") from exc
            raise
        refs.append(PageRef(e.id, Path(e.work_path), page))
    return [r for r in refs if r.entry_id not in failed]


def _assemble(seg: Segment) -> DocumentResult:
    return ocr.assemble(str(seg.pages[0].source), [r.page for r in seg.pages])


def _seal(ctx: JobContext, pdf: bytes) -> bytes:
    return ctx.sealer.seal(pdf) if ctx.sealer is not None else pdf


def _check_duplicates(ctx: JobContext, dups: list[IngestEntry], batch: list[int],
                      out: BatchOutcome) -> list[IngestEntry]:
    """Same bytes as an earlier file: link to its documents, never OCR again. Checked before any
    OCR so that waiting for an original still in progress wastes no work."""
    ready = []
    for e in dups:
        if e.duplicate_of in batch:
            ready.append(e)
            continue
        with ctx.db.session() as s:
            orig = s.get(IngestEntry, e.duplicate_of)
            state = orig.state if orig else "missing"
        if state in ("pending", "working", "retry"):
            raise Transient(f"same content as journal entry #{e.duplicate_of}, which is still being processed")
        if state == "quarantined":
            ctx.journal.quarantine(e.id, f"same content as journal entry #{e.duplicate_of}, quarantined earlier")
            out.quarantined.append(e.id)
            continue
        ready.append(e)
    return ready


def _link_duplicate(s, e: IngestEntry, out: BatchOutcome) -> None:
    """Route the original's documents by the duplicate's own sub-folder, if it names a dossier."""
    out.duplicates.append(e.id)
    if not e.route_hint:
        return
    d = s.scalar(select(Dossier).where(Dossier.code == e.route_hint))
    if d is None:
        return
    for doc in s.scalars(select(Document).where(Document.ingest_id == e.duplicate_of)):
        service.attach(s, d, doc, routed_by="folder")
        out.attached.append((doc.id, d.code))


def _record_document(ctx: JobContext, s, seg: Segment, res: DocumentResult, pdf: bytes,
                     first: IngestEntry) -> Document:
    digest, _ = ctx.store.put_bytes(pdf)
    doc = s.scalar(select(Document).where(Document.sha256 == digest))
    if doc is not None:
        return doc
    text = nfc(res.text)
    doc = Document(sha256=digest, size=len(pdf), pages=len(seg.pages), text=text, text_folded=fold(text),
                   doc_type=res.doc_type, type_confidence=res.confidence,
                   fields={k: f.value for k, f in res.fields.items()},
                   field_confidences={k: {"confidence": f.confidence, "flags": list(f.flags)}
                                      for k, f in res.fields.items()},
                   quality=res.quality, sealed=ctx.sealer is not None, ingest_id=first.id,
                   page_from=seg.pages[0].page.index + 1, page_to=seg.pages[-1].page.index + 1,
                   source_name=first.name, created_by="ingest")
    first_pid = next((res.fields[k] for k in PID_FIELDS if k in res.fields
                      and res.fields[k].value in subject_pids(res)), None)
    if first_pid is not None:
        subj = s.scalar(select(Subject).where(Subject.identifier == first_pid.value))
        if subj is None and not first_pid.flags:  # a flagged number may be a misread: no new subject
            name = res.fields.get("ho_ten")
            subj = service.get_or_create_subject(s, first_pid.value, name.value if name else None)
        doc.subject_id = subj.id if subj else None
    s.add(doc)
    s.flush()
    return doc


def _route(s, seg: Segment, res: DocumentResult, first: IngestEntry, doc: Document, out: BatchOutcome) -> str | None:
    """Receipt QR, then inbox sub-folder, then the personal ID number; else the unassigned queue."""
    tries = [(seg.qr_target, "qr"), (first.route_hint, "folder")]
    for code, how in tries:
        if not code:
            continue
        d = s.scalar(select(Dossier).where(Dossier.code == code))
        if d is not None:
            return _attach(s, d, doc, how, out)
        log.warning("dossier %s named by %s does not exist; trying the next route", code, how)
    for pid in subject_pids(res):
        candidates = service.open_dossiers_of(s, pid)
        if len(candidates) == 1:
            return _attach(s, candidates[0], doc, "pid", out)
        if len(candidates) > 1:
            log.info("document #%d: subject %s has %d open dossiers; left for staff", doc.id, mask_pid(pid),
                     len(candidates))
    out.unassigned.append(doc.id)
    return None


def _attach(s, d: Dossier, doc: Document, how: str, out: BatchOutcome) -> str:
    service.attach(s, d, doc, routed_by=how)
    if doc.subject_id is None:
        doc.subject_id = d.subject_id
    if not doc.digitization_code:
        n = len([c for c in d.components if c.document_id]) or 1
        doc.digitization_code = f"{d.code}.{n:02d}.{doc.id}"
    out.attached.append((doc.id, d.code))
    return d.code
