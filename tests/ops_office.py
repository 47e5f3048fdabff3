"""A small working office built only through the `sohoa` command line, so that any release's code
can build it (the upgrade fixture is made by the previous release, the restore drill by today's):
a dev PKI (officer, seal), dossiers, ID-card scans ingested by `sohoa run --once` with real
Tesseract, certified copies, and the portal events waiting in the outbox."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


class Runner:
    """``python -m sohoa`` from ``code_root`` (today's tree or an older release's) on ``home``."""

    def __init__(self, home: Path, code_root: Path, python: str = sys.executable) -> None:
        self.home, self.code_root, self.python = Path(home), Path(code_root), python
        self.env = {**os.environ, "SOHOA_HOME": str(home), "SOHOA_QUIET_SECONDS": "0.5",
                    "SOHOA_RESCAN_SECONDS": "0.5", "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(code_root)}
        self.env.pop("SOHOA_DATABASE_URL", None)

    def run(self, *args: str, check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess:
        p = subprocess.run([self.python, "-m", "sohoa", *args], env=self.env, capture_output=True, text=True,
                           timeout=timeout, cwd=self.code_root)
        if check and p.returncode != 0:
            raise AssertionError(f"sohoa {' '.join(args)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
        return p

    def json(self, *args: str) -> list[dict]:
        return [json.loads(ln) for ln in self.run("--json", *args).stdout.splitlines() if ln.strip()]


def card_scan(seed: int, path: Path, person_seed: int) -> None:
    """A degraded scan of a generated ID card (synthetic people only)."""
    from sohoa.dev import samples
    from tests.scanning import card_page

    person = samples.demo_people(seed=person_seed)[0]
    tmp = path.with_name("." + path.name)
    samples.save_jpeg(card_page(person, seed=seed), tmp, quality=70)
    tmp.rename(path)  # as a scanner finishes a file: whole, under its final name


def build_office(r: Runner, scans: int = 2, copies: int = 2) -> dict:
    """Dossiers with scans routed by their inbox folder, certified copies of the first scan, events
    in the outbox. Returns the dossier codes, document ids and certified copies' paths."""
    from sohoa.dev import samples

    r.run("init")
    pki = r.json("pki", "dev")[0]
    codes = []
    for i in range(scans):
        person = samples.demo_people(seed=40 + i)[0]
        codes.append(r.json("dossier", "create", "--procedure", "1.001193", "--subject", person.pid,
                            "--name", person.name)[0]["code"])
        folder = r.home / "inbox" / codes[-1]
        folder.mkdir(parents=True, exist_ok=True)
        card_scan(seed=i, path=folder / f"scan-{i}.jpg", person_seed=40 + i)
    r.run("run", "--once", "--workers", "1")
    docs = sorted({c["document_id"] for code in codes for c in r.json("dossier", "show", code)[0]["components"]
                   if c.get("document_id")})
    assert len(docs) == scans, docs
    out = r.home.parent / "certified-out"
    res = r.json("certify", str(docs[0]), "--officer", str(pki["officer_id"]), "--copies", str(copies),
                 "--out", str(out))[0]
    return {"dossiers": codes, "documents": docs, "copies": [c["path"] for c in res["copies"]],
            "officer_id": pki["officer_id"]}
