"""`sohoa ocr FILE...`: OCR, classify and extract fields without a database."""
from __future__ import annotations

import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import click

from sohoa.cli.context import Ctx


def register(cli: click.Group) -> None:
    cli.add_command(ocr_cmd)


def _human(res) -> str:
    fl = ", ".join(f"{k}={v.value}" + (f" [{','.join(v.flags)}]" if v.flags else "") for k, v in res.fields.items())
    return (f"{res.path}: {res.doc_type} ({res.confidence:.2f}), {len(res.pages)} page(s), quality {res.quality}"
            + (f"; {fl}" if fl else ""))


@click.command("ocr")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per file (same as the global --json).")
@click.option("--out-dir", type=click.Path(file_okay=False), default=None,
              help="Write each file's searchable PDF (image + invisible text) here as <stem>.pdf.")
@click.option("--jobs", "-j", type=int, default=0, show_default=True,
              help="Worker processes for pages across all files (0 = one per core).")
@click.option("--lang", default=None, help="Tesseract language (default: settings ocr_lang, 'vie').")
@click.pass_obj
def ocr_cmd(ctx: Ctx, files: tuple[str, ...], as_json: bool, out_dir: str | None, jobs: int,
            lang: str | None) -> None:
    """OCR FILE... (PDF, JPEG, PNG, TIFF): text, document type and key fields.

    \b
    Pages of all files run in parallel, one Tesseract process per page. A file that cannot be
    read prints {"path", "error"} and the others continue; the exit code is 1 if any failed.
      sohoa ocr scan1.pdf scan2.jpg --json --out-dir searchable/
    """
    import ocr
    from vocab.text import redact_pids

    if as_json:
        ctx.as_json = True
    settings = getattr(ctx, "settings", None)
    kw = {"lang": lang or getattr(settings, "ocr_lang", "vie") or "vie",
          "max_pixels": getattr(settings, "max_pixels", 200_000_000) or 200_000_000}
    if out_dir:
        os.makedirs(out_dir, exist_ok=True)
    n_jobs = jobs if jobs > 0 else (os.cpu_count() or 1)
    progress = len(files) > 1 and not sys.stderr.isatty() or len(files) > 3
    failed = 0

    # first pass: validate and count, so every page of every file is queued at once
    counts: dict[str, int | Exception] = {}
    for f in files:
        try:
            counts[f] = ocr.count_pages(f, max_pixels=kw["max_pixels"])
        except ocr.OcrInputError as exc:
            counts[f] = exc
        except OSError as exc:
            counts[f] = exc
    total_pages = sum(c for c in counts.values() if isinstance(c, int))
    executor = ProcessPoolExecutor(max_workers=min(n_jobs, max(1, total_pages))) if total_pages > 1 and n_jobs > 1 \
        else None
    try:
        futures: dict[str, list] = {}
        for f in files:
            c = counts[f]
            if isinstance(c, int):
                futures[f] = [executor.submit(ocr.read_page, f, i, **kw) if executor else None for i in range(c)]
        done_pages = 0
        for k, f in enumerate(files, 1):
            c = counts[f]
            try:
                if not isinstance(c, int):
                    raise c
                pages = []
                for i, fut in enumerate(futures[f]):
                    pages.append(fut.result() if fut is not None else ocr.read_page(f, i, **kw))
                    done_pages += 1
                res = ocr.assemble(f, pages)
                if out_dir and res.pdf:
                    Path(out_dir, Path(f).stem + ".pdf").write_bytes(res.pdf)
                ctx.emit(res.to_json(), _human(res))
            except Exception as exc:  # noqa: BLE001 - one bad file must not stop the batch
                failed += 1
                msg = redact_pids(f"{type(exc).__name__}: {exc}" if not isinstance(exc, ocr.OcrInputError) else str(exc))
                ctx.emit({"path": f, "error": msg}, f"{f}: ERROR {msg}")
            if progress:
                click.echo(f"[{k}/{len(files)}] {done_pages}/{total_pages} pages", err=True)
    finally:
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
    if failed:
        sys.exit(1)
