#!/usr/bin/env python
"""Web UI lists and search at office scale: 10,000 dossiers and 50,000 documents (default), the
dossier list, a deep page, a filtered list and searches (a name without diacritics, words of
document text, a code fragment) answered by the real app (ASGI in-process: routing, session
check, query, template, audit write) — against a named baseline measured in the same run: a bare
``SELECT`` of the same page of dossiers on the same connection.

    python bench/web.py                              # SQLite, 10k dossiers / 50k documents
    python bench/web.py --dossiers 2000 --documents 10000 --rounds 10    # quick
    python bench/web.py --backend postgres --pg-url postgresql+psycopg://postgres@127.0.0.1:5432/sohoa_web

Target: p95 < 300 ms per query on the server.
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vocab.text import fold  # noqa: E402

FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô",
          "Dương", "Lý")
MIDDLE = ("Văn", "Thị", "Minh", "Ngọc", "Thanh", "Quốc", "Thu", "Hữu", "Đức", "Kim")
GIVEN = ("An", "Bình", "Cường", "Dũng", "Hạnh", "Lan", "Mai", "Nam", "Phúc", "Quân", "Sơn", "Tâm", "Trang", "Tuấn",
         "Vy", "Yến", "Hùng", "Linh", "Long", "Thảo")
TYPES = ("cccd", "khai_sinh", "ket_hon", "to_khai", "xac_nhan_hon_nhan", "gcn_qsdd", "van_ban")
TITLES = {"cccd": "CĂN CƯỚC CÔNG DÂN", "khai_sinh": "GIẤY KHAI SINH", "ket_hon": "GIẤY CHỨNG NHẬN KẾT HÔN",
          "to_khai": "TỜ KHAI ĐĂNG KÝ", "xac_nhan_hon_nhan": "GIẤY XÁC NHẬN TÌNH TRẠNG HÔN NHÂN",
          "gcn_qsdd": "GIẤY CHỨNG NHẬN QUYỀN SỬ DỤNG ĐẤT", "van_ban": "QUYẾT ĐỊNH VỀ VIỆC PHÊ DUYỆT"}
PROCS = ("1.001193", "1.000894", "1.004873", "1.000656")
STATUSES = ("received", "processing", "processing", "paused", "completed", "completed", "completed")
PER_PAGE = 25


def generate(n_dossiers: int, n_docs: int, sqlite: bool):
    rnd = random.Random(11)
    base = dt.datetime(2026, 1, 1, 1, 0, tzinfo=dt.timezone.utc)
    ts = (lambda t: t.strftime("%Y-%m-%d %H:%M:%S.%f")) if sqlite else (lambda t: t)
    b = (lambda x: 1 if x else 0) if sqlite else (lambda x: x)
    subjects, dossiers, documents, components = [], [], [], []
    for i in range(n_dossiers):
        name = f"{rnd.choice(FAMILY)} {rnd.choice(MIDDLE)} {rnd.choice(GIVEN)}"
        pid = f"{i % 96 + 1:03d}{rnd.choice('0123')}{rnd.randint(50, 99):02d}{i:06d}"
        subjects.append((i + 1, "citizen", pid, name, fold(name), ts(base)))
        rec = base + dt.timedelta(minutes=45 * i)
        status = rnd.choice(STATUSES)
        done = rec + dt.timedelta(days=rnd.randint(1, 9)) if status == "completed" else None
        dossiers.append((i + 1, f"000.00.01.H29-{rec:%y%m%d}-{i % 10000:04d}", i + 1, rnd.choice(PROCS), "counter",
                         "000.00.01.H29" if i % 4 else "000.00.02.H29", status,
                         "chờ bổ sung" if status == "paused" else None, ts(rec), ts(rec + dt.timedelta(days=7)),
                         ts(done) if done else None, b(False), None, "bench"))
    per = max(1, n_docs // n_dossiers)
    for j in range(n_docs):
        d = j // per if j // per < n_dossiers else rnd.randrange(n_dossiers)
        t = TYPES[j % len(TYPES)]
        name = subjects[d][3]
        text = (f"CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc\n{TITLES[t]}\n"
                f"Họ và tên: {name}\nSố định danh: {subjects[d][2]}\nNơi cư trú: thôn {rnd.randint(1, 30)}, "
                f"xã {rnd.choice(GIVEN)} {rnd.choice(FAMILY)}\nSố: {j}/2026")
        documents.append((j + 1, hashlib.sha256(b"web-%d" % j).hexdigest(), 40_000, 1, "application/pdf", text,
                          fold(text), t, 0.9, json.dumps({"ho_ten": name}, ensure_ascii=False), "{}", "ok", None,
                          b(True), d + 1, None, 1, 1, f"scan-{j}.pdf", None, ts(base + dt.timedelta(minutes=9 * j)),
                          "bench"))
        components.append((j + 1, d + 1, t, j + 1, "scanned", "qr", ts(base)))
    return {
        "subjects": (("id", "kind", "identifier", "name", "name_folded", "created_at"), subjects),
        "dossiers": (("id", "code", "subject_id", "procedure_code", "channel", "unit", "status", "pause_reason",
                      "received_at", "due_at", "completed_at", "late", "apology_ref", "created_by"), dossiers),
        "documents": (("id", "sha256", "size", "pages", "mime", "text", "text_folded", "doc_type", "type_confidence",
                       "fields", "field_confidences", "quality", "digitization_code", "sealed", "subject_id",
                       "ingest_id", "page_from", "page_to", "source_name", "valid_until", "created_at", "created_by"),
                      documents),
        "components": (("id", "dossier_id", "doc_type", "document_id", "origin", "routed_by", "created_at"),
                       components),
    }


def seed(db, n_dossiers: int, n_docs: int) -> None:
    from registry.service import seed_procedures

    with db.session() as s:
        seed_procedures(s)
    sqlite = db.url.startswith("sqlite")
    data = generate(n_dossiers, n_docs, sqlite)
    raw = db.engine.raw_connection()
    try:
        cur = raw.cursor()
        for table in ("subjects", "dossiers", "documents", "components"):
            cols, rows = data[table]
            ph = ",".join(["?" if sqlite else "%s"] * len(cols))
            cur.executemany(f"INSERT INTO {table} ({','.join(cols)}) VALUES ({ph})", rows)
        cur.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()


def timeit(fn, rounds: int) -> list[float]:
    fn()  # warm (template compile, caches)
    out = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dossiers", type=int, default=10_000)
    ap.add_argument("--documents", type=int, default=50_000)
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/sohoa_web")
    args = ap.parse_args()

    from fastapi.testclient import TestClient
    from sqlalchemy import text

    from registry.db import Database
    from registry.staff import add_staff
    from sohoa.config import load_settings
    from sohoa.web.app import create_app

    home = Path(tempfile.mkdtemp(prefix="sohoa-bench-web-"))
    env = {"SOHOA_DATABASE_URL": args.pg_url} if args.backend == "postgres" else {}
    settings = load_settings(home, env=env)
    settings.ensure_dirs()
    db = Database(settings.db_url)
    if args.backend == "postgres":
        with db.engine.begin() as c:
            c.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    db.migrate()
    t0 = time.perf_counter()
    seed(db, args.dossiers, args.documents)
    with db.session() as s:
        add_staff(s, "bench", "bench-password", role="clerk")
    print(f"seeded {args.dossiers} dossiers, {args.documents} documents on {args.backend} "
          f"in {time.perf_counter() - t0:.1f}s")

    client = TestClient(create_app(settings, db))
    tok = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    assert client.post("/login", data={"username": "bench", "password": "bench-password", "csrf_token": tok},
                       follow_redirects=False).status_code == 303
    with db.engine.connect() as c:
        name = c.execute(text("SELECT name FROM subjects WHERE id = :i"), {"i": args.dossiers // 2}).scalar()
        code = c.execute(text("SELECT code FROM dossiers WHERE id = :i"), {"i": args.dossiers // 3}).scalar()
    some = db.engine.raw_connection()  # a plain DB-API connection: no session, no write lock

    def bare():  # the named baseline: the same page of the same table, no app around it
        cur = some.cursor()
        cur.execute(f"SELECT id, code, status, received_at FROM dossiers ORDER BY received_at DESC LIMIT {PER_PAGE}")
        cur.fetchall()
        cur.close()
        some.rollback()

    queries = {
        "list (page 1)": "/dossiers",
        "list (page 200)": "/dossiers?page=200",
        "filtered list": "/dossiers?status=processing&procedure=1.001193&date_from=01/03/2026&date_to=31/05/2026"
                         "&sort=due&dir=asc",
        "search name, no diacritics": "/dossiers?q=" + fold(name).replace(" ", "+"),
        "search document text": "/dossiers?q=giay+chung+nhan+ket+hon+" + fold(name.split()[-1]),
        "search code fragment": "/dossiers?q=" + code[-11:],
    }
    base = timeit(bare, args.rounds)
    b50, b95 = statistics.median(base), pct(base, 95)
    print(f"{'baseline: bare SELECT of one page':34} p50 {b50:7.2f} ms  p95 {b95:7.2f} ms")
    worst = 0.0
    for label, url in queries.items():
        def call(url=url):
            r = client.get(url)
            assert r.status_code == 200, (url, r.status_code)
        xs = timeit(call, args.rounds)
        p50, p95 = statistics.median(xs), pct(xs, 95)
        worst = max(worst, p95)
        print(f"{label:34} p50 {p50:7.2f} ms  p95 {p95:7.2f} ms  ({p50 / b50:,.0f}× baseline p50)  "
              f"{'OK' if p95 < 300 else 'SLOW'}")
    some.close()
    db.dispose()
    print(f"worst p95 {worst:.1f} ms: {'under' if worst < 300 else 'OVER'} the 300 ms target")
    return 0 if worst < 300 else 1


if __name__ == "__main__":
    raise SystemExit(main())
