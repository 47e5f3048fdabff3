"""In-process runtime: the inbox watcher, a thread per running job, a process pool for OCR pages.

The job itself (``sohoa.jobs.inbox.process_batch``) knows nothing of this module: ``sohoa worker``
runs the same job from a Celery queue when ``SOHOA_BROKER_URL`` is set.
"""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from ingest import Candidate, InboxWatcher
from registry import Database
from registry.intake import placements_of_entries
from sohoa.config import Settings
from sohoa.jobs.host import JobHost, make_journal
from sohoa.jobs.inbox import BatchOutcome

log = logging.getLogger("sohoa.jobs.runtime")


@dataclass
class Stats:
    batches: int = 0
    files: int = 0
    documents: int = 0
    attached: list[tuple[int, str]] = field(default_factory=list)
    unassigned: int = 0
    quarantined: int = 0
    duplicates: int = 0
    retried: int = 0

    def add(self, o: BatchOutcome) -> None:
        self.batches += 1
        self.documents += len(o.documents)
        self.attached += o.attached
        self.unassigned += len(o.unassigned)
        self.quarantined += len(o.quarantined)
        self.duplicates += len(o.duplicates)
        self.retried += len(o.retry)


class Runtime:
    def __init__(self, settings: Settings, db: Database, *, on_outcome=None) -> None:
        settings.ensure_dirs()
        self.settings = settings
        self.db = db
        self.remote = None
        self.host: JobHost | None = None
        if settings.broker_url:  # scaled mode: batches go to Celery workers (`sohoa worker`)
            from sohoa.jobs.tasks import make_app

            self.remote = make_app(settings)
            self.journal = make_journal(settings, db)
        else:
            self.host = JobHost(settings, db)
            self.journal = self.host.journal
        self.jobs = ThreadPoolExecutor(max_workers=max(2, settings.worker_count), thread_name_prefix="job")
        self.submitted: set[int] = set()
        self.stats = Stats()
        self.on_outcome = on_outcome
        self._pending: set[Future] = set()
        self._lock = threading.Lock()
        self.watcher = InboxWatcher(settings.inbox, self._on_batch, quiet=settings.quiet_seconds,
                                    rescan=settings.rescan_seconds, polling=settings.polling_observer,
                                    empty_timeout=settings.empty_timeout_seconds)

    # -- dispatch ---------------------------------------------------------------------------------
    def _on_batch(self, batch: list[Candidate]) -> None:
        ids = self.journal.take(batch)
        self.stats.files += len(batch)
        if ids:
            self.submit(ids)
        elif batch and batch[0].problem:
            self.stats.quarantined += 1

    def submit(self, ids: list[int]) -> None:
        self.submitted.update(ids)
        if self.remote is not None:
            from sohoa.jobs.tasks import TASK

            self.remote.send_task(TASK, args=[ids], queue=self.settings.queue)
            return
        fut = self.jobs.submit(self._run, ids)
        with self._lock:
            self._pending.add(fut)
        fut.add_done_callback(self._done)

    def _run(self, ids: list[int]) -> BatchOutcome:
        return self.host.run(ids)

    def _done(self, fut: Future) -> None:
        with self._lock:
            self._pending.discard(fut)
        exc = fut.exception()
        if exc is not None:
            log.error("job crashed: %r", exc)
            return
        out = fut.result()
        self.stats.add(out)
        if self.on_outcome:
            self.on_outcome(out)

    def wait(self) -> None:
        while True:
            with self._lock:
                pending = list(self._pending)
            if not pending:
                return
            for f in pending:
                f.exception()

    # -- loops --------------------------------------------------------------------------------------
    def recover(self) -> None:
        for ids in self.journal.recover():
            log.info("resuming journal entries %s after a restart", ids)
            self.submit(ids)

    def _retry_loop(self, stop: threading.Event) -> None:
        while not stop.wait(1.0):
            for ids in self.journal.due_retries():
                self.submit(ids)

    def run_once(self, timeout: float = 3600) -> Stats:
        """Process what is complete in the inbox (and what a crash left), wait for it, return."""
        self.recover()
        self.watcher.run(until_idle=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.wait()
            for ids in self.journal.due_retries():
                self.submit(ids)
            if not self._unfinished():
                break
            time.sleep(0.5)
        self.wait()
        if self.remote is not None:
            self._count_remote()
        return self.stats

    def _unfinished(self) -> bool:
        return bool(self.submitted) and self.journal.any_active(self.submitted)

    def _count_remote(self) -> None:
        """Outcomes of batches that ran on workers, read back from the journal and the registry."""
        states = self.journal.states(self.submitted)
        placed = placements_of_entries(self.db, self.submitted)
        self.stats.documents += len({d for d, _ in placed})
        self.stats.attached += [(d, c) for d, c in placed if c]
        self.stats.unassigned += len({d for d, c in placed if not c})
        self.stats.quarantined += sum(1 for v in states.values() if v == "quarantined")
        self.stats.duplicates += sum(1 for v in states.values() if v == "duplicate")

    def run_forever(self, stop: threading.Event | None = None) -> None:
        stop = stop or threading.Event()
        self.recover()
        t = threading.Thread(target=self._retry_loop, args=(stop,), daemon=True, name="retries")
        t.start()
        w = threading.Thread(target=self.watcher.run, daemon=True, name="watcher")
        w.start()
        try:
            while not stop.wait(0.5):
                if not w.is_alive():
                    raise RuntimeError("the inbox watcher stopped unexpectedly")
        finally:
            self.watcher.stop()
            w.join(timeout=10)
            self.wait()

    def close(self) -> None:
        self.watcher.stop()
        self.jobs.shutdown(wait=True)
        if self.host is not None:
            self.host.close()
