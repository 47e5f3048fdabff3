"""Certification requests through the job the officer's page and ``sohoa certify`` share: a
failed batch puts its requests back in the queue and keeps their numbers for the retry; a
refused request's number is recorded void; each act writes one audit row (the retry keeping its number:
test_certification_crash.py)."""
from __future__ import annotations

from pathlib import Path

from sigcheck import dead_url, validate_all


def test_failed_batch_released_refusal_voids_retry_keeps_number(make_settings, sign_db, put_doc, officer_id, tpki,
                                                                 scan_pdf):
    from sqlalchemy import select

    from registry import certification
    from registry.models import AuditEvent, CertificationRequest, CertifiedCopy
    from signing import Certifier, SigningFailed, record_refusal
    from sohoa.dev.scans import scanned_pdf
    from sohoa.jobs.certification import certify_requests

    d1, d2 = put_doc(sign_db, scan_pdf), put_doc(sign_db, scanned_pdf(dpi=40, noise=False, seed=7))
    with sign_db.session() as s:
        r1 = certification.request(s, d1, 1, actor="staff:canbo")
        r2 = certification.request(s, d2, 2, actor="staff:canbo")
    with Certifier(make_settings(tsa_url=dead_url()), sign_db, officer_id, workers=1, seal=False) as c:
        batch = certify_requests(c, sign_db, [r1, r2], actor="staff:chungthuc")
    assert isinstance(batch.failure, SigningFailed) and batch.certified == [] and batch.settled == 0
    with sign_db.session() as s:
        assert certification.states(s, [r1, r2]) == {r1: "pending", r2: "pending"}  # back in the queue
        acts = {a.source_document_id: (a.number, a.status) for a in s.scalars(select(CertifiedCopy))}
        assert acts == {d1: (1, "failed")}  # the batch stopped at its first failure: nothing else allocated
    # the officer refuses the first: one audit row, its number void (never skipped silently)
    refusal = record_refusal(sign_db, None, "damaged", "rách", officer_id, request_id=r1, actor="staff:chungthuc")
    assert refusal.document_id == d1 and refusal.request_id == r1
    # the second is certified; number 1 stays void (not reused, not skipped silently)
    with Certifier(make_settings(tsa_url=tpki.tsa_url), sign_db, officer_id, workers=1, seal=False) as c:
        batch = certify_requests(c, sign_db, [r2], actor="staff:chungthuc")
    assert batch.failure is None and [(rid, res.number) for rid, res in batch.certified] == [(r2, 2)]
    (_, res), = batch.certified
    assert len(res.copies) == 2
    for cp in res.copies:
        validate_all(Path(cp.path).read_bytes(), tpki, expect_timestamp=True)
    with sign_db.session() as s:
        acts = {a.source_document_id: (a.number, a.status) for a in s.scalars(select(CertifiedCopy))}
        assert acts == {d1: (1, "void"), d2: (2, "signed")}
        x = s.get(CertificationRequest, r2)
        assert x.status == "certified" and x.certified_copy_id == res.certified_copy_id and x.decided_by == "chungthuc"
        rows = [(a.action, a.detail.get("request")) for a in s.scalars(select(AuditEvent).order_by(AuditEvent.id))]
        assert rows.count(("certify.refuse", r1)) == 1 and rows.count(("certify", r2)) == 1
        assert [a for a, _ in rows].count("certify") == 1 and [a for a, _ in rows].count("certify.refuse") == 1
        (refused,) = [a.detail for a in s.scalars(select(AuditEvent).where(AuditEvent.action == "certify.refuse"))]
        assert refused["void_numbers"] == [1] and refused["reason"] == "damaged"
        released = [a.detail for a in s.scalars(select(AuditEvent).where(AuditEvent.action == "certify.release"))]
        assert len(released) == 2 and all("dấu thời gian" in d["reason"] for d in released)
