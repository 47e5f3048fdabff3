"""The sync worker: sends the outbox (``registry.outbox``) to the national portal.

One sender at a time holds the lease (``sohoa run``, ``sohoa sync run`` and every scaled-mode
worker start one; the others stand by). Each pass takes, for every dossier, its first event not
yet acknowledged, sends those in batches (several batches at once, one event per dossier per
batch), and records per event: acknowledged, or failed with an exponential backoff, or after
``sync_max_attempts`` failures dead-lettered (``sohoa sync retry`` sends it again). An event is
only ever sent after the one before it in its dossier was acknowledged, always with the same
idempotency key, so a delivery repeated after a timeout or a kill is harmless.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from ingest.journal import lease_owner_alive  # the journal's lease owners are "host:pid" too
from registry import outbox
from registry.db import Database
from sohoa.config import Settings
from vocab.clock import utcnow
from sohoa.jobs.portal import PortalClient, PortalError, client_from_settings

__all__ = ["SyncWorker", "start_background"]

log = logging.getLogger("sohoa.jobs.sync")


class SyncWorker:
    def __init__(self, db: Database, client: PortalClient, *, batch: int = 50, parallel: int = 4,
                 max_attempts: int = 10, backoff: float = 2.0, backoff_max: float = 600.0,
                 lease_seconds: float = 30.0, owner: str | None = None) -> None:
        self.db, self.client = db, client
        self.batch, self.parallel = batch, parallel
        self.max_attempts, self.backoff, self.backoff_max = max_attempts, backoff, backoff_max
        self.lease_seconds = lease_seconds
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}"
        self._pool = ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="sync")

    @classmethod
    def from_settings(cls, settings: Settings, db: Database, client: PortalClient | None = None) -> "SyncWorker | None":
        client = client or client_from_settings(settings)
        if client is None:
            return None
        return cls(db, client, max_attempts=settings.sync_max_attempts, backoff=settings.sync_backoff,
                   backoff_max=settings.sync_backoff_max, batch=settings.sync_batch)

    def _lease(self) -> bool:
        with self.db.session() as s:
            return outbox.take_lease(s, self.owner, seconds=self.lease_seconds, alive=lease_owner_alive)

    def run_once(self) -> tuple[int, int]:
        """One pass; returns (events sent, events acknowledged). (0, 0) without the lease."""
        if not self._lease():
            return 0, 0
        with self.db.session() as s:
            heads = outbox.heads(s, limit=self.batch * self.parallel)
        if not heads:
            return 0, 0
        chunks = [heads[i:i + self.batch] for i in range(0, len(heads), self.batch)]
        acked = 0
        for chunk, fut in [(c, self._pool.submit(self._deliver, c)) for c in chunks]:
            keys, error = fut.result()
            ok = [e.id for e in chunk if e.key in keys]
            bad = [e.id for e in chunk if e.key not in keys]
            with self.db.session() as s:
                acked += outbox.acknowledge(s, ok)
                dead = outbox.fail(s, bad, error or "Cổng không xác nhận sự kiện", max_attempts=self.max_attempts,
                                   backoff=self.backoff, backoff_max=self.backoff_max) if bad else []
            if dead:
                log.error("%d event(s) dead-lettered after %d attempts: %s", len(dead), self.max_attempts, error)
        return len(heads), acked

    def _deliver(self, chunk) -> tuple[set[str], str | None]:
        try:
            return self.client.send(chunk), None
        except PortalError as exc:
            return set(), str(exc)
        except Exception as exc:  # a bug in a client must not stop the sync
            log.exception("portal client failed")
            return set(), f"{type(exc).__name__}: {exc}"

    def run_forever(self, stop: threading.Event, *, idle: float = 1.0, until_idle: bool = False) -> None:
        """Pass after pass until ``stop`` (or, with ``until_idle``, until nothing is left to send)."""
        try:
            while not stop.is_set():
                try:
                    sent, _ = self.run_once()
                except Exception:  # the database is away for a moment: keep going
                    log.exception("sync pass failed")
                    sent = 0
                if sent:
                    continue
                if until_idle and self._settled():
                    return
                stop.wait(idle)
        finally:
            try:
                with self.db.session() as s:
                    outbox.release_lease(s, self.owner)
            except Exception:
                pass

    def _settled(self) -> bool:
        """Nothing left to send: every dossier is either fully acknowledged or blocked by a dead letter."""
        with self.db.session() as s:
            return not outbox.heads(s, limit=1, now=utcnow() + dt.timedelta(days=36500))

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        close = getattr(self.client, "close", None)
        if close:
            close()


def start_background(settings: Settings, db: Database, stop: threading.Event) -> threading.Thread | None:
    """The sync worker as a daemon thread of ``sohoa run`` / ``sohoa worker``; None when no portal
    is configured (events then wait in the outbox)."""
    worker = SyncWorker.from_settings(settings, db)
    if worker is None:
        log.info("SOHOA_PORTAL_URL is empty: portal events wait in the outbox")
        return None

    def loop() -> None:
        try:
            worker.run_forever(stop)
        finally:
            worker.close()

    t = threading.Thread(target=loop, daemon=True, name="portal-sync")
    t.start()
    log.info("portal sync started")
    return t


def wait_settled(db: Database, timeout: float) -> dict:
    """Poll the outbox until nothing is pending (or the timeout); returns the last status."""
    end = time.monotonic() + timeout
    while True:
        with db.session() as s:
            st = outbox.status(s)
        if st["pending"] == 0 or time.monotonic() > end:
            return st
        time.sleep(0.5)
