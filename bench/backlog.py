"""Backlog digitization throughput: pages/min of `sohoa backlog import` on a generated backlog of
one- and two-page results, in-process (SQLite) and on 1 and 2 Celery workers (PostgreSQL +
RabbitMQ), side by side with the in-process OCR rate of `sohoa ocr` on the same pages, measured
in the same run (the ratio is the cost of the import and of the queue); then, from the measured
per-worker rate, the wall time for 51,530 results on 1, 4 and 16 workers.

Usage: bench/backlog.py [--n 500] [--modes ocr,inproc,celery1,celery2] [--pg URL] [--amqp URL]

Each Celery worker runs one OCR process (SOHOA_WORKERS=1), so "N workers" is N cores' worth of
OCR; in-process and `sohoa ocr` use every core of this machine. The databases and queue are the
bench's own (sohoa_sync_bench_*, sohoa.bench.backlog.*) and are dropped afterwards.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sohoa.dev.backlog_samples import make_backlog  # noqa: E402

TARGET = 51_530


def sohoa(env: dict, *args: str, check: bool = True, **kw) -> subprocess.CompletedProcess:
    p = subprocess.run([sys.executable, "-m", "sohoa", *args], env=env, cwd=ROOT, capture_output=True, text=True, **kw)
    if check and p.returncode:
        raise SystemExit(f"sohoa {' '.join(args)} failed:\n{p.stdout}\n{p.stderr}")
    return p


def home_env(home: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOHOA_")}
    env.update(SOHOA_HOME=str(home), PYTHONUNBUFFERED="1", **extra)
    return env


def run_ocr(src: Path, files: list[Path], pages: int, tmp: Path) -> float:
    env = home_env(tmp / "ocr-home")
    t = time.monotonic()
    out = sohoa(env, "ocr", "--json", *map(str, files)).stdout
    secs = time.monotonic() - t
    n = sum(json.loads(line)["pages"] for line in out.splitlines() if line.strip())
    assert n == pages, (n, pages)
    return pages / secs * 60


def run_import(src: Path, env: dict) -> tuple[float, dict]:
    sohoa(env, "init")
    t = time.monotonic()
    rep = json.loads(sohoa(env, "--json", "backlog", "import", str(src), "--manifest", str(src / "manifest.csv"),
                           "--no-progress", timeout=24 * 3600).stdout.splitlines()[-1])
    secs = time.monotonic() - t
    return rep["pages"] / secs * 60, rep


def pg_database(admin_url: str, name: str, drop_only: bool = False) -> str:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            con.execute(f'CREATE DATABASE "{name}"')
    base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{name}"


def run_celery(src: Path, workers: int, tmp: Path, pg_admin: str, amqp: str) -> tuple[float, dict]:
    dbname = f"sohoa_sync_bench_{workers}"
    url = pg_database(pg_admin, dbname)
    home = tmp / f"celery{workers}-home"
    queue = f"sohoa.bench.backlog.{uuid.uuid4().hex[:8]}"
    env = home_env(home, SOHOA_DATABASE_URL=url, SOHOA_BROKER_URL=amqp, SOHOA_QUEUE=queue, SOHOA_WORKERS="1")
    sohoa(env, "init")
    procs = [subprocess.Popen([sys.executable, "-m", "sohoa", "worker", "--concurrency", "2"], env=env, cwd=ROOT,
                              stdout=open(tmp / f"worker{workers}-{i}.log", "w"), stderr=subprocess.STDOUT,
                              start_new_session=True) for i in range(workers)]
    try:
        time.sleep(3)  # connected and consuming
        return run_import(src, env)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
        pg_database(pg_admin, dbname, drop_only=True)


def reachable(url: str, default_port: int) -> bool:
    from urllib.parse import urlsplit

    u = urlsplit(url)
    try:
        socket.create_connection((u.hostname or "127.0.0.1", u.port or default_port), timeout=2).close()
        return True
    except OSError:
        return False


def hours(pages: float, ppm: float) -> str:
    m = pages / ppm
    return f"{m / 60:.1f} h" if m >= 90 else f"{m:.0f} min"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=500, help="results in the generated backlog (default 500)")
    ap.add_argument("--modes", default="ocr,inproc,celery1,celery2")
    ap.add_argument("--pg", default=os.environ.get("SOHOA_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    ap.add_argument("--amqp", default=os.environ.get("SOHOA_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//"))
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = ap.parse_args()
    modes = args.modes.split(",")
    tmp = Path(tempfile.mkdtemp(prefix="sohoa-bench-backlog-"))
    try:
        t = time.monotonic()
        scans = make_backlog(tmp / "src", args.n, seed=2026)
        pages = sum(s.pages for s in scans)
        print(f"bench/backlog: {args.n} generated results ({sum(s.pages == 1 for s in scans)} one-page, "
              f"{sum(s.pages == 2 for s in scans)} two-page), {pages} pages, made in {time.monotonic() - t:.0f}s; "
              f"this machine has {os.cpu_count()} cores" + (" (n < 500: a reduced run)" if args.n < 500 else ""),
              flush=True)
        files = [tmp / "src" / s.file for s in scans]
        rates: dict[str, float] = {}
        ocr_runs: list[float] = []

        def baseline(when: str) -> None:
            ocr_runs.append(run_ocr(tmp / "src", files, pages, tmp))
            print(f"  sohoa ocr, in-process, {os.cpu_count()} OCR processes (baseline, {when}): "
                  f"{ocr_runs[-1]:.1f} pages/min", flush=True)

        if "ocr" in modes:
            baseline("before the imports")
        base = ocr_runs[0] if ocr_runs else None

        def line(name: str, ppm: float, rep: dict) -> None:
            ratio = f", {ppm / base:.2f}× the OCR rate before" if base else ""
            print(f"  {name}: {ppm:.1f} pages/min{ratio} (imported {rep['imported']}, review {rep['review']}, "
                  f"rejected {rep['rejected']}, duplicates {rep['duplicate']})", flush=True)

        if "inproc" in modes:
            rates["inproc"], rep = run_import(tmp / "src", home_env(tmp / "inproc-home"))
            line(f"backlog import, in-process, SQLite, {os.cpu_count()} OCR processes", rates["inproc"], rep)
        for w in (1, 2):
            if f"celery{w}" not in modes:
                continue
            if not (reachable(args.pg, 5432) and reachable(args.amqp, 5672)):
                print(f"  celery{w}: skipped, PostgreSQL or RabbitMQ not reachable")
                continue
            rates[f"celery{w}"], rep = run_celery(tmp / "src", w, tmp, args.pg, args.amqp)
            line(f"backlog import, Celery, {w} worker{'s' if w > 1 else ''} (1 OCR process each), "
                 f"PostgreSQL + RabbitMQ", rates[f"celery{w}"], rep)
        per_worker = rates.get("celery1") or (rates["inproc"] / (os.cpu_count() or 1) if "inproc" in rates else None)
        if per_worker:
            ppr = pages / args.n
            total = TARGET * ppr
            src = "1 Celery worker" if "celery1" in rates else "in-process rate per core"
            print(f"  {TARGET:,} results × {ppr:.2f} pages = {total:,.0f} pages at {per_worker:.1f} pages/min per worker "
                  f"({src}), scaling linearly: 1 worker {hours(total, per_worker)}, 4 workers "
                  f"{hours(total, 4 * per_worker)}, 16 workers {hours(total, 16 * per_worker)}", flush=True)
            if "celery2" in rates and "celery1" in rates:
                print(f"  measured scaling 1 → 2 workers: {rates['celery2'] / rates['celery1']:.2f}× "
                      f"(on {os.cpu_count()} cores shared with the database, the broker and the importer)", flush=True)
        if "ocr" in modes and len(rates) > 0:
            baseline("after the imports; the machine is shared, so both are shown")
            base = sum(ocr_runs) / len(ocr_runs)
            print(f"  ratios to the mean OCR rate {base:.1f} pages/min: " + ", ".join(
                f"{k} {v / base:.2f}×" for k, v in rates.items()), flush=True)
            if "celery1" in rates:  # one worker has one OCR process: compare it with one process's share
                per = base / (os.cpu_count() or 1)
                print(f"  per OCR process: sohoa ocr {per:.1f} pages/min, 1 Celery worker {rates['celery1']:.1f} "
                      f"pages/min ({rates['celery1'] / per:.2f}×)", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"kept {tmp}")


if __name__ == "__main__":
    main()
