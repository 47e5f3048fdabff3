"""Scan to folder (issue 21): the office's scanners write into the inbox through a real Samba
share, as MFPs do — SMB2/SMB3, a scanner account with a password, slow writers that pause
mid-file, temporary names renamed at the end — while ``sohoa run`` watches the inbox. Every file
is journaled exactly once, whole (its journaled sha256 is the sha256 of what the scanner sent),
never taken half-written, never retaken or quarantined.

smbd runs on loopback on a free high port with its own configuration, state and password
database in the test's directory; the share itself is the one ``deploy/samba-share.sh``
generates for the home. ``smb2 max write = 65536`` makes smbclient send a file in 64 KiB writes,
so a writer that feeds smbclient slowly (through a FIFO) grows the file slowly, in one open
handle, as a scanner streaming pages does.
"""
from __future__ import annotations

import hashlib
import os
import pwd
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

from PIL import Image

from tests.conftest import ROOT, SohoaCLI, need

SCANNER = "sohoa-scan-test"
PASSWORD = "Quét-2026-máy1"
CHUNK = 65536


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_smbd(tmp: Path, home: Path, service_user: str) -> tuple[subprocess.Popen, int, Path]:
    port = _free_port()
    base = tmp / "samba"
    for d in ("private", "lock", "state", "cache", "pid", "log", "ncalrpc"):
        (base / d).mkdir(parents=True, exist_ok=True)
    share = subprocess.run(["bash", str(ROOT / "deploy" / "samba-share.sh"), str(home), SCANNER, service_user],
                           capture_output=True, text=True, check=True).stdout
    assert f"path = {home}/inbox" in share and f"valid users = {SCANNER}" in share
    (base / "sohoa-scan.conf").write_text(share, encoding="utf-8")
    conf = base / "smb.conf"
    conf.write_text(f"""[global]
  server role = standalone server
  smb ports = {port}
  interfaces = 127.0.0.1
  bind interfaces only = yes
  private dir = {base}/private
  lock directory = {base}/lock
  state directory = {base}/state
  cache directory = {base}/cache
  pid directory = {base}/pid
  ncalrpc dir = {base}/ncalrpc
  log file = {base}/log/smbd.log
  passdb backend = tdbsam:{base}/private/passdb.tdb
  load printers = no
  printcap name = /dev/null
  disable spoolss = yes
  server min protocol = SMB2_02
  smb2 max write = {CHUNK}
  include = {base}/sohoa-scan.conf
""", encoding="utf-8")
    p = subprocess.run(["smbpasswd", "-c", str(conf), "-s", "-a", SCANNER], input=f"{PASSWORD}\n{PASSWORD}\n",
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    smbd = subprocess.Popen(["smbd", f"--configfile={conf}", "--foreground", "--no-process-group",
                             "--debug-stdout"], stdout=open(base / "smbd.out", "wb"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    deadline = time.time() + 20
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return smbd, port, conf
        assert smbd.poll() is None, (base / "smbd.out").read_text(errors="replace")
        time.sleep(0.2)
    raise AssertionError("smbd did not start listening")


def _smbclient(port: int, commands: str, *, user: str = SCANNER, password: str = PASSWORD,
               protocol: str = "SMB3", timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(["smbclient", "//127.0.0.1/scan", "-p", str(port), "-m", protocol, "-t", "300",
                           "-U", f"{user}%{password}",
                           "-c", commands], capture_output=True, text=True, timeout=timeout)


def _slow_put(port: int, tmp: Path, data: bytes, remote: str, *, pause: float, long_pause_at: int | None = None,
              long_pause: float = 0.0, rename_to: str | None = None, protocol: str = "SMB3") -> None:
    """One scanner: sends ``data`` as ``remote`` in 64 KiB writes with ``pause`` between them
    (``long_pause`` once, after chunk ``long_pause_at``), in one open handle; then renames it."""
    fifo = tmp / f"fifo-{remote.replace('/', '_')}"
    os.mkfifo(fifo)
    cmds = f'put "{fifo}" "{remote}"'
    if rename_to:
        cmds += f'; rename "{remote}" "{rename_to}"'
    result: dict = {}

    def client():
        result["p"] = _smbclient(port, cmds, protocol=protocol, timeout=300)

    t = threading.Thread(target=client)
    t.start()
    with open(fifo, "wb") as fh:
        for i in range(0, len(data), CHUNK):
            fh.write(data[i:i + CHUNK])
            fh.flush()
            time.sleep(long_pause if long_pause_at is not None and i // CHUNK == long_pause_at else pause)
    t.join(300)
    p = result["p"]
    assert p.returncode == 0, f"smbclient {cmds}: {p.stdout}\n{p.stderr}"


def _journal(home: Path) -> list[tuple[str, str, str]]:
    con = sqlite3.connect(f"file:{home / 'sohoa.db'}?mode=ro", uri=True, timeout=30)
    try:
        return con.execute("SELECT rel_path, state, sha256 FROM ingest_journal ORDER BY id").fetchall()
    finally:
        con.close()


def _ensure_scanner_account() -> None:
    try:
        pwd.getpwnam(SCANNER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SCANNER],
                       check=True)


def test_scanners_write_through_samba_and_every_file_is_journaled_once_whole(tmp_path, home):
    need(shutil.which("smbd") and shutil.which("smbclient") and shutil.which("smbpasswd"),
         "Samba (Debian packages samba and smbclient)")
    need(os.geteuid() == 0, "root (smbd switches to the share's accounts)")
    _ensure_scanner_account()
    service_user = pwd.getpwuid(os.geteuid()).pw_name
    cli = SohoaCLI(home)
    cli.env["SOHOA_WEB_PORT"] = str(_free_port())
    cli.run("init")
    os.chmod(home, 0o700)

    # what the scanners send: a PDF, a JPEG, a two-page TIFF and a two-page PDF under a temporary name
    src = tmp_path / "src"
    src.mkdir()
    cli.run("dev", "sample", "cccd", "--subject", "001088012345", "--out", str(src / "a.pdf"))
    cli.run("dev", "sample", "cccd", "--subject", "001090000777", "--name", "Trần Thị Bình", "--out",
            str(src / "b.jpg"))
    cli.run("dev", "sample", "cccd", "--subject", "001095001234", "--name", "Phạm Văn Dũng", "--out",
            str(src / "c.jpg"))
    cli.run("dev", "sample", "khai_sinh", "--subject", "001095009876", "--name", "Lê Văn Cường",
            "--out", str(src / "d.pdf"))
    page = Image.open(src / "c.jpg").convert("L")
    page.save(src / "c.tif", save_all=True, append_images=[page.rotate(180)], compression="tiff_lzw")
    files = {  # name in the inbox -> bytes the scanner sends
        "SCAN0001.pdf": (src / "a.pdf").read_bytes(),
        "IMG_0002.jpg": (src / "b.jpg").read_bytes(),
        "SCAN0003.tif": (src / "c.tif").read_bytes(),
        "SCAN0004.pdf": (src / "d.pdf").read_bytes(),
    }
    assert all(len(b) > 3 * CHUNK for b in files.values()), {k: len(v) for k, v in files.items()}

    smbd, port, _conf = _start_smbd(tmp_path, home, service_user)
    run = cli.popen("run", "-v", stdout=open(tmp_path / "run.log", "wb"), stderr=subprocess.STDOUT)
    try:
        # the account is what lets a scanner in: a wrong password, or SMB1, is refused
        bad = _smbclient(port, "ls", password="sai-mật-khẩu")
        assert bad.returncode != 0 and "NT_STATUS_LOGON_FAILURE" in bad.stdout + bad.stderr
        smb1 = _smbclient(port, "ls", protocol="NT1", timeout=30)
        assert smb1.returncode != 0
        ok = _smbclient(port, "ls")
        assert ok.returncode == 0, ok.stdout + ok.stderr

        writers = [
            # streams its file under the final name, 1.5 s between writes (longer than quiet_seconds)
            dict(data=files["SCAN0001.pdf"], remote="SCAN0001.pdf", pause=1.5),
            # the flatbed's "next page?": 12 s with the file open, past the watcher's 10 s grace
            dict(data=files["IMG_0002.jpg"], remote="IMG_0002.jpg", pause=0.3, long_pause_at=1, long_pause=12.0),
            # a multi-page TIFF has no trailer: pages arrive with pauses
            dict(data=files["SCAN0003.tif"], remote="SCAN0003.tif", pause=0.2, long_pause_at=2, long_pause=12.0),
            # a temporary name, renamed at the end (SMB2.02, as older MFPs speak)
            dict(data=files["SCAN0004.pdf"], remote="SCAN0004.pdf.tmp", pause=0.5, rename_to="SCAN0004.pdf",
                 protocol="SMB2"),
        ]
        errors: list[BaseException] = []

        def guard(t_kwargs):
            try:
                _slow_put(port, tmp_path, **t_kwargs)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=guard, args=(w,)) for w in writers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(400)
        assert not errors, errors

        deadline = time.time() + 600
        rows: list = []
        while time.time() < deadline:
            assert run.poll() is None, (tmp_path / "run.log").read_text(errors="replace")[-3000:]
            rows = _journal(home)
            if len(rows) >= len(files) and all(state in ("done", "quarantined", "retaken", "duplicate")
                                               for _r, state, _h in rows):
                time.sleep(3)  # anything taken again would show up now
                if len(_journal(home)) == len(rows):
                    break
            time.sleep(1)
        rows = _journal(home)
    finally:
        run.send_signal(signal.SIGINT)
        try:
            run.wait(60)
        except subprocess.TimeoutExpired:
            run.kill()
        os.killpg(smbd.pid, signal.SIGTERM)
        smbd.wait(30)

    log = (tmp_path / "run.log").read_text(errors="replace")
    by_name: dict[str, list] = {}
    for rel, state, digest in rows:
        by_name.setdefault(rel, []).append((state, digest))
    assert sorted(by_name) == sorted(files), (rows, log[-3000:])
    for name, data in files.items():
        assert by_name[name] == [("done", hashlib.sha256(data).hexdigest())], (name, rows, log[-3000:])
    assert "changed after it was taken" not in log
    assert sorted(p.name for p in (home / "done").rglob("*") if p.is_file()) == sorted(files)
    assert [p for p in (home / "inbox").rglob("*") if p.is_file()] == []
    assert [p for p in (home / "quarantine").rglob("*") if p.is_file()] == []
    docs = cli.json("unassigned")  # one ID card, a birth certificate (two pages) and another card
    assert len(docs) >= len(files)


def test_the_share_config_is_generated_for_a_home(tmp_path):
    out = subprocess.run(["bash", str(ROOT / "deploy" / "samba-share.sh"), "/srv/xa phuong", "mfp", "svc", "quet"],
                         capture_output=True, text=True, check=True).stdout
    assert "[quet]" in out and "path = /srv/xa phuong/inbox" in out
    assert "valid users = mfp" in out and "force user = svc" in out and "read only = no" in out
    assert re.search(r"@[A-Z]+@", out) is None  # every placeholder filled
    if shutil.which("testparm"):
        conf = tmp_path / "smb.conf"
        conf.write_text("[global]\n  server role = standalone server\n" + out, encoding="utf-8")
        p = subprocess.run(["testparm", "-s", "--suppress-prompt", str(conf)], capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        assert "Unknown parameter" not in p.stderr and "Global parameter" not in p.stderr, p.stderr
    bad = subprocess.run(["bash", str(ROOT / "deploy" / "samba-share.sh"), "/srv/a|b"], capture_output=True, text=True)
    assert bad.returncode == 2
