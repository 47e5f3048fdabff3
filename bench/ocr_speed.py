"""OCR speed and accuracy: sohoa vs OCRmyPDF on the same pages, same cores, same run.

Usage: bench/ocr_speed.py CORPUS_DIR [--limit N] [--jobs N] [--skip-ocrmypdf]
       bench/ocr_speed.py --memory    # peak RSS of one 9000×9000 page (process tree), JPEG and PNG
CORPUS_DIR holds page images with <stem>.gt.txt beside them (bench/make_corpus.sh output).
Both engines run one page per process on all cores (OMP_THREAD_LIMIT=1). OCRmyPDF gets each
image as a 1-page PDF (img2pdf, lossless) and runs `ocrmypdf --deskew --rotate-pages -l vie`;
its CER comes from `pdftotext` of its output. sohoa's CER comes from PageResult.text.
"""
from __future__ import annotations

import argparse
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata
from concurrent.futures import ProcessPoolExecutor

from rapidfuzz.distance import Levenshtein

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import ocr  # noqa: E402


def norm(t: str) -> str:
    return " ".join(unicodedata.normalize("NFC", t).split())


def cer(gt: str, hyp: str) -> float:
    g, h = norm(gt), norm(hyp)
    return Levenshtein.distance(g, h) / max(1, len(g))


def _ocrmypdf_page(args: tuple[str, str]) -> str:
    src_pdf, out_pdf = args
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    exe = shutil.which("ocrmypdf") or os.path.join(os.path.dirname(sys.executable), "ocrmypdf")
    r = subprocess.run([exe, "-q", "--deskew", "--rotate-pages", "-l", "vie", "--jobs", "1",
                        "--output-type", "pdf", src_pdf, out_pdf], capture_output=True, env=env)
    if r.returncode not in (0, 10):  # 10 = PDF/A conversion warning, output still written
        return ""
    t = subprocess.run(["pdftotext", "-enc", "UTF-8", out_pdf, "-"], capture_output=True)
    return t.stdout.decode("utf-8", "replace")


def _summary(name: str, n: int, secs: float, cers: list[float]) -> tuple[float, str]:
    ppm = n / secs * 60 if secs else 0.0
    mean = sum(cers) / len(cers) * 100 if cers else float("nan")
    worst = max(cers) * 100 if cers else float("nan")
    return ppm, f"{name}: {ppm:.1f} pages/min, mean CER {mean:.2f}%, worst {worst:.2f}% ({n} pages, {secs:.1f}s)"


MEMORY_PAGE = """
import sys, ocr
r = ocr.read_page(sys.argv[1], 0)
print(f"{r.width}x{r.height} px at {r.dpi} dpi, {len(r.text.split())} words, quality {r.quality}")
"""


def memory() -> None:
    """One 9000×9000 page (a colour JPEG with small print, a grey PNG) read in its own process;
    the peak resident memory of that process and its Tesseract children (README "Memory per page")."""
    import subprocess

    from PIL import Image, ImageDraw, ImageFont

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from proctree import PeakSampler

    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf", 50)
    line = "Ủy ban nhân dân tỉnh tổ chức hội nghị tổng kết công tác số hóa hồ sơ thủ tục hành chính năm 2023"
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as td:
        for name, mode, bg, dpi in (("page.jpg", "RGB", (250, 248, 240), 300), ("page.png", "L", 255, 600)):
            im = Image.new(mode, (9000, 9000), bg)
            d = ImageDraw.Draw(im)
            for i in range(120):
                d.text((300, 200 + i * 72), f"Dòng {i}: {line}", font=font, fill=(20, 20, 30) if mode == "RGB" else 20)
            path = os.path.join(td, name)
            im.save(path, dpi=(dpi, dpi), **({"quality": 90} if name.endswith(".jpg") else {}))
            del im, d
            t0 = time.perf_counter()
            p = subprocess.Popen([sys.executable, "-c", MEMORY_PAGE, path], stdout=subprocess.PIPE, text=True)
            with PeakSampler(p.pid) as s:
                out = p.communicate()[0].strip()
            print(f"9000x9000 {name[5:].upper()} ({mode}, {dpi} dpi): peak {s.peak / 2**20:.0f} MiB (process tree), "
                  f"{time.perf_counter() - t0:.1f} s; read as {out}")


def main() -> None:
    if "--memory" in sys.argv[1:]:
        memory()
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--skip-ocrmypdf", action="store_true")
    ap.add_argument("--verbose", "-v", action="store_true")
    a = ap.parse_args()
    imgs = sorted(p for p in glob.glob(os.path.join(a.corpus, "*"))
                  if p.lower().endswith((".png", ".jpg", ".jpeg", ".tif", ".tiff"))
                  and os.path.exists(os.path.splitext(p)[0] + ".gt.txt"))
    if a.limit:
        imgs = imgs[: a.limit]
    if not imgs:
        sys.exit(f"no page images with .gt.txt in {a.corpus}")
    gts = {p: open(os.path.splitext(p)[0] + ".gt.txt", encoding="utf-8").read() for p in imgs}
    print(f"corpus: {len(imgs)} pages, {a.jobs} worker processes")

    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=a.jobs) as ex:
        futs = [ex.submit(ocr.read_page, p, 0) for p in imgs]
        res = [f.result() for f in futs]
    t_sohoa = time.perf_counter() - t0
    cers = [cer(gts[p], r.text) for p, r in zip(imgs, res)]
    steps: dict[str, float] = {}
    for r in res:
        for k, v in r.timings.items():
            steps[k] = steps.get(k, 0.0) + v
    if a.verbose:
        for p, r, c in zip(imgs, res, cers):
            print(f"  {os.path.basename(p)}: CER {c * 100:.2f}% rot {r.rotation} skew {r.skew:+.2f} conf {r.confidence:.3f}")
    print("sohoa time per page by step: " + ", ".join(f"{k} {v / len(res):.2f}s" for k, v in steps.items()))
    ppm_s, line_s = _summary("sohoa", len(imgs), t_sohoa, cers)

    if a.skip_ocrmypdf:
        print(line_s)
        return
    import img2pdf

    with tempfile.TemporaryDirectory(prefix="bench-ocrmypdf-") as td:
        jobs = []
        for i, p in enumerate(imgs):
            src = os.path.join(td, f"{i:04d}.pdf")
            with open(src, "wb") as fh:
                fh.write(img2pdf.convert(p))
            jobs.append((src, os.path.join(td, f"{i:04d}.out.pdf")))
        t0 = time.perf_counter()
        with ProcessPoolExecutor(max_workers=a.jobs) as ex:
            texts = list(ex.map(_ocrmypdf_page, jobs))
        t_omp = time.perf_counter() - t0
    cers_o = [cer(gts[p], t) for p, t in zip(imgs, texts)]
    ppm_o, line_o = _summary("ocrmypdf", len(imgs), t_omp, cers_o)
    print(line_s)
    print(line_o)
    print(f"speed ratio sohoa/ocrmypdf: {ppm_s / ppm_o if ppm_o else float('inf'):.2f}x")


if __name__ == "__main__":
    main()
