"""Helpers for the once-only tests: people with well-formed ID numbers, and documents recorded the
way the intake records them (stored bytes, OCR fields, then ``service.derive_from_content``)."""
from __future__ import annotations

import json
import random
from dataclasses import dataclass

from click.testing import CliRunner

from tests.api.apitest_helpers import pdf_bytes

_used: set[str] = set()


@dataclass(frozen=True)
class Person:
    pid: str
    name: str
    dob: str  # dd/mm/yyyy
    sex: str


def person(name: str, year: int, sex: str = "Nam", province: str = "001") -> Person:
    """A person with a fresh, well-formed personal ID number (province, century/sex digit, year)."""
    digit = 2 * ((year - 1900) // 100) + (1 if sex == "Nữ" else 0)
    while True:
        pid = f"{province}{digit}{year % 100:02d}{random.randrange(10 ** 6):06d}"
        if pid not in _used:
            _used.add(pid)
            return Person(pid, name, f"{random.randint(1, 28):02d}/{random.randint(1, 12):02d}/{year}", sex)


def intake_document(s, store, *, doc_type: str, fields: dict[str, str], text: str = "", label: str | None = None):
    """Record a scanned document as the intake does: the file in the store, what OCR read, and
    what its content says about it (metadata, validity, the people it names)."""
    from registry import service
    from registry.models import Document

    label = label or f"scan-{random.randrange(10 ** 12)}"
    data = pdf_bytes(label)
    digest, _ = store.put_bytes(data)
    doc = Document(sha256=digest, size=len(data), doc_type=doc_type, type_confidence=0.95, fields=dict(fields),
                   field_confidences={k: {"confidence": 0.9, "flags": []} for k in fields}, text=text,
                   source_name=f"{label}.jpg", created_by="ingest", doc_metadata={})
    s.add(doc)
    s.flush()
    service.derive_from_content(s, doc)
    return doc


def id_card_fields(p: Person, expiry: str = "31/12/2040") -> dict[str, str]:
    return {"so_dinh_danh": p.pid, "ho_ten": p.name, "ngay_sinh": p.dob, "ngay_het_han": expiry}


class Cli:
    """The ``sohoa`` command line, run in-process on a home (``--json`` output parsed)."""

    def __init__(self, home, database_url: str | None = None) -> None:
        self.env = {"SOHOA_HOME": str(home)}
        if database_url:
            self.env["SOHOA_DATABASE_URL"] = database_url

    def run(self, *args: str):
        from sohoa.cli import cli

        return CliRunner().invoke(cli, ["--json", *args], env=self.env, catch_exceptions=False)

    def ok(self, *args: str) -> list[dict]:
        res = self.run(*args)
        assert res.exit_code == 0, res.output
        return [json.loads(line) for line in res.output.splitlines() if line.strip()]

    def refused(self, *args: str, code: int = 4) -> str:
        res = self.run(*args)
        assert res.exit_code == code, (res.exit_code, res.output)
        return res.output


def audits(s, action: str):
    from sqlalchemy import select

    from registry.models import AuditEvent

    return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))
