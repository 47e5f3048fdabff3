"""A certification batch SIGKILLed mid-signing (the real ``sohoa certify`` process, paused
between copies by SOHOA_TEST_SIGN_PAUSE so the kill lands while it signs): after the next start
no request is left "signing", and the retry signs every act under the number it was first
given — no number allocated twice, none skipped — with valid copies and one audit row per act.
Killed twice: the next start is the web server (``sohoa serve``) once, the inbox job
(``sohoa run``) the other time."""
from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import time

import pytest

pytestmark = pytest.mark.slow


def _put(home, data: bytes) -> int:
    from registry.db import Database
    from registry.models import Document
    from registry.store import Store
    from sohoa.config import load_settings

    s = load_settings(home, env={})
    sha, _ = Store(s.store_dir).put_bytes(data)
    db = Database(s.db_url)
    with db.session() as ses:
        d = Document(sha256=sha, size=len(data), pages=1, text="GIẤY KHAI SINH", doc_type="khai_sinh")
        ses.add(d)
        ses.flush()
        i = d.id
    db.dispose()
    return i


def _rows(home, sql: str) -> list[tuple]:
    con = sqlite3.connect(home / "sohoa.db")
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _kill_mid_signing(sohoa, args: list[str], out, log_path) -> None:
    """Run the batch, pausing before each copy, and SIGKILL it once its first copy is written."""
    with open(log_path, "w") as log:
        sohoa.env["SOHOA_TEST_SIGN_PAUSE"] = "2"  # seconds before each copy
        p = sohoa.popen(*args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        del sohoa.env["SOHOA_TEST_SIGN_PAUSE"]
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and not list(out.glob("*.pdf")):
            assert p.poll() is None, log_path.read_text()
            time.sleep(0.2)
        assert list(out.glob("*.pdf")), "the batch never started signing"
        os.killpg(p.pid, signal.SIGKILL)
        p.wait(timeout=30)


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_sigkill_mid_signing_leaves_nothing_signing_and_no_number_twice(sohoa, tmp_path):
    from registry import certification
    from registry.db import Database
    from sohoa.config import load_settings
    from sohoa.dev.scans import scanned_pdf

    officer = sohoa.json("pki", "dev")[0]["officer_id"]
    docs = [_put(sohoa.home, scanned_pdf(dpi=40, noise=False, seed=300 + i)) for i in range(4)]
    db = Database(load_settings(sohoa.home, env={}).db_url)
    with db.session() as s:  # the clerk asked for three of them; the fourth is certified straight away
        asked = {d: certification.request(s, d, 1, actor="staff:canbo") for d in docs[:3]}
    db.dispose()

    def batch(out) -> list[str]:
        return ["certify", *map(str, docs), "--officer", str(officer), "--out", str(out), "--workers", "1",
                "--no-seal", "--json"]

    def held_with_first_numbers() -> dict[int, int]:
        """Killed mid-signing: its requests are held, its numbers allocated and not signed."""
        states = dict(_rows(sohoa.home, "select document_id, status from certification_requests"))
        assert set(states) == set(docs) and set(states.values()) == {"signing"}, states
        assert {st for st, in _rows(sohoa.home, "select status from certified_copies")} == {"allocated"}
        return dict(_rows(sohoa.home, "select source_document_id, number from certified_copies"))

    def all_pending() -> bool:
        return {st for _, st in _rows(sohoa.home, "select id, status from certification_requests")} == {"pending"}

    _kill_mid_signing(sohoa, batch(tmp_path / "out1"), tmp_path / "out1", tmp_path / "certify1.log")
    first = held_with_first_numbers()
    assert sorted(first.values()) == [1, 2, 3, 4]

    # the next start — the web server — puts them back in the queue
    server = sohoa.popen("serve", "--port", str(_free_port()), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not all_pending():
            assert server.poll() is None, "sohoa serve stopped"
            time.sleep(0.3)
        assert all_pending()
    finally:
        server.terminate()
        server.wait(timeout=30)

    # killed again mid-signing: the same numbers are held; the inbox job's start puts them back
    _kill_mid_signing(sohoa, batch(tmp_path / "out2"), tmp_path / "out2", tmp_path / "certify2.log")
    assert held_with_first_numbers() == first
    sohoa.run("run", "--once", "--no-web")
    assert all_pending()
    released = _rows(sohoa.home, "select actor, detail from audit_events where action = 'certify.release'")
    assert len(released) == 8 and all(a == "system" and json.loads(d)["reason"] == "recovered" for a, d in released)

    # the retry: the same requests, each act under the number it was first given
    res = sohoa.json(*batch(tmp_path / "out")[:-1])
    assert {r["source_document_id"]: r["number"] for r in res} == first
    rows = _rows(sohoa.home, "select book, year, number, status from certified_copies")
    assert len(rows) == 4 and len({r[:3] for r in rows}) == 4 and {r[3] for r in rows} == {"signed"}
    reqs = dict(_rows(sohoa.home, "select id, status from certification_requests"))
    assert len(reqs) == 4 and set(reqs.values()) == {"certified"}
    assert all(reqs[rid] == "certified" for rid in asked.values())  # the clerk's requests, not new ones
    certify_rows = [json.loads(d) for d, in _rows(sohoa.home, "select detail from audit_events where action = 'certify'")]
    assert sorted(d["number"] for d in certify_rows) == [1, 2, 3, 4]  # one row per act
    for r in res:
        (path,) = [c["path"] for c in r["copies"]]
        v = sohoa.run("--json", "verify", path, "--offline", check=False)
        report = json.loads(v.stdout.strip().splitlines()[-1])
        assert report["valid"] and report["intact"], v.stdout + v.stderr
