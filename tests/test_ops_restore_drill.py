"""The restore drill (issue 21): a home with documents, dossiers, certified copies and an outbox is
backed up while ingest runs; a backup process is SIGKILLed midway; the last good backup restores
onto a fresh home where `sohoa check` is clean, every document acknowledged before that backup
started is there, and `sohoa verify` accepts the restored certified copies.

Real parts throughout: `sohoa watch` OCRs generated scans with Tesseract, `sohoa certify` signs
with pyHanko, the backup is age-encrypted with pyrage, `sohoa verify` validates with pyHanko."""
from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import threading
import time
from pathlib import Path

from tests.ops_office import build_office, card_scan
from tests.scanning import Watcher, wait_for


def _docs(db: Path) -> dict[int, str]:
    con = sqlite3.connect(db, timeout=30)
    try:
        return dict(con.execute("SELECT id, sha256 FROM documents"))
    finally:
        con.close()


def _count(db: Path, table: str) -> int:
    con = sqlite3.connect(db, timeout=30)
    try:
        return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        con.close()


def _kill_midway(sohoa, dest: Path, attempts: int = 6) -> Path:
    """Start `sohoa backup DEST` and SIGKILL it once its unfinished set exists; returns that set."""
    for _ in range(attempts):
        before = set(dest.glob("sohoa-*"))
        proc = sohoa.popen("backup", str(dest), start_new_session=True)
        partial = None
        while proc.poll() is None:
            found = list(dest.glob(".partial-*"))
            if found:
                os.killpg(proc.pid, signal.SIGKILL)
                partial = found[0]
                break
            time.sleep(0.001)
        proc.wait(timeout=60)
        if partial is not None and proc.returncode == -signal.SIGKILL:
            assert set(dest.glob("sohoa-*")) == before  # the killed backup did not become a set
            return partial
    raise AssertionError("the backup always finished before it could be killed")


def test_restore_drill(sohoa, tmp_path):
    home = sohoa.home
    office = build_office(sohoa, scans=2, copies=2)
    sohoa.run("backup", "keygen", "--out", str(tmp_path / "office.key"))
    sohoa.env["SOHOA_BACKUP_KEY"] = str(tmp_path / "office.key")
    dest = tmp_path / "usb-disk"

    # live ingest: a feeder writes scans into the inbox while `sohoa watch` takes them
    w = Watcher(sohoa, "--workers", "1")
    stop = threading.Event()

    def feed():
        for i in range(4):
            if stop.is_set():
                return
            card_scan(seed=10 + i, path=home / "inbox" / f"live-{i}.jpg", person_seed=60 + i)
            stop.wait(2.0)

    feeder = threading.Thread(target=feed)
    feeder.start()
    try:
        wait_for(lambda: len(_docs(home / "sohoa.db")) > 4, 300, "a live scan to be stored")
        acknowledged = _docs(home / "sohoa.db")  # every document committed before the backup starts
        outbox_before = _count(home / "sohoa.db", "outbox")
        good = json.loads(sohoa.run("--json", "backup", str(dest)).stdout)
        assert good["documents"] >= len(set(acknowledged.values())) and not good["missing"]
        kept_apart = {a["what"] for a in good["kept_apart"]}
        assert {"backup_key", "seal_passphrase_file"} <= kept_apart
        partial = _kill_midway(sohoa, dest)  # while ingest still runs
    finally:
        stop.set()
        feeder.join()
        w.stop()
    assert partial.exists()
    assert [p.name for p in dest.glob("sohoa-*")] == [good["name"]]

    # the key file never travels with the backup; nothing in DEST is readable without it
    assert not any(b"AGE-SECRET-KEY" in p.read_bytes() for p in dest.rglob("*") if p.is_file())
    blob = b"".join(p.read_bytes() for p in dest.rglob("*.age"))
    assert b"%PDF" not in blob and b"SQLite format" not in blob

    v = json.loads(sohoa.run("--json", "backup", "verify", str(dest)).stdout)
    assert v["ok"] and v["sets"] == [good["name"]], v

    # a new machine: an empty home, the key named by SOHOA_BACKUP_KEY, and nothing else
    from tests.conftest import SohoaCLI

    fresh = SohoaCLI(tmp_path / "new-machine" / "home")
    fresh.env["SOHOA_BACKUP_KEY"] = str(tmp_path / "office.key")
    restored = json.loads(fresh.run("--json", "restore", str(dest)).stdout)
    assert restored["set"] == good["name"]
    assert "seal_passphrase_file" in {a["what"] for a in restored["kept_apart"]}
    fresh.run("init")
    check = json.loads(fresh.run("--json", "check").stdout)
    assert check["ok"], check
    got = _docs(fresh.home / "sohoa.db")
    assert {i: got.get(i) for i in acknowledged} == acknowledged  # every acknowledged document is there
    assert _count(fresh.home / "sohoa.db", "outbox") >= outbox_before
    for code in office["dossiers"]:
        shown = fresh.json("dossier", "show", code)[0]
        assert [c for c in shown["components"] if c.get("document_id")]

    # the certified copies, read back from the restored store, verify
    store = fresh.home / "store"
    for original in office["copies"]:
        data = Path(original).read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        path = store / sha[:2] / sha[2:4] / f"{sha}.pdf"
        assert path.read_bytes() == data
        rep = json.loads(fresh.run("--json", "verify", "--offline", str(path)).stdout)
        assert rep["valid"] and rep["trusted"] and rep["intact"], rep

    # restoring again onto a home that now has a registry is refused, nothing touched
    again = fresh.run("restore", str(dest), check=False)
    assert again.returncode == 4 and again.stderr.startswith("sohoa: lỗi: ")
    assert json.loads(fresh.run("--json", "check").stdout)["ok"]
