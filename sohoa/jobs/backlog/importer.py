"""The backlog importer: journal a folder of scans (a run), then work through its rows — claim a few,
read their pages through the ingest core (``ingest.core``: the configured pixel budget, a failed
page read again alone, a dead page worker signalled; the inbox job reads the same way), check each
against its manifest row (``decision``), seal and record it (``registry.backlog.record_result``),
one commit per scan.

``process_items(ctx, ids)`` is the job boundary: it reads everything from the journal by id, so it
runs in-process (:class:`Importer`) or on a scaled-mode Celery worker (``sohoa.jobs.tasks``).

A run is the same run until its report has been given: a killed import run again resumes it (the
rows already settled stay settled, the rest are taken again), and its report counts the whole run.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ocr
from ingest import core
from ingest.journal import lease_owner_alive
from ingest.reasons import explain, for_exception
from ocr import DocumentResult, OcrInputError
from registry import Database, Store
from registry import backlog as journal
from sohoa.config import Settings
from sohoa.jobs.backlog.decision import Review, decide, read_json
from sohoa.jobs.backlog.manifest import plan, read_manifest
from vocab.errors import Invalid

__all__ = ["BacklogContext", "Outcome", "process_items", "Importer", "report", "incoming", "BACKLOG_TASK",
           "LEASE", "MAX_ATTEMPTS"]

log = logging.getLogger(__name__)

BACKLOG_TASK = "sohoa.backlog_items"  # the Celery task (sohoa.jobs.tasks) running process_items
LEASE = dt.timedelta(minutes=20)
MAX_ATTEMPTS = 10  # claims of one scan (each crash or failure costs one) before it is rejected


@dataclass
class BacklogContext:
    settings: Settings
    db: Database
    store: Store
    executor: Executor | None = None  # runs ocr.read_page; None = serially here
    sealer: object | None = None  # signing.Sealer when a seal key is configured
    owner: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")

    @classmethod
    def for_settling(cls, settings: Settings, db: Database) -> BacklogContext:
        """One scan read in this process (no page pool), sealed with the configured key: for
        settling the review queue from the CLI or the web UI."""
        from sohoa.jobs.host import load_sealer

        return cls(settings, db, Store(settings.store_dir), None, load_sealer(settings))

    @property
    def budget(self) -> core.Budget:
        return core.Budget.of(self.settings)


@dataclass
class Outcome:
    states: dict[str, int] = field(default_factory=dict)
    pages: int = 0
    pool_broken: bool = False

    def add(self, state: str, pages: int = 0) -> None:
        self.states[state] = self.states.get(state, 0) + 1
        self.pages += pages


def _gave_up(attempts: int) -> str:
    return explain("gave_up", f"claimed {attempts} times without an end", attempts=attempts).message


def process_items(ctx: BacklogContext, ids: list[int]) -> Outcome:
    """Claim, OCR, check, seal and record the given journal rows (those still to do)."""
    out = Outcome()
    with ctx.db.session() as s:
        mine = journal.claim(s, ids, ctx.owner, lease=LEASE, alive=lease_owner_alive, max_attempts=MAX_ATTEMPTS,
                             gave_up=_gave_up)
        todo = []
        for i in mine:
            if journal.finish_if_held(s, i, ctx.owner):
                out.add("duplicate")
                continue
            it, run = journal.item(s, i)
            todo.append((i, Path(run.source) / it.rel_path, dict(it.row or {}), it.sha256 or None))
    scans: list[core.Scan] = []
    rows: dict[int, tuple[Path, dict]] = {}
    for i, path, row, sha in todo:
        rows[i] = (path, row)
        try:
            scans.append(core.Scan(i, str(path), sha, core.count_pages(path, ctx.budget)))
        except (OcrInputError, OSError) as exc:  # not a readable scan at all
            _reject(ctx, i, path, exc, out)
    reading = core.Reading()
    for sc, got in core.read_scans(scans, ctx.budget, ctx.executor, reading):
        path, row = rows[sc.key]
        try:
            if isinstance(got, BaseException):
                raise got
            _finish_one(ctx, sc.key, path, row, ocr.assemble(sc.path, got), out)
        except OcrInputError as exc:  # a page that cannot be read, even alone
            _reject(ctx, sc.key, path, exc, out)
        except Exception as exc:  # the file mid-read (OSError), the registry: another pass takes it again
            log.warning("backlog item #%d: %s: %s; it is taken again later", sc.key, type(exc).__name__, exc)
            with ctx.db.session() as s:
                journal.release(s, [sc.key], ctx.owner)
    out.pool_broken = reading.pool_broken
    return out


def _reject(ctx: BacklogContext, item_id: int, path: Path, exc: BaseException, out: Outcome) -> None:
    """The catalogue's sentence for people; the technical detail kept beside it."""
    why = for_exception(exc)
    with ctx.db.session() as s:
        journal.finish(s, item_id, ctx.owner, "rejected", why.message, {"error": why.code, "detail": why.detail}, 0)
    out.add("rejected")
    log.info("backlog #%d %s → rejected: %s", item_id, path.name, why.detail)


def incoming(ctx: BacklogContext, path: Path, res: DocumentResult, verdict: journal.Decision):
    """What the registry records for one backlog scan (built by the ingest core, as the inbox's)."""
    return core.incoming(res, sealer=ctx.sealer, source_name=path.name, ingest_id=None, page_from=1,
                         page_to=len(res.pages), doc_type=verdict.doc_type, created_by="backlog")


def _finish_one(ctx: BacklogContext, item_id: int, path: Path, row: dict, res: DocumentResult, out: Outcome) -> None:
    verdict = decide(row, res)
    pages = len(res.pages)
    if isinstance(verdict, Review):
        with ctx.db.session() as s:
            journal.finish(s, item_id, ctx.owner, "review", verdict.message, read_json(res) | {"review": verdict.code},
                           pages)
        out.add("review", pages)
        log.info("backlog #%d %s → review: %s", item_id, path.name, verdict.code)
        return
    with ctx.db.session() as s:
        state, doc_id = journal.record_result(s, ctx.store, item_id, ctx.owner, incoming(ctx, path, res, verdict),
                                              verdict, agency=ctx.settings.agency_code)
    if state:
        out.add(state, pages)
        log.info("backlog #%d %s → %s (document #%s)", item_id, path.name, state, doc_id)


class Importer:
    """Journal SOURCE, then work through its rows: in this process (a page pool shared by a couple
    of item batches in flight) or, with a broker, by enqueuing them for the Celery workers."""

    def __init__(self, settings: Settings, db: Database, *, executor: Executor | None = None, sealer=None,
                 remote=None, chunk: int | None = None) -> None:
        self.settings, self.db = settings, db
        self.ctx = BacklogContext(settings, db, Store(settings.store_dir), executor, sealer)
        self.remote = remote  # a Celery app (scaled mode)
        self.chunk = chunk or max(2, settings.worker_count)

    def journal_source(self, source: Path, manifest: Path | None) -> int:
        """Open (or resume) the run of ``source`` and journal every scan; returns the run id."""
        source = source.resolve()
        if not source.is_dir():
            raise Invalid(f"{source} không phải thư mục")
        rows = read_manifest(manifest) if manifest else None
        with self.db.session() as s:
            run, resumed = journal.open_run(s, str(source), str(manifest.resolve()) if manifest else None)
            run_id, state = run.id, run.state
            skip = journal.known_paths(s, run_id) if resumed else set()
            if resumed:
                journal.recover(s, run_id, lease_owner_alive)
        if state == "listing":
            batch: list[journal.PlannedItem] = []
            for it in plan(source, rows, skip=skip):
                batch.append(it)
                if len(batch) >= 200:  # committed in slices: a kill while listing keeps what was hashed
                    with self.db.session() as s:
                        journal.add_items(s, run_id, batch)
                    batch = []
            with self.db.session() as s:
                journal.add_items(s, run_id, batch)
                journal.mark_ready(s, s.get(journal.BacklogRun, run_id))
        return run_id

    def run(self, run_id: int, progress: Callable[[dict], None] | None = None, every: float = 0.5) -> dict:
        """Work until no row of the run is left to do; ``progress`` gets the status now and then."""
        if self.remote is not None:
            return self._run_remote(run_id, progress, every)
        taken: set[int] = set()
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="backlog") as jobs:
            running: set[Future] = set()
            while True:
                while len(running) < 2:  # two item batches in flight keep the page pool busy
                    with self.db.session() as s:
                        ids = journal.pending_ids(s, run_id, limit=self.chunk, exclude=taken)
                    if not ids:
                        break
                    taken.update(ids)
                    running.add(jobs.submit(self._work, ids))
                if not running:
                    with self.db.session() as s:
                        if journal.finish_run(s, run_id):
                            break
                        journal.recover(s, run_id, lease_owner_alive)
                        left = journal.pending_ids(s, run_id, limit=1)
                    if not left:
                        time.sleep(every)  # rows held by another live process: wait for them
                    taken.clear()  # rows given back after a failure are taken again
                    continue
                finished, _ = wait(running, timeout=every, return_when=FIRST_COMPLETED)
                for f in finished:
                    running.discard(f)
                    f.result()
                if progress:
                    with self.db.session() as s:
                        progress(journal.status(s, run_id))
        with self.db.session() as s:
            return journal.status(s, run_id)

    def reported(self, run_id: int) -> None:
        """The run's report has been given: the run is over (the next import starts a new one)."""
        with self.db.session() as s:
            journal.mark_reported(s, run_id)

    def _work(self, ids: list[int]) -> Outcome:
        out = process_items(self.ctx, ids)
        if out.pool_broken and self.ctx.executor is not None:  # a page worker died: a fresh pool
            from sohoa.jobs.host import page_pool

            old, self.ctx.executor = self.ctx.executor, page_pool(self.settings.worker_count, self.settings.ocr_nice)
            old.shutdown(wait=False, cancel_futures=True)
        return out

    def _run_remote(self, run_id: int, progress, every: float) -> dict:
        with self.db.session() as s:
            journal.recover(s, run_id, lease_owner_alive)
            ids = journal.pending_ids(s, run_id)
        for i in ids:  # one scan per message: the queue spreads them over the workers
            self.remote.send_task(BACKLOG_TASK, args=[[i]], queue=self.settings.queue)
        sent_at: dict[int, int] = {}  # rows sent again, at which attempt
        while True:
            with self.db.session() as s:
                st = journal.status(s, run_id)
                if journal.finish_run(s, run_id):
                    break
                journal.recover(s, run_id, lease_owner_alive)
                again = [(i, a) for i, a in journal.given_back(s, run_id) if sent_at.get(i) != a]
            for i, a in again:  # a worker gave them back (its pool broke) or died on this machine
                sent_at[i] = a
                self.remote.send_task(BACKLOG_TASK, args=[[i]], queue=self.settings.queue)
            if progress:
                progress(st)
            time.sleep(every)
        with self.db.session() as s:
            return journal.status(s, run_id)


def report(db: Database, run_id: int) -> dict[str, Any]:
    """The closing report: counts, and each row in review, rejected or a duplicate with its reason."""
    with db.session() as s:
        st = journal.status(s, run_id)
        items = journal.listing(s, run_id, ("review", "rejected", "duplicate"))
    st["needs_review"] = [{k: i[k] for k in ("id", "file", "row", "reason")} for i in items if i["state"] == "review"]
    st["rejected_items"] = [{k: i[k] for k in ("id", "file", "row", "reason")} for i in items if i["state"] == "rejected"]
    st["duplicate_items"] = [{k: i[k] for k in ("id", "file", "row", "reason", "document_id")}
                             for i in items if i["state"] == "duplicate"]
    return st
