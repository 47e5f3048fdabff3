"""Persons concerned by a dossier (spec §9): the applicant and the others it is about — a spouse, a
child, a parent, the deceased, the person who authorised the applicant. Their papers belong in the
dossier: routing, the wrong-citizen refusal, reuse and the portal's events ask :func:`subject_ids`
and :func:`identifiers`; anyone else's paper is still refused.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.errors import FormErrors
from registry.models import AuditEvent, Dossier, DossierPerson, Subject
from vocab.identifiers import is_pid, pid_problems
from vocab.text import fold, nfc

# role code → what people read (the applicant is the dossier's subject, never a row here)
ROLES: dict[str, str] = {
    "applicant": "Người nộp hồ sơ", "wife": "Vợ", "husband": "Chồng", "child": "Con", "father": "Cha",
    "mother": "Mẹ", "deceased": "Người được khai tử", "principal": "Người ủy quyền",
    "guardian": "Người giám hộ", "ward": "Người được giám hộ", "other": "Người có liên quan khác",
}
RELATED_ROLES = tuple(r for r in ROLES if r != "applicant")

__all__ = ["ROLES", "RELATED_ROLES", "PersonIn", "PersonView", "parse_role", "parse_person", "check_persons",
           "add_persons", "persons", "subject_ids", "identifiers", "dossier_ids_of"]


@dataclass(frozen=True)
class PersonIn:
    """A person concerned as typed at intake (web form, ``--person ROLE:ID[:NAME]``, the API)."""

    role: str
    identifier: str
    name: str = ""


@dataclass(frozen=True)
class PersonView:
    role: str
    role_name: str
    identifier: str
    name: str
    subject_id: int


def parse_role(text: str) -> str | None:
    """A role by its code or its Vietnamese name, with or without diacritics (``vợ``, ``vo``, ``wife``)."""
    key = fold((text or "").strip()).replace("-", " ").replace("_", " ")
    for code, name in ROLES.items():
        if key in (code, fold(name)):
            return code
    aliases = {"nguoi khai tu": "deceased", "nguoi chet": "deceased", "uy quyen": "principal", "bo": "father",
               "me de": "mother", "con de": "child", "giam ho": "guardian"}
    return aliases.get(key)


def parse_person(text: str) -> PersonIn:
    """``ROLE:ID[:NAME]`` (the CLI's ``--person``)."""
    parts = (text or "").split(":", 2)
    if len(parts) < 2:
        raise FormErrors({"person": f"«{text}»: viết dạng VAI_TRÒ:SỐ_ĐỊNH_DANH[:HỌ_TÊN], ví dụ vo:001190012345:Nguyễn Thị Hoa."})
    role = parse_role(parts[0])
    if role is None or role == "applicant":
        raise FormErrors({"person": f"Vai trò «{parts[0]}» không có; chọn một trong: "
                                    + ", ".join(f"{fold(n).replace(' ', '-')} ({n})" for c, n in ROLES.items()
                                                if c != "applicant") + "."})
    return PersonIn(role, parts[1].strip(), nfc(parts[2].strip()) if len(parts) > 2 else "")


def check_persons(people: list[PersonIn], applicant: str, *, prefix: str = "person") -> list[PersonIn]:
    """The persons as given, checked: a known role, a well-formed 12-digit personal ID number, not the
    applicant, each once. Errors name the form field (``person-<n>-id``, ``person-<n>-role``)."""
    errors: dict[str, str] = {}
    seen = {applicant.strip()}
    out = []
    for n, p in enumerate(people, 1):
        pid = (p.identifier or "").strip()
        if p.role not in RELATED_ROLES:
            errors[f"{prefix}-{n}-role"] = "Hãy chọn vai trò của người này trong hồ sơ."
        if not is_pid(pid):
            errors[f"{prefix}-{n}-id"] = "Số định danh cá nhân gồm đúng 12 chữ số."
        elif pid_problems(pid):
            errors[f"{prefix}-{n}-id"] = "Số định danh cá nhân này không hợp lệ (mã tỉnh hoặc thế kỷ không đúng)."
        elif pid in seen:
            errors[f"{prefix}-{n}-id"] = ("Người này đã là người nộp hồ sơ." if pid == applicant.strip()
                                          else "Người này đã có trong danh sách.")
        seen.add(pid)
        out.append(PersonIn(p.role, pid, nfc((p.name or "").strip())))
    if errors:
        raise FormErrors(errors)
    return out


def add_persons(s: Session, d: Dossier, people: list[tuple[Subject, str]], *, actor: str) -> None:
    """Record the persons concerned (subject, role); each addition audited."""
    for subj, role in people:
        if subj.id is None:
            s.flush()
        if subj.id == d.subject_id or s.scalar(select(DossierPerson.id).where(
                DossierPerson.dossier_id == d.id, DossierPerson.subject_id == subj.id)):
            continue
        s.add(DossierPerson(dossier_id=d.id, subject_id=subj.id, role=role))
        s.add(AuditEvent(actor=actor, action="dossier.person", subject_id=subj.id, object_type="dossier",
                         object_id=d.code, detail={"role": role}))
    s.flush()


def persons(s: Session, d: Dossier) -> list[PersonView]:
    """The applicant first, then the persons concerned in the order they were given."""
    out = [PersonView("applicant", ROLES["applicant"], d.subject.identifier, d.subject.name, d.subject_id)]
    for p, subj in s.execute(select(DossierPerson, Subject).join(Subject, Subject.id == DossierPerson.subject_id)
                             .where(DossierPerson.dossier_id == d.id).order_by(DossierPerson.id)):
        out.append(PersonView(p.role, ROLES.get(p.role, p.role), subj.identifier, subj.name, subj.id))
    return out


def subject_ids(s: Session, d: Dossier) -> set[int]:
    """Subject ids whose papers belong in the dossier: the applicant's and the persons concerned."""
    return {d.subject_id, *s.scalars(select(DossierPerson.subject_id).where(DossierPerson.dossier_id == d.id))}


def identifiers(s: Session, d: Dossier) -> set[str]:
    ids = subject_ids(s, d)
    return set(s.scalars(select(Subject.identifier).where(Subject.id.in_(ids))))


def dossier_ids_of(identifier: str):
    """A selectable of the ids of dossiers the person is concerned by (as applicant or related person)."""
    sid = select(Subject.id).where(Subject.identifier == identifier).scalar_subquery()
    return select(Dossier.id).where(Dossier.subject_id == sid).union(
        select(DossierPerson.dossier_id).where(DossierPerson.subject_id == sid))
