"""Cases 1, 2, 3, 5 and 9 of issue 13 on the job's side: errors are classified per file and per
page, never per batch; waiting is not failing; a file whose bytes change is taken again; one
Document per scanned document, and outcomes that count right. Real journal, real SQLite, real
Tesseract; the in-process job (no pool) unless said otherwise."""
from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import func, select

from ingest.journal import Journal, Paths
from ingest.watcher import Candidate
from registry.models import Document, IngestEntry
from registry.store import Store
from sohoa.config import with_overrides
from sohoa.jobs.inbox import JobContext, process_batch
from tests.robustness.robust_fixtures import SANS, chattr


def _journal(settings, db, owner=None) -> Journal:
    settings.ensure_dirs()
    return Journal(db, Paths(settings.inbox, settings.work_dir, settings.done_dir, settings.quarantine_dir),
                   owner=owner)


def _ctx(settings, db, **kw) -> JobContext:
    return JobContext(with_overrides(settings, **kw) if kw else settings, Store(settings.store_dir),
                      _journal(settings, db))


def _page(text: str, size=(1240, 700)) -> Image.Image:
    im = Image.new("L", size, 255)
    ImageDraw.Draw(im).text((80, 250), text, font=ImageFont.truetype(SANS, 40), fill=10)
    return im


def _drop(settings, name: str, im: Image.Image | None = None, data: bytes | None = None, **save) -> Candidate:
    p = settings.inbox / name
    p.parent.mkdir(parents=True, exist_ok=True)
    if data is not None:
        p.write_bytes(data)
    else:
        im.save(p, **save)
    st = p.stat()
    return Candidate(p, name, st.st_size, st.st_mtime)


def _entry(db, i) -> IngestEntry:
    with db.session() as s:
        return s.get(IngestEntry, i)


# -- case 1: a file that cannot be moved ---------------------------------------------------------

def test_unmovable_file_is_left_with_an_alert_and_recover_survives_it(settings, db, caplog):
    j = _journal(settings, db)
    good = _drop(settings, "good.jpg", _page("Giấy biên nhận số 1"), format="JPEG")
    stuck = _drop(settings, "stuck.jpg", _page("Giấy biên nhận số 2"), format="JPEG")
    chattr("+i", stuck.path)  # immutable: not even root can rename it
    try:
        ids = j.take([good, stuck])  # does not raise
        assert len(ids) == 1 and _entry(db, ids[0]).name == "good.jpg"
        with db.session() as s:
            left = s.scalar(select(IngestEntry).where(IngestEntry.name == "stuck.jpg"))
        assert left.state == "quarantined" and left.final_path == str(stuck.path)
        assert left.error.startswith("Không có quyền đọc hoặc di chuyển tệp")
        reason = (settings.quarantine_dir / "stuck.jpg.reason.txt").read_text(encoding="utf-8")
        assert "inbox/stuck.jpg" in reason and str(settings.home) not in reason.split("\n\n")[0]
        assert "ALERT" in caplog.text
        assert j.take([stuck]) == []  # the same file is not journaled again
        with db.session() as s:
            assert s.scalar(select(func.count()).where(IngestEntry.name == "stuck.jpg")) == 1

        # a kill between journaling and moving left a pending row; the file cannot be moved back
        # into the work area at the restart: recover() journals that, and carries on
        other = _drop(settings, "later.jpg", _page("Giấy biên nhận số 3"), format="JPEG")
        (oid,) = j.take([other])
        e = _entry(db, oid)
        Path(e.work_path).rename(other.path)
        chattr("+i", other.path)
        try:
            batches = j.recover()  # does not raise
            assert all(oid not in b for b in batches) and ids[0] in sum(batches, [])
            e = _entry(db, oid)
            assert e.state == "quarantined" and e.final_path == str(other.path)
        finally:
            chattr("-i", other.path)
    finally:
        chattr("-i", stuck.path)


# -- case 2: waiting for a duplicate's original is not an attempt ---------------------------------

def test_duplicate_waits_for_its_original_without_spending_attempts(settings, db):
    ctx = _ctx(settings, db, max_attempts=3)
    im = _page("Trích lục khai sinh số 215")
    a = ctx.journal.take([_drop(settings, "a/scan.png", im, format="PNG")])[0]
    b = ctx.journal.take([_drop(settings, "b/scan.png", im, format="PNG")])[0]
    assert _entry(db, b).duplicate_of == a
    _journal(settings, db, owner=ctx.journal.owner).claim([a])  # the original is being worked on elsewhere
    for _ in range(6):  # twice max_attempts: the original takes long
        out = process_batch(ctx, [b])
        assert out.deferred == [b] and out.quarantined == [] and out.retry == []
        e = _entry(db, b)
        assert e.state == "retry" and e.attempts == 0 and "waiting" in e.error
    with db.session() as s:  # the original's lease ends (its worker went away)
        s.get(IngestEntry, a).state = "pending"
    assert process_batch(ctx, [a]).documents
    out = process_batch(ctx, [b])
    assert out.duplicates == [b] and _entry(db, b).state == "duplicate"


# -- case 3: one bad page quarantines only its file --------------------------------------------------

def test_a_page_that_raises_quarantines_its_file_only(settings, db, monkeypatch):
    """A library fault on one page (injected into the real clean-up step for the one page that
    is 1234 px tall) is retried alone, then quarantines that file; the batch's other files are
    done in the same attempt."""
    import cv2

    from ocr import preprocess

    real = preprocess.prepare
    calls = {"bad": 0, "flaky": 0}

    def prepare(gray):
        if gray.shape[0] == 1234:
            calls["bad"] += 1
            raise cv2.error("OpenCV(5.0.0) (-215:Assertion failed) inv_scale_x > 0 in function 'resize'")
        if gray.shape[0] == 1236 and calls["flaky"] == 0:
            calls["flaky"] += 1
            raise cv2.error("OpenCV(5.0.0) (-4:Insufficient memory) Failed to allocate")
        return real(gray)

    monkeypatch.setattr(preprocess, "prepare", prepare)
    ctx = _ctx(settings, db)
    batch = [_drop(settings, "d/1.png", _page("Tờ khai đăng ký khai sinh"), format="PNG"),
             _drop(settings, "d/2.png", _page("Trang hỏng", size=(1240, 1234)), format="PNG"),
             _drop(settings, "d/3.png", _page("Giấy khai sinh bản sao", size=(1240, 1236)), format="PNG")]
    ids = ctx.journal.take(batch)
    out = process_batch(ctx, ids)
    assert out.retry == [] and out.quarantined == [ids[1]]
    assert calls["bad"] == 2  # read again alone once before giving up on it
    assert calls["flaky"] == 1  # a page that failed once and then read fine: its file is done
    assert [_entry(db, i).state for i in ids] == ["done", "quarantined", "done"]
    reason = (settings.quarantine_dir / "2.png.reason.txt").read_text(encoding="utf-8")
    assert reason.startswith("Trang 1 không xử lý được") and "OpenCV" in reason.split("\n\n", 1)[1]


# -- case 5: a file whose bytes change before it is done is taken again ---------------------------

def _tiff_bytes(n: int) -> bytes:
    frames = [_page(f"Trang {k + 1} của tờ khai") for k in range(n)]
    buf = io.BytesIO()
    frames[0].save(buf, format="TIFF", save_all=True, append_images=frames[1:], compression="tiff_deflate")
    return buf.getvalue()


def test_file_changed_after_it_was_taken_is_taken_again(settings, db):
    ctx = _ctx(settings, db)
    (i,) = ctx.journal.take([_drop(settings, "batch.tif", data=_tiff_bytes(1))])
    work = Path(_entry(db, i).work_path)
    with open(work, "r+b") as fh:  # the scanner still had it open: two more pages land in it
        fh.write(_tiff_bytes(3))
        fh.truncate()
    out = process_batch(ctx, [i])
    assert out.retaken == [i] and out.documents == []
    e = _entry(db, i)
    assert e.state == "retaken" and not work.exists()
    back = settings.inbox / "batch.tif"
    with Image.open(back) as im:
        assert im.n_frames == 3
    st = back.stat()
    (j,) = ctx.journal.take([Candidate(back, "batch.tif", st.st_size, st.st_mtime)])
    out = process_batch(ctx, [j])
    with db.session() as s:
        doc = s.get(Document, out.documents[0])
        assert doc.pages == 3 and doc.ingest_id == j


# -- case 9: one Document per scanned document; outcomes count right ------------------------------

def test_different_inputs_with_identical_output_are_two_documents(settings, db):
    ctx = _ctx(settings, db)
    im = _page("GIẤY XÁC NHẬN TÌNH TRẠNG HÔN NHÂN")  # a title: each file is a document of its own
    ids = ctx.journal.take([_drop(settings, "x/a.png", im, format="PNG"),
                            _drop(settings, "y/a.tif", im, format="TIFF")])  # same picture, other bytes
    out = process_batch(ctx, ids)  # one batch: the two outputs are made within the same second
    assert len(out.documents) == 2
    with db.session() as s:
        docs = list(s.scalars(select(Document).order_by(Document.id)))
    assert len(docs) == 2 and docs[0].id != docs[1].id
    assert docs[0].sha256 == docs[1].sha256  # the searchable PDFs coincide (deterministic) ...
    assert docs[0].content_key != docs[1].content_key  # ... the inputs do not


def test_quarantined_after_retries_is_counted(settings, db):
    ctx = _ctx(settings, db, max_attempts=1)
    (i,) = ctx.journal.take([_drop(settings, "q.png", _page("Biên nhận"), format="PNG")])
    settings.store_dir.mkdir(parents=True, exist_ok=True)
    chattr("+i", settings.store_dir)  # the store cannot take the PDF: the batch fails
    try:
        out = process_batch(ctx, [i])
    finally:
        chattr("-i", settings.store_dir)
    assert out.retry == [] and out.quarantined == [i]
    assert _entry(db, i).error.startswith("Lỗi hệ thống, đã thử 1 lần")


def test_file_deleted_while_hashed_leaves_nothing_behind(settings, db, monkeypatch):
    import ingest.journal as journal_mod

    j = _journal(settings, db)
    c = _drop(settings, "gone.png", _page("Biên nhận"), format="PNG")
    real = journal_mod.sha256_file

    def hash_then_delete(path):
        digest = real(path)
        Path(path).unlink()  # staff delete the file just as it is hashed
        return digest

    monkeypatch.setattr(journal_mod, "sha256_file", hash_then_delete)
    assert j.take([c]) == []
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(IngestEntry)) == 0
    assert list(settings.work_dir.iterdir()) == []


def test_whole_batch_survives_a_worker_killed_on_one_page(settings, db):
    """A page that kills its worker process (a real SIGKILL of the pool's worker while it reads a
    page, as the kernel's OOM killer does) does not sink the batch: the pages in flight are read
    again alone, in a fresh process, and the batch is done in the same attempt."""
    import multiprocessing
    import os
    import signal
    import threading
    import time
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("forkserver"))
    try:
        ctx = JobContext(settings, Store(settings.store_dir), _journal(settings, db), pool)
        ids = ctx.journal.take([_drop(settings, "k/1.png", _page("Tờ khai số một"), format="PNG"),
                                _drop(settings, "k/2.png", _page("Tờ khai số hai"), format="PNG")])

        def kill_when_busy() -> None:
            end = time.monotonic() + 60
            while time.monotonic() < end and not pool._processes:
                time.sleep(0.05)
            time.sleep(0.3)  # the worker is reading the first page
            for pid in list(pool._processes):
                os.kill(pid, signal.SIGKILL)

        killer = threading.Thread(target=kill_when_busy)
        killer.start()
        out = process_batch(ctx, ids)
        killer.join()
        assert out.pool_broken and out.retry == [] and out.quarantined == []
        assert [_entry(db, i).state for i in ids] == ["done", "done"]
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
