"""Issue 19 §1: one bad file never blocks a batch. A name the file system refuses, a reason file
that cannot be written, any error on one file: that file is quarantined (or skipped) with a
Vietnamese reason and the rest go on; names are shortened at intake, the original kept in the journal."""
from __future__ import annotations

from PIL import Image

from sohoa.dev import samples
from tests.scanning import journal

LONG = "B" * 251 + ".pdf"  # 255 bytes: the file itself fits, its «.reason.txt» does not


def _entries(home):
    return journal(home, "id, rel_path, name, state, error")


def _blank_pdf() -> bytes:
    return samples.images_to_pdf([Image.new("L", (600, 800), 255)])


def test_a_long_bad_name_does_not_stop_the_batch(sohoa):
    inbox = sohoa.home / "inbox"
    good = _blank_pdf()
    for i in range(3):
        (inbox / f"good-{i}.pdf").write_bytes(good + b"%" + str(i).encode())
    (inbox / LONG).write_text("not a pdf at all\n", encoding="utf-8")
    (inbox / ("C" * 240 + ".pdf")).write_bytes(good + b"%long-good")
    p = sohoa.run("run", "--once", timeout=240)  # ends (it looped for ever before)
    rows = _entries(sohoa.home)
    by_rel = {r["rel_path"]: r for r in rows}
    assert by_rel[LONG]["state"] == "quarantined", rows
    assert len(by_rel[LONG]["name"].encode()) <= 120 and by_rel[LONG]["name"].endswith(".pdf")
    assert by_rel[LONG]["error"].startswith("Không phải ảnh quét hay PDF")
    assert {r["state"] for r in rows if r["rel_path"] != LONG} == {"done"}, rows
    assert len(rows) == 5
    q = sohoa.home / "quarantine"
    reason_files = list(q.glob("*.reason.txt"))
    assert len(reason_files) == 1 and LONG in reason_files[0].read_text(encoding="utf-8")  # the original name kept
    assert not any((sohoa.home / "work").rglob("*.pdf"))
    assert "working" not in p.stdout


def test_an_unwritable_quarantine_skips_that_file_only(sohoa):
    """The reason file cannot be written and the file cannot be moved there (quarantine/ immutable,
    which stops even root): the file's row still says why, the other file is done, the run ends."""
    from tests.robustness.robust_fixtures import chattr

    inbox = sohoa.home / "inbox"
    (inbox / "bad.pdf").write_text("text, not a scan\n", encoding="utf-8")
    (inbox / "good.pdf").write_bytes(_blank_pdf())
    q = sohoa.home / "quarantine"
    q.mkdir(exist_ok=True)
    chattr("+i", q)
    try:
        sohoa.run("run", "--once", timeout=240)
    finally:
        chattr("-i", q)
    states = {r["name"]: (r["state"], r["error"]) for r in _entries(sohoa.home)}
    assert states["good.pdf"][0] == "done", states
    assert states["bad.pdf"][0] == "quarantined" and states["bad.pdf"][1].startswith("Không phải ảnh quét"), states


def test_one_unreadable_backlog_scan_does_not_stop_the_import(sohoa, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "tot.pdf").write_bytes(_blank_pdf())
    (src / "mat.pdf").symlink_to(tmp_path / "khong-co.pdf")  # listed, cannot be read
    rep = sohoa.json("backlog", "import", str(src))[0]
    rejected = {x["file"]: x["reason"] for x in rep["rejected_items"]}
    assert "mat.pdf" in rejected and rejected["mat.pdf"][0].isupper(), rep
    assert rep["imported"] + rep["review"] == 1, rep
