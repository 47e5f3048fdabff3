"""Reading real papers: what can be measured without labels, over a folder of real documents.

Usage: bench/real.py [CORPUS_DIR] [--jobs N] [--only SUBSTRING ...] [--no-plain]
CORPUS_DIR defaults to ../shared/corpus/vn-real (photos and scans of real people's papers: they
stay on this machine; nothing read from them is printed). Prints aggregates only:

- chip-card QR read (payload parsed as a card's QR) and ICAO TD1 MRZ read with every check digit
  passing, as file counts;
- the document-type distribution, the share of "ok" and "review", seconds per file;
- how many files gave a 12-digit ID number, and from which source (qr / mrz / ocr);
- CER of the letters that carry a public transcription (``*_gt.txt`` beside ``*.jpg``), sohoa's
  text beside plain ``tesseract -l vie`` on the same image, in the same run, and how many of the
  transcriptions' printed lines each text holds whole (and whole but for diacritics);
- on the cards whose QR or MRZ passed its checks (their own ground truth), whether the text alone
  gave each of the code's values: right, wrong (and how many of those at confidence >= 0.9) or
  missing.

It prints no name, number or date read from the documents: only counts, shares and rates.
"""
from __future__ import annotations

import argparse
import collections
import glob
import os
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "..", "..", "shared", "bench"))

import ocr  # noqa: E402
from ocr.cccd import find_cccd_qr  # noqa: E402

EXTS = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".pdf")


def _cer(gt: str, hyp: str) -> float:
    try:
        from cer import cer  # ../shared/bench/cer.py: the shared yardstick
    except ImportError:  # same definition, if the shared folder is not beside the project
        import unicodedata

        from rapidfuzz.distance import Levenshtein

        def norm(t):
            return " ".join(unicodedata.normalize("NFC", t).split())

        def cer(g, h):
            return Levenshtein.distance(norm(g), norm(h)) / max(1, len(norm(g)))
    return cer(gt, hyp)


def _one(path: str) -> dict:
    """Aggregatable facts about one file (no value read from it leaves this function)."""
    t0 = time.perf_counter()
    try:
        res = ocr.ocr_file(path)
    except Exception as exc:  # noqa: BLE001 - a bench counts failures, it does not stop on them
        return {"path": path, "error": type(exc).__name__, "secs": time.perf_counter() - t0}
    secs = time.perf_counter() - t0
    qr = find_cccd_qr([q for p in res.pages for q in p.qr]) is not None
    srcs = {k: getattr(f, "source", "") or "ocr" for k, f in res.fields.items()}
    mrz = any(getattr(p, "mrz", None) for p in res.pages)
    id_src = None
    for k in ("so_dinh_danh", "so_cmnd"):
        if k in res.fields:
            id_src = srcs[k]
            break
    return {"path": path, "secs": secs, "doc_type": res.doc_type, "quality": res.quality, "qr": qr, "mrz": mrz,
            "id_src": id_src, "has_id": "so_dinh_danh" in res.fields, "has_cmnd": "so_cmnd" in res.fields,
            "text": res.text, "pages": len(res.pages),
            "text_sources": sorted({getattr(p, "text_source", "ocr") for p in res.pages}),
            "field_keys": sorted(res.fields), "alternate": sorted(k for k, f in res.fields.items()
                                                                   if "alternate_read" in f.flags),
            "page_flags": sorted({fl for p in res.pages for fl in getattr(p, "flags", [])}),
            "labels_seen": _labels_seen(res), "vs_code": _vs_code(res)}


CHECKED = ("so_dinh_danh", "ho_ten", "ngay_sinh", "ngay_het_han")


def _vs_code(res) -> dict[str, str]:
    """For each field the card's own QR or MRZ gave (checked: ground truth), what the text alone
    read: 'right', 'wrong' ('wrong-sure' when at a confidence of 0.9 or more) or 'missing'.
    Only the verdicts leave this function."""
    import dataclasses

    from ocr.pipeline import assemble
    from vocab.text import fold_keep

    code = {k: f for k, f in res.fields.items() if getattr(f, "source", "") in ("qr", "mrz") and k in CHECKED}
    if not code:
        return {}
    # the same file assembled as if it had no code: what a card whose code is unreadable gives
    text_only = assemble(res.path, [dataclasses.replace(p, qr=[], mrz="") for p in res.pages]).fields
    out = {}
    for k, f in code.items():
        t = text_only.get(k)
        if t is None:
            out[k] = "missing"
        elif " ".join(fold_keep(str(t.value)).split()) == " ".join(fold_keep(str(f.value)).split()):
            out[k] = "right"
        else:
            out[k] = "wrong-sure" if t.confidence >= 0.9 else "wrong"
    return out


def _labels_seen(res) -> list[str]:
    """Which fields' labels any read of the file shows (field names only: no value leaves)."""
    import re

    from ocr.fields import DOB_LABEL, EXPIRY_LABEL, NAME_LABEL, PID_LABEL
    from vocab.text import fold_keep

    texts = [fold_keep(t) for p in res.pages for t in [p.text, *getattr(p, "alt_texts", [])]]
    # the extractor's own labels (the card's "Số / No." beside the personal-ID ones)
    rxs = {"so_dinh_danh": r"\bso\s*/\s*no\b|" + PID_LABEL, "ho_ten": NAME_LABEL.pattern, "ngay_sinh": DOB_LABEL,
           "ngay_het_han": EXPIRY_LABEL}
    return sorted(k for k, rx in rxs.items() if any(re.search(rx, t) for t in texts))


def _plain(path: str) -> str:
    r = subprocess.run(["tesseract", path, "-", "-l", "vie"], capture_output=True,
                       env={**os.environ, "OMP_THREAD_LIMIT": "1"})
    return r.stdout.decode("utf-8", "replace")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", nargs="?", default=os.path.join(HERE, "..", "..", "shared", "corpus", "vn-real"))
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--only", nargs="*", default=None, help="only files whose path contains one of these")
    ap.add_argument("--per-file", action="store_true",
                    help="one line per file: its name, type, quality, seconds, the names of the fields it gave "
                         "and, on a card whose code passed, the text-alone verdict per field (no value read from it)")
    ap.add_argument("--no-plain", action="store_true", help="skip plain Tesseract on the transcribed letters")
    a = ap.parse_args(argv)
    root = os.path.abspath(a.corpus)
    files = sorted(p for p in glob.glob(os.path.join(root, "**", "*"), recursive=True)
                   if p.lower().endswith(EXTS))
    if a.only:
        files = [p for p in files if any(s in p for s in a.only)]
    if not files:
        print(f"no documents under {root}")
        return 1
    gts = {p: os.path.splitext(p)[0] + "_gt.txt" for p in files}
    gts = {p: g for p, g in gts.items() if os.path.exists(g)}
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max(1, a.jobs)) as ex:
        rows = list(ex.map(_one, files))
        plain = {} if a.no_plain else dict(zip(gts, ex.map(_plain, list(gts))))
    wall = time.perf_counter() - t0
    ok = [r for r in rows if "error" not in r]
    if a.per_file:
        for r in rows:
            print(f"  {os.path.relpath(r['path'], root)}: {r.get('doc_type', r.get('error'))} {r.get('quality', '')} "
                  f"qr={r.get('qr')} mrz={r.get('mrz')} id={r.get('id_src')} {r['secs']:.1f}s "
                  f"fields={','.join(r.get('field_keys', []))} flags={','.join(r.get('page_flags', []))}"
                  + (" text-alone=" + ",".join(f"{k}:{v}" for k, v in sorted(r["vs_code"].items()))
                     if r.get("vs_code") else ""))
    n = len(rows)
    print(f"files: {n} ({len(ok)} read, {n - len(ok)} failed: "
          f"{dict(collections.Counter(r['error'] for r in rows if 'error' in r))})")
    types = collections.Counter(r["doc_type"] for r in ok)
    print("doc types: " + ", ".join(f"{t} {c}" for t, c in types.most_common()))
    q = collections.Counter(r["quality"] for r in ok)
    print(f"quality: ok {q['ok']} ({q['ok'] / max(1, len(ok)):.0%}), review {q['review']} "
          f"({q['review'] / max(1, len(ok)):.0%})")
    print(f"chip-card QR read: {sum(r['qr'] for r in ok)} files; MRZ read with check digits passing: "
          f"{sum(r['mrz'] for r in ok)} files")
    src = collections.Counter(r["id_src"] for r in ok if r["id_src"])
    print(f"12-digit ID number given: {sum(r['has_id'] for r in ok)} files; 9-digit CMND number: "
          f"{sum(r['has_cmnd'] for r in ok)} files; ID source: "
          + (", ".join(f"{s} {c}" for s, c in src.most_common()) or "none"))
    ts = collections.Counter(s for r in ok for s in r["text_sources"])
    cards = [r for r in ok if r["doc_type"] == "cccd"]
    fk = collections.Counter(k for r in cards for k in r["field_keys"])
    print(f"ID-card files ({len(cards)}) giving: " + ", ".join(
        f"{k} {fk[k]}" for k in ("so_dinh_danh", "so_cmnd", "ho_ten", "ngay_sinh", "ngay_het_han")))
    seen = collections.Counter(k for r in cards for k in r["labels_seen"] if k not in r["field_keys"])
    print("ID-card files whose reads show a field's label but give no value: "
          + ", ".join(f"{k} {seen[k]}" for k in ("so_dinh_danh", "ho_ten", "ngay_sinh", "ngay_het_han")))
    vs = collections.Counter((k, v) for r in ok for k, v in r["vs_code"].items())
    print("text alone against the card's own QR/MRZ (files where the code gave the field): " + ", ".join(
        f"{k} right {vs[k, 'right']}, wrong {vs[k, 'wrong'] + vs[k, 'wrong-sure']} "
        f"({vs[k, 'wrong-sure']} at >= 0.9), missing {vs[k, 'missing']}"
        for k in CHECKED if any(kk == k for kk, _ in vs)))
    alt = collections.Counter(k for r in ok for k in r["alternate"])
    print("fields lent by another read of the page (for review): " + (", ".join(f"{k} {c}" for k, c in alt.most_common()) or "none"))
    pf = collections.Counter(f for r in ok for f in r["page_flags"])
    print("review reasons (files): " + (", ".join(f"{k} {c}" for k, c in pf.most_common()) or "none"))
    print("page text sources (files): " + ", ".join(f"{s} {c}" for s, c in ts.most_common()))
    secs = [r["secs"] for r in rows]
    print(f"seconds per file: mean {sum(secs) / n:.1f}, max {max(secs):.1f} (wall {wall:.0f}s, {a.jobs} jobs)")
    by_path = {r["path"]: r for r in ok}
    for p, g in sorted(gts.items()):
        gt = open(g, encoding="utf-8").read()
        ours = _cer(gt, by_path[p]["text"]) if p in by_path else float("nan")
        line = f"CER {os.path.relpath(p, root)}: sohoa {ours:.2%}"
        if p in plain:
            line += f", plain tesseract -l vie {_cer(gt, plain[p]):.2%}"
        print(line)
    if gts:
        # the transcriptions' printed lines found whole in the text (NFC, spaces folded), and
        # found but for their diacritics: counts only
        found = {"sohoa": [0, 0], "plain": [0, 0]}
        total = 0
        for p, g in sorted(gts.items()):
            lines = _gt_lines(open(g, encoding="utf-8").read())
            total += len(lines)
            for who, text in (("sohoa", by_path.get(p, {}).get("text", "")), ("plain", plain.get(p))):
                if text is not None:
                    exact, folded = _lines_found(lines, text)
                    found[who][0] += exact
                    found[who][1] += folded
        print(f"printed lines of the transcriptions found ({total}): sohoa {found['sohoa'][0]} "
              f"({found['sohoa'][1]} without diacritics)"
              + (f", plain tesseract -l vie {found['plain'][0]} ({found['plain'][1]} without diacritics)"
                 if plain else ""))
    return 0


def _norm(t: str) -> str:
    import unicodedata

    return " ".join(unicodedata.normalize("NFC", t).split())


def _gt_lines(gt: str) -> list[str]:
    """A transcription's lines of eight characters or more (shorter ones are found anywhere)."""
    return [ln for ln in (_norm(x) for x in gt.splitlines()) if len(ln) >= 8]


def _lines_found(lines: list[str], text: str) -> tuple[int, int]:
    """How many of ``lines`` the text holds whole, and whole but for diacritics."""
    from vocab.text import fold

    t = _norm(text)
    ft = fold(t)
    return sum(ln in t for ln in lines), sum(fold(ln) in ft for ln in lines)


if __name__ == "__main__":
    raise SystemExit(main())
