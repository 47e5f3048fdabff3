"""Who changed what, when: an object's history as people read it, from the audit log."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.models import AuditEvent, Document, Officer, Staff

__all__ = ["history", "actor_names", "QUIET"]

# reads are audited but are not changes: left out of a history
QUIET = ("dossier.show", "document.show", "document.page", "document.file", "dossier.watch", "certify.queue")


def actor_names(s: Session) -> dict[str, str]:
    """The names people read for audit actors (``staff:<user>``, ``officer:<id>``)."""
    names = {f"staff:{u}": n for u, n in s.execute(select(Staff.username, Staff.name))}
    names |= {f"officer:{i}": n for i, n in s.execute(select(Officer.id, Officer.name))}
    return names


def history(s: Session, object_type: str, object_id: str, limit: int = 50,
            current: Document | None = None) -> list[dict]:
    """Who changed what, when, from the audit log (reads left out). For a document's corrections,
    each event lists only the fields it changed (before → after), worked out from the next state."""
    rows = list(s.scalars(select(AuditEvent).where(AuditEvent.object_type == object_type,
                                                   AuditEvent.object_id == str(object_id),
                                                   AuditEvent.action.not_in(QUIET))
                          .order_by(AuditEvent.id.desc()).limit(limit)))
    names = actor_names(s)
    after = ({"doc_type": current.doc_type, "fields": dict(current.fields or {}),
              "metadata": dict(current.doc_metadata or {})} if current is not None else None)
    out = []
    for e in rows:  # newest first: each correction's "after" is the state the next one started from
        changes = []
        before = (e.detail or {}).get("before") if e.action == "document.correct" else None
        if isinstance(before, dict) and after is not None:
            bf = {**(before.get("fields") or {}), **(before.get("metadata") or {})}
            af = {**(after.get("fields") or {}), **(after.get("metadata") or {})}
            if before.get("doc_type") != after.get("doc_type"):
                changes.append({"kind": "doc_type", "before": before.get("doc_type"), "after": after.get("doc_type")})
            for k in sorted(set(bf) | set(af)):
                if bf.get(k) != af.get(k):
                    changes.append({"kind": "field", "name": k, "before": bf.get(k), "after": af.get(k)})
            after = before
        out.append({"at": e.at, "actor": names.get(e.actor) or e.actor.split(":", 1)[-1], "action": e.action,
                    "detail": e.detail or {}, "changes": changes})
    return out
