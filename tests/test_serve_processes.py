"""`sohoa serve --processes N`: the web in several processes sharing one port, apart from ingest
(`sohoa run --no-web`), for an office whose counter and API must stay quick while scans are read."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx

from tests.web.webtest_helpers import wait_until_serving

ROOT = Path(__file__).resolve().parents[1]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    out = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        out += [int(x) for x in Path(f"/proc/{pid}/task/{tid}/children").read_text().split()]
    return out


def test_web_served_by_two_processes_apart_from_ingest(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOHOA_")}
    env.update(SOHOA_HOME=str(tmp_path / "home"), PYTHONUNBUFFERED="1")
    subprocess.run([sys.executable, "-m", "sohoa", "init"], env=env, cwd=ROOT, check=True, capture_output=True)
    port = _port()
    log = tmp_path / "serve.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "sohoa", "serve", "--processes", "2", "--port", str(port)],
                                env=env, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_serving(base, proc, log, "sohoa serve --processes 2")
        for _ in range(20):  # new connections, spread over the processes by the kernel
            r = httpx.get(base + "/healthz", timeout=5, headers={"Connection": "close"})
            assert r.status_code == 200
        assert httpx.get(base + "/api/v1/openapi.json", timeout=5).status_code == 200
        # the web server processes: two, each with its own app built from the same home
        workers = [c for c in _children(proc.pid) if b"sohoa" in Path(f"/proc/{c}/cmdline").read_bytes()
                   or b"multiprocessing" in Path(f"/proc/{c}/cmdline").read_bytes()]
        assert len(workers) >= 2, workers
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
    text = log.read_text()
    assert text.count("Application startup complete") == 2, text
