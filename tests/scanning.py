"""Helpers for the end-to-end tests: make scans, run the watcher, wait for the registry."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from sohoa.dev import samples


def receipt_images(sohoa, code: str, tmp: Path):
    out = tmp / f"receipt-{code}.pdf"
    sohoa.run("receipt", code, "--out", str(out))
    return samples.rasterize_pdf(out.read_bytes(), dpi=200)


def birth_pages(child: samples.Person, seed: int = 0):
    return [samples.degrade(samples.render_page(p), angle=0.7 - i, seed=seed + i)
            for i, p in enumerate(samples.birth_certificate(child))]


def card_page(p: samples.Person, seed: int = 0, angle: float = -1.0):
    return samples.degrade(samples.render_page(samples.id_card(p), card=True), angle=angle, seed=seed)


class Watcher:
    """`sohoa watch` in its own process group, as the service runs it."""

    def __init__(self, sohoa, *extra: str) -> None:
        self.sohoa = sohoa
        self.log = open(sohoa.home / f"watch-{time.monotonic_ns()}.log", "w")
        self.proc = sohoa.popen("watch", *extra, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()

    def text(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")


def wait_for(pred, timeout: float, what: str, every: float = 0.5):
    end = time.monotonic() + timeout
    last = None
    while time.monotonic() < end:
        last = pred()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; last: {last!r}")


def journal(home: Path, columns: str = "id, name, sha256, state, error, duplicate_of") -> list[dict]:
    import sqlite3

    con = sqlite3.connect(home / "sohoa.db", timeout=30)
    try:
        con.row_factory = sqlite3.Row
        return [dict(r) for r in con.execute(f"select {columns} from ingest_journal")]
    finally:
        con.close()


def components(home: Path, code: str) -> list[dict]:
    import sqlite3

    con = sqlite3.connect(home / "sohoa.db", timeout=30)
    try:
        rows = con.execute("""select c.doc_type, c.routed_by, d.pages, d.id, d.sha256 from components c
                              join dossiers x on x.id = c.dossier_id join documents d on d.id = c.document_id
                              where x.code = ? order by c.id""", (code,)).fetchall()
        return [dict(zip(("doc_type", "routed_by", "pages", "document_id", "sha256"), r)) for r in rows]
    finally:
        con.close()


def dump(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=1)
