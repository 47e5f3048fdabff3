"""Cases 4 and 5 of issue 13: a file is taken when it is quiet AND complete for its type. An
empty file is waited for (scanners create it first), a multi-page TIFF written page by page is
not taken after its first page."""
from __future__ import annotations

import io
import os

from PIL import Image

from ingest.watcher import StabilityTracker, scan_ready
from tests.robustness.robust_fixtures import tiff_frames


def _write_in_place(path, data: bytes, mtime: float) -> None:
    """Rewrite a file's bytes in place (same inode, as a scanner appending pages does)."""
    with open(path, "r+b" if path.exists() else "wb") as fh:
        fh.write(data)
        fh.truncate()
    os.utime(path, (mtime, mtime))


def _tiff(n: int) -> bytes:
    frames = tiff_frames(n)
    buf = io.BytesIO()
    frames[0].save(buf, format="TIFF", save_all=True, append_images=frames[1:], compression="tiff_deflate")
    return buf.getvalue()


def test_empty_file_is_waited_for_not_quarantined(tmp_path):
    inbox = tmp_path / "inbox"
    (inbox / "d").mkdir(parents=True)
    scan = inbox / "d" / "scan.jpg"
    scan.touch()
    other = inbox / "d" / "other.jpg"
    Image.new("L", (60, 60), 230).save(other, format="JPEG")
    tr = StabilityTracker(quiet=1.0, incomplete_grace=10.0, empty_timeout=600.0)
    taken = []
    for t in (0.0, 2.0, 5.0, 12.0, 60.0, 300.0):
        for batch in scan_ready(inbox, tr, now=t):
            for c in batch:  # what the journal does with a taken file
                taken.append(c.rel)
                tr.forget(c.rel)
                c.path.unlink()
    assert "d/scan.jpg" not in taken  # not quarantined as "empty" after a few seconds
    assert taken == ["d/other.jpg"]  # and it does not hold back the rest of its folder
    # the scanner now writes the scan into it: it is taken as an ordinary file
    buf = io.BytesIO()
    Image.new("L", (80, 80), 200).save(buf, format="JPEG")
    _write_in_place(scan, buf.getvalue(), 1e9)
    assert scan_ready(inbox, tr, now=301.0) == []
    (batch,) = scan_ready(inbox, tr, now=303.0)
    assert [c.rel for c in batch] == ["d/scan.jpg"] and batch[0].problem is None


def test_empty_file_is_refused_only_after_the_long_timeout(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "never.pdf").touch()
    tr = StabilityTracker(quiet=1.0, incomplete_grace=10.0, empty_timeout=600.0)
    assert scan_ready(inbox, tr, now=0.0) == []
    assert scan_ready(inbox, tr, now=599.0) == []
    (batch,) = scan_ready(inbox, tr, now=601.0)
    assert batch[0].problem_code == "empty_file"
    assert batch[0].problem.startswith("Tệp rỗng")


def test_tiff_written_page_by_page_is_taken_whole(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    tif = inbox / "batch.tif"
    tr = StabilityTracker(quiet=2.0, incomplete_grace=30.0)
    _write_in_place(tif, _tiff(1), 1000.0)
    assert scan_ready(inbox, tr, now=0.0) == []
    assert scan_ready(inbox, tr, now=2.5) == []  # quiet, and opens, but only one quiet period
    _write_in_place(tif, _tiff(2), 1003.0)  # the scanner fed the second sheet
    assert scan_ready(inbox, tr, now=3.0) == []
    assert scan_ready(inbox, tr, now=5.5) == []
    _write_in_place(tif, _tiff(3), 1006.0)
    assert scan_ready(inbox, tr, now=6.0) == []
    assert scan_ready(inbox, tr, now=8.5) == []
    (batch,) = scan_ready(inbox, tr, now=11.0)  # three pages held still across two quiet periods
    assert [c.rel for c in batch] == ["batch.tif"]
    with Image.open(batch[0].path) as im:
        assert im.n_frames == 3


def test_a_file_left_in_the_inbox_is_not_handed_over_again(tmp_path):
    """A file the journal could not take (it cannot be moved) stays in the inbox: the watcher
    hands it over once, and `run --once` still comes to an end."""
    import threading

    from ingest.watcher import InboxWatcher

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    Image.new("L", (60, 60), 230).save(inbox / "stuck.jpg", format="JPEG")
    handed = []
    w = InboxWatcher(inbox, lambda batch: handed.append([c.rel for c in batch]), quiet=0.2, rescan=0.2)
    t = threading.Thread(target=w.run, kwargs={"until_idle": True, "tick": 0.05})
    t.start()
    t.join(timeout=20)
    assert not t.is_alive(), "run(until_idle=True) never ended"
    w.poll_once()
    assert handed == [["stuck.jpg"]]
    os.utime(inbox / "stuck.jpg", (2e9, 2e9))  # it changed: it is a new candidate
    t = threading.Thread(target=w.run, kwargs={"until_idle": True, "tick": 0.05})
    t.start()
    t.join(timeout=20)
    assert handed == [["stuck.jpg"], ["stuck.jpg"]]
