#!/usr/bin/env python
"""Load beside live ingest, on PostgreSQL: 50 API clients making 200 reuse lookups per second in
all, and 20 staff browsing the web UI, while ``sohoa run`` ingests scans dropped into its inbox —
p50 / p99 per endpoint under that load against the same endpoints unloaded in the same run (one
request at a time, nothing ingesting), and the errors.

    python bench/load.py                                   # 60 s of load, 100k documents / 30k subjects
    python bench/load.py --duration 30 --documents 20000 --subjects 6000    # a quick run
    python bench/load.py --web-processes 0                 # everything in one `sohoa run`
    python bench/load.py --pg-url postgresql+psycopg://postgres@127.0.0.1:5432/test --pg-schema sohoa_load

The server is the real thing, in the layout docs/operations.md gives an office whose API other
systems query ("Keeping the counter quick"): `sohoa run --no-web` (watcher, in-process OCR workers,
portal sync), `sohoa serve --only web` for the staff pages and `sohoa serve --only api` for the
API, each in its own process (``--web-processes 0``: the default install's single `sohoa run`
serving both and ingesting). The clients run on one asyncio loop (uvloop) in this process, each
with its own keep-alive connection (aiohttp for the API, httpx for the staff). Lookups are open-loop: each API client
sends at its fixed rate whatever the answers' times, so a slow server shows as latency, not as a
lower rate. Staff each log in with their own account and open a page every ``--think`` seconds:
the dossier list, a deep page, a search, a dossier, a document, the live inbox, the unassigned
queue. Goals: 0 errors, p99 <= 10 ms for reuse lookups over HTTP, <= 300 ms for staff pages.
"""
from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
STAFF_PASSWORD = "bench-load-mật-khẩu"


def _bench_module(name: str):
    """bench/registry.py by path: its file name must not shadow the registry package."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", HERE / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, int(round(p / 100 * len(xs))) - 1))] if xs else float("nan")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc), whatever else runs on the machine."""
    f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int | list[int]) -> float:
    """``cpu_seconds`` of processes and their live descendants (the web server's processes)."""
    total = 0.0
    for p in _bench_module("proctree").tree(*(pid if isinstance(pid, list) else [pid])):
        try:
            total += cpu_seconds(p)
        except OSError:  # ended meanwhile
            pass
    return total


cpu_seconds_of = cpu_seconds  # the server's CPU: its own process, or its tree (--web-processes)


class Recorder:
    def __init__(self) -> None:
        self.times: dict[str, list[float]] = {}
        self.errors: dict[str, list[str]] = {}

    def add(self, endpoint: str, ms: float, error: str | None = None) -> None:
        self.times.setdefault(endpoint, [])
        self.errors.setdefault(endpoint, [])
        if error is None:
            self.times[endpoint].append(ms)
        else:
            self.errors[endpoint].append(error)


async def timed(rec: Recorder, endpoint: str, coro, expect: int = 200) -> None:
    t0 = time.perf_counter()
    try:
        r = await coro
    except Exception as exc:  # noqa: BLE001 - a transport error is an error of this endpoint
        rec.add(endpoint, 0.0, f"{type(exc).__name__}: {exc}"[:200])
        return
    ms = (time.perf_counter() - t0) * 1000
    rec.add(endpoint, ms, None if r.status_code == expect else f"HTTP {r.status_code}")


class ApiClient:
    """One API client system: one keep-alive connection (aiohttp, whose client costs a fraction of
    httpx's CPU per request: the generator shares the server's cores, and its own time per
    request lands in the measured latency). ``post`` answers an object with ``status_code``."""

    def __init__(self, base: str, headers: dict[str, str]) -> None:
        import aiohttp

        self.session = aiohttp.ClientSession(
            base_url=base, headers=headers, timeout=aiohttp.ClientTimeout(total=30),
            # idle connections dropped well before the server's 5 s keep-alive ends, so a request
            # never races the server closing its connection
            connector=aiohttp.TCPConnector(limit=1, keepalive_timeout=2.0))

    async def post(self, url: str, json: dict):
        async with self.session.post(url, json=json) as r:
            await r.read()
            return types.SimpleNamespace(status_code=r.status)

    async def aclose(self) -> None:
        await self.session.close()


async def login(client, username: str) -> None:
    page = await client.get("/login")
    tok = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = await client.post("/login", data={"username": username, "password": STAFF_PASSWORD, "csrf_token": tok},
                          follow_redirects=False)
    if r.status_code != 303:
        raise SystemExit(f"login of {username} failed: HTTP {r.status_code}")


def staff_pages(rnd: random.Random, codes: list[str], doc_ids: list[int], names: list[str]) -> list[tuple[str, str]]:
    from vocab.text import fold

    return [
        ("staff: dossier list", "/dossiers"),
        ("staff: deep page", f"/dossiers?page={rnd.randint(50, 400)}"),
        ("staff: search a name", "/dossiers?q=" + fold(rnd.choice(names)).replace(" ", "+")),
        ("staff: a dossier", f"/dossiers/{rnd.choice(codes)}"),
        ("staff: a document", f"/documents/{rnd.choice(doc_ids)}"),
        ("staff: live inbox", "/inbox"),
        ("staff: unassigned", "/unassigned"),
    ]


async def run_load(args, base: str, token: str, pids: list[str], codes, doc_ids, names, inbox: Path,
                   scans: list[Path], server_pid: int | list[int],
                   api_base: str | None = None) -> tuple[Recorder, Recorder, dict]:
    import httpx

    rnd = random.Random(5)
    unloaded, loaded = Recorder(), Recorder()
    api_headers = {"Authorization": f"Bearer {token}"}
    # one connection per client; idle ones dropped well before the server's 5 s keep-alive ends, so
    # a request never races the server closing its connection (a browser retries such a GET)
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1, keepalive_expiry=2.0)
    api = [ApiClient(api_base or base, api_headers) for _ in range(args.clients)]
    staff = [httpx.AsyncClient(base_url=base, timeout=60, limits=limits) for _ in range(args.staff)]
    stats: dict = {}
    try:
        for i, c in enumerate(staff):
            await login(c, f"bench{i:02d}")
        # warm-up, then unloaded: one request at a time, nothing ingesting
        for pid in pids[:100]:
            await timed(Recorder(), "warm", api[0].post("/api/v1/subjects/documents", json={"subject_id": pid}))
        for _ in range(3 if staff else 0):
            for label, url in staff_pages(rnd, codes, doc_ids, names):
                await timed(Recorder(), "warm", staff[0].get(url))
        cpu0 = cpu_seconds_of(server_pid)
        for i in range(args.unloaded):
            await timed(unloaded, "reuse lookup (API)", api[i % len(api)].post(
                "/api/v1/subjects/documents", json={"subject_id": rnd.choice(pids)}))
        stats["cpu_per_lookup"] = (cpu_seconds_of(server_pid) - cpu0) / max(1, args.unloaded) * 1000
        for _ in range(max(5, args.unloaded // 20) if staff else 0):
            for label, url in staff_pages(rnd, codes, doc_ids, names):
                await timed(unloaded, label, staff[rnd.randrange(len(staff))].get(url))

        loop = asyncio.get_running_loop()
        start = loop.time() + 0.5
        stop = start + args.duration
        per_client = args.rate / args.clients
        slips: list[float] = []

        async def api_client(c) -> None:
            r = random.Random(id(c))
            nxt = start + r.random() / per_client
            while nxt < stop:
                delay = nxt - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                else:
                    slips.append(-delay * 1000)
                await timed(loaded, "reuse lookup (API)", c.post("/api/v1/subjects/documents",
                                                                 json={"subject_id": r.choice(pids)}))
                nxt += 1 / per_client

        async def staff_member(c, i: int) -> None:
            r = random.Random(1000 + i)
            await asyncio.sleep(max(0.0, start - loop.time()) + r.random() * args.think)
            while loop.time() < stop:
                label, url = r.choice(staff_pages(r, codes, doc_ids, names))
                await timed(loaded, label, c.get(url))
                await asyncio.sleep(args.think * (0.5 + r.random()))

        async def feed_inbox() -> None:
            await asyncio.sleep(max(0.0, start - loop.time()))
            gap = args.duration * 0.6 / max(1, len(scans))
            for p in scans:  # a scanner dropping files through the run (renamed in: arrives whole)
                os.replace(p, inbox / p.name)
                await asyncio.sleep(gap)

        t0 = time.monotonic()
        cpu0, mine0 = cpu_seconds_of(server_pid), time.process_time()
        await asyncio.gather(*(api_client(c) for c in api), *(staff_member(c, i) for i, c in enumerate(staff)),
                             feed_inbox())
        stats["elapsed"] = time.monotonic() - t0 - 0.5
        stats["server_cpu"] = cpu_seconds_of(server_pid) - cpu0
        stats["client_cpu"] = time.process_time() - mine0
        stats["late_sends"] = len(slips)
        stats["slip_p99"] = pct(slips, 99) if slips else 0.0
    finally:
        for c in api + staff:
            await c.aclose()
    return unloaded, loaded, stats


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    ap.add_argument("--clients", type=int, default=50, help="API clients")
    ap.add_argument("--rate", type=float, default=200.0, help="reuse lookups per second, all clients together")
    ap.add_argument("--staff", type=int, default=20, help="staff browsing the web UI")
    ap.add_argument("--think", type=float, default=2.0, help="mean seconds between a staff member's pages")
    ap.add_argument("--scans", type=int, default=6, help="scans dropped into the inbox during the load")
    ap.add_argument("--unloaded", type=int, default=400, help="unloaded lookups (staff pages: a twentieth, >= 5 each)")
    ap.add_argument("--documents", type=int, default=100_000)
    ap.add_argument("--subjects", type=int, default=30_000)
    ap.add_argument("--workers", type=int, default=1, help="OCR workers of the server (SOHOA_WORKERS)")
    ap.add_argument("--ocr-nice", type=int, default=None,
                    help="the OCR workers' niceness (SOHOA_OCR_NICE; default: the setting's default)")
    ap.add_argument("--web-nice", type=int, default=None,
                    help="with --api-apart: the staff pages' server's niceness (SOHOA_WEB_NICE; default: the setting's)")
    ap.add_argument("--web-processes", type=int, default=1,
                    help="0: one `sohoa run` serves the web and ingests (the default install); N (default 1): the "
                         "office split, `sohoa run --no-web` ingests and `sohoa serve --processes N` serves")
    ap.add_argument("--api-apart", type=int, default=1, metavar="K",
                    help="with --web-processes: the API in K processes of its own (`sohoa serve --only api`) on "
                         "another port, the staff pages in the --web-processes ones (`--only web`); 0: one "
                         "`sohoa serve` for both (default 1)")
    ap.add_argument("--pg-url", default=None, help=f"PostgreSQL (default: $SOHOA_DATABASE_URL or {DEFAULT_PG})")
    ap.add_argument("--pg-schema", default="sohoa_load")
    args = ap.parse_args(argv)
    env_url = os.environ.get("SOHOA_DATABASE_URL", "")
    pg = args.pg_url or (env_url if env_url.startswith("postgresql") else DEFAULT_PG)
    sep = "&" if "?" in pg else "?"
    url = f"{pg}{sep}options=-csearch_path%3D{args.pg_schema}"
    sys.path.insert(0, str(ROOT))

    from sqlalchemy import create_engine, select, text

    from registry.auth import add_client
    from registry.db import Database
    from registry.models import Document, Dossier, IngestEntry, Subject
    from registry.staff import add_staff

    regbench = _bench_module("registry")
    admin = create_engine(pg)
    with admin.begin() as c:
        c.execute(text(f'DROP SCHEMA IF EXISTS "{args.pg_schema}" CASCADE'))
        c.execute(text(f'CREATE SCHEMA "{args.pg_schema}"'))
    admin.dispose()
    db = Database(url)
    db.migrate()
    t0 = time.perf_counter()
    counts = regbench.seed(db, args.documents, args.subjects)
    regbench.settle(db)
    print(f"load benchmark on PostgreSQL ({args.pg_schema}): seeded {counts['documents']:,} documents, "
          f"{counts['subjects']:,} subjects, {counts['dossiers']:,} dossiers in {time.perf_counter() - t0:.1f} s",
          flush=True)
    with db.session() as s:
        _, token = add_client(s, f"bench-load-{os.getpid()}", "reuse:read")
        for i in range(args.staff):
            add_staff(s, f"bench{i:02d}", STAFF_PASSWORD, name=f"Cán bộ {i}", role="clerk")
    rnd = random.Random(3)
    pids = [regbench.pid_of(rnd.randrange(args.subjects)) for _ in range(2000)]
    with db.session() as s:
        codes = list(s.scalars(select(Dossier.code).order_by(Dossier.id).limit(500)))
        doc_ids = list(s.scalars(select(Document.id).order_by(Document.id.desc()).limit(500)))
        names = sorted(set(s.scalars(select(Subject.name).limit(50))))

    home = Path(tempfile.mkdtemp(prefix="sohoa-bench-load-"))
    staging = home / "staging"
    staging.mkdir()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOHOA_")}
    env.update(SOHOA_HOME=str(home), SOHOA_DATABASE_URL=url, SOHOA_WEB_PORT=str(port), SOHOA_QUIET_SECONDS="1",
               SOHOA_RESCAN_SECONDS="1", SOHOA_WORKERS=str(args.workers), PYTHONUNBUFFERED="1")
    if args.ocr_nice is not None:
        env["SOHOA_OCR_NICE"] = str(args.ocr_nice)
    if args.web_nice is not None:
        env["SOHOA_WEB_NICE"] = str(args.web_nice)
    for i in range(args.scans):  # synthetic ID-card scans, made before the clock starts
        subprocess.run([sys.executable, "-m", "sohoa", "dev", "sample", "cccd", "--subject", regbench.pid_of(i),
                        "--out", str(staging / f"scan-{i:03d}.jpg")], env=env, cwd=ROOT, check=True,
                       capture_output=True)
    scans = sorted(staging.iterdir())
    log = open(home / "run.log", "wb")
    if args.web_processes:  # ingest in its own process, the web in N others
        ingest = subprocess.Popen([sys.executable, "-m", "sohoa", "run", "--no-web"], env=env, cwd=ROOT, stdout=log,
                                  stderr=subprocess.STDOUT)
        web_only = ["--only", "web"] if args.api_apart else []
        server = subprocess.Popen([sys.executable, "-m", "sohoa", "serve", "--processes", str(args.web_processes),
                                   *web_only], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        global cpu_seconds_of
        cpu_seconds_of = tree_cpu_seconds
    else:
        ingest = None
        server = subprocess.Popen([sys.executable, "-m", "sohoa", "run"], env=env, cwd=ROOT, stdout=log,
                                  stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    api_server, api_base = None, None
    if args.web_processes and args.api_apart:
        api_port = free_port()
        api_server = subprocess.Popen([sys.executable, "-m", "sohoa", "serve", "--only", "api", "--port", str(api_port),
                                       "--processes", str(args.api_apart)], env=env, cwd=ROOT, stdout=log,
                                      stderr=subprocess.STDOUT)
        api_base = f"http://127.0.0.1:{api_port}"
    try:
        import httpx
        import uvloop  # the clients' loop: less of the generator's own time in the measured latency

        deadline = time.monotonic() + 120

        def wait_for(url: str, proc, what: str) -> None:
            while True:
                try:
                    if httpx.get(url, timeout=5).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit(f"{what} did not start; see {home / 'run.log'}")
                time.sleep(0.3)

        wait_for(f"{base}/login", server, "sohoa run")
        if api_base:
            wait_for(f"{api_base}/healthz", api_server, "sohoa serve --only api")
        served_by = [server.pid] + ([api_server.pid] if api_server else [])
        unloaded, loaded, stats = uvloop.run(run_load(args, base, token, pids, codes, doc_ids, names,
                                                       home / "inbox", scans,
                                                       served_by if api_server else server.pid, api_base))
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:  # let the last scans finish, for the ingest line
            with db.session() as s:
                states = list(s.scalars(select(IngestEntry.state)))
            if len(states) >= len(scans) and all(st in ("done", "quarantined", "duplicate") for st in states):
                break
            time.sleep(1)
    finally:
        for proc in (server, ingest, api_server):
            if proc is None:
                continue
            proc.terminate()
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.close()
    with db.session() as s:
        states = list(s.scalars(select(IngestEntry.state)))
    load1, load5, _ = os.getloadavg()

    lookups = len(loaded.times.get("reuse lookup (API)", []))
    web_nice = args.web_nice if args.web_nice is not None else "web_nice"
    print(f"load: {args.clients} API clients at {args.rate:.0f} lookups/s in all, {args.staff} staff "
          f"(a page every ~{args.think:.0f} s each), {args.scans} scans into the inbox; {args.duration:.0f} s; "
          f"{args.workers} OCR worker(s); "
          f"{f'web in {args.web_processes} process(es) apart from ingest' if args.web_processes else 'web and ingest in one process'}"
          f"{f', the API in {args.api_apart} of its own (the pages at niceness {web_nice})' if args.api_apart and args.web_processes else ''}; "
          f"{os.cpu_count()} cores, load average {load1:.2f}/{load5:.2f}")
    print(f"achieved {lookups / stats['elapsed']:.0f} lookups/s; sends later than scheduled: {stats['late_sends']} "
          f"(p99 {stats['slip_p99']:.1f} ms behind)")
    print(f"server process CPU: {stats['cpu_per_lookup']:.2f} ms per unloaded lookup; under load "
          f"{stats['server_cpu'] / stats['elapsed']:.2f} cores busy of the {os.cpu_count()} ("
          f"{'the web processes' if args.web_processes else 'web, watcher, pipeline; OCR worker processes not counted'}); the clients (this process) {stats['client_cpu'] / stats['elapsed']:.2f} "
          f"cores")
    print(f"{'endpoint':24} {'unloaded p50':>12} {'p99':>8} {'n':>5} | {'loaded p50':>10} {'p99':>8} {'n':>6} "
          f"{'errors':>6}  goal")
    ok = True
    for ep in ["reuse lookup (API)"] + sorted(k for k in loaded.times if k != "reuse lookup (API)"):
        u, l_ = unloaded.times.get(ep, []), loaded.times.get(ep, [])
        errs = len(loaded.errors.get(ep, [])) + len(unloaded.errors.get(ep, []))
        goal = 10.0 if ep.startswith("reuse") else 300.0
        met = errs == 0 and l_ and pct(l_, 99) <= goal
        ok &= bool(met)
        print(f"{ep:24} {statistics.median(u) if u else float('nan'):9.1f} ms {pct(u, 99):5.1f} ms {len(u):5} | "
              f"{statistics.median(l_) if l_ else float('nan'):7.1f} ms {pct(l_, 99):5.1f} ms {len(l_):6} {errs:6}  "
              f"p99 <= {goal:.0f} ms {'MET' if met else 'MISSED'}")
    for ep, es in sorted(loaded.errors.items()):
        for e in sorted(set(es))[:3]:
            print(f"  error {ep}: {e} (x{es.count(e)})")
    done = states.count("done")
    print(f"ingest during the run: {done} of {len(scans)} scans done, {states.count('quarantined')} quarantined")
    print(f"overall: {'all goals met' if ok else 'goals missed'}; server log {home / 'run.log'}")
    db.dispose()
    shutil.rmtree(staging, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]  # never shadow the registry package
    sys.exit(main())
