"""The ingest core: reading scans into documents, for every job that does it (the inbox job,
``sohoa.jobs.inbox``, and the backlog import, ``sohoa.jobs.backlog``), so they cannot drift.

    Budget.of(settings)                  the OCR language and the pixel budget (``max_pixels``: the
                                         decompression-bomb cap; ``work_pixels``: the size a page is
                                         analysed at) — every read of a page gets both
    count_pages(path, budget)            a file's pages, checked cheaply (OcrInputError when none)
    read_scans(scans, budget, executor)  every page of every scan, fanned out over the page pool
                                         at once, collected scan by scan; a page that fails is read
                                         again alone (in a fresh process when its worker died); a
                                         dead worker is signalled (``Reading.pool_broken``) so the
                                         caller renews its pool
    incoming(result, …)                  the registry's ``Incoming`` for one assembled document,
                                         sealed when a seal is given

No journal, no SQL: the callers keep their own journals (``ingest.journal`` for the inbox, the
backlog's rows in ``registry.backlog``) and decide what a failure means for them.
"""
from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import ocr
from ocr import DocumentResult, OcrInputError, OcrPageError, PageResult, Problem
from registry.intake import FieldRead, Incoming

__all__ = ["Budget", "Scan", "Reading", "count_pages", "read_scans", "read_scan", "incoming"]

log = logging.getLogger("sohoa.ingest.core")


@dataclass(frozen=True)
class Budget:
    """How a page is read: the OCR language and the pixel budget."""

    lang: str = "vie"
    max_pixels: int = 200_000_000
    work_pixels: int = 30_000_000

    @classmethod
    def of(cls, settings) -> "Budget":
        """The budget the office configured (``ocr_lang``, ``max_pixels``, ``work_pixels``)."""
        return cls(settings.ocr_lang, settings.max_pixels, settings.work_pixels)

    def page_kw(self) -> dict:
        return {"lang": self.lang, "max_pixels": self.max_pixels, "work_pixels": self.work_pixels}


@dataclass(frozen=True)
class Scan:
    """One file to read: the caller's key for it (a journal entry, a backlog item), where it is,
    the sha256 of its bytes (the pages' content key) and how many pages it has."""

    key: int
    path: str
    sha256: str | None
    pages: int


@dataclass
class Reading:
    """What a fan-out learnt beyond the pages: a page worker died (the pool must be renewed)."""

    pool_broken: bool = False


def count_pages(path: str | Path, budget: Budget) -> int:
    """The file's number of pages, checked without rasterizing; no page at all is an input error."""
    n = ocr.count_pages(str(path), max_pixels=budget.max_pixels)
    if n < 1:
        raise OcrInputError("no pages", code=Problem.PDF_NO_PAGES)
    return n


def read_scans(scans: Sequence[Scan], budget: Budget, executor: Executor | None, reading: Reading, *,
               on_page: Callable[[Scan, int], None] | None = None
               ) -> Iterator[tuple[Scan, list[PageResult] | BaseException]]:
    """Every page of every scan: all submitted first (the pool stays busy), then collected scan by
    scan, in order. Yields (scan, its pages) or (scan, the error that stops it: ``OcrInputError``
    for a page that cannot be read even alone, ``OSError`` for the file itself). The rest of a
    scan that failed is cancelled; the other scans go on. ``on_page(scan, i)`` after each page."""
    kw = budget.page_kw()
    submitted: list[tuple[Scan, list[Future | None]]] = []
    for sc in scans:
        futs: list[Future | None] = [None] * sc.pages
        if executor is not None:
            futs = [executor.submit(ocr.read_page, sc.path, i, source_sha256=sc.sha256, **kw) for i in range(sc.pages)]
        submitted.append((sc, futs))
    for sc, futs in submitted:
        pages: list[PageResult] = []
        try:
            for i, fut in enumerate(futs):
                pages.append(_read_page(sc, i, fut, kw, reading))
                if on_page is not None:
                    on_page(sc, i)
        except (OcrInputError, OSError) as exc:
            for fut in futs:
                if fut is not None:
                    fut.cancel()
            yield sc, exc
            continue
        yield sc, pages


def read_scan(path: str | Path, budget: Budget, *, sha256: str | None = None) -> DocumentResult:
    """One file read here, page after page (with the same single-page retry), and assembled."""
    sc = Scan(0, str(path), sha256, count_pages(path, budget))
    for _sc, got in read_scans([sc], budget, None, Reading()):
        if isinstance(got, BaseException):
            raise got
        return ocr.assemble(str(path), got)
    raise AssertionError("unreachable")


def _read_page(sc: Scan, i: int, fut: Future | None, kw: dict, reading: Reading) -> PageResult:
    try:
        if fut is None:
            return ocr.read_page(sc.path, i, source_sha256=sc.sha256, **kw)
        return fut.result()
    except OcrPageError as exc:
        log.warning("page %d of #%d failed (%s); reading it again alone", i + 1, sc.key, exc)
        return _page_alone(sc, i, kw, isolated=False)
    except (OcrInputError, OSError):
        raise
    except Exception as exc:  # noqa: BLE001 - a worker died (killed, out of memory) or the result did not come back
        if type(exc).__name__ == "BrokenProcessPool":
            reading.pool_broken = True  # the caller replaces the pool after this batch
        log.warning("page %d of #%d: %s: %s; reading it again alone", i + 1, sc.key, type(exc).__name__, exc)
        return _page_alone(sc, i, kw, isolated=True)


def _page_alone(sc: Scan, i: int, kw: dict, *, isolated: bool) -> PageResult:
    """One page on its own: here, or in a one-off process when the last try killed its worker."""
    if not isolated:
        return ocr.read_page(sc.path, i, source_sha256=sc.sha256, **kw)
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("forkserver")) as one:
        try:
            return one.submit(ocr.read_page, sc.path, i, source_sha256=sc.sha256, **kw).result()
        except (OcrInputError, OSError):
            raise
        except Exception as exc:  # noqa: BLE001
            raise OcrPageError(f"the page worker died on this page again ({type(exc).__name__}: {exc}); "
                               "out of memory?", page=i) from exc


def incoming(res: DocumentResult, *, sealer, source_name: str, ingest_id: int | None, page_from: int,
             page_to: int, doc_type: str | None = None, created_by: str = "ingest") -> Incoming:
    """The plain dataclass the registry's intake records for one assembled document: its searchable
    PDF (sealed when ``sealer`` — anything with ``seal(bytes) -> bytes`` — is given), what OCR read,
    and where it came from. ``doc_type`` overrides OCR's type (a backlog manifest's, checked)."""
    pdf = sealer.seal(res.pdf) if sealer is not None else res.pdf
    return Incoming(pdf=pdf, sealed=sealer is not None, pages=len(res.pages), text=res.text,
                    doc_type=doc_type or res.doc_type, type_confidence=res.confidence,
                    fields={k: FieldRead(f.value, f.confidence, tuple(f.flags)) for k, f in res.fields.items()},
                    quality=res.quality, ingest_id=ingest_id, source_name=source_name, page_from=page_from,
                    page_to=page_to, created_by=created_by, content_key=res.content_key)
