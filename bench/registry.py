#!/usr/bin/env python
"""Registry benchmark: seed N documents for M subjects, then time the subject lookup (the once-only
query other systems make) directly (function call) and through the HTTP API (real uvicorn on
loopback, httpx keep-alive client), on SQLite and on PostgreSQL.

    python bench/registry.py                                  # 1,000,000 documents / 300,000 subjects, both DBs
    python bench/registry.py --documents 20000 --subjects 6000 --backend sqlite   # a quick run
    SOHOA_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test python bench/registry.py --backend postgres

PostgreSQL runs in its own schema (``--pg-schema``, dropped and recreated on seeding). Each lookup,
like the API, writes one audit event and commits. Target: p99 <= 10 ms at 1M documents.
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DOC_TYPES = ("cccd", "khai_sinh", "ket_hon", "xac_nhan_hon_nhan", "gcn_qsdd", "to_khai", "bang_tot_nghiep",
             "giay_phep_lai_xe")
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BATCH = 20_000


def pid_of(i: int) -> str:
    """A unique, well-formed 12-digit personal ID number for subject number ``i`` (0-based)."""
    return f"{i % 96 + 1:03d}{2 + i % 2}{i:08d}"


def _ts(t: dt.datetime, sqlite: bool) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else t.isoformat()


def generate(n_docs: int, n_subj: int, sqlite: bool):
    """Row tuples per table, in batches: (table, columns, rows)."""
    rnd = random.Random(42)
    now = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    today = dt.date(2026, 1, 1)
    b = (lambda x: 1 if x else 0) if sqlite else (lambda x: x)
    names = ("Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường", "Phạm Thị Dung", "Hoàng Văn Em")
    cols = ("id", "kind", "identifier", "name", "name_folded", "created_at")
    rows = []
    for i in range(n_subj):
        rows.append((i + 1, "citizen", pid_of(i), names[i % 5], "", _ts(now, sqlite)))
        if len(rows) >= BATCH:
            yield "subjects", cols, rows
            rows = []
    if rows:
        yield "subjects", cols, rows
    cols = ("id", "sha256", "size", "pages", "mime", "text", "text_folded", "doc_type", "type_confidence", "fields",
            "field_confidences", "quality", "digitization_code", "sealed", "subject_id", "ingest_id", "page_from",
            "page_to", "source_name", "valid_until", "created_at", "created_by")
    rows = []
    for i in range(n_docs):
        subj = i % n_subj
        r = rnd.random()
        valid_until = None if r < 0.6 else (today + dt.timedelta(days=rnd.randint(-400, 3650))).isoformat()
        fields = json.dumps({"ho_ten": names[subj % 5], "so_dinh_danh": pid_of(subj), "so": f"{i}/2025"},
                            ensure_ascii=False)
        rows.append((i + 1, hashlib.sha256(b"bench-%d" % i).hexdigest(), 50_000 + i % 1000, 1 + i % 3,
                     "application/pdf", "", "", DOC_TYPES[i % len(DOC_TYPES)], 0.9, fields, "{}", "ok",
                     f"BENCH-{i:09d}", b(r < 0.7), subj + 1, None, 1, 1, "", valid_until,
                     _ts(now - dt.timedelta(minutes=i), sqlite), "bench"))
        if len(rows) >= BATCH:
            yield "documents", cols, rows
            rows = []
    if rows:
        yield "documents", cols, rows
    # one dossier per subject; its result = the subject's 1st document, a component = its 2nd
    dcols = ("id", "code", "subject_id", "procedure_code", "channel", "unit", "status", "pause_reason",
             "received_at", "due_at", "completed_at", "late", "apology_ref", "created_by")
    rcols = ("id", "dossier_id", "document_id", "valid_from", "valid_until", "reusable", "electronic", "created_at")
    ccols = ("id", "dossier_id", "doc_type", "document_id", "origin", "routed_by", "created_at")
    ds, rs, cs = [], [], []
    for i in range(n_subj):
        rec = now - dt.timedelta(hours=i % 8000)
        ds.append((i + 1, f"000.00.01.H29-{rec:%y%m%d}-{i + 1:06d}", i + 1, "1.001193", "counter", "000.00.01.H29",
                   "completed", None, _ts(rec, sqlite), _ts(rec + dt.timedelta(days=1), sqlite),
                   _ts(rec + dt.timedelta(hours=20), sqlite), b(False), None, "bench"))
        if i < n_docs:
            rs.append((i + 1, i + 1, i + 1, today.isoformat(), None, b(True), b(True), _ts(rec, sqlite)))
        if i + n_subj < n_docs:
            cs.append((i + 1, i + 1, DOC_TYPES[(i + n_subj) % len(DOC_TYPES)], i + n_subj + 1, "scanned", "qr",
                       _ts(rec, sqlite)))
        if len(ds) >= BATCH:
            yield "dossiers", dcols, ds
            yield "results", rcols, rs
            yield "components", ccols, cs
            ds, rs, cs = [], [], []
    if ds:
        yield "dossiers", dcols, ds
        yield "results", rcols, rs
        yield "components", ccols, cs


def seed(db, n_docs: int, n_subj: int) -> dict[str, int]:
    """Bulk insert (sqlite3 executemany / PostgreSQL COPY), then ANALYZE."""
    from registry.service import seed_procedures

    with db.session() as s:
        seed_procedures(s)
    sqlite = db.url.startswith("sqlite")
    counts: dict[str, int] = {}
    raw = db.engine.raw_connection()
    try:
        conn = raw.driver_connection
        if sqlite:
            conn.execute("PRAGMA synchronous=OFF")
            conn.execute("BEGIN")
            for table, cols, rows in generate(n_docs, n_subj, True):
                conn.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", rows)
                counts[table] = counts.get(table, 0) + len(rows)
            conn.execute("COMMIT")
            conn.execute("ANALYZE")
            conn.execute("PRAGMA synchronous=FULL")
        else:
            with conn.cursor() as cur:
                for table, cols, rows in generate(n_docs, n_subj, False):
                    with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as cp:
                        for row in rows:
                            cp.write_row(row)
                    counts[table] = counts.get(table, 0) + len(rows)
                for table in ("subjects", "documents", "dossiers", "results", "components"):
                    cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                f"(SELECT COALESCE(MAX(id), 1) FROM {table}))")
            conn.commit()
            conn.autocommit = True
            conn.execute("ANALYZE")
            conn.autocommit = False
    finally:
        raw.close()
    return counts


def settle(db) -> None:
    """Let the bulk load settle before timing: checkpoint the WAL (SQLite), vacuum/analyze and
    checkpoint (PostgreSQL), so the timed lookups see a steady state, not post-load maintenance."""
    raw = db.engine.raw_connection()
    try:
        conn = raw.driver_connection
        if db.url.startswith("sqlite"):
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            conn.commit()
            conn.autocommit = True
            conn.execute("VACUUM ANALYZE")
            conn.execute("CHECKPOINT")
            conn.autocommit = False
    finally:
        raw.close()


def percentiles(xs: list[float]) -> tuple[float, float, float]:
    xs = sorted(xs)
    p99 = xs[min(len(xs) - 1, int(round(0.99 * len(xs))) - 1)]
    return statistics.median(xs), p99, xs[-1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(url: str, home: str, port: int) -> None:
    """Child process: the real app under uvicorn."""
    import uvicorn

    from registry.db import Database
    from sohoa.config import load_settings
    from sohoa.web.app import create_app

    settings = load_settings(home, env={}, database_url=url)
    settings.ensure_dirs()
    app = create_app(settings, Database(url))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=True)


def run_backend(name: str, url: str, args) -> list[str]:
    import httpx
    from sqlalchemy import func, select

    from registry.db import read_audit_session
    from registry.reuse import lookup_subject_documents
    from registry.auth import add_client
    from registry.db import Database
    from registry.models import Document, Subject

    lines = []

    def say(msg: str) -> None:
        line = f"[{name}] {msg}"
        print(line, flush=True)
        lines.append(line)

    db = Database(url)
    if not url.startswith("sqlite"):
        from sqlalchemy import create_engine, text

        admin = create_engine(args.pg_url)
        with admin.begin() as c:
            if not args.reuse_seed:
                c.execute(text(f'DROP SCHEMA IF EXISTS "{args.pg_schema}" CASCADE'))
            c.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{args.pg_schema}"'))
        admin.dispose()
    db.migrate()
    with db.session() as s:
        have_docs = s.scalar(select(func.count()).select_from(Document))
        have_subj = s.scalar(select(func.count()).select_from(Subject))
    if args.reuse_seed and have_docs == args.documents and have_subj == args.subjects:
        say(f"reusing the seeded registry: {have_docs:,} documents, {have_subj:,} subjects")
    else:
        if have_docs:
            raise SystemExit(f"[{name}] the registry at {url} already holds {have_docs} documents: use a fresh one")
        t0 = time.perf_counter()
        counts = seed(db, args.documents, args.subjects)
        el = time.perf_counter() - t0
        say(f"seeded {counts['documents']:,} documents, {counts['subjects']:,} subjects, "
            f"{counts['dossiers']:,} dossiers, {counts['results']:,} results, {counts['components']:,} components "
            f"in {el:.1f} s ({counts['documents'] / el:,.0f} documents/s incl. indexes)")
    t0 = time.perf_counter()
    settle(db)
    say(f"settled (WAL checkpoint / VACUUM ANALYZE + CHECKPOINT) in {time.perf_counter() - t0:.1f} s")
    with db.session() as s:
        _, token = add_client(s, f"bench-{os.getpid()}-{time.time_ns()}", "reuse:read")

    rnd = random.Random(7)
    sample = [pid_of(rnd.randrange(args.subjects)) for _ in range(args.queries)]
    warm = [pid_of(rnd.randrange(args.subjects)) for _ in range(min(200, args.queries))]
    n_found = 0

    def direct(pid: str) -> int:
        with read_audit_session(db) as s:  # exactly what the endpoint does, minus HTTP
            return len(lookup_subject_documents(s, "client:bench", pid)["documents"])

    for pid in warm:
        direct(pid)
    times = []
    for pid in sample:
        t0 = time.perf_counter()
        n_found += direct(pid)
        times.append((time.perf_counter() - t0) * 1000)
    p50, p99, mx = percentiles(times)
    say(f"subject lookup direct (function call + audit commit), n={len(times)}: "
        f"p50 {p50:.2f} ms  p99 {p99:.2f} ms  max {mx:.2f} ms  ({n_found / len(sample):.1f} documents/subject)")
    direct_p99 = p99

    port = free_port()
    home = tempfile.mkdtemp(prefix="sohoa-bench-home-")
    log = open(Path(home) / "uvicorn.log", "wb")
    child = subprocess.Popen([sys.executable, __file__, "--serve", "--url", url, "--home", home, "--port", str(port)],
                             stdout=log, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as c:
            while True:
                try:
                    if c.get("/api/v1/openapi.json").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or child.poll() is not None:
                    raise SystemExit(f"[{name}] the API server did not start; see {log.name}")
                time.sleep(0.1)
            for pid in warm:
                c.post("/api/v1/subjects/documents", json={"subject_id": pid}).raise_for_status()
            times = []
            for pid in sample:
                t0 = time.perf_counter()
                r = c.post("/api/v1/subjects/documents", json={"subject_id": pid})
                times.append((time.perf_counter() - t0) * 1000)
                r.raise_for_status()
    finally:
        child.terminate()
        child.wait(20)
        log.close()
    p50, p99, mx = percentiles(times)
    say(f"subject lookup API (uvicorn + httpx on loopback, audited), n={len(times)}: "
        f"p50 {p50:.2f} ms  p99 {p99:.2f} ms  max {mx:.2f} ms")
    say("machine load (1/5/15 min) during the run: " + "/".join(f"{x:.2f}" for x in os.getloadavg())
        + f" on {os.cpu_count()} cores")
    ok = p99 <= 10 and direct_p99 <= 10
    say(f"p99 <= 10 ms at {args.documents:,} documents / {args.subjects:,} subjects: {'PASS' if ok else 'FAIL'}")
    db.dispose()
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--documents", type=int, default=1_000_000)
    ap.add_argument("--subjects", type=int, default=300_000)
    ap.add_argument("--queries", type=int, default=2000, help="timed lookups per path (after 200 warm-up)")
    ap.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    ap.add_argument("--sqlite-path", default=None, help="SQLite file (default: a new temp file)")
    ap.add_argument("--pg-url", default=None, help=f"PostgreSQL URL (default: $SOHOA_DATABASE_URL or {DEFAULT_PG})")
    ap.add_argument("--pg-schema", default="sohoa_bench")
    ap.add_argument("--reuse-seed", action="store_true", help="keep an already seeded registry of the same size")
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--url", help=argparse.SUPPRESS)
    ap.add_argument("--home", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.serve:
        serve(args.url, args.home, args.port)
        return 0
    env_url = os.environ.get("SOHOA_DATABASE_URL", "")
    args.pg_url = args.pg_url or (env_url if env_url.startswith("postgresql") else DEFAULT_PG)
    if args.documents < 1 or args.subjects < 1:
        ap.error("--documents and --subjects must be positive")
    print(f"registry benchmark: {args.documents:,} documents, {args.subjects:,} subjects, "
          f"{args.queries} lookups per path", flush=True)
    lines = []
    if args.backend in ("sqlite", "both"):
        path = Path(args.sqlite_path or Path(tempfile.mkdtemp(prefix="sohoa-bench-")) / "registry.db")
        if path.exists() and not args.reuse_seed:
            raise SystemExit(f"{path} exists: remove it, or pass --reuse-seed")
        lines += run_backend("sqlite", f"sqlite:///{path}", args)
    if args.backend in ("postgres", "both"):
        sep = "&" if "?" in args.pg_url else "?"
        url = f"{args.pg_url}{sep}options=-csearch_path%3D{args.pg_schema}"
        lines += run_backend("postgres", url, args)
    return 0 if all("FAIL" not in ln for ln in lines) else 1


if __name__ == "__main__":
    _here = Path(__file__).resolve().parent  # this file is named registry.py: never shadow the package
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _here]
    sys.path.insert(0, str(_here.parent))
    sys.exit(main())
