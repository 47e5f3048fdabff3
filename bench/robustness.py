"""The peer corpus through the real inbox: nothing lost, nothing stuck, no crash.

Usage: bench/robustness.py [CORPUS_DIR] [--runs 3] [--workers N] [--timeout S] [--keep DIR]

CORPUS_DIR defaults to ../shared/corpus/peer (files other projects keep in their test suites:
see PROVENANCE.md there). Each run makes a fresh SOHOA_HOME, drops every file of the corpus into
one inbox folder (as a scanner share would hold them) and runs ``sohoa watch --once`` on it,
sampling the peak resident memory of the whole process tree (workers and Tesseract included).
Then it prints, per run:

    N done, M quarantined, L lost, K left, crash: no
    documents: D;  peak memory (process tree): X MiB;  S s

and the distribution of quarantine reasons (the clerk's message, with its code), and lists any
quarantined file that both poppler (pdfinfo, pdftoppm) and ``qpdf --check`` read without a
password (there should be none). With several runs it says whether the document count was the
same in all of them. "done" counts files done or linked as duplicates; "lost" files are in none
of done/, quarantine/, inbox/ and work/; "left" files are still in inbox/ or work/.
"""
from __future__ import annotations

import argparse
import collections
import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from proctree import PeakSampler  # noqa: E402


def shared_path(*parts: str) -> Path:
    for up in (HERE.parent.parent, HERE.parent.parent.parent):
        p = up / "shared" / Path(*parts)
        if p.exists():
            return p
    return HERE.parent.parent / "shared" / Path(*parts)


def sha(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def corpus_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.name != "PROVENANCE.md")


def readable_elsewhere(path: Path) -> bool:
    """poppler (pdfinfo and pdftoppm) and qpdf --check all read it without a password."""
    def ok(cmd: list[str], codes=(0,)) -> bool:
        try:
            return subprocess.run(cmd, capture_output=True, timeout=120).returncode in codes
        except (OSError, subprocess.TimeoutExpired):
            return False

    with tempfile.TemporaryDirectory() as td:
        return (ok(["pdfinfo", str(path)]) and ok(["qpdf", "--check", str(path)], (0, 3))
                and ok(["pdftoppm", "-q", "-r", "20", "-f", "1", "-l", "1", str(path), os.path.join(td, "p")]))


def one_run(files: list[Path], workers: int, timeout: float, keep: Path | None, run: int) -> dict:
    home = Path(tempfile.mkdtemp(prefix=f"sohoa-robust-{run}-")) if keep is None else keep / f"run{run}"
    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "SOHOA_HOME": str(home), "SOHOA_QUIET_SECONDS": "1", "SOHOA_RESCAN_SECONDS": "1",
           "PYTHONUNBUFFERED": "1"}
    env.pop("SOHOA_DATABASE_URL", None)
    env.pop("SOHOA_BROKER_URL", None)
    sohoa = [sys.executable, "-m", "sohoa"]
    subprocess.run(sohoa + ["init"], env=env, check=True, capture_output=True, cwd=HERE.parent)
    inbox = home / "inbox" / "peer"
    inbox.mkdir(parents=True, exist_ok=True)
    originals: dict[str, str] = {}
    for f in files:
        name = f"{f.parent.name}__{f.name}"
        shutil.copyfile(f, inbox / name)
        originals[name] = sha(f)
    t0 = time.monotonic()
    log = open(home / "watch.log", "w")
    p = subprocess.Popen(sohoa + ["watch", "--once", "--workers", str(workers)], env=env, cwd=HERE.parent,
                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    with PeakSampler(p.pid, every=0.2) as peak:
        try:
            rc = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, 9)
            rc = p.wait()
    log.close()
    secs = time.monotonic() - t0
    text = (home / "watch.log").read_text(errors="replace")

    found: dict[str, list[str]] = collections.defaultdict(list)
    for area in ("done", "quarantine", "inbox", "work"):
        for q in (home / area).rglob("*"):
            if q.is_file() and not q.name.endswith(".reason.txt"):
                found[sha(q)].append(area)
    lost = [n for n, h in originals.items() if h not in found]
    left = [n for n, h in originals.items() if set(found.get(h, ())) & {"inbox", "work"}]
    con = sqlite3.connect(home / "sohoa.db")
    states = collections.Counter(s for (s,) in con.execute("select state from ingest_journal"))
    documents = con.execute("select count(*) from documents").fetchone()[0]
    quarantined = con.execute("select name, error, final_path from ingest_journal where state='quarantined'").fetchall()
    con.close()
    reasons = collections.Counter()
    readable = []
    for name, error, final in quarantined:
        first = (error or "").split("\n", 1)[0]
        code = ""
        if "Chi tiết kỹ thuật (" in (error or ""):
            code = error.split("Chi tiết kỹ thuật (", 1)[1].split(")", 1)[0]
        reasons[f"[{code}] {first}"] += 1
        if final and Path(final).exists() and readable_elsewhere(Path(final)):
            readable.append(name)
    return {"done": states["done"] + states["duplicate"], "quarantined": states["quarantined"], "lost": lost,
            "left": left, "crash": rc != 0 or "Traceback" in text, "rc": rc, "documents": documents,
            "peak": peak.peak, "seconds": secs, "reasons": reasons, "readable": readable, "home": home,
            "states": states}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", nargs="?", default=None)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--timeout", type=float, default=4 * 3600)
    ap.add_argument("--keep", type=Path, default=None, help="keep each run's SOHOA_HOME under this folder")
    ap.add_argument("--limit", type=int, default=0, help="only the first N files (a quick sample)")
    a = ap.parse_args()
    root = Path(a.corpus) if a.corpus else shared_path("corpus", "peer")
    if not root.is_dir():
        sys.exit(f"no corpus at {root} (it lives in ../shared/corpus/peer beside the checkout)")
    files = corpus_files(root)
    if a.limit:
        files = files[: a.limit]
    print(f"corpus: {len(files)} files from {root}; {a.runs} run(s), {a.workers} worker(s)")
    counts = []
    for run in range(1, a.runs + 1):
        r = one_run(files, a.workers, a.timeout, a.keep, run)
        counts.append(r["documents"])
        print(f"run {run}: {r['done']} done, {r['quarantined']} quarantined, {len(r['lost'])} lost, "
              f"{len(r['left'])} left, crash: {'yes (exit %s)' % r['rc'] if r['crash'] else 'no'}")
        print(f"  documents: {r['documents']};  peak memory (process tree): {r['peak'] / 2**20:.0f} MiB;  "
              f"{r['seconds']:.0f} s")
        print("  reasons:")
        for reason, n in r["reasons"].most_common():
            print(f"    {n:3d}  {reason}")
        if r["lost"] or r["left"]:
            print(f"  lost: {r['lost']}\n  left: {r['left']}")
        print(f"  quarantined although poppler and qpdf read them: {len(r['readable'])}"
              + (f" {r['readable']}" if r["readable"] else ""))
        if a.keep is None:
            shutil.rmtree(r["home"], ignore_errors=True)
    if a.runs > 1:
        print(f"document counts over {a.runs} runs: {counts} (same: {'yes' if len(set(counts)) == 1 else 'NO'})")


if __name__ == "__main__":
    main()
