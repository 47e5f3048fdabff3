"""One Tesseract run per page producing both the searchable one-page PDF and the TSV of words."""
from __future__ import annotations

import csv
import io
import os
import subprocess
import tempfile
import unicodedata

import cv2
import numpy as np

TESSERACT = os.environ.get("SOHOA_TESSERACT", "tesseract")
JPEG_QUALITY = 80  # page image inside the searchable PDF


def _env() -> dict:
    env = dict(os.environ)
    env["OMP_THREAD_LIMIT"] = "1"
    return env


def parse_tsv_lines(tsv: str) -> list[dict]:
    """Tesseract TSV -> [{'key', 'words': [{'text', 'conf', 'left', 'top', 'width', 'height'}]}] in reading order."""
    lines: dict[tuple, dict] = {}
    reader = csv.reader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE)
    header = next(reader, None)
    if not header:
        return []
    for row in reader:
        if len(row) < 12 or row[0] != "5":
            continue
        word = row[11]
        if not word.strip():
            continue
        try:
            conf = float(row[10]) / 100.0
        except ValueError:
            conf = -0.01
        key = (int(row[1]), int(row[2]), int(row[3]), int(row[4]))
        ln = lines.setdefault(key, {"key": key, "words": []})
        ln["words"].append({"text": unicodedata.normalize("NFC", word), "conf": conf, "left": int(row[6]),
                            "top": int(row[7]), "width": int(row[8]), "height": int(row[9])})
    return list(lines.values())


def lines_text(lines: list[dict]) -> str:
    return "\n".join(" ".join(w["text"] for w in ln["words"]) for ln in lines)


def lines_confidence(lines: list[dict]) -> tuple[float, int]:
    confs = [w["conf"] for ln in lines for w in ln["words"] if w["conf"] >= 0]
    return (float(np.mean(confs)) if confs else 0.0), len(confs)


def _bbox(ln: dict) -> tuple[int, int, int, int]:
    ws = ln["words"]
    x0 = min(w["left"] for w in ws)
    y0 = min(w["top"] for w in ws)
    x1 = max(w["left"] + w["width"] for w in ws)
    y1 = max(w["top"] + w["height"] for w in ws)
    return x0, y0, x1, y1


def reread_weak_lines(gray: np.ndarray, lines: list[dict], *, lang: str = "vie", dpi: int = 300,
                      threshold: float = 0.6, max_lines: int = 8) -> int:
    """Second look at lines holding a low-confidence word: each such line is cut out and all of
    them are read again in one Tesseract run (a single line on its own is segmented and
    normalised better than inside the page). A line is replaced only when the re-read is more
    confident. Returns how many lines changed (``lines`` is updated in place)."""
    # short lines (label: value, numbers, titles) are where the page-level pass slips; long prose
    # lines read well in context and are left alone
    weak = [ln for ln in lines if 0 < len(ln["words"]) <= 8 and (min(w["conf"] for w in ln["words"]) < threshold or (
        len(ln["words"]) <= 4 and min(w["conf"] for w in ln["words"]) < threshold + 0.2))]
    weak = sorted(weak, key=lambda ln: min(w["conf"] for w in ln["words"]))[:max_lines]
    if not weak:
        return 0
    h, w = gray.shape
    pad = 24
    crops, todo = [], []
    for ln in weak:
        x0, y0, x1, y1 = _bbox(ln)
        if y1 - y0 > 0.1 * h:
            continue
        crops.append(gray[max(0, y0 - pad): min(h, y1 + pad), max(0, x0 - pad): min(w, x1 + pad)])
        todo.append(ln)
    if not crops:
        return 0
    by_page = read_line_images(crops, lang=lang, dpi=dpi)
    if by_page is None:
        return 0
    changed = 0
    for k, ln in enumerate(todo, 1):
        nw = by_page.get(k)
        if not nw:
            continue
        old_c = float(np.mean([x["conf"] for x in ln["words"]]))
        new_c = float(np.mean([x["conf"] for x in nw]))
        if new_c > old_c + 0.03 and abs(len(nw) - len(ln["words"])) <= max(2, len(ln["words"]) // 3):
            ln["words"] = nw  # (boxes now in crop coordinates; only the text and confidences are used)
            changed += 1
    return changed


def read_line_images(images: list[np.ndarray], *, lang: str = "vie", dpi: int = 300, config: dict | None = None,
                     timeout: float = 120, psm: int = 7) -> dict[int, list[dict]] | None:
    """Each image read as one text line (``--psm 7``; 13: a raw line, no layout analysis at all),
    all in one Tesseract process (one model load: every image is a page of a list file):
    {1-based image number: its words}, or None when Tesseract failed. ``config``: extra
    Tesseract variables."""
    with tempfile.TemporaryDirectory(prefix="sohoa-tess-") as td:
        paths = []
        for k, img in enumerate(images):
            p = os.path.join(td, f"l{k:03d}.png")
            cv2.imwrite(p, img, [cv2.IMWRITE_PNG_COMPRESSION, 1])
            paths.append(p)
        lst = os.path.join(td, "list.txt")
        with open(lst, "w") as fh:
            fh.write("\n".join(paths) + "\n")
        extra = [x for k, v in (config or {}).items() for x in ("-c", f"{k}={v}")]
        r = subprocess.run([TESSERACT, lst, os.path.join(td, "out"), "-l", lang, "--dpi", str(int(dpi)),
                            "--psm", str(psm), *extra, "tsv"], capture_output=True, env=_env(), timeout=timeout)
        if r.returncode != 0:
            return None
        with open(os.path.join(td, "out.tsv"), encoding="utf-8", errors="replace") as fh:
            tsv = fh.read()
    by_page: dict[int, list[dict]] = {}
    for ln in parse_tsv_lines(tsv):
        by_page.setdefault(ln["key"][0], []).extend(ln["words"])
    return by_page


def run_tesseract(gray: np.ndarray, *, lang: str = "vie", dpi: int = 300, psm: int = 3,
                  want_pdf: bool = True, timeout: float = 600, config: dict | None = None) -> dict:
    """OCR ``gray`` once; returns {'text', 'confidence', 'words', 'nwords', 'pdf'}. ``config``:
    extra Tesseract variables (e.g. ``tessedit_char_whitelist``)."""
    with tempfile.TemporaryDirectory(prefix="sohoa-tess-") as td:
        # PGM: nothing to compress or decompress, and Tesseract's PDF renderer then stores the
        # page as JPEG (a PNG input would be stored losslessly: 2-3x bigger and slower)
        img = os.path.join(td, "page.pgm")
        cv2.imwrite(img, gray)
        base = os.path.join(td, "out")
        cmd = [TESSERACT, img, base, "-l", lang, "--dpi", str(int(dpi)), "--psm", str(psm),
               "-c", "tessedit_do_invert=0", "-c", f"jpg_quality={JPEG_QUALITY}"]
        for k, v in (config or {}).items():
            cmd += ["-c", f"{k}={v}"]
        if want_pdf:
            cmd += ["-c", "textonly_pdf=0", "pdf"]
        cmd += ["tsv"]
        r = subprocess.run(cmd, capture_output=True, env=_env(), timeout=timeout)
        if r.returncode != 0:
            raise RuntimeError(f"tesseract failed ({r.returncode}): {r.stderr.decode(errors='replace')[-300:]}")
        with open(base + ".tsv", encoding="utf-8", errors="replace") as fh:
            tsv = fh.read()
        pdf = b""
        if want_pdf:
            with open(base + ".pdf", "rb") as fh:
                pdf = fh.read()
    lines = parse_tsv_lines(tsv)
    conf, n = lines_confidence(lines)
    return {"text": lines_text(lines), "confidence": conf, "nwords": n, "lines": lines, "pdf": pdf}


def osd_rotation(gray: np.ndarray, dpi: int = 300, timeout: float = 60) -> tuple[int, float] | None:
    """Tesseract OSD: clockwise rotation to apply and its confidence, or None if it cannot tell."""
    with tempfile.TemporaryDirectory(prefix="sohoa-osd-") as td:
        img = os.path.join(td, "page.pgm")
        cv2.imwrite(img, gray)
        r = subprocess.run([TESSERACT, img, "-", "--psm", "0", "--dpi", str(dpi), "-l", "osd"],
                           capture_output=True, env=_env(), timeout=timeout)
    if r.returncode != 0:
        return None
    rot, conf = None, 0.0
    for line in r.stdout.decode(errors="replace").splitlines():
        if line.startswith("Rotate:"):
            rot = int(line.split(":")[1])
        elif line.startswith("Orientation confidence:"):
            conf = float(line.split(":")[1])
    if rot is None:
        return None
    return rot % 360, conf
