"""Type accuracy and field exact-match of sohoa's OCR + classifier over citizen_docs.py output.

Usage: bench/classify.py CORPUS_DIR [--jobs N] [--limit N] [--show-errors]
CORPUS_DIR holds <id>.jpg|.pdf with <id>.json = {"doc_type", "fields", ...} beside each.
Names compare case-insensitively; every other field exactly (after NFC and whitespace folding).
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

import ocr  # noqa: E402


def norm(v: str, key: str) -> str:
    v = " ".join(unicodedata.normalize("NFC", str(v)).split())
    return v.casefold() if key.startswith("ho_ten") else v


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--show-errors", action="store_true")
    a = ap.parse_args()
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
    confusion: dict[str, Counter] = defaultdict(Counter)
    per_field: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    errors = []
    for src, truth in items:
        r = results[src]
        confusion[truth["doc_type"]][r.doc_type] += 1
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


if __name__ == "__main__":
    main()
