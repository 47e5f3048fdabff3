"""Issue 19 §4: page operations keep a document's pages with the same citizen, or need a reason
that is audited — the same rule as routing."""
from __future__ import annotations

import io

import pikepdf
from sqlalchemy import select

from registry import service
from registry.models import AuditEvent, Document
from registry.store import Store
from tests.security.conftest import post


def _pdf(pages: int, label: str) -> bytes:
    pdf = pikepdf.new()
    for _ in range(pages):
        pdf.add_blank_page(page_size=(200, 300))
    pdf.docinfo["/Title"] = label
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def _doc(office, s, pid: str | None, label: str, pages: int = 2) -> int:
    digest, _ = Store(office.settings.store_dir).put_bytes(_pdf(pages, label))
    subj = service.get_or_create_subject(s, pid, label) if pid else None
    doc = Document(sha256=digest, doc_type="khai_sinh", type_confidence=0.9, pages=pages, source_name=f"{label}.pdf",
                   fields={}, subject_id=subj.id if subj else None)
    s.add(doc)
    s.flush()
    return doc.id


def test_a_page_does_not_move_to_another_citizen_without_a_reason(office):
    with office.db.session() as s:
        a = _doc(office, s, "001088012345", "an")
        b = _doc(office, s, "036085004321", "binh")
        a2 = _doc(office, s, "001088012345", "an-2")
    c = office.signed_in("clerk")
    r = post(c, f"/documents/{a}/pages/2/move", {"target": str(b)})
    assert r.status_code == 409 and "người khác nhau" in r.text
    r = post(c, f"/documents/{a}/merge", {"other": str(b)})
    assert r.status_code == 409
    with office.db.session() as s:
        assert s.get(Document, a).pages == 2 and s.get(Document, b).pages == 2  # nothing moved
    # the same citizen's documents: no reason needed
    assert post(c, f"/documents/{a}/pages/2/move", {"target": str(a2)}).status_code == 303
    # with a reason: done, and the reason audited
    r = post(c, f"/documents/{a2}/pages/3/move", {"target": str(b), "override_reason": "trang kẹp nhầm khi quét"})
    assert r.status_code == 303, r.text[:300]
    with office.db.session() as s:
        assert s.get(Document, b).pages == 3
        ev = s.scalars(select(AuditEvent).where(AuditEvent.action == "document.pages.override")).one()
        assert ev.detail["reason"] == "trang kẹp nhầm khi quét" and ev.detail["target"] == b
