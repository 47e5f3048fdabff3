"""Backlog digitization: results issued before sohoa, scanned in bulk, become digitized, sealed,
reusable Results of their subjects (``sohoa backlog import SOURCE [--manifest FILE]``).

The data path of one run:

    read the manifest (CSV or XLSX) → list SOURCE → journal every scan (registry.backlog) →
    claim a few → OCR their pages concurrently → check each against its manifest row →
    seal → record (registry.backlog.record_result → registry.intake), one commit per scan

``process_items(ctx, ids)`` is the job boundary: it reads everything from the journal by id, so
it runs in-process (:class:`Importer`) or on a scaled-mode Celery worker (``sohoa.jobs.tasks``).
A manifest row that OCR contradicts (another ID number on the page, another document type) goes
to the review queue with the reason, never silently in; a scan without a row is typed and
attributed by OCR alone, and what OCR cannot settle goes to review too.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import os
import re
import socket
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ocr
from ingest.files import is_ignored, kind_of
from ingest.reasons import for_exception
from ingest.journal import lease_owner_alive
from ocr import DocumentResult, OcrInputError
from registry import Database, FieldRead, Incoming, Store
from registry import backlog as journal
from registry.store import sha256_file
from sohoa.config import Settings
from sohoa.i18n import label
from vocab.errors import Invalid
from vocab.kinds import DOC_TYPES
from vocab.text import mask_pid, nfc

__all__ = ["HEADER", "ManifestRow", "read_manifest", "plan", "decide", "BacklogContext", "process_items",
           "Importer", "Outcome", "settle", "correct_row", "StillInReview", "CORRECTABLE"]

log = logging.getLogger("sohoa.jobs.backlog")

HEADER_SEARCH_ROWS = 20  # how far down a sheet the header row is looked for
HEADER = ("file", "subject_id", "doc_type", "result_code", "number", "issued_on", "issuer", "valid_until")
PID_FIELDS = ("so_dinh_danh", "so_dinh_danh_chong", "so_dinh_danh_vo")
TYPE_SURE = 0.6  # OCR's type confidence from which it may contradict the manifest
BACKLOG_TASK = "sohoa.backlog_items"  # the Celery task (sohoa.jobs.tasks) running process_items
LEASE = dt.timedelta(minutes=20)
MAX_ATTEMPTS = 10  # claims of one scan (each crash or failure costs one) before it is rejected


# -- the manifest -----------------------------------------------------------------------------

@dataclass(frozen=True)
class ManifestRow:
    line: int
    file: str
    subject_id: str = ""
    doc_type: str = ""
    result_code: str = ""
    number: str = ""
    issued_on: dt.date | None = None
    issuer: str = ""
    valid_until: dt.date | None = None
    problems: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"file": self.file, "subject_id": self.subject_id, "doc_type": self.doc_type,
                "result_code": self.result_code, "number": self.number,
                "issued_on": self.issued_on.isoformat() if self.issued_on else None, "issuer": self.issuer,
                "valid_until": self.valid_until.isoformat() if self.valid_until else None}


def _date(value: Any, name: str, problems: list[str]) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):  # an XLSX date cell
        return value.date()
    if isinstance(value, dt.date):
        return value
    v = str(value).strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", v):  # ISO, as some exports write it
            return dt.date.fromisoformat(v)
        return dt.datetime.strptime(re.sub(r"[.\-]", "/", v), "%d/%m/%Y").date()  # also dd-mm-yyyy, dd.mm.yyyy
    except ValueError:
        problems.append(f"cột {name}: “{value}” không phải ngày dạng dd/mm/yyyy")
        return None


def _cells(path: Path) -> Iterator[list[Any]]:
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        try:
            wb = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:
            raise Invalid(f"không đọc được bảng kê {path.name}: {exc}") from exc
        try:
            for row in wb.worksheets[0].iter_rows(values_only=True):
                yield ["" if v is None else v for v in row]
        finally:
            wb.close()
        return
    text = _csv_text(path)
    yield from csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text.splitlines()[:HEADER_SEARCH_ROWS]))


def _csv_text(path: Path) -> str:
    """A CSV manifest's text: UTF-8 (with or without the BOM Excel's "CSV UTF-8" writes), UTF-16
    (Excel's "Unicode text"), else Windows-1258 — what Excel's plain "CSV" writes on a Vietnamese
    Windows (its tone marks are combining characters, composed to NFC here)."""
    raw = path.read_bytes()
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise Invalid(f"bảng kê {path.name} hỏng: không đọc được dạng UTF-16") from exc
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return nfc(raw.decode("cp1258"))
    except UnicodeDecodeError as exc:
        raise Invalid(f"bảng kê {path.name} không phải văn bản UTF-8 hay Windows-1258: hãy lưu lại dạng "
                      "“CSV UTF-8” hoặc XLSX") from exc


def _delimiter(lines: list[str]) -> str:
    """Comma, or the semicolon Excel uses where the decimal mark is a comma (Vietnamese Windows), or a
    tab: the one that splits some line of the top into the most header names."""
    best, most = ",", 0
    for d in (",", ";", "\t"):
        n = max((sum(c.strip().strip('"').lower() in HEADER for c in line.split(d)) for line in lines), default=0)
        if n > most:
            best, most = d, n
    return best


def _check_values(subject_id: str, doc_type: str, issued_on: Any, valid_until: Any,
                  problems: list[str]) -> tuple[dt.date | None, dt.date | None]:
    """The checks of a row's values, for a manifest row and for an officer's corrections alike:
    the subject's identifier, the document type, the two dates and their order. Problems are
    appended; returns the dates."""
    if subject_id:
        from registry.service import subject_kind

        try:
            subject_kind(subject_id)
        except Invalid:
            problems.append(f"cột subject_id: “{mask_pid(subject_id)}” không phải số định danh 12 chữ số hay mã số thuế")
    if doc_type and doc_type not in DOC_TYPES:
        problems.append(f"cột doc_type: “{doc_type}” không phải loại giấy tờ đã biết")
    issued = _date(issued_on, "issued_on", problems)
    until = _date(valid_until, "valid_until", problems)
    if issued and until and until < issued:
        problems.append("valid_until trước issued_on")
    return issued, until


def read_manifest(path: str | os.PathLike) -> list[ManifestRow]:
    """Rows of a manifest with the header ``file,subject_id,doc_type,result_code,number,issued_on,
    issuer,valid_until`` (CSV in UTF-8, or the first sheet of an XLSX). Each row's problems are
    kept on it (the row is rejected with them); a missing or wrong header is an error."""
    path = Path(path)
    if not path.is_file():
        raise Invalid(f"không có tệp bảng kê {path}")
    rows = _cells(path)
    head, first, line_no = None, None, 0
    for line_no, cells in enumerate(rows, start=1):  # a title above the header (common in spreadsheets) is skipped
        if "file" in [str(h).strip().lower() for h in cells]:
            head = cells
            break
        if first is None and any(str(c).strip() for c in cells):
            first = cells
        if line_no >= HEADER_SEARCH_ROWS:
            break
    names = [str(h).strip().lower() for h in (head or first or [])]
    missing = [h for h in HEADER if h not in names]
    if missing:
        raise Invalid(f"bảng kê {path.name} thiếu cột {', '.join(missing)}; dòng tiêu đề phải là {','.join(HEADER)}")
    idx = {h: names.index(h) for h in HEADER}
    out = []
    for line, cells in enumerate(rows, start=line_no + 1):
        if not any(str(c).strip() for c in cells):
            continue
        raw = {h: (cells[i] if i < len(cells) else "") for h, i in idx.items()}
        text = {h: nfc(str(v).strip()) if not isinstance(v, (dt.date, dt.datetime)) else v for h, v in raw.items()}
        problems: list[str] = []
        if isinstance(raw["subject_id"], (int, float)) and not isinstance(raw["subject_id"], bool):
            text["subject_id"] = f"{int(raw['subject_id']):012d}"  # a spreadsheet ate the leading zeros
        if not text["file"]:
            problems.append("thiếu tên tệp (cột file)")
        issued, until = _check_values(text["subject_id"], text["doc_type"], raw["issued_on"], raw["valid_until"],
                                      problems)
        out.append(ManifestRow(line, str(text["file"]), text["subject_id"], text["doc_type"], text["result_code"],
                               text["number"], issued, text["issuer"], until, tuple(problems)))
    return out


# -- listing the source -------------------------------------------------------------------------

def scans_in(source: Path) -> list[str]:
    """Relative paths of the scans under ``source`` (temp names and NAS litter skipped), sorted."""
    out = []
    for dirpath, dirnames, filenames in os.walk(source):
        dirnames.sort()
        for name in sorted(filenames):
            rel = os.path.relpath(os.path.join(dirpath, name), source)
            if not is_ignored(rel) and kind_of(rel):
                out.append(rel)
    return out


def plan(source: Path, rows: list[ManifestRow] | None, *, skip: set[str] = frozenset()) -> Iterator[journal.PlannedItem]:
    """What to journal: one item per scan (with its manifest row), and a rejected item per bad row,
    per row whose file is missing, per second row for the same file. Paths in ``skip`` are
    already journaled (a resumed run) and are not hashed again."""
    files = scans_in(source)
    present = set(files)
    by_file: dict[str, ManifestRow] = {}
    named: set[str] = set()
    for r in rows or []:
        rel = os.path.normpath(r.file) if r.file else ""
        named.add(rel)
        if r.problems or rel in by_file or rel not in present:
            key = f"{rel or '?'}#dòng{r.line}"  # a row, not a scan: its own journal key
            if key in skip:
                continue
            why = ("; ".join(r.problems) if r.problems else
                   f"tệp {rel} đã có ở dòng {by_file[rel].line} của bảng kê" if rel in by_file else
                   f"không tìm thấy tệp {rel} trong thư mục nguồn")
            yield journal.PlannedItem(key, "", 0, r.line, r.as_json(), why)
        else:
            by_file[rel] = r
    for rel in files:
        if rel in skip or (rel in named and rel not in by_file):
            continue  # journaled already, or its only rows were bad (rejected above)
        p = source / rel
        r = by_file.get(rel)
        yield journal.PlannedItem(rel, sha256_file(p), p.stat().st_size, r.line if r else None,
                                  r.as_json() if r else {})


# -- checking one scan against its row -------------------------------------------------------------

def _read_json(res: DocumentResult) -> dict[str, Any]:
    return {"doc_type": res.doc_type, "confidence": round(res.confidence, 3), "quality": res.quality,
            "fields": {k: f.value for k, f in res.fields.items()}}


def decide(row: dict[str, Any], res: DocumentResult, *, trust_row: bool = False) -> journal.Decision | str:
    """The result to record, or the reason (Vietnamese, IDs masked) it goes to review.

    ``trust_row``: an officer settling the review queue vouches for the row (with a reason that
    is audited): what the page says no longer contradicts it, but a subject and a type are still
    needed."""
    pids: list[tuple[str, tuple[str, ...]]] = []
    for name in PID_FIELDS:
        f = res.fields.get(name)
        if f and f.value.isdigit() and len(f.value) == 12 and f.value not in [p for p, _ in pids]:
            pids.append((f.value, tuple(f.flags)))
    read_pids = [p for p, _ in pids]
    subject = row.get("subject_id") or ""
    if subject and read_pids and subject not in read_pids and not trust_row:
        return (f"số định danh trên trang ({', '.join(mask_pid(p) for p in read_pids)}) khác với bảng kê "
                f"({mask_pid(subject)})")
    if not subject:
        if not pids:
            return "không đọc được số định danh của chủ thể trên trang và bảng kê không ghi"
        subject, flags = pids[0]
        if flags:
            return f"số định danh đọc được ({mask_pid(subject)}) không khớp ngày sinh hoặc mã tỉnh: cần kiểm tra"
    doc_type = row.get("doc_type") or ""
    if doc_type and res.doc_type not in ("khac", doc_type) and res.confidence >= TYPE_SURE and not trust_row:
        return f"loại giấy tờ trên trang ({label('doc_type', res.doc_type)}) khác với bảng kê ({label('doc_type', doc_type)})"
    if not doc_type:
        if res.doc_type == "khac" or res.confidence < TYPE_SURE:
            return "không xác định được loại giấy tờ và bảng kê không ghi"
        doc_type = res.doc_type
        if res.quality != "ok" and not trust_row:
            return "chất lượng bản quét thấp và không có bảng kê để đối chiếu"
    fields = {k: f.value for k, f in res.fields.items()}
    meta = {"so_ky_hieu": row.get("number"), "ma_ket_qua": row.get("result_code"),
            "co_quan_ban_hanh": row.get("issuer"), "ngay_ban_hanh": _ddmmyyyy(row.get("issued_on")),
            "hieu_luc_den": _ddmmyyyy(row.get("valid_until"))}
    meta = {k: v for k, v in meta.items() if v}
    if not meta.get("so_ky_hieu"):
        number = next((fields[k] for k in ("so", "so_hieu", "so_phat_hanh") if fields.get(k)), None)
        if number:
            fields["so_ky_hieu"] = number
    fields.update(meta)
    return journal.Decision(subject=subject, doc_type=doc_type, fields=fields, manifest_fields=tuple(meta),
                            issued_on=_iso_date(row.get("issued_on")), valid_until=_iso_date(row.get("valid_until")))


def _iso_date(v: str | None) -> dt.date | None:
    return dt.date.fromisoformat(v) if v else None


def _ddmmyyyy(v: str | None) -> str | None:
    return dt.date.fromisoformat(v).strftime("%d/%m/%Y") if v else None


# -- the job -------------------------------------------------------------------------------------

@dataclass
class BacklogContext:
    settings: Settings
    db: Database
    store: Store
    executor: Executor | None = None  # runs ocr.read_page; None = serially here
    sealer: object | None = None  # signing.Sealer when a seal key is configured
    owner: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")

    @classmethod
    def for_settling(cls, settings: Settings, db: Database) -> BacklogContext:
        """One scan read in this process (no page pool), sealed with the configured key: for
        :func:`settle` from the CLI or the web UI."""
        from sohoa.jobs.host import load_sealer

        return cls(settings, db, Store(settings.store_dir), None, load_sealer(settings))


@dataclass
class Outcome:
    states: dict[str, int] = field(default_factory=dict)
    pages: int = 0
    pool_broken: bool = False

    def add(self, state: str, pages: int = 0) -> None:
        self.states[state] = self.states.get(state, 0) + 1
        self.pages += pages


def process_items(ctx: BacklogContext, ids: list[int]) -> Outcome:
    """Claim, OCR, check, seal and record the given journal rows (those still to do)."""
    out = Outcome()
    with ctx.db.session() as s:
        mine = journal.claim(s, ids, ctx.owner, lease=LEASE, alive=lease_owner_alive, max_attempts=MAX_ATTEMPTS)
        todo = []
        for i in mine:
            if journal.finish_if_held(s, i, ctx.owner):
                out.add("duplicate")
                continue
            it, run = journal.item(s, i)
            todo.append((i, Path(run.source) / it.rel_path, dict(it.row or {})))
    kw = dict(lang=ctx.settings.ocr_lang, max_pixels=ctx.settings.max_pixels)
    jobs: list[tuple[int, Path, dict, list[Future] | BaseException]] = []
    for i, path, row in todo:  # submit every page of every item first: the pool stays busy
        try:
            n = ocr.count_pages(str(path), max_pixels=ctx.settings.max_pixels)
            if n < 1:
                raise OcrInputError("no pages", code="pdf_no_pages")
        except (OcrInputError, OSError) as exc:
            jobs.append((i, path, row, exc))
            continue
        if ctx.executor is None:
            jobs.append((i, path, row, [None] * n))
        else:
            jobs.append((i, path, row, [ctx.executor.submit(ocr.read_page, str(path), p, **kw) for p in range(n)]))
    for k, (i, path, row, pages) in enumerate(jobs):
        try:
            if isinstance(pages, BaseException):
                raise pages
            results = [f.result() if f is not None else ocr.read_page(str(path), p, **kw) for p, f in enumerate(pages)]
            _finish_one(ctx, i, path, row, ocr.assemble(str(path), results), out)
        except (OcrInputError, OSError) as exc:  # the catalogue's sentence; the technical detail kept beside it
            if isinstance(exc, OSError) and not isinstance(pages, BaseException):  # mid-read: another pass
                log.warning("backlog item #%d: %s; it is taken again later", i, exc)
                with ctx.db.session() as s:
                    journal.release(s, [i], ctx.owner)
                continue
            why = for_exception(exc)
            with ctx.db.session() as s:
                journal.finish(s, i, ctx.owner, "rejected", why.message, {"error": why.code, "detail": why.detail}, 0)
            out.add("rejected")
            log.info("backlog #%d %s → rejected: %s", i, path.name, why.detail)
        except Exception as exc:
            if type(exc).__name__ == "BrokenProcessPool":
                out.pool_broken = True
                with ctx.db.session() as s:
                    journal.release(s, [j for j, *_ in jobs[k:]], ctx.owner)
                break
            log.exception("backlog item #%d failed", i)
            with ctx.db.session() as s:
                journal.release(s, [i], ctx.owner)
    return out


def _incoming(ctx: BacklogContext, path: Path, res: DocumentResult, verdict: journal.Decision) -> Incoming:
    """What the registry records for one backlog scan: its searchable PDF, sealed when a seal key is set."""
    pages = len(res.pages)
    pdf = ctx.sealer.seal(res.pdf) if ctx.sealer is not None else res.pdf
    return Incoming(pdf=pdf, sealed=ctx.sealer is not None, pages=pages, text=res.text, doc_type=verdict.doc_type,
                    type_confidence=res.confidence,
                    fields={k: FieldRead(f.value, f.confidence, tuple(f.flags)) for k, f in res.fields.items()},
                    quality=res.quality, ingest_id=None, source_name=path.name, page_from=1, page_to=pages,
                    created_by="backlog")


def _finish_one(ctx: BacklogContext, item_id: int, path: Path, row: dict, res: DocumentResult, out: Outcome) -> None:
    verdict = decide(row, res)
    pages = len(res.pages)
    if isinstance(verdict, str):
        with ctx.db.session() as s:
            journal.finish(s, item_id, ctx.owner, "review", verdict, _read_json(res), pages)
        out.add("review", pages)
        log.info("backlog #%d %s → review: %s", item_id, path.name, verdict)
        return
    with ctx.db.session() as s:
        state, doc_id = journal.record_result(s, ctx.store, item_id, ctx.owner, _incoming(ctx, path, res, verdict),
                                              verdict, agency=ctx.settings.agency_code)
    if state:
        out.add(state, pages)
        log.info("backlog #%d %s → %s (document #%s)", item_id, path.name, state, doc_id)


# -- settling the review queue ---------------------------------------------------------------------

class StillInReview(Invalid):
    """The corrected row still disagrees with the page (or still lacks a subject or a type)."""


CORRECTABLE = ("subject_id", "doc_type", "result_code", "number", "issued_on", "issuer", "valid_until")


def correct_row(row: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """The manifest row with an officer's corrections (same names and checks as the manifest's
    columns; dates as dd/mm/yyyy or dates). Raises Invalid with every problem found."""
    unknown = sorted(set(changes) - set(CORRECTABLE))
    if unknown:
        raise Invalid(f"không sửa được cột {', '.join(unknown)}; các cột sửa được: {', '.join(CORRECTABLE)}")
    out = dict(row)
    out.update({k: v if isinstance(v, (dt.date, dt.datetime)) else nfc(str(v).strip())
                for k, v in changes.items() if v is not None})
    problems: list[str] = []
    issued, until = _check_values(out.get("subject_id") or "", out.get("doc_type") or "", out.get("issued_on"),
                                  out.get("valid_until"), problems)  # the manifest keeps its dates as ISO text
    if problems:
        raise Invalid("; ".join(problems))
    out["issued_on"], out["valid_until"] = (d.isoformat() if d else None for d in (issued, until))
    return out


def settle(ctx: BacklogContext, item_id: int, changes: dict[str, Any], *, actor: str,
           override_reason: str | None = None) -> tuple[str, int | None]:
    """An officer settles a review item: the scan is read again, checked against the row as the
    officer corrected it, sealed and recorded as its subject's result. When the page still
    contradicts the row, ``override_reason`` (audited) lets the officer's row stand.
    Returns (final state ``imported`` | ``duplicate``, document id)."""
    override_reason = (override_reason or "").strip() or None
    with ctx.db.session() as s:
        it, run = journal.take_for_review(s, item_id, ctx.owner, lease=LEASE, alive=lease_owner_alive)
        path, row, was, sha = Path(run.source) / it.rel_path, dict(it.row or {}), it.reason, it.sha256
    try:
        row = correct_row(row, changes)
        if not sha or not path.is_file():
            raise Invalid(f"không còn bản quét {path}: không thể nhập mục #{item_id}")
        if sha256_file(path) != sha:
            raise Invalid(f"bản quét {path.name} đã đổi từ khi được lập danh sách: không thể nhập mục #{item_id}")
        try:
            res = ocr.ocr_file(str(path), lang=ctx.settings.ocr_lang, max_pixels=ctx.settings.max_pixels,
                               source_sha256=sha)
        except (OcrInputError, OSError) as exc:
            raise Invalid(f"bản quét {path.name}: {for_exception(exc).message}", detail=str(exc)) from exc
        verdict = decide(row, res, trust_row=override_reason is not None)
        if isinstance(verdict, str):
            raise StillInReview(f"mục #{item_id} vẫn cần xem lại: {verdict}", detail=verdict)
        with ctx.db.session() as s:
            state, doc_id = journal.record_result(s, ctx.store, item_id, journal.REVIEW_OWNER + ctx.owner,
                                                  _incoming(ctx, path, res, verdict), verdict,
                                                  agency=ctx.settings.agency_code, actor=actor)
            if not state:
                raise Invalid(f"mục #{item_id} đã được người khác xử lý")
            journal.note_settled(s, item_id, row, actor=actor, review_reason=was, override_reason=override_reason)
        log.info("backlog #%d %s settled by %s → %s (document #%s)", item_id, path.name, actor, state, doc_id)
        return state, doc_id
    except BaseException:
        with ctx.db.session() as s:
            journal.back_to_review(s, item_id, ctx.owner)
        raise


# -- running a whole import ------------------------------------------------------------------------

class Importer:
    """Journal SOURCE, then work through its rows: in this process (a page pool shared by a couple
    of item batches in flight) or, with a broker, by enqueuing them for the Celery workers."""

    def __init__(self, settings: Settings, db: Database, *, executor: Executor | None = None, sealer=None,
                 remote=None, chunk: int | None = None) -> None:
        self.settings, self.db = settings, db
        self.ctx = BacklogContext(settings, db, Store(settings.store_dir), executor, sealer)
        self.remote = remote  # a Celery app (scaled mode)
        self.chunk = chunk or max(2, settings.worker_count)

    def journal_source(self, source: Path, manifest: Path | None) -> int:
        """Open (or resume) the run of ``source`` and journal every scan; returns the run id."""
        source = source.resolve()
        if not source.is_dir():
            raise Invalid(f"{source} không phải thư mục")
        rows = read_manifest(manifest) if manifest else None
        with self.db.session() as s:
            run, resumed = journal.open_run(s, str(source), str(manifest.resolve()) if manifest else None)
            run_id, state = run.id, run.state
            skip = journal.known_paths(s, run_id) if resumed else set()
            if resumed:
                journal.recover(s, run_id, lease_owner_alive)
        if state == "listing":
            batch: list[journal.PlannedItem] = []
            for it in plan(source, rows, skip=skip):
                batch.append(it)
                if len(batch) >= 200:  # committed in slices: a kill while listing keeps what was hashed
                    with self.db.session() as s:
                        journal.add_items(s, run_id, batch)
                    batch = []
            with self.db.session() as s:
                journal.add_items(s, run_id, batch)
                journal.mark_ready(s, s.get(journal.BacklogRun, run_id))
        return run_id

    def run(self, run_id: int, progress: Callable[[dict], None] | None = None, every: float = 0.5) -> dict:
        """Work until no row of the run is left to do; ``progress`` gets the status now and then."""
        if self.remote is not None:
            return self._run_remote(run_id, progress, every)
        taken: set[int] = set()
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="backlog") as jobs:
            running: set[Future] = set()
            while True:
                while len(running) < 2:  # two item batches in flight keep the page pool busy
                    with self.db.session() as s:
                        ids = journal.pending_ids(s, run_id, limit=self.chunk, exclude=taken)
                    if not ids:
                        break
                    taken.update(ids)
                    running.add(jobs.submit(self._work, ids))
                if not running:
                    with self.db.session() as s:
                        if journal.finish_run(s, run_id):
                            break
                        journal.recover(s, run_id, lease_owner_alive)
                        left = journal.pending_ids(s, run_id, limit=1)
                    if not left:
                        time.sleep(every)  # rows held by another live process: wait for them
                    taken.clear()  # rows given back after a failure are taken again
                    continue
                finished, _ = wait(running, timeout=every, return_when=FIRST_COMPLETED)
                for f in finished:
                    running.discard(f)
                    f.result()
                if progress:
                    with self.db.session() as s:
                        progress(journal.status(s, run_id))
        with self.db.session() as s:
            return journal.status(s, run_id)

    def _work(self, ids: list[int]) -> Outcome:
        out = process_items(self.ctx, ids)
        if out.pool_broken and self.ctx.executor is not None:  # a page worker died: a fresh pool
            from sohoa.jobs.host import page_pool

            old, self.ctx.executor = self.ctx.executor, page_pool(self.settings.worker_count)
            old.shutdown(wait=False, cancel_futures=True)
        return out

    def _run_remote(self, run_id: int, progress, every: float) -> dict:
        with self.db.session() as s:
            journal.recover(s, run_id, lease_owner_alive)
            ids = journal.pending_ids(s, run_id)
        for i in ids:  # one scan per message: the queue spreads them over the workers
            self.remote.send_task(BACKLOG_TASK, args=[[i]], queue=self.settings.queue)
        sent_at: dict[int, int] = {}  # rows sent again, at which attempt
        while True:
            with self.db.session() as s:
                st = journal.status(s, run_id)
                if journal.finish_run(s, run_id):
                    break
                journal.recover(s, run_id, lease_owner_alive)
                again = [(i, a) for i, a in journal.given_back(s, run_id) if sent_at.get(i) != a]
            for i, a in again:  # a worker gave them back (its pool broke) or died on this machine
                sent_at[i] = a
                self.remote.send_task(BACKLOG_TASK, args=[[i]], queue=self.settings.queue)
            if progress:
                progress(st)
            time.sleep(every)
        with self.db.session() as s:
            return journal.status(s, run_id)


def report(db: Database, run_id: int) -> dict[str, Any]:
    """The closing report: counts, and each row in review, rejected or a duplicate with its reason."""
    with db.session() as s:
        st = journal.status(s, run_id)
        items = journal.listing(s, run_id, ("review", "rejected", "duplicate"))
    st["needs_review"] = [{k: i[k] for k in ("id", "file", "row", "reason")} for i in items if i["state"] == "review"]
    st["rejected_items"] = [{k: i[k] for k in ("id", "file", "row", "reason")} for i in items if i["state"] == "rejected"]
    st["duplicate_items"] = [{k: i[k] for k in ("id", "file", "row", "reason", "document_id")}
                             for i in items if i["state"] == "duplicate"]
    return st
