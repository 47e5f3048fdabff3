"""The watched inbox: a watchdog observer for prompt wake-ups plus a periodic rescan, and the
stability rule that decides when a file has finished being written.

A *batch* is the set of ready files of one folder, picked up together once nothing in that
folder has changed for the quiet period, in name order. Scanners that write one file per page
thus hand a whole scan run over at once, so a receipt page can route the pages that follow it.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ingest import reasons
from ingest.files import (content_kind, display_name, has_odd_name, held_for_writing, is_ignored, kind_of,
                          looks_complete, tiff_pages)

log = logging.getLogger("sohoa.ingest")


@dataclass(frozen=True)
class Candidate:
    path: Path  # absolute path in the inbox
    rel: str  # relative to the inbox (may hold surrogate-escaped bytes)
    size: int
    mtime: float
    problem: str | None = None  # set when the file must be quarantined without reading it: the reason text
    problem_code: str | None = None  # its code in ingest.reasons.CATALOGUE


@dataclass
class _Seen:
    size: int
    mtime: float
    since: float  # monotonic time the (size, mtime) pair was first seen
    pages: int | None = None  # a TIFF's page count when it was first quiet
    pages_at: float | None = None  # when that count was taken


EMPTY_TIMEOUT = 900.0  # s: an empty file is waited for this long (scanners create it, then fill it)


@dataclass
class StabilityTracker:
    """Remembers each file's (size, mtime) and when it last changed."""

    quiet: float
    incomplete_grace: float = 30.0  # a file quiet this long is handed on even if it never looks complete
    empty_timeout: float = EMPTY_TIMEOUT  # an empty file is quarantined only after this long
    seen: dict[str, _Seen] = field(default_factory=dict)
    waiting: set[str] = field(default_factory=set)  # empty files waited for (not "settling")
    handed: dict[str, tuple[int, float]] = field(default_factory=dict)  # handed over, yet still here
    # a file its writer still holds open (a scanner on a share pausing mid-file for the flatbed's
    # "next page?") is not handed on at the grace, only once it looks complete or is closed; a
    # writer idle this long with the file open does not hold it back any more
    open_timeout: float = EMPTY_TIMEOUT

    def held_open(self, path: Path, quiet_for: float) -> bool:
        return quiet_for < self.open_timeout and held_for_writing(path)

    def observe(self, rel: str, size: int, mtime: float, now: float) -> float:
        """Record a sighting; returns how long the file has been unchanged."""
        s = self.seen.get(rel)
        if s is None or s.size != size or s.mtime != mtime:
            self.seen[rel] = _Seen(size, mtime, now)
            return 0.0
        return now - s.since

    def pages_settled(self, rel: str, pages: int | None, now: float) -> bool:
        """A multi-page TIFF is written page by page, with pauses while the scanner feeds the
        next sheet: it is settled when its page count held still across two quiet periods."""
        s = self.seen.get(rel)
        if s is None or pages is None:
            return False
        if s.pages != pages or s.pages_at is None:
            s.pages, s.pages_at = pages, now
            return False
        return now - s.pages_at >= self.quiet

    def forget(self, rel: str) -> None:
        self.seen.pop(rel, None)
        self.waiting.discard(rel)

    @property
    def settling(self) -> int:
        """Files seen that are still expected to become ready soon."""
        return len(self.seen) - len(self.waiting & self.seen.keys())


def walk_inbox(inbox: Path):
    """Yield (rel, path, lstat) for every non-ignored entry below the inbox (symlinks not followed)."""
    for dirpath, dirnames, filenames in os.walk(inbox, followlinks=False):
        rel_dir = os.path.relpath(dirpath, inbox)
        dir_links = [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
        dirnames[:] = [d for d in dirnames
                       if d not in dir_links and not is_ignored(os.path.join(rel_dir, d, "x"))]
        for name in filenames + dir_links:
            rel = os.path.normpath(os.path.join(rel_dir, name))
            if is_ignored(rel):
                continue
            full = Path(dirpath) / name
            try:
                st = full.lstat()
            except FileNotFoundError:
                continue
            yield rel, full, st


def scan_ready(inbox: Path, tracker: StabilityTracker, now: float | None = None) -> list[list[Candidate]]:
    """Batches of files ready to be taken, one list per folder, each in name order."""
    import stat as statmod

    now = time.monotonic() if now is None else now
    by_dir: dict[str, list[tuple[Candidate, bool]]] = {}
    present: set[str] = set()
    for rel, full, st in walk_inbox(inbox):
        present.add(rel)
        if tracker.handed.get(rel) == (st.st_size, st.st_mtime):
            continue  # handed over and not taken (it could not be moved): not again until it changes
        tracker.handed.pop(rel, None)
        folder = os.path.dirname(rel)
        problem = code = None
        if statmod.S_ISLNK(st.st_mode):
            code, problem = "symlink", "symbolic link: the inbox takes only regular files (a link could point anywhere)"
        elif not statmod.S_ISREG(st.st_mode):
            code, problem = "not_regular", "not a regular file"
        elif has_odd_name(rel):
            code, problem = "bad_name", f"file name is not valid UTF-8 or holds control characters: «{display_name(rel)}»"
        quiet_for = tracker.observe(rel, st.st_size, st.st_mtime, now)
        ready = False
        waiting_empty = False
        if problem:
            ready = quiet_for >= min(tracker.quiet, 1.0) or statmod.S_ISLNK(st.st_mode)
        elif quiet_for >= tracker.quiet:
            if st.st_size == 0:
                # scanners and copy tools create the file first and fill it later: wait, long
                ready = quiet_for >= tracker.empty_timeout
                waiting_empty = quiet_for >= tracker.incomplete_grace
                if ready:
                    code, problem = "empty_file", f"empty file (0 bytes) for {int(quiet_for)} s"
            else:
                kind = content_kind(full)
                if kind is None and kind_of(rel) is None:
                    code, problem = "unsupported_type", (
                        f"unsupported file type {Path(rel).suffix or '(no extension)'!r}: expected PDF, JPEG, "
                        "PNG or TIFF (by content)")
                    ready = True
                elif kind == "tiff":
                    # a TIFF has no trailer: while its writer holds it open, another page may come
                    pages = tiff_pages(full)
                    settled = tracker.pages_settled(rel, pages, now)
                    ready = ((settled or quiet_for >= tracker.incomplete_grace)
                             and not tracker.held_open(full, quiet_for))
                else:
                    ready = looks_complete(full) or (quiet_for >= tracker.incomplete_grace
                                                     and not tracker.held_open(full, quiet_for))
        text = reasons.explain(code, problem).text() if problem else None
        if waiting_empty and not ready:
            tracker.waiting.add(rel)
            continue  # a long-empty file does not hold back the rest of its folder
        tracker.waiting.discard(rel)
        by_dir.setdefault(folder, []).append(
            (Candidate(full, rel, st.st_size, st.st_mtime, text, code), ready))
    for rel in list(tracker.seen):
        if rel not in present:
            tracker.forget(rel)
    for rel in list(tracker.handed):
        if rel not in present:
            del tracker.handed[rel]
    batches = []
    for folder, items in sorted(by_dir.items()):
        # problems go out one by one at once; good files only when the whole folder is settled
        for c, ready in items:
            if ready and c.problem:
                batches.append([c])
        good = [(c, r) for c, r in items if not c.problem]
        if good and all(r for _, r in good):
            batches.append(sorted((c for c, _ in good), key=lambda c: os.fsencode(c.rel)))
    return batches


class InboxWatcher:
    """Calls ``on_batch(list[Candidate])`` for every ready batch; wakes on watchdog events and
    rescans every ``rescan`` seconds whatever happened (inotify misses network-share changes)."""

    def __init__(self, inbox: Path, on_batch: Callable[[list[Candidate]], None], *, quiet: float,
                 rescan: float, polling: bool = False, empty_timeout: float = EMPTY_TIMEOUT) -> None:
        self.inbox = inbox
        self.on_batch = on_batch
        self.tracker = StabilityTracker(quiet=quiet, incomplete_grace=max(quiet * 5, 10.0),
                                        empty_timeout=max(empty_timeout, quiet),
                                        open_timeout=max(empty_timeout, quiet))
        self.rescan = rescan
        self.polling = polling
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._observer = None

    def _start_observer(self) -> None:
        from watchdog.events import FileSystemEventHandler

        if self.polling:
            from watchdog.observers.polling import PollingObserver as Observer
        else:
            from watchdog.observers import Observer

        wake = self._wake

        class _Handler(FileSystemEventHandler):
            def on_any_event(self, event):  # noqa: D401 - watchdog callback
                # the watcher's own reads (open, close without writing) change nothing: waking on
                # them would make every look at a settling file wake the loop again at once
                if event.event_type not in ("opened", "closed_no_write"):
                    wake.set()

        try:
            self._observer = Observer()
            self._observer.schedule(_Handler(), str(self.inbox), recursive=True)
            self._observer.start()
        except OSError as exc:  # inotify limits, exotic filesystems: the rescan still finds everything
            log.warning("file-system events unavailable (%s); relying on the periodic rescan", exc)
            self._observer = None

    def poll_once(self) -> int:
        """One scan; hands ready batches over. Returns the number of files still settling (an
        empty file waited for does not count: ``run --once`` leaves it for a later run)."""
        for batch in scan_ready(self.inbox, self.tracker):
            for c in batch:
                self.tracker.forget(c.rel)
            try:
                self.on_batch(batch)
            except Exception:  # noqa: BLE001 - one batch's failure must not stop the watcher
                log.exception("handing over %s failed; will try again", [display_name(c.rel) for c in batch])
                continue
            for c in batch:
                try:
                    st = c.path.lstat()
                except OSError:
                    continue
                self.tracker.handed[c.rel] = (st.st_size, st.st_mtime)
        return self.tracker.settling

    def run(self, until_idle: bool = False, tick: float = 0.25) -> None:
        """Loop until :meth:`stop` (or, with ``until_idle``, until nothing is left settling)."""
        self.inbox.mkdir(parents=True, exist_ok=True)
        self._start_observer()
        try:
            last_scan = 0.0
            while not self._stop.is_set():
                now = time.monotonic()
                settling = self.poll_once() if (self._wake.is_set() or now - last_scan >= min(self.rescan, tick * 4)
                                                 or self.tracker.settling) else self.tracker.settling
                self._wake.clear()
                last_scan = now
                if until_idle and settling == 0:
                    return
                self._wake.wait(tick if self.tracker.settling else min(self.rescan, 1.0))
        finally:
            if self._observer is not None:
                self._observer.stop()
                self._observer.join(timeout=5)

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
