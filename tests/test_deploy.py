"""Service install (issue 21): deploy/install.sh into a fake root creates the accounts (through
systemd-sysusers --root), the home with its modes (0700, database 0600, owned by the service
account), the systemd units with their hardening, log rotation, the settings file and the Samba
share; the units pass ``systemd-analyze verify`` and the log rotation ``logrotate -d``."""
from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, need

BIN = str(Path(sys.executable).parent / "sohoa")


def _install(root: Path, *extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOHOA_")}
    return subprocess.run(["bash", str(ROOT / "deploy" / "install.sh"), "--root", str(root), "--bin", BIN, *extra],
                          capture_output=True, text=True, env=env, timeout=300)


def _passwd(root: Path) -> dict[str, list[str]]:
    return {ln.split(":")[0]: ln.split(":") for ln in (root / "etc/passwd").read_text().splitlines() if ln}


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    need(shutil.which("systemd-sysusers"), "systemd-sysusers (Debian package systemd)")
    need(Path(BIN).exists(), f"the sohoa executable ({BIN})")
    root = tmp_path_factory.mktemp("root")
    p = _install(root, "--samba", "--no-start")
    assert p.returncode == 0, p.stderr + p.stdout
    return root


def test_accounts_home_and_modes(installed):
    users = _passwd(installed)
    assert users["sohoa"][5:] == ["/var/lib/sohoa", "/usr/sbin/nologin"]
    assert users["sohoa-scan"][6] == "/usr/sbin/nologin"  # the scanners: SMB only, no shell
    groups = {ln.split(":")[0] for ln in (installed / "etc/group").read_text().splitlines()}
    assert {"sohoa", "sohoa-scan"} <= groups
    home = installed / "var/lib/sohoa"
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    db = home / "sohoa.db"
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    for sub in ("inbox", "work", "done", "quarantine", "store"):
        assert stat.S_IMODE((home / sub).stat().st_mode) == 0o700, sub
    bad = [p for p in home.rglob("*") if stat.S_IMODE(p.stat().st_mode) & 0o077]
    assert bad == []
    if os.geteuid() == 0:
        uid, gid = int(users["sohoa"][2]), int(users["sohoa"][3])
        owners = {(p.stat().st_uid, p.stat().st_gid) for p in [home, *home.rglob("*")]}
        assert owners == {(uid, gid)}
        conf = installed / "etc/default/sohoa"
        assert (conf.stat().st_uid, conf.stat().st_gid) == (0, gid)
    assert stat.S_IMODE((installed / "etc/default/sohoa").stat().st_mode) == 0o640
    import sqlite3

    with sqlite3.connect(db) as con:  # the registry is there, migrated
        assert con.execute("SELECT count(*) FROM procedures").fetchone()[0] > 0


def test_units_are_hardened_and_verify(installed, tmp_path):
    unit = (installed / "etc/systemd/system/sohoa.service").read_text()
    worker = (installed / "etc/systemd/system/sohoa-worker@.service").read_text()
    serve = (installed / "etc/systemd/system/sohoa-serve@.service").read_text()
    for text in (unit, worker, serve):
        for line in ("User=sohoa", "Group=sohoa", "ProtectSystem=strict", "ReadWritePaths=/var/lib/sohoa",
                     "PrivateTmp=yes", "NoNewPrivileges=yes", "Restart=on-failure", "UMask=0077",
                     "Environment=SOHOA_HOME=/var/lib/sohoa", "EnvironmentFile=-/etc/default/sohoa"):
            assert re.search(rf"^{re.escape(line)}$", text, re.M), line
        assert re.search(r"@[A-Z]+@", text) is None  # every placeholder filled
    assert re.search(rf"^ExecStart={re.escape(BIN)} run \$SOHOA_RUN_OPTIONS$", unit, re.M)
    assert re.search(rf"^ExecStart={re.escape(BIN)} serve --only %i$", serve, re.M)
    assert "EnvironmentFile=-/etc/default/sohoa-%i" in serve
    assert re.search(r"^SOHOA_WEB_PORT=8081$", (installed / "etc/default/sohoa-api").read_text(), re.M)
    assert re.search(rf"^ExecStart={re.escape(BIN)} worker --concurrency \$\{{SOHOA_WORKER_CONCURRENCY\}}$",
                     worker, re.M)
    analyze = shutil.which("systemd-analyze")
    need(analyze, "systemd-analyze (Debian package systemd)")
    shutil.copy(installed / "etc/systemd/system/sohoa.service", tmp_path / "sohoa.service")
    shutil.copy(installed / "etc/systemd/system/sohoa-worker@.service", tmp_path / "sohoa-worker@1.service")
    shutil.copy(installed / "etc/systemd/system/sohoa-serve@.service", tmp_path / "sohoa-serve@api.service")
    p = subprocess.run([analyze, "verify", "./sohoa.service", "./sohoa-worker@1.service", "./sohoa-serve@api.service"],
                       cwd=tmp_path,
                       capture_output=True, text=True)
    ours = [ln for ln in (p.stdout + p.stderr).splitlines() if "sohoa" in ln]
    assert p.returncode == 0 and ours == [], p.stdout + p.stderr
    sec = subprocess.run([analyze, "security", "--offline=yes", "./sohoa.service"], cwd=tmp_path,
                         capture_output=True, text=True)
    level = re.search(r"Overall exposure level for sohoa\.service: ([\d.]+)", sec.stdout)
    assert level and float(level.group(1)) <= 4.5, sec.stdout[-2000:]


def test_logrotate_and_samba_share(installed, tmp_path):
    rot = (installed / "etc/logrotate.d/sohoa").read_text()
    assert "/var/log/sohoa/*.log" in rot and "su sohoa sohoa" in rot and "copytruncate" in rot
    if shutil.which("logrotate"):  # the service account does not exist on this machine: parse as root
        (tmp_path / "lr").write_text(rot.replace("su sohoa sohoa", "su root root"))
        p = subprocess.run(["logrotate", "-d", "-s", str(tmp_path / "state"), str(tmp_path / "lr")],
                           capture_output=True, text=True)
        assert p.returncode == 0 and "error" not in p.stderr.lower(), p.stderr
    share = (installed / "etc/samba/sohoa-scan.conf").read_text()
    assert "path = /var/lib/sohoa/inbox" in share and "valid users = sohoa-scan" in share
    assert "force user = sohoa" in share


def test_install_again_keeps_settings_and_refuses_bad_input(installed):
    conf = installed / "etc/default/sohoa"
    conf.write_text(conf.read_text() + "SOHOA_PORTAL_TOKEN=giữ-nguyên\n", encoding="utf-8")
    p = _install(installed, "--samba", "--no-start")
    assert p.returncode == 0, p.stderr
    assert "SOHOA_PORTAL_TOKEN=giữ-nguyên" in conf.read_text(encoding="utf-8")
    assert list(_passwd(installed)).count("sohoa") == 1
    assert stat.S_IMODE((installed / "var/lib/sohoa/sohoa.db").stat().st_mode) == 0o600
    for args in (["--home", "relative/home"], ["--user", "Bad User"], ["--bin", "/nonexistent/sohoa"],
                 ["--frobnicate"]):
        p = _install(installed, *args)
        assert p.returncode == 2 and p.stderr.startswith("deploy/install.sh: "), (args, p.stderr)
