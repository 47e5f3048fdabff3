"""The journal's state machine and crash recovery, state by state (no OCR)."""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from PIL import Image
from sqlalchemy import select

from ingest.journal import Journal, Paths
from ingest.watcher import Candidate
from registry.models import IngestEntry


def _journal(settings, db, owner=None) -> Journal:
    settings.ensure_dirs()
    return Journal(db, Paths(settings.inbox, settings.work_dir, settings.done_dir, settings.quarantine_dir),
                   owner=owner)


def _drop(settings, name="p.jpg", shade=200) -> Candidate:
    p = settings.inbox / name
    p.parent.mkdir(parents=True, exist_ok=True)
    Image.new("L", (40, 40), shade).save(p, "JPEG")
    st = p.stat()
    return Candidate(p, name, st.st_size, st.st_mtime)


def _entry(db, i) -> IngestEntry:
    with db.session() as s:
        return s.get(IngestEntry, i)


def test_take_journals_then_moves(settings, db):
    j = _journal(settings, db)
    ids = j.take([_drop(settings)])
    e = _entry(db, ids[0])
    assert e.state == "pending" and len(e.sha256) == 64
    assert Path(e.work_path).exists() and not (settings.inbox / "p.jpg").exists()


def test_route_hint_from_sub_folder(settings, db):
    j = _journal(settings, db)
    ids = j.take([_drop(settings, "000.00.01.H29-261123-0004/p.jpg")])
    assert _entry(db, ids[0]).route_hint == "000.00.01.H29-261123-0004"


def test_same_bytes_are_marked_duplicate(settings, db):
    j = _journal(settings, db)
    a = j.take([_drop(settings, "a.jpg")])[0]
    b = j.take([_drop(settings, "b.jpg")])[0]
    c = j.take([_drop(settings, "c.jpg", shade=10)])[0]
    assert _entry(db, b).duplicate_of == a and _entry(db, c).duplicate_of is None


def test_retry_backoff_then_quarantine(settings, db):
    j = _journal(settings, db)
    i = j.take([_drop(settings)])[0]
    for attempt in (1, 2):
        assert [e.id for e in j.claim([i])] == [i]
        assert j.retry_later([i], "database is locked", max_attempts=3) == [i]
        e = _entry(db, i)
        assert e.state == "retry" and e.attempts == attempt
        assert j.due_retries() == []  # not yet: backoff
        with db.session() as s:
            s.get(IngestEntry, i).next_attempt_at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)
        assert j.due_retries() == [[i]]
    j.claim([i])
    assert j.retry_later([i], "database is locked", max_attempts=3) == []
    e = _entry(db, i)
    assert e.state == "quarantined" and "gave up after 3 attempts" in e.error
    reason = Path(e.final_path + ".reason.txt").read_text(encoding="utf-8")
    assert "database is locked" in reason and Path(e.final_path).exists()


def test_recover_after_kill_between_journal_and_move(settings, db):
    j = _journal(settings, db)
    i = j.take([_drop(settings)])[0]
    e = _entry(db, i)
    os.rename(e.work_path, settings.inbox / "p.jpg")  # as if killed right after the commit
    assert j.recover() == [[i]]
    assert Path(e.work_path).exists()


def test_recover_reclaims_leases_of_dead_workers_only(settings, db):
    dead = _journal(settings, db, owner=f"{os.uname().nodename}:999999")
    a = dead.take([_drop(settings, "a.jpg")])[0]
    dead.claim([a])
    alive = _journal(settings, db)  # this process: alive
    b = alive.take([_drop(settings, "b.jpg", shade=30)])[0]
    alive.claim([b])
    assert alive.recover() == [[a]]
    assert _entry(db, a).state == "pending" and _entry(db, b).state == "working"


def test_recover_finishes_moves_after_commit(settings, db):
    j = _journal(settings, db)
    i = j.take([_drop(settings)])[0]
    with db.session() as s:
        s.get(IngestEntry, i).state = "done"  # committed, killed before the file moved
    assert j.recover() == []
    e = _entry(db, i)
    assert Path(e.final_path).parent == settings.done_dir and Path(e.final_path).exists()
    with db.session() as s:
        assert s.scalars(select(IngestEntry.state)).all() == ["done"]


def test_quarantine_retry_and_delete_are_journal_operations(sohoa, settings, db):
    """Staff put a quarantined file back in the inbox or delete it through the journal (CLI here,
    the web page the same way): the row changes state, the files move, one audit row each."""
    from registry.models import AuditEvent

    j = _journal(settings, db)
    a, b = j.take([_drop(settings, "a.jpg")])[0], j.take([_drop(settings, "b.jpg", shade=10)])[0]
    j.claim([a, b])
    j.quarantine(a, "bad page")
    j.quarantine(b, "bad page")
    qa, qb = Path(_entry(db, a).final_path), Path(_entry(db, b).final_path)
    assert qa.exists() and Path(f"{qa}.reason.txt").exists()
    (settings.inbox / "a.jpg").write_bytes(b"another a")  # the name is taken in the inbox: a free one is found

    original = qa.read_bytes()
    listed = sohoa.json("quarantine", "list")
    assert sorted(r["id"] for r in listed) == [a, b]
    out = sohoa.json("quarantine", "retry", str(a))[0]
    assert out == {"id": a, "retried": True, "inbox_name": "a-1.jpg"}
    assert (settings.inbox / "a-1.jpg").read_bytes() == original and not list(settings.inbox.glob(".*"))
    assert not qa.exists() and not Path(f"{qa}.reason.txt").exists()
    assert _entry(db, a).state == "retaken" and _entry(db, a).final_path == str(settings.inbox / "a-1.jpg")
    again = sohoa.run("quarantine", "retry", str(a), check=False)
    assert again.returncode == 3 and "không còn trong thư mục cách ly" in again.stderr

    assert sohoa.json("quarantine", "delete", str(b))[0] == {"id": b, "deleted": True, "name": "b.jpg"}
    assert not qb.exists() and not Path(f"{qb}.reason.txt").exists()
    assert _entry(db, b).state == "deleted" and _entry(db, b).final_path is None
    assert sohoa.json("quarantine", "list") == []
    with db.session() as s:
        acts = [(x.action, x.object_id) for x in s.scalars(select(AuditEvent).where(AuditEvent.object_type == "ingest"))]
    assert acts == [("quarantine.retry", str(a)), ("quarantine.delete", str(b))]

    # the file put back is read anew: the journal takes it under a new row
    c = Candidate(settings.inbox / "a-1.jpg", "a-1.jpg", (settings.inbox / "a-1.jpg").stat().st_size, 0.0)
    new = j.take([c])
    assert new and new[0] not in (a, b) and _entry(db, new[0]).duplicate_of is None
