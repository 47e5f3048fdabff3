"""/healthz, /readyz and /metrics on the web app's port (issue 21): the values move as work is
done — a real `sohoa run` ingests a generated scan with real Tesseract, a broken file goes to
quarantine, a dossier's event waits in the outbox, a backup is made."""
from __future__ import annotations

import math
import socket
import subprocess
import time

import httpx

from sohoa.dev import samples
from tests.scanning import card_page, wait_for


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape(base: str) -> dict[str, float]:
    from prometheus_client.parser import text_string_to_metric_families

    r = httpx.get(base + "/metrics", timeout=30)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    out: dict[str, float] = {}
    for fam in text_string_to_metric_families(r.text):
        assert fam.name.startswith("sohoa_"), fam.name
        for smp in fam.samples:
            key = smp.name + ("{" + ",".join(f"{k}={v}" for k, v in sorted(smp.labels.items())) + "}"
                              if smp.labels else "")
            out[key] = smp.value
    return out


def test_metrics_move_as_work_is_done(sohoa, tmp_path):
    from registry.db import Database
    from registry.models import CertificationRequest, Document
    from sqlalchemy import select

    sohoa.run("pki", "dev")
    parent, _child = samples.demo_people(seed=7)
    sohoa.run("dossier", "create", "--procedure", "1.001193", "--subject", parent.pid, "--name", parent.name)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    sohoa.env.update({"SOHOA_WEB_PORT": str(port), "SOHOA_QUIET_SECONDS": "2"})
    log = open(tmp_path / "run.log", "w")
    proc = sohoa.popen("run", "--workers", "1", stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: _ok(base + "/healthz"), 60, "/healthz")
        assert httpx.get(base + "/healthz").json() == {"status": "ok"}
        ready = httpx.get(base + "/readyz")
        assert ready.status_code == 200 and ready.json()["ready"] is True

        m0 = scrape(base)
        assert m0["sohoa_documents_processed_total"] == 0
        assert m0["sohoa_pages_processed_total"] == 0
        assert m0["sohoa_inbox_files"] == 0 and m0["sohoa_queue_depth"] == 0
        assert m0["sohoa_quarantined_files"] == 0 and m0["sohoa_unassigned_documents"] == 0
        assert m0["sohoa_sync_pending_events"] >= 1  # the dossier's "received" event, no portal configured
        assert m0["sohoa_sync_lag_seconds"] > 0
        assert m0["sohoa_certification_requests_pending"] == 0
        assert math.isinf(m0["sohoa_backup_age_seconds"])  # never backed up
        days = [v for k, v in m0.items() if k.startswith("sohoa_certificate_days_to_expiry{")]
        assert len(days) == 2 and all(300 < d < 2000 for d in days), m0  # the dev officer and seal

        # a scan of a stranger's ID card: lands in the inbox, is taken, OCR'd, stored unassigned
        inbox = sohoa.home / "inbox"
        stranger = samples.demo_people(seed=8)[0]
        samples.save_jpeg(card_page(stranger, seed=3), inbox / ".incoming.jpg")
        (inbox / ".incoming.jpg").rename(inbox / "the-card.jpg")
        m1 = scrape(base)
        assert m1["sohoa_inbox_files"] + m1["sohoa_queue_depth"] >= 1, m1
        m2 = wait_for(lambda: (m := scrape(base))["sohoa_documents_processed_total"] >= 1 and m, 300,
                      "the scan to be stored")
        assert m2["sohoa_pages_processed_total"] >= 1
        assert m2["sohoa_files_ingested_total"] == 1
        assert m2["sohoa_unassigned_documents"] == 1
        assert m2["sohoa_seconds_per_page"] > 0
        assert m2["sohoa_inbox_files"] == 0

        (inbox / "broken.pdf").write_text("not a pdf at all\n")
        wait_for(lambda: scrape(base)["sohoa_quarantined_files"] == 1, 120, "the broken file in quarantine")

        db = Database(f"sqlite:///{sohoa.home / 'sohoa.db'}")
        try:
            with db.session() as s:
                doc_id = s.scalar(select(Document.id))
                s.add(CertificationRequest(document_id=doc_id, copies=2, requested_by="staff:test"))
        finally:
            db.dispose()
        assert scrape(base)["sohoa_certification_requests_pending"] == 1

        sohoa.run("backup", "keygen", "--out", str(tmp_path / "backup.key"))
        sohoa.env["SOHOA_BACKUP_KEY"] = str(tmp_path / "backup.key")
        sohoa.run("backup", str(tmp_path / "dest"))
        assert 0 <= scrape(base)["sohoa_backup_age_seconds"] < 120
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code == 200
    except httpx.HTTPError:
        time.sleep(0.2)
        return False
