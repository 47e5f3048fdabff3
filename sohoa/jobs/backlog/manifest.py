"""The backlog's input: the manifest an office writes (CSV in the encodings Excel writes, or the
first sheet of an XLSX) and the folder of scans, turned into the rows to journal (``plan``): one
per scan with its manifest row, and a rejected row (with its reason) per bad manifest row, per row
whose file is missing, per second row naming the same file."""
from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.files import is_ignored, kind_of
from registry import backlog as journal
from registry.store import sha256_file
from vocab.errors import Invalid
from vocab.kinds import DOC_TYPES
from vocab.text import mask_pid, nfc

__all__ = ["HEADER", "ManifestRow", "read_manifest", "check_values", "scans_in", "plan"]

HEADER_SEARCH_ROWS = 20  # how far down a sheet the header row is looked for
HEADER = ("file", "subject_id", "doc_type", "result_code", "number", "issued_on", "issuer", "valid_until")


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


def check_values(subject_id: str, doc_type: str, issued_on: Any, valid_until: Any,
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
        issued, until = check_values(text["subject_id"], text["doc_type"], raw["issued_on"], raw["valid_until"],
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
