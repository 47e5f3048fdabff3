"""The registry's domain errors: subclasses of the typed errors in :mod:`vocab.errors`, so every
surface (CLI, HTTP API, web UI) maps them with the same rule (conflict → 409 / exit 4, invalid →
422 / exit 2). Messages are Vietnamese: a clerk reads them."""
from __future__ import annotations

from vocab.errors import Conflict, Invalid

__all__ = ["SubjectMismatch", "TypeNotRequired", "DocumentNotUsable", "ComponentsIncomplete", "NotLate",
           "InvalidField", "FormErrors"]


class SubjectMismatch(Conflict):
    """The document names another person than the dossier's subject (needs an override with a reason)."""

    kind = "subject_mismatch"


class TypeNotRequired(Conflict):
    """The procedure of the dossier does not ask for a document of this type (needs an override)."""

    kind = "type_not_required"


class DocumentNotUsable(Conflict):
    """Expired, not reusable, or not the subject's own: it cannot satisfy a component by reuse."""

    kind = "document_not_usable"


class ComponentsIncomplete(Conflict):
    """A required component is in no allowed state (scanned, reused, national data, exempt)."""

    kind = "components_incomplete"


class NotLate(Conflict):
    """An apology slip for a dossier that is neither late nor declared late."""

    kind = "not_late"


class InvalidField(Invalid):
    """A corrected field value that fails its check (personal ID structure, date, tax code)."""

    kind = "invalid_field"

    def __init__(self, message: str, *, field: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.problems = list(problems or [])


class FormErrors(Invalid):
    """Several values of one form fail their checks: ``errors`` maps each form field to its
    message (plain Vietnamese, shown next to the field); the message is all of them."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(" ".join(errors.values()))
        self.errors = dict(errors)
