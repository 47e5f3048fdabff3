"""Case 1 of issue 13 end to end: `sohoa watch` meets a file it cannot move (immutable, as a file
owned by another user on a share is to sohoa) — it leaves that file with an alert, takes the
others, keeps running, and a restart does not stop on it either."""
from __future__ import annotations

from pathlib import Path

import pytest

from sohoa.dev import samples
from tests.robustness.robust_fixtures import chattr
from tests.scanning import Watcher, card_page, dump, journal, wait_for

pytestmark = pytest.mark.slow


def test_watch_survives_a_file_it_cannot_move(sohoa, tmp_path):
    inbox = sohoa.home / "inbox"
    person, _ = samples.demo_people(seed=3)
    scan = tmp_path / "card.pdf"
    scan.write_bytes(samples.images_to_pdf([card_page(person, seed=2)]))
    stuck = inbox / "khoa.pdf"
    stuck.write_bytes(scan.read_bytes() + b"\n% another copy\n")
    chattr("+i", stuck)
    try:
        w = Watcher(sohoa)
        try:
            (inbox / "tot.pdf").write_bytes(scan.read_bytes())
            states = lambda: {e["name"]: e["state"] for e in journal(sohoa.home)}  # noqa: E731
            wait_for(lambda: states().get("tot.pdf") == "done" and states().get("khoa.pdf") == "quarantined",
                     180, "the good file done and the stuck one journaled")
            assert w.proc.poll() is None, w.text()  # still watching
            (inbox / "sau.pdf").write_bytes(scan.read_bytes() + b"\n% later\n")
            wait_for(lambda: states().get("sau.pdf") == "done", 180, "a file dropped afterwards to be done")
        finally:
            w.stop()
        log = Path(w.log.name).read_text(errors="replace")
        assert "ALERT" in log and "Traceback" not in log, log
        assert stuck.exists()  # left where it is
        reason = (sohoa.home / "quarantine" / "khoa.pdf.reason.txt").read_text(encoding="utf-8")
        assert reason.startswith("Không có quyền đọc hoặc di chuyển tệp") and "inbox/khoa.pdf" in reason
        again = sohoa.run("watch", "--once", timeout=300)  # a restart: no crash, no second entry
        assert "Traceback" not in again.stderr
        assert [e["name"] for e in journal(sohoa.home)].count("khoa.pdf") == 1, dump(journal(sohoa.home))
    finally:
        chattr("-i", stuck)
