"""The inbox rules: ignored names, completeness by type, stability and batching."""
from __future__ import annotations

import os
from pathlib import Path

from PIL import Image

from ingest.files import has_odd_name, held_for_writing, is_ignored, looks_complete
from ingest.watcher import StabilityTracker, scan_ready


def test_temp_and_nas_names_are_ignored():
    for rel in ["scan.pdf.part", "~$scan.pdf", ".hidden.pdf", "@eaDir/scan.pdf", "a/@eaDir/x.jpg",
                "Thumbs.db", "x.crdownload", "quarantine.pdf.reason.txt", ".sync/x.pdf"]:
        assert is_ignored(rel), rel
    for rel in ["scan.pdf", "000.00.01.H29-261123-0001/p1.jpg", "Giấy khai sinh.png"]:
        assert not is_ignored(rel), rel


def test_odd_names_detected():
    assert has_odd_name(os.fsdecode(b"scan\xff.pdf"))
    assert has_odd_name("a\nb.pdf")
    assert not has_odd_name("Căn cước.jpg")


def _jpeg(path: Path) -> bytes:
    Image.new("L", (50, 50), 200).save(path, "JPEG")
    return path.read_bytes()


def test_completeness_by_trailer(tmp_path):
    data = _jpeg(tmp_path / "a.jpg")
    half = tmp_path / "half.jpg"
    half.write_bytes(data[: len(data) // 2])
    assert looks_complete(tmp_path / "a.jpg")
    assert not looks_complete(half)
    pdf = tmp_path / "a.pdf"
    Image.new("L", (50, 50), 200).save(pdf, "PDF")
    assert looks_complete(pdf)
    cut = tmp_path / "cut.pdf"
    cut.write_bytes(pdf.read_bytes()[:-40])
    assert not looks_complete(cut)
    txt = tmp_path / "letter.pdf"
    txt.write_text("not a pdf at all")
    assert not looks_complete(txt)
    empty = tmp_path / "empty.png"
    empty.touch()
    assert not looks_complete(empty)


def test_a_file_is_ready_only_after_the_quiet_period(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    _jpeg(inbox / "p1.jpg")
    tr = StabilityTracker(quiet=2.0)
    assert scan_ready(inbox, tr, now=100.0) == []
    assert scan_ready(inbox, tr, now=101.0) == []
    batches = scan_ready(inbox, tr, now=102.5)
    assert [[c.rel for c in b] for b in batches] == [["p1.jpg"]]


def test_growing_file_is_not_ready(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    data = _jpeg(tmp_path / "full.jpg")
    f = inbox / "p.jpg"
    f.write_bytes(data[:100])
    tr = StabilityTracker(quiet=1.0, incomplete_grace=100.0)
    scan_ready(inbox, tr, now=0.0)
    assert scan_ready(inbox, tr, now=5.0) == []  # quiet but does not look complete yet
    with open(f, "ab") as fh:
        fh.write(data[100:])
    os.utime(f, (1e9, 1e9))
    assert scan_ready(inbox, tr, now=6.0) == []  # changed: the clock restarts
    assert [c.rel for c in scan_ready(inbox, tr, now=7.5)[0]] == ["p.jpg"]


def test_folder_waits_for_all_its_files_and_keeps_name_order(tmp_path):
    inbox = tmp_path / "inbox"
    (inbox / "d").mkdir(parents=True)
    _jpeg(inbox / "d" / "p2.jpg")
    _jpeg(inbox / "d" / "p1.jpg")
    tr = StabilityTracker(quiet=1.0)
    scan_ready(inbox, tr, now=0.0)
    (inbox / "d" / "p3.jpg").write_bytes(b"\xff\xd8partial")
    assert scan_ready(inbox, tr, now=1.5) == []  # p3 still settling holds the folder back
    _jpeg(inbox / "d" / "p3.jpg")
    os.utime(inbox / "d" / "p3.jpg", (2e9, 2e9))
    scan_ready(inbox, tr, now=2.0)
    batches = scan_ready(inbox, tr, now=3.5)
    assert [[c.rel for c in b] for b in batches] == [["d/p1.jpg", "d/p2.jpg", "d/p3.jpg"]]


def test_problems_are_reported_without_reading(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    target = tmp_path / "secret.pdf"
    target.write_bytes(b"%PDF-1.4\n%%EOF\n")
    (inbox / "link.pdf").symlink_to(target)
    (inbox / "notes.docx").write_bytes(b"PK\x03\x04")
    (inbox / os.fsdecode(b"bad\xffname.jpg")).write_bytes(b"\xff\xd8\xff\xd9")
    tr = StabilityTracker(quiet=1.0)
    scan_ready(inbox, tr, now=0.0)
    batches = scan_ready(inbox, tr, now=2.0)
    problems = {b[0].rel: b[0].problem for b in batches}
    assert "symbolic link" in problems["link.pdf"]
    assert "unsupported file type" in problems["notes.docx"]
    assert "not valid UTF-8" in problems[os.fsdecode(b"bad\xffname.jpg")]



def test_a_file_its_writer_holds_open_is_not_handed_on_at_the_grace(tmp_path):
    """A scanner on a share that pauses mid-file (the flatbed's "next page?") keeps the file open:
    half a PDF is not handed on after the grace while a writer holds it open, only once it is
    closed (or complete); a writer idle past ``open_timeout`` does not hold it back for ever."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    pdf = tmp_path / "whole.pdf"
    Image.new("L", (50, 50), 200).save(pdf, "PDF")
    whole = pdf.read_bytes()
    with open(inbox / "scan.pdf", "wb") as writer:
        writer.write(whole[:-60])
        writer.flush()
        assert held_for_writing(inbox / "scan.pdf")
        tr = StabilityTracker(quiet=1.0, incomplete_grace=10.0, open_timeout=100.0)
        assert scan_ready(inbox, tr, now=0.0) == []
        assert scan_ready(inbox, tr, now=50.0) == []  # past the grace, still open
        assert [[c.rel for c in b] for b in scan_ready(inbox, tr, now=101.0)] == [["scan.pdf"]]  # idle too long
        tr = StabilityTracker(quiet=1.0, incomplete_grace=10.0, open_timeout=100.0)
        scan_ready(inbox, tr, now=0.0)
        writer.write(whole[-60:])  # the writer finishes: complete, though still open
        writer.flush()
        assert scan_ready(inbox, tr, now=1.0) == []
        assert [[c.rel for c in b] for b in scan_ready(inbox, tr, now=2.5)] == [["scan.pdf"]]
    assert not held_for_writing(inbox / "scan.pdf")
    # half a file, closed: handed on at the grace (the decoder then says it is truncated)
    (inbox / "scan.pdf").write_bytes(whole[:-60])
    tr = StabilityTracker(quiet=1.0, incomplete_grace=10.0, open_timeout=100.0)
    assert scan_ready(inbox, tr, now=0.0) == []
    assert [[c.rel for c in b] for b in scan_ready(inbox, tr, now=11.0)] == [["scan.pdf"]]


def test_a_writer_opening_the_file_while_it_is_looked_at_does_not_kill_the_watcher(tmp_path):
    """The read lease behind held_for_writing is broken when a writer opens the file meanwhile; the
    kernel then signals the holder (SIGIO by default, which ends a process). Many looks at a file a
    writer keeps opening: the looking process lives on."""
    import subprocess
    import sys
    import time

    f = tmp_path / "scan.pdf"
    f.write_bytes(b"%PDF-1.4\n")
    code = ("import sys, time\nfrom ingest.files import held_for_writing\nt = time.time()\n"
            "while time.time() - t < 3:\n    held_for_writing(sys.argv[1])\nprint('alive')\n")
    looker = subprocess.Popen([sys.executable, "-c", code, str(f)], stdout=subprocess.PIPE, text=True,
                              cwd=Path(__file__).resolve().parents[1])
    t0 = time.time()
    while looker.poll() is None and time.time() - t0 < 3:
        with open(f, "ab") as fh:  # a writer opening the file again and again
            fh.write(b"%")
    out, _ = looker.communicate(timeout=30)
    assert looker.returncode == 0 and out.strip() == "alive", looker.returncode
