"""Shared fixtures: a fresh SOHOA_HOME per test, the CLI run as a user runs it."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def need(ok: object, what: str) -> None:
    """A part the test needs is missing: fail with how to get it (never skip: a skipped check
    would count as passing)."""
    if not ok:
        pytest.fail(f"{what} is required by this test (bash scripts/install.sh test installs the Debian parts; "
                    "the servers are PostgreSQL on 127.0.0.1:5432 and RabbitMQ on 127.0.0.1:5672)", pytrace=False)


def pg_test_url(*, sqlalchemy: bool) -> str:
    """The PostgreSQL the postgres-marked tests use: SOHOA_TEST_PG_URL in either spelling
    (``postgresql://…`` or ``postgresql+psycopg://…``), given in the form the caller needs —
    SQLAlchemy's (``+psycopg``) or libpq's (psycopg.connect)."""
    import re

    url = os.environ.get("SOHOA_TEST_PG_URL") or "postgresql://postgres@127.0.0.1:5432/test"
    return re.sub(r"^postgres(?:ql)?(?:\+\w+)?://", "postgresql+psycopg://" if sqlalchemy else "postgresql://", url)



ROOT = Path(__file__).resolve().parents[1]


class SohoaCLI:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.env = {**os.environ, "SOHOA_HOME": str(home), "SOHOA_QUIET_SECONDS": "1",
                    "SOHOA_RESCAN_SECONDS": "1", "PYTHONUNBUFFERED": "1"}
        self.env.pop("SOHOA_DATABASE_URL", None)

    def run(self, *args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
        p = subprocess.run([sys.executable, "-m", "sohoa", *args], env=self.env, capture_output=True,
                           text=True, timeout=timeout, cwd=ROOT)
        if check and p.returncode != 0:
            raise AssertionError(f"sohoa {' '.join(args)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
        return p

    def json(self, *args: str) -> list[dict]:
        out = self.run("--json", *args).stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def popen(self, *args: str, **kw) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "sohoa", *args], env=self.env, cwd=ROOT, **kw)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "home"
    h.mkdir()
    return h


@pytest.fixture
def sohoa(home: Path) -> SohoaCLI:
    cli = SohoaCLI(home)
    cli.run("init")
    return cli


@pytest.fixture
def settings(home: Path):
    from sohoa.config import load_settings

    return load_settings(home, env={}, quiet_seconds=0.5, rescan_seconds=0.5)


@pytest.fixture
def db(settings):
    from registry.db import Database
    from registry import service

    settings.ensure_dirs()
    d = Database(settings.db_url)
    d.migrate()
    with d.session() as s:
        service.seed_procedures(s)
    yield d
    d.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_db(request, settings, db):
    """The default SQLite registry (FTS5), and a fresh schema on PostgreSQL (tsvector + GIN)."""
    from registry import service

    if request.param == "sqlite":
        yield db
        return
    import uuid

    from sqlalchemy import create_engine, text

    from registry.db import Database

    pg_url = pg_test_url(sqlalchemy=True)
    schema = f"sohoa_web_{uuid.uuid4().hex[:10]}"
    admin = create_engine(pg_url)
    try:
        with admin.begin() as c:
            c.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"PostgreSQL is required for postgres-marked tests (SOHOA_TEST_PG_URL): {exc}")
    pg = Database(f"{pg_url}{'&' if '?' in pg_url else '?'}options=-csearch_path%3D{schema}")
    try:
        pg.migrate()
        with pg.session() as s:
            service.seed_procedures(s)
        yield pg
    finally:
        pg.dispose()
        with admin.begin() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright, one per test module (Playwright's sync API allows
    one running instance at a time, and stops before the next module's tests run)."""
    import shutil

    CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
    if CHROMIUM is None:
        pytest.fail("Debian's chromium is required for the web UI tests (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--font-render-hinting=none"])
        yield b
        b.close()


