"""A whole office for the browser tests: a fresh home with the dev PKI and one account per role,
``sohoa run`` (the real inbox watcher, OCR workers and web server) as a subprocess on a free port,
and Debian's Chromium driven by Playwright."""
from __future__ import annotations

import os
import signal
import subprocess

import pytest

from tests.conftest import SohoaCLI
from webtest_helpers import ACCOUNTS, LOCKOUT_SECONDS, PASSWORD, Office, free_port, wait_until_serving



@pytest.fixture(scope="package")
def office(tmp_path_factory) -> Office:
    home = tmp_path_factory.mktemp("office") / "home"
    home.mkdir()
    cli = SohoaCLI(home)
    port = free_port()
    cli.env.update(SOHOA_WEB_PORT=str(port), SOHOA_WORKERS="1", SOHOA_QUIET_SECONDS="1", SOHOA_RESCAN_SECONDS="1",
                   SOHOA_STAFF_PASSWORD=PASSWORD)
    cli.run("init")
    cli.run("pki", "dev", "--officer-name", ACCOUNTS["officer"][1], "--officer-title", "Phó Chủ tịch UBND xã")
    with open(home / "sohoa.toml", "a", encoding="utf-8") as fh:
        fh.write(f'\nunit_name = "Ủy ban nhân dân xã Tân Phú"\nlogin_lockout_seconds = {LOCKOUT_SECONDS}\n')
    for role, (user, name) in ACCOUNTS.items():
        cli.run("staff", "add", user, "--name", name, "--role", role)
    passphrase = (home / "pki" / "officer.p12.pass").read_text().strip()
    log = home / "run.log"
    with open(log, "w") as out:
        proc = cli.popen("run", stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    wait_until_serving(base, proc, log, "sohoa run")
    yield Office(home, cli, base, proc, passphrase, log)
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
