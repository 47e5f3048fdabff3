"""One JSON builder per entity, used by the CLI, the HTTP API and the web UI alike.

Conventions: ``id`` is an entity's own id and ``<entity>_id`` a reference to another; a document's
type is ``doc_type``; times are ISO 8601 with the +07:00 offset, days are ``YYYY-MM-DD``; personal
data only as stored (callers mask for logs).
"""
from __future__ import annotations

from typing import Any

from registry.components import state_of_component
from registry.models import CertifiedCopy, Component, Document, Dossier, Result, ReuseEvent
from vocab.clock import iso
from vocab.text import redact_pids


def document_json(doc: Document, *, detail: bool = False) -> dict[str, Any]:
    out = {"id": doc.id, "doc_type": doc.doc_type, "confidence": round(doc.type_confidence or 0.0, 4),
           "fields": doc.fields or {}, "pages": doc.pages, "quality": doc.quality, "sealed": bool(doc.sealed),
           "digitization_code": doc.digitization_code, "sha256": doc.sha256,
           "valid_until": iso(doc.valid_until), "created_at": iso(doc.created_at),
           "kind": doc.kind or "scan", "certified_from_id": doc.certified_from_id,
           "metadata": doc.doc_metadata or {}}
    if detail:
        out.update(mime=doc.mime, size=doc.size, source=doc.source_name,
                   field_confidences=doc.field_confidences or {},
                   pages_in_source=[doc.page_from, doc.page_to], ingest_id=doc.ingest_id)
    return out


def masked_fields(fields: dict[str, Any] | None) -> dict[str, Any]:
    """A document's fields with every personal ID number (12 or 9 digits) masked, for readers
    without the right to see them whole."""
    return {k: redact_pids(v) if isinstance(v, str) else v for k, v in (fields or {}).items()}


def component_json(c: Component) -> dict[str, Any]:
    return {"id": c.id, "doc_type": c.doc_type, "origin": c.origin, "routed_by": c.routed_by,
            "state": state_of_component(c), "exempt_reason": c.exempt_reason, "note": c.note or "",
            "document_id": c.document_id, "created_at": iso(c.created_at),
            "document": document_json(c.document) if c.document else None}


def dossier_json(d: Dossier) -> dict[str, Any]:
    return {
        "id": d.id,
        "code": d.code,
        "subject": d.subject.identifier,
        "subject_name": d.subject.name,
        "procedure": d.procedure_code,
        "channel": d.channel,
        "unit": d.unit,
        "status": d.status,
        "received_at": iso(d.received_at),
        "due_at": iso(d.due_at),
        "original_due_at": iso(d.original_due_at),
        "identity_status": d.identity_status,
        "components": [component_json(c) for c in d.components],
    }


def result_json(r: Result) -> dict[str, Any]:
    return {"id": r.id, "dossier_id": r.dossier_id, "document_id": r.document_id,
            "valid_from": iso(r.valid_from), "valid_until": iso(r.valid_until),
            "reusable": r.reusable, "electronic": r.electronic}


def certified_copy_json(c: CertifiedCopy, link=None) -> dict[str, Any]:
    return {"id": c.id, "number": c.number, "book": c.book, "year": c.year, "status": c.status,
            "source_document_id": c.source_document_id, "document_id": c.signed_document_id,
            "signed_at": iso(c.signed_at),
            "download": link(c.signed_document_id) if (link and c.signed_document_id) else None}


def reuse_event_json(ev: ReuseEvent) -> dict[str, Any]:
    return {"id": ev.id, "document_id": ev.document_id, "dossier_id": ev.dossier_id, "system": ev.system,
            "purpose": ev.purpose, "created_at": iso(ev.created_at)}
