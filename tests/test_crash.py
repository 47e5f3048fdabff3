"""Kill -9 the watcher at random points while 20 files are processed; restart; every file is
attached exactly once and none is lost."""
from __future__ import annotations

import random
import time

import pytest

from sohoa.dev import samples
from tests.scanning import Watcher, card_page, components, dump, journal

pytestmark = pytest.mark.slow


def test_sigkill_at_random_points_loses_nothing_and_duplicates_nothing(sohoa, tmp_path):
    rnd = random.Random(20261123)
    inbox = sohoa.home / "inbox"
    dossiers = [sohoa.json("dossier", "create", "--procedure", "1.001193", "--subject", f"0011{i:02d}{rnd.randrange(10**6):06d}")[0]["code"]
                for i in range(4)]
    people = [samples.Person(f"Nguyễn Văn {n}", f"0010{90 + i % 9}{rnd.randrange(10**6):06d}", f"0{1 + i % 9}/03/199{i % 9}")
              for i, n in enumerate(["An", "Bình", "Cường", "Dũng", "Hải"] * 4)]
    files = []
    for i, p in enumerate(people):
        path = tmp_path / f"card-{i:02d}.jpg"
        samples.save_jpeg(card_page(p, seed=i), path)
        files.append(path)

    kills = 0
    w = Watcher(sohoa)
    for k, code in enumerate(dossiers):  # four batches land one after another
        (inbox / code).mkdir()
        for f in files[5 * k: 5 * k + 5]:
            (inbox / code / f.name).write_bytes(f.read_bytes())
        time.sleep(rnd.uniform(0.5, 3.0))
        w.kill()
        kills += 1
        w = Watcher(sohoa)
    for _ in range(3):  # and a few more kills while the backlog is worked off
        time.sleep(rnd.uniform(1.0, 6.0))
        w.kill()
        kills += 1
        w = Watcher(sohoa)
    w.stop()
    final = sohoa.json("watch", "--once")[-1]  # a restart that finishes whatever is left

    entries = journal(sohoa.home)
    assert len(entries) == 20, dump(entries)
    assert {e["state"] for e in entries} == {"done"}, dump(entries)
    assert len({e["sha256"] for e in entries}) == 20
    docs = set()
    for k, code in enumerate(dossiers):
        comps = components(sohoa.home, code)
        assert len(comps) == 5 and len({c["document_id"] for c in comps}) == 5, (code, dump(comps))
        docs |= {c["document_id"] for c in comps}
    assert len(docs) == 20
    assert sorted(p.name for p in (sohoa.home / "done").rglob("*.jpg")) == sorted(f.name for f in files)
    assert [p for p in (sohoa.home / "work").rglob("*") if p.is_file()] == []
    assert [p for p in inbox.rglob("*") if p.is_file()] == []
    assert list((sohoa.home / "quarantine").iterdir()) == [], final
    assert kills == 7
    logs = "".join(p.read_text(errors="replace") for p in sohoa.home.glob("watch-*.log"))
    assert "resuming journal entries" in logs  # at least one kill hit a batch mid-way
