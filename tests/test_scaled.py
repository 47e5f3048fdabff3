"""Scaled mode: PostgreSQL registry + Celery workers over RabbitMQ run the same ingest job; a
worker killed mid-batch leaves nothing lost or doubled. Skipped (with the reason) when the
servers are not reachable."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import uuid

import pytest

from sohoa.dev import samples
from tests.conftest import need, pg_test_url
from tests.scanning import birth_pages, card_page, dump, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

PG_ADMIN = pg_test_url(sqlalchemy=False)
AMQP = os.environ.get("SOHOA_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")


def _reachable(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=2).close()
        return True
    except OSError:
        return False


@pytest.fixture
def pg_url():
    import psycopg

    need(_reachable("127.0.0.1", 5432), "PostgreSQL at 127.0.0.1:5432 (SOHOA_TEST_PG_URL)")
    name = f"sohoa_t_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    yield PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + "/" + name
    with psycopg.connect(PG_ADMIN, autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def scaled(sohoa, pg_url):
    need(_reachable("127.0.0.1", 5672), "RabbitMQ at 127.0.0.1:5672 (SOHOA_TEST_AMQP_URL)")
    sohoa.env.update(SOHOA_DATABASE_URL=pg_url, SOHOA_BROKER_URL=AMQP, SOHOA_QUEUE=f"sohoa-test-{uuid.uuid4().hex[:8]}")
    sohoa.run("init")
    return sohoa


def _state_counts(sohoa) -> dict:
    import sqlalchemy as sa

    eng = sa.create_engine(sohoa.env["SOHOA_DATABASE_URL"])
    try:
        with eng.connect() as c:
            rows = c.execute(sa.text("select state, count(*) from ingest_journal group by state")).all()
            comps = c.execute(sa.text("select count(*), count(distinct document_id) from components")).one()
            return {"states": dict(rows), "components": tuple(comps)}
    finally:
        eng.dispose()


def _working_pdf(sohoa) -> bool:
    import sqlalchemy as sa

    eng = sa.create_engine(sohoa.env["SOHOA_DATABASE_URL"])
    try:
        with eng.connect() as c:
            return bool(c.execute(sa.text("select count(*) from ingest_journal where state = 'working' "
                                          "and name = 'births.pdf'")).scalar())
    finally:
        eng.dispose()


def _worker(sohoa, log):
    return sohoa.popen("worker", "--concurrency", "1", stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def test_workers_share_the_queue_and_survive_a_killed_worker(scaled, tmp_path):
    sohoa = scaled
    rnd = uuid.uuid4().int
    code = sohoa.json("dossier", "create", "--procedure", "1.001193", "--subject", "001088000001")[0]["code"]
    inbox = sohoa.home / "inbox"
    (inbox / code).mkdir(parents=True)
    log_a = open(tmp_path / "a.log", "w")
    log_b = open(tmp_path / "b.log", "w")
    a = _worker(sohoa, log_a)
    watch = sohoa.popen("watch", stdout=open(tmp_path / "w.log", "w"), stderr=subprocess.STDOUT,
                        start_new_session=True)
    b = None
    try:
        # papers of the dossier's applicant (a route never attaches another person's paper)
        for i in range(2):  # a quick batch: two ID cards
            p = samples.Person(f"Trần Văn {'AB'[i]}", "001088000001", f"0{i + 1}/02/1988")
            samples.save_jpeg(card_page(p, seed=i + rnd % 7), inbox / code / f"card{i}.jpg")
        # a long batch: six birth certificates in one PDF, each page its own document
        pages = [birth_pages(samples.Person(f"Trần Văn {'ABCDEF'[i]}", "001088000001", "01/02/1988"),
                             seed=i + rnd % 7)[0] for i in range(6)]
        (inbox / code / "births.pdf").write_bytes(samples.images_to_pdf(pages))
        wait_for(lambda: _working_pdf(sohoa), 180, "worker A to be working on the PDF", every=0.1)
        os.killpg(a.pid, signal.SIGKILL)  # dies mid-batch
        a.wait(timeout=30)
        b = _worker(sohoa, log_b)
        done = wait_for(lambda: (c := _state_counts(sohoa))["states"] == {"done": 3} and c, 300,
                        "all three files done by worker B", every=1.0)
    finally:
        for p in (a, b, watch):
            if p is not None and p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(timeout=60)
        log_a.close()
        log_b.close()
    assert done["components"] == (8, 8), dump(done)
    shown = sohoa.json("dossier", "show", code)[0]
    assert sorted(c["doc_type"] for c in shown["components"]) == ["cccd"] * 2 + ["khai_sinh"] * 6
    assert "sohoa.process_batch" in (tmp_path / "b.log").read_text()  # B really ran jobs
