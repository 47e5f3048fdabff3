"""Identity check at intake (Decree 104/2022; practice): when a dossier is opened, the applicant's
personal ID number, name and date of birth are checked against the population database, with the
officer and the procedure named. Every call is audited and its answer stored with the dossier.

The verifier is pluggable (:class:`IdentityVerifier`): anything with a ``name`` and a
``verify(IdentityQuery) -> IdentityAnswer`` method.

- :class:`StubVerifier` — for tests and development: answers from a dict (or a JSON file) of
  known people ``{"<ID>": {"ho_ten": "...", "ngay_sinh": "dd/mm/yyyy"}}``; an ID listed in
  ``unavailable`` (or the whole stub with ``available=False``) answers *unavailable*.
- ``sohoa.jobs.population.HttpVerifier`` — for a real population-database gateway (the HTTP call
  lives above the registry, in the composition root, which also builds the configured verifier). It POSTs JSON
  ``{"so_dinh_danh", "ho_ten", "ngay_sinh", "can_bo", "ma_thu_tuc"}`` to ``SOHOA_IDENTITY_URL``
  with ``Authorization: Bearer <SOHOA_IDENTITY_TOKEN>`` and reads ``{"ket_qua": "khop" |
  "khong_khop"}`` (or ``{"status": "match" | "no_match"}``), with an optional ``"ma_tra_cuu"``
  (lookup reference) and ``"ghi_chu"``. A timeout, a connection error, any status other than 200
  or an answer it cannot read is *unavailable* — never a match.
- With nothing configured, :class:`NoVerifier` answers *unavailable* ("not connected"), so the
  dossier says plainly that nobody checked.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from sqlalchemy.orm import Session

from registry.models import AuditEvent, Dossier, IdentityCheck
from vocab.text import fold, mask_pid, nfc

__all__ = ["IdentityQuery", "IdentityAnswer", "IdentityVerifier", "StubVerifier", "NoVerifier",
           "check_identity", "STATUSES", "STATUS_LABELS"]

STATUSES = ("match", "no_match", "unavailable")
STATUS_LABELS = {"match": "Khớp với CSDL quốc gia về dân cư", "no_match": "Không khớp với CSDL quốc gia về dân cư",
                 "unavailable": "Chưa kiểm tra được (không kết nối được CSDL)"}


@dataclass(frozen=True)
class IdentityQuery:
    identifier: str  # personal ID number
    name: str
    birth_date: str | None  # dd/mm/yyyy
    officer: str
    procedure: str


@dataclass(frozen=True)
class IdentityAnswer:
    status: str  # match | no_match | unavailable
    detail: str = ""  # a short reason, for people (Vietnamese)
    reference: str = ""  # the gateway's lookup reference, if any
    mismatched: tuple[str, ...] = field(default_factory=tuple)  # which of name / birth date differ


class IdentityVerifier(Protocol):
    name: str

    def verify(self, query: IdentityQuery) -> IdentityAnswer: ...


class NoVerifier:
    name = "none"

    def verify(self, query: IdentityQuery) -> IdentityAnswer:
        return IdentityAnswer("unavailable", "Chưa cấu hình kết nối CSDL quốc gia về dân cư (SOHOA_IDENTITY_URL).")


class StubVerifier:
    """Answers from a fixed list of people (tests, development)."""

    name = "stub"

    def __init__(self, people: dict[str, dict[str, str]] | None = None, *, unavailable: set[str] | None = None,
                 available: bool = True) -> None:
        self.people = dict(people or {})
        self.unavailable = set(unavailable or ())
        self.available = available
        self.calls: list[IdentityQuery] = []

    @classmethod
    def from_file(cls, path: str | Path) -> "StubVerifier":
        data = json.loads(Path(path).read_text("utf-8"))
        return cls(data.get("people", data), unavailable=set(data.get("unavailable", [])) if "people" in data else None)

    def verify(self, query: IdentityQuery) -> IdentityAnswer:
        self.calls.append(query)
        if not self.available or query.identifier in self.unavailable:
            return IdentityAnswer("unavailable", "CSDL thử nghiệm không trả lời.")
        person = self.people.get(query.identifier)
        if person is None:
            return IdentityAnswer("no_match", "Không có số định danh này trong CSDL thử nghiệm.", mismatched=("so_dinh_danh",))
        return _compare(query, person.get("ho_ten", ""), person.get("ngay_sinh"), reference=f"stub:{mask_pid(query.identifier)}")


def _compare(q: IdentityQuery, name: str, birth: str | None, reference: str = "") -> IdentityAnswer:
    bad = []
    if q.name and fold(q.name) != fold(name):
        bad.append("ho_ten")
    if q.birth_date and birth and q.birth_date.strip() != birth.strip():
        bad.append("ngay_sinh")
    if bad:
        return IdentityAnswer("no_match", "Không khớp: " + ", ".join(bad), reference, tuple(bad))
    return IdentityAnswer("match", "", reference)


def check_identity(s: Session, dossier: Dossier, verifier: IdentityVerifier, *, name: str, birth_date: str | None,
                   officer: str) -> IdentityCheck:
    """Ask ``verifier`` about the dossier's applicant; store the answer with the dossier and audit the call
    (the audit event is the only place the full ID number is kept)."""
    q = IdentityQuery(identifier=dossier.subject.identifier, name=nfc(name or dossier.subject.name or ""),
                      birth_date=(birth_date or "").strip() or None, officer=officer,
                      procedure=dossier.procedure_code)
    try:
        ans = verifier.verify(q)
    except Exception as exc:  # noqa: BLE001 - a broken plug-in must not stop the counter
        ans = IdentityAnswer("unavailable", f"Lỗi khi kiểm tra: {type(exc).__name__}.")
    if ans.status not in STATUSES:
        ans = IdentityAnswer("unavailable", f"Trả lời không hợp lệ: {ans.status!r}.")
    row = IdentityCheck(dossier_id=dossier.id, verifier=getattr(verifier, "name", type(verifier).__name__)[:40],
                        status=ans.status, officer=officer[:200],
                        detail={"detail": ans.detail, "reference": ans.reference, "mismatched": list(ans.mismatched),
                                "asked": {"subject": mask_pid(q.identifier), "name": bool(q.name),
                                          "birth_date": bool(q.birth_date)}})
    s.add(row)
    dossier.identity_status = ans.status
    detail = {"verifier": row.verifier, "status": ans.status, "identifier": q.identifier, "name": q.name,
              "birth_date": q.birth_date, "procedure": q.procedure, "reference": ans.reference,
              "mismatched": list(ans.mismatched)}
    s.add(AuditEvent(actor=officer, action="identity.verify", subject_id=dossier.subject_id, object_type="dossier",
                     object_id=dossier.code, detail=detail))
    s.flush()
    return row
