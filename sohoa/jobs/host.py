"""The one place that builds what the ingest job needs (settings, journal, store, OCR page pool,
organisation seal), for the in-process runtime and for Celery workers alike.

A :class:`JobHost` owns one :class:`~sohoa.jobs.inbox.JobContext` and its process pool, runs
batches, and replaces the pool when a page worker died (the broken pool is shut down, not
dropped).
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor

from ingest import Journal, Paths
from registry import Database, Store
from sohoa.config import Settings
from sohoa.jobs.inbox import BatchOutcome, JobContext, process_batch
from vocab.errors import Unavailable

log = logging.getLogger("sohoa.jobs.host")


class SealUnavailable(Unavailable):
    """A seal key is configured but cannot be used: storing unsealed documents would be wrong."""


def load_sealer(settings: Settings):
    """The organisation seal when a key is configured (``seal_key``), else None."""
    if not settings.seal_key:
        return None
    from signing import Sealer

    try:
        return Sealer.from_settings(settings)
    except Exception as exc:
        raise SealUnavailable(f"không dùng được con dấu số của cơ quan ({settings.seal_key}): {exc}") from exc


def page_pool(workers: int, nice: int = 0) -> ProcessPoolExecutor:
    """OCR worker processes; ``nice`` lowers their CPU priority (and that of the Tesseract they
    start), so that under a full inbox the web pages and the reuse API still answer at once."""
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # one Tesseract thread per process, all cores busy
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("forkserver"),
                               initializer=lower_priority, initargs=(nice,))


def lower_priority(nice: int) -> None:
    """Add ``nice`` to this process's niceness (0: unchanged); inherited by the processes it
    starts. The OCR pool's initializer, and `sohoa serve` for the staff pages apart."""
    if nice > 0 and hasattr(os, "nice"):
        try:
            os.nice(min(19, nice))
        except OSError:  # not permitted here: run at the normal priority
            pass


def make_journal(settings: Settings, db: Database) -> Journal:
    return Journal(db, Paths(settings.inbox, settings.work_dir, settings.done_dir, settings.quarantine_dir))


class JobHost:
    """Runs ingest batches with one context; thread-safe (batches may run in several threads)."""

    def __init__(self, settings: Settings, db: Database, *, pool: bool = True, seal: bool = True) -> None:
        settings.ensure_dirs()
        self.settings = settings
        self.db = db
        self.journal = make_journal(settings, db)
        self._lock = threading.Lock()
        self.pool = page_pool(settings.worker_count, settings.ocr_nice) if pool else None
        self.ctx = JobContext(settings, Store(settings.store_dir), self.journal, self.pool,
                              load_sealer(settings) if seal else None)

    def run(self, entry_ids: list[int]) -> BatchOutcome:
        out = process_batch(self.ctx, entry_ids)
        if out.pool_broken:
            self.renew_pool()
        return out

    def renew_pool(self) -> None:
        if self.pool is None:
            return
        with self._lock:
            old, self.pool = self.pool, page_pool(self.settings.worker_count, self.settings.ocr_nice)
            self.ctx.executor = self.pool
        log.warning("the OCR page pool broke (a worker died): replaced it")
        old.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
