"""`sohoa serve --processes N`: the web in several processes sharing one port, apart from ingest
(`sohoa run --no-web`), for an office whose counter and API must stay quick while scans are read."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
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


def _nice(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


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


def test_api_and_staff_pages_served_apart(tmp_path):
    """`--only api` and `--only web`: each server answers its own part (and its health) and
    nothing of the other's, so a page being drawn never holds up a reuse lookup."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOHOA_")}
    env.update(SOHOA_HOME=str(tmp_path / "home"), PYTHONUNBUFFERED="1")
    subprocess.run([sys.executable, "-m", "sohoa", "init"], env=env, cwd=ROOT, check=True, capture_output=True)
    procs = []
    try:
        ports = {}
        for part in ("api", "web"):
            ports[part] = _port()
            log = tmp_path / f"{part}.log"
            with open(log, "wb") as fh:
                procs.append(subprocess.Popen([sys.executable, "-m", "sohoa", "serve", "--only", part, "--port",
                                               str(ports[part])], env=env, cwd=ROOT, stdout=fh,
                                              stderr=subprocess.STDOUT))
        api, web = (f"http://127.0.0.1:{ports[p]}" for p in ("api", "web"))
        wait_until_serving(web, procs[1], tmp_path / "web.log", "sohoa serve --only web")
        for _ in range(200):
            try:
                if httpx.get(api + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                assert procs[0].poll() is None, (tmp_path / "api.log").read_text()
            time.sleep(0.3)
        assert httpx.get(api + "/api/v1/openapi.json", timeout=5).status_code == 200
        r = httpx.post(api + "/api/v1/subjects/documents", json={"subject_id": "001190012345"}, timeout=5)
        assert r.status_code == 401 and r.json()["error"]  # the API's own error shape, asking for its token
        gone = httpx.get(api + "/login", timeout=5)
        assert gone.status_code == 404 and gone.json()["error"]
        assert httpx.get(web + "/login", timeout=5).status_code == 200
        assert httpx.post(web + "/api/v1/subjects/documents", json={"subject_id": "001190012345"},
                          timeout=5).status_code in (404, 405)
        assert httpx.get(web + "/healthz", timeout=5).status_code == 200
        # the pages give the CPU up to the lookups (web_nice, 10, added to ours); the API keeps ours
        assert _nice(os.getpid()) < 9, "run the tests at a niceness below 9: this check needs the room"
        assert _nice(procs[1].pid) == _nice(os.getpid()) + 10
        assert _nice(procs[0].pid) == _nice(os.getpid())
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
            p.wait(60)


def _my_nice() -> int:
    return os.nice(0)


def test_ocr_workers_take_only_the_cpu_people_leave():
    """The OCR pool's processes (and the Tesseract they start) run at the settings' niceness,
    19 by default: the lowest priority, below the staff pages (web_nice) and the API."""
    from sohoa.config import Settings
    from sohoa.jobs.host import page_pool

    assert Settings(home=Path("/nonexistent")).ocr_nice == 19
    assert os.nice(0) < 10, "run the tests at a niceness below 10: this check needs the room"
    pool = page_pool(1, Settings(home=Path("/nonexistent")).ocr_nice)
    try:
        assert pool.submit(_my_nice).result(timeout=60) == 19  # the lowest, whatever ours was
    finally:
        pool.shutdown()
    pool = page_pool(1, 5)
    try:
        assert pool.submit(_my_nice).result(timeout=60) == os.nice(0) + 5
    finally:
        pool.shutdown()
