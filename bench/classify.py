"""Type accuracy, field exact-match and orientation of sohoa's OCR + classifier on labelled scans.

Usage:
  bench/classify.py CORPUS_DIR [--jobs N] [--limit N] [--show-errors]
  bench/classify.py --make-heldout DIR [--n 60] [--seed 7]   # write a varied set (tests/civil_forms.py)
  bench/classify.py --make-heldout DIR --photo                # the same pages photographed with a phone
  bench/classify.py --make-public DIR [--n 60] [--seed 1]    # ../shared/bench/citizen_docs.py, if present

CORPUS_DIR holds <id>.jpg|.pdf with <id>.json = {"doc_type", "fields", "angle"?} beside each.
Names compare case-insensitively; every other field exactly (after NFC and whitespace folding).
The held-out set differs from the public one in wordings (bilingual labels, "Họ, chữ đệm, tên",
role words before/after labels, sections, two-column marriage forms, lost colons), fonts
(Liberation, FreeFont, Noto, DejaVu Condensed), layouts and damage, and holds upright sparse
pages (doc_type "khac") that test orientation.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import time
import unicodedata
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402

import ocr  # noqa: E402


def norm(v: str, key: str) -> str:
    v = " ".join(unicodedata.normalize("NFC", str(v)).split())
    return v.casefold() if key.startswith("ho_ten") else v


def make_heldout(outdir: str, n: int, seed: int, photo: bool = False) -> None:
    import random

    from PIL import Image

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
    import civil_forms as cf  # noqa: E402
    import photos  # noqa: E402

    os.makedirs(outdir, exist_ok=True)
    rng = random.Random(seed)
    kinds = list(cf.TYPES) + ["khac"]
    for i in range(n):
        t = kinds[i % len(kinds)]
        lines, fields = cf.sparse(rng) if t == "khac" else cf.make(t, rng)
        if photo:  # held by a phone over a table: perspective, shadow, glare, blur, 1600-2400 px, JPEG 40-70
            page = cf.render(lines, rng).convert("RGB")
            shot = photos.photograph(page, seed=seed * 1000 + i, out_long=rng.choice([1600, 2000, 2400]),
                                     tilt=0.05, margin=0.08, quality=rng.randint(40, 70), blur=rng.choice([0.6, 1.0]))
            arr, ang = np.asarray(shot.convert("L")), 0.0
        else:
            arr, ang = cf.degrade(cf.render(lines, rng), rng, upside_down=0.0 if t == "khac" else 0.12)
        sid = f"h{seed:02d}_{i:03d}"
        ext = "pdf" if rng.random() < 0.25 and not photo else "jpg"
        path = os.path.join(outdir, f"{sid}.{ext}")
        if ext == "pdf":
            Image.fromarray(arr).save(path, resolution=300)
        elif photo:  # a phone records no resolution
            Image.fromarray(arr).save(path, quality=95)
        else:
            Image.fromarray(arr).save(path, quality=rng.choice([60, 75, 90]), dpi=(300, 300))
        with open(os.path.join(outdir, sid + ".json"), "w", encoding="utf-8") as fh:
            json.dump({"doc_type": t, "fields": fields, "text": cf.text_of(lines), "angle": round(ang, 2)}, fh,
                      ensure_ascii=False, indent=1)
    print(f"wrote {n} held-out documents to {outdir}")


def shared_path(*parts: str) -> str:
    """``shared/...`` beside the checkout (a repository clone or a worktree one level deeper)."""
    here = os.path.dirname(os.path.abspath(__file__))
    for up in (("..", ".."), ("..", "..", "..")):
        p = os.path.normpath(os.path.join(here, *up, "shared", *parts))
        if os.path.exists(p):
            return p
    return os.path.normpath(os.path.join(here, "..", "..", "shared", *parts))


def make_public(outdir: str, n: int, seed: int) -> None:
    import subprocess

    gen = os.environ.get("SOHOA_CITIZEN_DOCS") or shared_path("bench", "citizen_docs.py")
    if not os.path.exists(gen):
        sys.exit(f"no public generator at {gen}")
    subprocess.run([sys.executable, gen, outdir, "--n", str(n), "--seed", str(seed)], check=True,
                   stdout=subprocess.DEVNULL)
    print(f"wrote {n} public documents to {outdir}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", nargs="?")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--show-errors", action="store_true")
    ap.add_argument("--make-heldout", metavar="DIR")
    ap.add_argument("--make-public", metavar="DIR")
    ap.add_argument("--n", type=int, default=60)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--photo", action="store_true", help="with --make-heldout: photograph each page (tests/photos.py)")
    a = ap.parse_args()
    if a.make_heldout or a.make_public:
        if a.make_heldout:
            make_heldout(a.make_heldout, a.n, a.seed, a.photo)
        if a.make_public:
            make_public(a.make_public, a.n, a.seed)
        return
    if not a.corpus:
        ap.error("CORPUS_DIR is required")
    items = []
    for js in sorted(glob.glob(os.path.join(a.corpus, "*.json"))):
        stem = js[:-5]
        src = next((stem + e for e in (".jpg", ".jpeg", ".png", ".pdf", ".tif", ".tiff") if os.path.exists(stem + e)), None)
        if src:
            items.append((src, json.load(open(js, encoding="utf-8"))))
    if a.limit:
        items = items[: a.limit]
    if not items:
        sys.exit(f"no labelled documents in {a.corpus}")
    t0 = time.time()
    with ProcessPoolExecutor(max_workers=a.jobs) as ex:
        futs = {}
        for src, _ in items:
            n = ocr.count_pages(src)
            futs[src] = [ex.submit(ocr.read_page, src, i) for i in range(n)]
        results = {src: ocr.assemble(src, [f.result() for f in fl]) for src, fl in futs.items()}
    elapsed = time.time() - t0
    ok_type = 0
    f_tot = f_ok = 0
    o_tot = o_ok = 0
    confusion: dict[str, Counter] = defaultdict(Counter)
    per_field: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    errors = []
    for src, truth in items:
        r = results[src]
        confusion[truth["doc_type"]][r.doc_type] += 1
        if "angle" in truth:  # orientation: an upside-down feed must be turned by 180, an upright page not at all
            o_tot += 1
            want = 180 if abs(abs(truth["angle"]) - 180) < 45 else 0
            got = r.pages[0].rotation if r.pages else 0
            o_ok += got == want
            if got != want:
                errors.append(f"ORIENTATION {os.path.basename(src)}: want {want} got {got}")
        ok_type += r.doc_type == truth["doc_type"]
        if r.doc_type != truth["doc_type"]:
            errors.append(f"TYPE {os.path.basename(src)}: {truth['doc_type']} -> {r.doc_type} ({r.confidence:.2f})")
        for k, v in truth.get("fields", {}).items():
            f_tot += 1
            got = r.fields.get(k)
            good = got is not None and norm(got.value, k) == norm(v, k)
            f_ok += good
            per_field[f"{truth['doc_type']}.{k}"][0] += good
            per_field[f"{truth['doc_type']}.{k}"][1] += 1
            if not good:
                errors.append(f"FIELD {os.path.basename(src)} {truth['doc_type']}.{k}: want {v!r} got "
                              f"{got.value if got else None!r}")
    n = len(items)
    print(f"documents: {n} in {elapsed:.1f}s ({n / elapsed * 60:.1f} docs/min)")
    print("per-type (truth -> predicted):")
    for t in sorted(confusion):
        c = confusion[t]
        tot = sum(c.values())
        wrong = ", ".join(f"{k}:{v}" for k, v in c.items() if k != t)
        print(f"  {t:24s} {c[t]}/{tot}" + (f"   confused with {wrong}" if wrong else ""))
    bad_fields = [(k, v) for k, v in per_field.items() if v[0] < v[1]]
    if bad_fields:
        print("fields below 100%: " + ", ".join(f"{k} {v[0]}/{v[1]}" for k, v in sorted(bad_fields)))
    if a.show_errors:
        for e in errors:
            print("  " + e)
    print(f"type accuracy: {ok_type / n * 100:.1f}% ({ok_type}/{n})")
    print(f"field exact-match: {f_ok / max(1, f_tot) * 100:.1f}% ({f_ok}/{f_tot})")
    if o_tot:
        print(f"orientation: {o_ok / o_tot * 100:.1f}% ({o_ok}/{o_tot})")


if __name__ == "__main__":
    main()
