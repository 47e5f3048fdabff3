"""Time from a scan landing in the inbox to its component being visible in the registry.

Runs the real `sohoa watch` (embedded default: SQLite, in-process workers) in a temporary home,
drops N one-page scans one after another into a dossier's inbox sub-folder (each written under a
temp name and renamed, the moment it "lands"), and polls the registry until the component shows.

    python bench/latency.py [--n 20] [--quiet 2.0]
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sohoa.dev import samples


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--quiet", type=float, default=2.0, help="SOHOA_QUIET_SECONDS for the run (default 2)")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        env = {**os.environ, "SOHOA_HOME": str(home), "SOHOA_QUIET_SECONDS": str(a.quiet)}
        env.pop("SOHOA_DATABASE_URL", None)
        run = lambda *args: subprocess.run([sys.executable, "-m", "sohoa", *args], env=env, check=True,
                                           capture_output=True, text=True).stdout
        run("init")
        parent, _ = samples.demo_people(seed=3)
        code = json.loads(run("--json", "dossier", "create", "--procedure", "1.001193", "--subject", parent.pid))["code"]
        folder = home / "inbox" / code
        folder.mkdir(parents=True)
        scans = []
        for i in range(a.n):
            p = Path(tmp) / f"scan-{i:03d}.jpg"
            samples.save_jpeg(samples.degrade(samples.render_page(samples.id_card(parent), card=True),
                                              angle=(i % 5 - 2) * 0.6, seed=100 + i), p)
            scans.append(p)
        proc = subprocess.Popen([sys.executable, "-m", "sohoa", "watch"], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        con = sqlite3.connect(home / "sohoa.db", timeout=30)
        count = lambda: con.execute("select count(*) from components").fetchone()[0]
        lat = []
        try:
            time.sleep(3)  # let the watcher start its workers
            for i, p in enumerate(scans):
                before = count()
                tmpname = folder / f".{p.name}.part"
                tmpname.write_bytes(p.read_bytes())
                t0 = time.monotonic()
                os.rename(tmpname, folder / p.name)
                while count() <= before:
                    time.sleep(0.05)
                    if time.monotonic() - t0 > 120:
                        raise SystemExit(f"scan {i} did not show up within 120 s")
                lat.append(time.monotonic() - t0)
                print(f"  scan {i + 1:2d}: {lat[-1]:.2f} s", file=sys.stderr)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=60)
        lat.sort()
        print(f"latency inbox→component over {a.n} one-page scans (quiet period {a.quiet:g} s): "
              f"median {statistics.median(lat):.2f} s, p90 {lat[int(0.9 * (len(lat) - 1))]:.2f} s, max {lat[-1]:.2f} s")


if __name__ == "__main__":
    main()
