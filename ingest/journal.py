"""The durable ingest journal: a row per file is committed *before* the file is touched, and every
later step is a state change of that row. After a kill at any point, :meth:`Journal.recover` puts
each file back on its path from the journal alone, so nothing is lost and nothing runs twice.

States (``vocab.kinds.EntryState``): ``pending`` (journaled, in the work area or about to be moved
there) → ``working`` (a worker holds a lease) → ``done`` | ``duplicate`` | ``quarantined``; ``retry``
after a transient failure, with ``next_attempt_at``; a quarantined file staff put back in the inbox
becomes ``retaken`` (its copy is taken anew under a new row), one staff delete becomes ``deleted``.
This module makes every state change of a journal row and every move of a file between the inbox,
work/, done/ and quarantine/ (a browser upload arrives through :class:`Arrival`); the job, the web
pages and the CLI only ask for them.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import re
import shutil
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select, update

from ingest import reasons
from ingest.files import display_name
from ingest.watcher import Candidate
from registry.codes import find_dossier_code
from registry.db import Database
from registry.models import IngestEntry, utcnow
from registry.store import fsync_dir, sha256_file
from registry.service import audit
from vocab.errors import NotFound
from vocab.kinds import ACTIVE_STATES, EntryState
from vocab.text import redact_pids

log = logging.getLogger("sohoa.ingest")

_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]")


def safe_name(name: str) -> str:
    """A file name we can always create: undecodable bytes shown as \\xNN, no control characters."""
    return _UNSAFE.sub("_", display_name(name)).strip() or "unnamed"


def _unique(dest_dir: Path, name: str, entry_id: int) -> Path:
    dest = dest_dir / name
    if not dest.exists() and not Path(str(dest) + ".reason.txt").exists():
        return dest
    stem, dot, ext = name.rpartition(".")
    return dest_dir / (f"{stem}-{entry_id}.{ext}" if dot else f"{name}-{entry_id}")


def free_name(folder: Path, name: str) -> Path:
    """``folder/name``, or ``name-1``, ``name-2``, … when a file of that name is there already."""
    dest, n = folder / name, 1
    while dest.exists():
        dest = folder / f"{Path(name).stem}-{n}{Path(name).suffix}"
        n += 1
    return dest


class Arrival:
    """A file delivered into the inbox (a browser upload, a quarantined file put back): written
    beside it under a dot name the watcher ignores, flushed to disk, then renamed whole to a free
    name, so the watcher sees the whole file or nothing. Use as a context manager: ``write`` the
    bytes, then ``commit()`` (nothing is left behind when the block fails)."""

    def __init__(self, folder: Path, name: str) -> None:
        self.folder, self.name = folder, name
        folder.mkdir(parents=True, exist_ok=True)
        self.tmp = folder / f".upload-{uuid.uuid4().hex[:12]}.part"
        self._fh = open(self.tmp, "wb")
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self._fh.write(chunk)
        self.size += len(chunk)

    def commit(self) -> Path:
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        dest = free_name(self.folder, self.name)
        os.rename(self.tmp, dest)
        fsync_dir(self.folder)
        return dest

    def __enter__(self) -> "Arrival":
        return self

    def __exit__(self, *exc) -> None:
        self._fh.close()
        self.tmp.unlink(missing_ok=True)


def _move(src: Path, dest: Path) -> None:
    """Move durably (rename where possible; copy + fsync + unlink across file systems)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.rename(src, dest)
    except OSError as exc:
        if exc.errno != 18:  # EXDEV: another file system
            raise
        shutil.copy2(src, dest)
        with open(dest, "rb+") as fh:
            os.fsync(fh.fileno())
        os.unlink(src)
    fsync_dir(dest.parent)


def lease_owner_alive(owner: str | None) -> bool:
    """Is the worker named ``host:pid`` still running? (Another host's worker is judged by its lease.)"""
    if not owner:
        return False
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname():
        return True  # another machine's worker: its lease decides
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, ValueError):
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True)
class Claimed:
    """A journal entry leased to this worker, as the job sees it."""

    id: int
    name: str
    work_path: str
    sha256: str
    duplicate_of: int | None  # an earlier entry with the same bytes
    route_hint: str | None  # dossier code named by the inbox sub-folder


@dataclass(frozen=True)
class Paths:
    inbox: Path
    work: Path
    done: Path
    quarantine: Path


class Journal:
    def __init__(self, db: Database, paths: Paths, *, owner: str | None = None,
                 lease: dt.timedelta = dt.timedelta(minutes=30)) -> None:
        self.db = db
        self.paths = paths
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}"
        self.lease = lease

    # -- taking files from the inbox -----------------------------------------------------------
    def take(self, batch: list[Candidate]) -> list[int]:
        """Journal and move a ready batch into the work area. Returns the ids to process together."""
        batch_id = uuid.uuid4().hex
        ids: list[int] = []
        for c in batch:
            try:
                entry_id = self._take_one(c, batch_id)
            except FileNotFoundError:
                continue  # gone before we got to it (removed by staff): nothing to lose
            except OSError as exc:  # no permission, immutable, I/O error: this file only
                self._cannot_take(c, exc)
                continue
            if entry_id is not None:
                ids.append(entry_id)
        return ids

    def _cannot_take(self, c: Candidate, exc: OSError) -> None:
        """A file that cannot be read or moved: quarantined if it can at least be moved there,
        otherwise left where it is, journaled with the reason (an alert in the log and a reason
        file in quarantine/). It is not tried again until it changes."""
        name = safe_name(os.path.basename(c.rel))
        rel_shown = display_name(c.rel)
        why = reasons.for_exception(exc)
        with self.db.session() as s:
            e = IngestEntry(rel_path=rel_shown, name=name, size=c.size, mtime=c.mtime, sha256="",
                            state="pending", batch_id=uuid.uuid4().hex)
            s.add(e)
            s.flush()
            entry_id = e.id
        self._quarantine_file(entry_id, c.path, name, why.text())

    def _left_before(self, c: Candidate) -> bool:
        """This very file (same place, size and time) was left in the inbox before, with an alert."""
        with self.db.session() as s:
            return s.scalar(select(IngestEntry.id).where(
                IngestEntry.final_path == display_name(str(c.path)), IngestEntry.state == "quarantined",
                IngestEntry.size == c.size, IngestEntry.mtime == c.mtime).limit(1)) is not None

    def _take_one(self, c: Candidate, batch_id: str) -> int | None:
        name = safe_name(os.path.basename(c.rel))
        rel_shown = display_name(c.rel)
        if self._left_before(c):
            return None
        if c.problem:
            with self.db.session() as s:
                e = IngestEntry(rel_path=rel_shown, name=name, size=c.size, mtime=c.mtime, sha256="",
                                state="pending", batch_id=batch_id)
                s.add(e)
                s.flush()
                entry_id = e.id
            self._quarantine_file(entry_id, c.path, name, c.problem)
            return None
        digest = sha256_file(c.path)
        folder = os.path.dirname(display_name(c.rel))
        hint = find_dossier_code(os.path.basename(folder)) if folder else None
        with self.db.session() as s:
            original = s.scalar(select(IngestEntry).where(
                IngestEntry.sha256 == digest, IngestEntry.duplicate_of.is_(None),
                IngestEntry.state.in_(("pending", "working", "retry", "done")))
                .order_by(IngestEntry.id).limit(1))
            e = IngestEntry(rel_path=rel_shown, name=name, size=c.size, mtime=c.mtime, sha256=digest,
                            state="pending", route_hint=hint, batch_id=batch_id,
                            duplicate_of=original.id if original else None)
            s.add(e)
            s.flush()
            e.work_path = str(self.paths.work / str(e.id) / name)
            entry_id, work = e.id, Path(e.work_path)
        try:
            _move(c.path, work)  # the row is committed first: a kill here is undone by recover()
        except FileNotFoundError:
            self._forget(entry_id)  # deleted while it was hashed: it never entered
            raise
        except OSError as exc:
            _rmdir_quiet(work.parent)
            self._quarantine_file(entry_id, c.path, name, reasons.for_exception(exc).text())
            return None
        log.info("journaled #%d %s (%d bytes, sha256 %s…)%s", entry_id, redact_pids(rel_shown), c.size,
                 digest[:12], f", same content as #{original.id}" if original else "")
        return entry_id

    def _forget(self, entry_id: int) -> None:
        """Undo the journaling of a file that vanished before it was moved: no row, no folder."""
        with self.db.session() as s:
            e = s.get(IngestEntry, entry_id)
            if e is not None:
                work = Path(e.work_path) if e.work_path else None
                s.delete(e)
        if work is not None:
            _rmdir_quiet(work.parent)
        log.info("journal entry #%d dropped: the file disappeared before it was moved", entry_id)

    # -- leases ------------------------------------------------------------------------------------
    def claim(self, ids: list[int]) -> list[Claimed]:
        """Lease the entries still to be worked on (pending/retry); others are skipped."""
        now = utcnow()
        with self.db.session() as s:
            rows = list(s.scalars(select(IngestEntry).where(IngestEntry.id.in_(ids))
                                  .order_by(IngestEntry.id).with_for_update()))
            out = []
            for e in rows:
                if e.state in ("pending", "retry") or (e.state == "working" and (
                        e.lease_until is None or _as_utc(e.lease_until) < now or not lease_owner_alive(e.lease_owner))):
                    e.state, e.lease_owner, e.lease_until = "working", self.owner, now + self.lease
                    e.attempts += 1
                    out.append(Claimed(e.id, e.name, e.work_path or "", e.sha256, e.duplicate_of, e.route_hint))
            return out

    def state_of(self, entry_id: int) -> str | None:
        with self.db.session() as s:
            return s.scalar(select(IngestEntry.state).where(IngestEntry.id == entry_id))

    def note_progress(self, entry_id: int, done: int, total: int | None = None) -> None:
        """Pages OCR'd so far (the live inbox shows it); best effort, never fails the job."""
        values: dict = {"pages_done": done}
        if total is not None:
            values["pages_total"] = total
        try:
            with self.db.session() as s:
                s.execute(update(IngestEntry).where(IngestEntry.id == entry_id).values(**values))
        except Exception as exc:  # noqa: BLE001 - progress is cosmetic
            log.debug("progress of #%d not recorded: %s", entry_id, exc)

    @contextmanager
    def finishing(self, entry_ids: list[int]) -> Iterator[object]:
        """The batch's unit of work: yields the session the registry records the results in, and
        marks ``entry_ids`` done (or duplicate) in the same transaction, so results and the
        journal commit together or not at all."""
        with self.db.session() as s:
            yield s
            for e in s.scalars(select(IngestEntry).where(IngestEntry.id.in_(entry_ids))):
                e.state = "duplicate" if e.duplicate_of else "done"
                e.finished_at, e.error, e.lease_owner, e.lease_until = utcnow(), None, None, None
                if e.pages_total:
                    e.pages_done = e.pages_total

    # -- endings -----------------------------------------------------------------------------------
    def finish_files(self, entry_ids: list[int]) -> None:
        """After the transaction that recorded the results: move work files to done/."""
        with self.db.session() as s:
            rows = list(s.scalars(select(IngestEntry).where(IngestEntry.id.in_(entry_ids))))
            for e in rows:
                if e.work_path and Path(e.work_path).exists():
                    dest = _unique(self.paths.done, e.name, e.id)
                    try:
                        _move(Path(e.work_path), dest)
                    except OSError as exc:  # recorded already; the file stays in work/ (recover retries)
                        log.error("ALERT: #%d %s is done but cannot be moved to done/: %s", e.id, e.name, exc)
                        continue
                    e.final_path = str(dest)
                    _rmdir_quiet(Path(e.work_path).parent)

    def quarantine(self, entry_id: int, reason: str) -> None:
        with self.db.session() as s:
            e = s.get(IngestEntry, entry_id)
            src = Path(e.work_path) if e.work_path else None
            name = e.name
        self._quarantine_file(entry_id, src, name, reason)

    def _quarantine_file(self, entry_id: int, src: Path | None, name: str, reason: str) -> None:
        """Move the file into quarantine/ with its reason beside it. A file that cannot be moved
        stays where it is: the journal says so (``final_path`` is where it lies), the reason file
        in quarantine/ says where to find it, and the log carries an alert."""
        reason = redact_pids(reason)
        dest = _unique(self.paths.quarantine, name, entry_id)
        with self.db.session() as s:  # the row first: a kill before the move is finished by recover()
            e = s.get(IngestEntry, entry_id)
            e.state, e.error, e.finished_at, e.final_path = "quarantined", reason, utcnow(), str(dest)
            e.lease_owner = e.lease_until = None
        left = None
        if src is not None and (src.exists() or src.is_symlink()):
            try:
                _move(src, dest)
            except OSError as exc:
                left = src
                reason += (f"\n\nTệp vẫn nằm ở: {display_name(self._shown(src))} "
                           f"(không chuyển được: {exc.strerror or exc})")
                with self.db.session() as s:
                    e = s.get(IngestEntry, entry_id)
                    e.error, e.final_path = reason, display_name(str(src))
            else:
                if src.parent.parent == self.paths.work:
                    _rmdir_quiet(src.parent)
        dest.parent.mkdir(parents=True, exist_ok=True)
        Path(str(dest) + ".reason.txt").write_text(
            f"{reason}\n\nfile: {name}\njournal entry: #{entry_id}\nquarantined at: {utcnow():%Y-%m-%d %H:%M:%S} UTC\n",
            encoding="utf-8")
        if left is not None:
            log.error("ALERT: #%d %s cannot be moved and stays at %s: %s", entry_id, name, display_name(self._shown(left)),
                      reason.splitlines()[0])
        else:
            log.warning("quarantined #%d %s: %s", entry_id, name, reason.splitlines()[0])

    def _shown(self, p: Path) -> str:
        """A path as staff know it: relative to the sohoa home (inbox/…, work/…)."""
        home = self.paths.inbox.parent
        try:
            return str(p.relative_to(home))
        except ValueError:
            return p.name

    def defer(self, entry_ids: list[int], why: str, seconds: float = 10.0) -> None:
        """Not now, and not a failure: e.g. a duplicate waiting for its original to be done. The
        entries go back to ``retry`` without spending an attempt."""
        with self.db.session() as s:
            for e in s.scalars(select(IngestEntry).where(IngestEntry.id.in_(entry_ids))):
                if e.state != "working":
                    continue
                e.state, e.error = "retry", redact_pids(why)[:2000]
                e.attempts = max(0, e.attempts - 1)  # the claim counted one
                e.next_attempt_at = utcnow() + dt.timedelta(seconds=seconds)
                e.lease_owner = e.lease_until = None

    def changed(self, entry_ids: list[int]) -> list[int]:
        """Entries whose work file no longer holds the bytes that were journaled (a scanner still
        appending pages to a file it had open when it was taken)."""
        out = []
        with self.db.session() as s:
            rows = [(e.id, e.work_path, e.size, e.mtime, e.sha256) for e in
                    s.scalars(select(IngestEntry).where(IngestEntry.id.in_(entry_ids)))]
        for entry_id, work, size, mtime, digest in rows:
            try:
                st = os.stat(work)
            except OSError:
                continue
            if st.st_size == size and abs(st.st_mtime - mtime) < 1e-6:
                continue
            if st.st_size != size or sha256_file(Path(work)) != digest:
                out.append(entry_id)
        return out

    def retake(self, entry_ids: list[int]) -> None:
        """Put files whose bytes changed back in the inbox (same place, or a unique name there):
        the watcher takes each again, as a new entry, once it is quiet and complete."""
        for entry_id in entry_ids:
            with self.db.session() as s:
                e = s.get(IngestEntry, entry_id)
                src, rel, name = Path(e.work_path), e.rel_path, e.name
            back = self.paths.inbox / rel
            if back.exists():
                back = back.with_name(f"{back.stem}-{entry_id}{back.suffix}")
            try:
                _move(src, back)
            except OSError as exc:
                self._quarantine_file(entry_id, src, name, reasons.for_exception(exc).text())
                continue
            _rmdir_quiet(src.parent)
            with self.db.session() as s:
                e = s.get(IngestEntry, entry_id)
                e.state, e.finished_at, e.final_path = "retaken", utcnow(), str(back)
                e.error = "tệp thay đổi sau khi được nhận (máy quét còn ghi thêm): được nhận lại từ đầu"
                e.lease_owner = e.lease_until = None
            log.warning("#%d %s changed after it was taken: back to the inbox to be taken again", entry_id, name)

    def retry_later(self, entry_ids: list[int], error: str, max_attempts: int) -> list[int]:
        """Schedule a transient failure for another try with exponential backoff; entries out of
        attempts are quarantined instead. Returns the ids scheduled again."""
        again, give_up = [], []
        with self.db.session() as s:
            for e in s.scalars(select(IngestEntry).where(IngestEntry.id.in_(entry_ids))):
                if e.state != "working":
                    continue
                if e.attempts >= max_attempts:
                    give_up.append(e.id)
                    continue
                e.state, e.error = "retry", redact_pids(error)[:2000]
                e.next_attempt_at = utcnow() + dt.timedelta(seconds=min(300, 2 ** e.attempts))
                e.lease_owner = e.lease_until = None
                again.append(e.id)
        for i in give_up:
            self.quarantine(i, reasons.explain("gave_up", f"gave up after {max_attempts} attempts; last error: {error}",
                                               attempts=max_attempts).text())
        return again

    def due_retries(self) -> list[list[int]]:
        with self.db.session() as s:
            rows = s.execute(select(IngestEntry.id, IngestEntry.batch_id).where(
                IngestEntry.state == "retry", IngestEntry.next_attempt_at <= utcnow())
                .order_by(IngestEntry.id)).all()
        return _group(rows)

    # -- crash recovery ----------------------------------------------------------------------------
    def recover(self) -> list[list[int]]:
        """Put every journaled file back on its path after a crash; returns batches to (re)process."""
        with self.db.session() as s:
            # leases of dead local workers (or expired anywhere) go back to pending
            for e in s.scalars(select(IngestEntry).where(IngestEntry.state == "working")):
                if not lease_owner_alive(e.lease_owner) or (e.lease_until and _as_utc(e.lease_until) < utcnow()):
                    e.state, e.lease_owner, e.lease_until = "pending", None, None
            rows = list(s.scalars(select(IngestEntry).where(
                IngestEntry.state.in_(("pending", "done", "duplicate", "quarantined")),
                IngestEntry.work_path.is_not(None))))
            pending_missing: list[int] = []
            unmovable: list[tuple[int, Path, str, str]] = []
            for e in rows:
                work = Path(e.work_path)
                if e.state == "pending" and not work.exists():
                    src = self.paths.inbox / e.rel_path
                    if not src.exists():
                        pending_missing.append(e.id)
                        continue
                    try:
                        _move(src, work)  # killed between journaling and moving
                    except OSError as exc:  # cannot be moved (permission, immutable): left, with an alert
                        unmovable.append((e.id, src, e.name, reasons.for_exception(exc).text()))
            done_left = [e.id for e in rows if e.state in ("done", "duplicate") and Path(e.work_path).exists()]
            quarantined_left = [(e.id, e.error or "") for e in rows
                                if e.state == "quarantined" and Path(e.work_path).exists()]
            batches = s.execute(select(IngestEntry.id, IngestEntry.batch_id).where(
                IngestEntry.state == "pending").order_by(IngestEntry.id)).all()
        if done_left:
            self.finish_files(done_left)
        for i, reason in quarantined_left:
            self.quarantine(i, reason)
        for i, src, name, reason in unmovable:
            self._quarantine_file(i, src, name, reason)
        for i in pending_missing:
            with self.db.session() as s:
                e = s.get(IngestEntry, i)
                e.state, e.finished_at = "quarantined", utcnow()
                e.error = reasons.explain("vanished", "file vanished from the work area").text()
            log.error("journal entry #%d: file vanished from the work area", i)
        skip = set(pending_missing) | {u[0] for u in unmovable}
        return [[i for i in b if i not in skip] for b in _group(batches) if set(b) - skip]

    # -- the quarantine, as staff act on it --------------------------------------------------------
    def _quarantined(self, s, entry_id: int) -> tuple[IngestEntry, Path]:
        e = s.get(IngestEntry, entry_id, with_for_update=True)
        if e is None or e.state != EntryState.QUARANTINED or not e.final_path or not Path(e.final_path).is_file():
            raise NotFound("Tệp này không còn trong thư mục cách ly.")
        return e, Path(e.final_path)

    def retry_quarantined(self, entry_id: int, *, actor: str) -> str:
        """Put a quarantined file back in the inbox (under a free name) to be read again; returns
        the name it has there. Its row becomes ``retaken`` (the copy is journaled anew when the
        watcher takes it); the quarantined file and its reason go; one audit row.
        A kill before the row changes leaves the file in both places: a second retry is then read
        as the same content (a duplicate), nothing is lost."""
        with self.db.session() as s:
            e, path = self._quarantined(s, entry_id)
            with Arrival(self.paths.inbox, e.name) as a, open(path, "rb") as src:
                while chunk := src.read(1 << 20):
                    a.write(chunk)
                dest = a.commit()
            e.state, e.final_path, e.finished_at = EntryState.RETAKEN, str(dest), utcnow()
            audit(s, actor, "quarantine.retry", object_type="ingest", object_id=str(entry_id),
                  detail={"name": e.name, "to": dest.name})
        _remove_quarantined(path)
        log.info("quarantined #%d %s put back in the inbox as %s by %s", entry_id, e.name, dest.name, actor)
        return dest.name

    def delete_quarantined(self, entry_id: int, *, actor: str) -> str:
        """Delete a quarantined file and its reason file; returns its name. Its row becomes
        ``deleted`` and stays (with the file's sha256) for the audit trail; one audit row."""
        with self.db.session() as s:
            e, path = self._quarantined(s, entry_id)
            e.state, e.final_path, e.finished_at = EntryState.DELETED, None, utcnow()
            audit(s, actor, "quarantine.delete", object_type="ingest", object_id=str(entry_id),
                  detail={"name": e.name, "sha256": e.sha256})
            name = e.name
        _remove_quarantined(path)
        log.info("quarantined #%d %s deleted by %s", entry_id, name, actor)
        return name

    def any_active(self, entry_ids) -> bool:
        """Is any of these entries still pending, working or waiting for a retry?"""
        with self.db.session() as s:
            return s.scalar(select(IngestEntry.id).where(
                IngestEntry.id.in_(list(entry_ids)), IngestEntry.state.in_(ACTIVE_STATES)).limit(1)) is not None

    def states(self, entry_ids) -> dict[int, str]:
        with self.db.session() as s:
            return dict(s.execute(select(IngestEntry.id, IngestEntry.state)
                                  .where(IngestEntry.id.in_(list(entry_ids)))).all())

    def recent(self, limit: int = 50) -> list[dict]:
        """The newest journal entries, for the live inbox view."""
        with self.db.session() as s:
            rows = s.scalars(select(IngestEntry).order_by(IngestEntry.id.desc()).limit(limit))
            return [{"id": e.id, "name": e.name, "state": e.state, "pages_total": e.pages_total,
                     "pages_done": e.pages_done, "error": e.error, "duplicate_of": e.duplicate_of}
                    for e in rows]


def _group(rows) -> list[list[int]]:
    groups: dict[str, list[int]] = {}
    for entry_id, batch in rows:
        groups.setdefault(batch or f"#{entry_id}", []).append(entry_id)
    return list(groups.values())


def _as_utc(t: dt.datetime) -> dt.datetime:
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)


def _remove_quarantined(path: Path) -> None:
    """A quarantined file and the reason file beside it."""
    path.unlink(missing_ok=True)
    Path(str(path) + ".reason.txt").unlink(missing_ok=True)


def _rmdir_quiet(d: Path) -> None:
    try:
        d.rmdir()
    except OSError:
        pass
