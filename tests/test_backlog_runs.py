"""The backlog import reads as the inbox job reads (one ingest core: the configured pixel budget),
and a run killed twice and resumed is the same run, whose report counts the whole run."""
from __future__ import annotations

import io
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pikepdf

from scanning import wait_for
from sohoa.dev.backlog_samples import make_backlog

ROOT = Path(__file__).resolve().parents[1]
BUDGET = 1_000_000  # pixels a page is read at; the generated scans are ~3.9 million at 200 dpi


def _sql(home: Path, q: str, *args) -> list[tuple]:
    con = sqlite3.connect(home / "sohoa.db", timeout=30)
    try:
        rows = con.execute(q, args).fetchall()
        con.commit()
        return rows
    finally:
        con.close()


def _page_pixels(home: Path, sha: str) -> list[int]:
    pdf = pikepdf.open(io.BytesIO((home / "store" / sha[:2] / sha[2:4] / f"{sha}.pdf").read_bytes()))
    return [int(im.Width) * int(im.Height) for page in pdf.pages for im in page.get_images().values()]


def test_backlog_import_honours_the_pixel_budget_as_the_inbox_does(sohoa, tmp_path):
    sohoa.env["SOHOA_WORK_PIXELS"] = str(BUDGET)
    src = tmp_path / "hop"
    make_backlog(src, 1, seed=3)
    scan = next(src.rglob("*.pdf"))
    other = tmp_path / "other"
    make_backlog(other, 1, seed=4, manifest=None)  # another paper for the inbox (the same bytes would be one document)
    shutil.copy(next(other.rglob("*.pdf")), sohoa.home / "inbox" / "quet.pdf")

    sohoa.run("watch", "--once")
    rep = sohoa.json("backlog", "import", str(src), "--manifest", str(src / "manifest.csv"))[0]
    assert rep["imported"] == 1, rep

    by = dict(_sql(sohoa.home, "select created_by, sha256 from documents"))
    assert set(by) == {"ingest", "backlog"}, by
    import ocr

    unbudgeted = ocr.read_page(str(scan), 0)  # the same page read at the default budget
    assert unbudgeted.width * unbudgeted.height > 2 * BUDGET
    for who, sha in by.items():
        pixels = _page_pixels(sohoa.home, sha)
        assert pixels and all(BUDGET // 2 < px <= BUDGET for px in pixels), (who, pixels)


def _done(home: Path) -> int:
    try:
        return _sql(home, "select count(*) from backlog_items where state not in ('pending', 'working')")[0][0]
    except sqlite3.OperationalError:  # not created yet
        return 0


def _start(sohoa, src: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "sohoa", "--json", "backlog", "import", str(src), "--manifest",
                             str(src / "manifest.csv"), "--workers", "2", "--no-progress"], env=sohoa.env, cwd=ROOT,
                            stdout=open(out, "w"), stderr=subprocess.DEVNULL, start_new_session=True)


def test_a_run_killed_twice_and_resumed_reports_its_own_totals(sohoa, tmp_path):
    src = tmp_path / "hop"
    scans = make_backlog(src, 8, seed=11, wrong=1)
    (src / "hop-00" / "hong.pdf").write_bytes(b"%PDF-1.4 not really")  # a scan the manifest does not name
    runs = set()
    for k in range(2):
        target = _done(sohoa.home) + 1
        p = _start(sohoa, src, tmp_path / f"out{k}.json")
        wait_for(lambda: _done(sohoa.home) >= target or p.poll() is not None, 600, f"{target} scans settled")
        assert p.poll() is None, "the importer finished before it could be killed"
        os.killpg(p.pid, signal.SIGKILL)
        p.wait(timeout=30)
        runs |= {r for r, in _sql(sohoa.home, "select id from backlog_runs")}
    assert len(runs) == 1 and _done(sohoa.home) < 9
    p = _start(sohoa, src, tmp_path / "out.json")
    assert p.wait(timeout=900) == 0
    rep = json.loads((tmp_path / "out.json").read_text())
    totals = {k: rep[k] for k in ("total", "imported", "review", "rejected", "duplicate")}
    assert rep["run"] in runs and totals == {"total": 9, "imported": 7, "review": 1, "rejected": 1, "duplicate": 0}, rep
    assert {i["file"] for i in rep["needs_review"]} == {s.file for s in scans if s.wrong}
    assert _sql(sohoa.home, "select count(*) from documents where created_by = 'backlog'")[0][0] == 7

    # killed after the run settled but before it reported: the next import is still the same run
    _sql(sohoa.home, "update backlog_runs set reported_at = null")
    again = sohoa.json("backlog", "import", str(src), "--manifest", str(src / "manifest.csv"))[0]
    assert again["run"] == rep["run"] and {k: again[k] for k in totals} == totals, again
    # once reported, importing the folder again is a new run that finds every result held
    new = sohoa.json("backlog", "import", str(src), "--manifest", str(src / "manifest.csv"))[0]
    assert new["run"] != rep["run"] and (new["imported"], new["duplicate"]) == (0, 7), new


def _one_scan_run(settings, db, tmp_path):
    from registry import backlog as journal
    from sohoa.jobs.backlog import Importer

    src = tmp_path / "hop"
    make_backlog(src, 1, seed=5)
    imp = Importer(settings, db)
    run_id = imp.journal_source(src, src / "manifest.csv")
    with db.session() as s:
        return imp.ctx, journal.pending_ids(s, run_id)


def test_a_backlog_page_that_fails_once_is_read_again_alone(settings, db, tmp_path, monkeypatch):
    """As in the inbox job: a library fault on a page is retried on that page alone, in the same
    pass (the scan is imported, one attempt spent); a page that keeps failing rejects its scan with
    the catalogue's sentence at once, instead of being taken again until the attempts run out."""
    import cv2

    from ocr import preprocess
    from sohoa.jobs.backlog import process_items

    real, calls = preprocess.prepare, {"n": 0, "always": False}

    def prepare(gray):
        calls["n"] += 1
        if calls["always"] or calls["n"] == 1:
            raise cv2.error("OpenCV(5.0.0) (-4:Insufficient memory) Failed to allocate")
        return real(gray)

    monkeypatch.setattr(preprocess, "prepare", prepare)
    ctx, ids = _one_scan_run(settings, db, tmp_path)
    out = process_items(ctx, ids)
    assert out.states == {"imported": 1} and calls["n"] == 2, (out, calls)
    assert _sql(settings.home, "select attempts, state from backlog_items") == [(1, "imported")]

    calls["always"] = True
    ctx, ids = _one_scan_run(settings, db, tmp_path / "again")
    out = process_items(ctx, ids)
    assert out.states == {"rejected": 1}, out
    (reason,) = _sql(settings.home, "select reason from backlog_items where id = ?", ids[0])[0]
    assert reason.startswith("Trang 1 không xử lý được"), reason
