"""Backlog import in the scaled mode: PostgreSQL + RabbitMQ, scans done by `sohoa worker`
processes, one of them SIGKILLed mid-import; nothing lost, nothing doubled."""
from __future__ import annotations

import json
import os
import signal
import subprocess

import pytest

from scanning import wait_for
from sohoa.dev.backlog_samples import make_backlog
from test_scaled import pg_url, scaled  # noqa: F401  (fixtures: a fresh PostgreSQL database, a queue)

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def _counts(sohoa) -> dict:
    import sqlalchemy as sa

    eng = sa.create_engine(sohoa.env["SOHOA_DATABASE_URL"])
    try:
        with eng.connect() as c:
            return dict(c.execute(sa.text("select state, count(*) from backlog_items group by state")).all())
    finally:
        eng.dispose()


def test_backlog_on_celery_workers_survives_a_killed_worker(scaled, tmp_path):  # noqa: F811
    from sohoa.dev.portal import FakePortal

    sohoa = scaled
    portal = FakePortal(fail_rate=0.2, delay=1.5, seed=5).start()  # the workers also send the outbox
    sohoa.env.update(SOHOA_PORTAL_URL=portal.url, SOHOA_PORTAL_TIMEOUT="1", SOHOA_SYNC_BACKOFF="0.1")
    code = sohoa.json("dossier", "create", "--procedure", "1.001193", "--subject", "001088012345")[0]["code"]
    sohoa.run("dossier", "pause", code, "--reason", "Chờ bổ sung")
    src = tmp_path / "src"
    scans = make_backlog(src, 8, seed=11, wrong=1)
    logs = [open(tmp_path / f"worker{i}.log", "w") for i in range(2)]
    first = sohoa.popen("worker", "--concurrency", "1", stdout=logs[0], stderr=subprocess.STDOUT, start_new_session=True)
    imp = sohoa.popen("--json", "backlog", "import", str(src), "--manifest", str(src / "manifest.csv"),
                      stdout=subprocess.PIPE, stderr=open(tmp_path / "import.log", "w"), text=True)
    second = None
    try:
        wait_for(lambda: _counts(sohoa).get("working"), 300, "a scan in the worker's hands")
        os.killpg(first.pid, signal.SIGKILL)  # mid-scan
        first.wait(timeout=30)
        second = sohoa.popen("worker", "--concurrency", "2", stdout=logs[1], stderr=subprocess.STDOUT,
                             start_new_session=True)
        out, _ = imp.communicate(timeout=600)
        assert imp.returncode == 0, (tmp_path / "import.log").read_text()[-2000:]
        wait_for(lambda: sohoa.json("sync", "status")[0]["rate"] == 100.0, 120, "the workers to sync the outbox")
    finally:
        portal.stop()
        for p in (first, second):
            if p is not None and p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(timeout=60)
        if imp.poll() is None:
            imp.kill()
    rep = json.loads(out.splitlines()[-1])
    assert (rep["imported"], rep["review"], rep["rejected"], rep["duplicate"]) == (7, 1, 0, 0), rep
    assert _counts(sohoa) == {"imported": 7, "review": 1}
    import sqlalchemy as sa

    eng = sa.create_engine(sohoa.env["SOHOA_DATABASE_URL"])
    with eng.connect() as c:
        n_docs, n_distinct = c.execute(sa.text("select count(*), count(distinct sha256) from documents "
                                               "where created_by = 'backlog'")).one()
        n_results = c.execute(sa.text("select count(*) from results")).scalar()
    eng.dispose()
    assert (n_docs, n_distinct, n_results) == (7, 7, 7)
    got = portal.received()["events"]
    assert [(e["MaHoSo"], e["ThuTu"], e["TrangThaiHoSo"]) for e in got] == [(code, 1, 2), (code, 2, 5)]
    right = next(s for s in scans if not s.wrong)
    found = sohoa.json("reuse", "find", "--subject", right.person.pid)
    assert right.doc_type in {e.get("doc_type") or e.get("type") for e in found}
