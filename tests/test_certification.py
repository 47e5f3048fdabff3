"""The life of a certification request (registry.certification), on a real SQLite registry:
each transition checks the state it comes from — an illegal one is refused in Vietnamese and
changes nothing — and writes exactly one audit row; a claim carries a lease; requests a killed
batch left "signing" go back to the queue. On SQLite, and on PostgreSQL where marked."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from registry import certification as cert
from registry.models import AuditEvent, CertificationRequest, Document
from vocab.errors import Conflict, Invalid, NotFound
from vocab.kinds import CertState

CLERK, OFFICER, OWNER = "staff:canbo", "staff:chungthuc", "may-chu:4242"


def _doc(s, n: int = 1, doc_type: str = "khai_sinh") -> int:
    d = Document(sha256=f"{n:064x}", size=10, pages=1, doc_type=doc_type, text="GIẤY KHAI SINH")
    s.add(d)
    s.flush()
    return d.id


def _acts(s, request_id: int) -> list[str]:
    return [a for a, d in s.execute(select(AuditEvent.action, AuditEvent.detail).order_by(AuditEvent.id))
            if (d or {}).get("request") == request_id]


def _state(s, request_id: int) -> str:
    return s.get(CertificationRequest, request_id).status


def test_a_request_certified_one_audit_row_per_act(any_db):
    db = any_db
    with db.session() as s:
        rid = cert.request(s, _doc(s), 2, actor=CLERK)
        assert [v.id for v in cert.queue(s)] == [rid] and cert.queue(s)[0].copies == 2
    with db.session() as s:
        (c,) = cert.claim(s, [rid], actor=OFFICER, owner=OWNER)
        x = s.get(CertificationRequest, rid)
        assert (c.copies, x.status, x.lease_owner, x.decided_by) == (2, CertState.SIGNING, OWNER, "chungthuc")
        assert x.lease_until is not None and cert.queue(s) == []
    with db.session() as s:
        cert.settle(s, rid, certified_copy_id=None, actor=OFFICER, detail={"number": 7, "book": "01/2026"})
        x = s.get(CertificationRequest, rid)
        assert (x.status, x.lease_owner, x.lease_until) == (CertState.CERTIFIED, None, None) and x.decided_at
        assert _acts(s, rid) == ["certify.request", "certify.claim", "certify"]
        (row,) = [d for a, d in s.execute(select(AuditEvent.action, AuditEvent.detail)) if a == "certify"]
        assert row["number"] == 7 and row["request"] == rid
        assert [v.status for v in cert.recent(s)] == [CertState.CERTIFIED]


@pytest.mark.parametrize("move", ["claim", "settle", "refuse"])
def test_illegal_transitions_are_refused_in_vietnamese_and_change_nothing(any_db, move):
    db = any_db
    with db.session() as s:
        rid = cert.request(s, _doc(s), 1, actor=CLERK)
    with db.session() as s:
        cert.claim(s, [rid], actor=OFFICER, owner=OWNER)
        cert.settle(s, rid, certified_copy_id=None, actor=OFFICER, detail={})
    with db.session() as s:
        before = len(_acts(s, rid))
    with pytest.raises((Conflict, NotFound)) as e, db.session() as s:
        if move == "claim":
            cert.claim(s, [rid], actor=OFFICER, owner=OWNER)
        elif move == "settle":
            cert.settle(s, rid, certified_copy_id=None, actor=OFFICER, detail={})
        else:
            cert.refuse(s, rid, refusal_id=None, actor=OFFICER)
    msg = e.value.message
    assert any(w in msg for w in ("đã được xử lý", "không thể chuyển sang", "không còn trong hàng chờ")), msg
    if move == "settle":
        assert msg == (f"Yêu cầu chứng thực #{rid} (văn bản #1) đang ở trạng thái «Đã chứng thực»: "
                       "không thể chuyển sang «Đã chứng thực».")
    with db.session() as s:
        assert _state(s, rid) == CertState.CERTIFIED and len(_acts(s, rid)) == before


def test_settle_needs_a_claim_and_refuse_needs_the_queue(any_db):
    db = any_db
    with db.session() as s:
        rid = cert.request(s, _doc(s), 1, actor=CLERK)
    with pytest.raises(Conflict, match="«Chờ chứng thực»: không thể chuyển sang «Đã chứng thực»"), db.session() as s:
        cert.settle(s, rid, certified_copy_id=None, actor=OFFICER, detail={})
    with db.session() as s:
        cert.claim(s, [rid], actor=OFFICER, owner=OWNER)
    with pytest.raises(NotFound, match="không còn trong hàng chờ"), db.session() as s:
        cert.refuse(s, rid, refusal_id=None, actor=OFFICER)
    with db.session() as s:
        assert _state(s, rid) == CertState.SIGNING
        assert cert.release(s, [rid], actor=OFFICER, owner="another:1") == []  # not that batch's
        assert cert.release(s, [rid], actor=OFFICER, owner=OWNER, reason="sai mật khẩu") == [rid]
        assert cert.release(s, [rid], actor=OFFICER) == []  # already back: nothing, no row
    with db.session() as s:
        cert.refuse(s, rid, refusal_id=None, actor=OFFICER, detail={"reason": "damaged"})
        assert _state(s, rid) == CertState.REFUSED
        assert _acts(s, rid) == ["certify.request", "certify.claim", "certify.release", "certify.refuse"]


def test_one_open_request_per_document_and_claims_all_or_none(any_db):
    db = any_db
    with db.session() as s:
        d1, d2, copy = _doc(s, 1), _doc(s, 2), _doc(s, 3, doc_type="certified_copy")
        r1 = cert.request(s, d1, 1, actor=CLERK)
        r2 = cert.request(s, d2, 1, actor=CLERK)
    with pytest.raises(Conflict, match="đã đang chờ chứng thực"), db.session() as s:
        cert.request(s, d1, 1, actor=CLERK)
    with pytest.raises(Invalid, match="đã là bản sao chứng thực"), db.session() as s:
        cert.request(s, copy, 1, actor=CLERK)
    with pytest.raises(Invalid, match="từ 1 đến 100"), db.session() as s:
        cert.request(s, d1, 0, actor=CLERK)
    with pytest.raises(NotFound), db.session() as s:
        cert.request(s, 999, 1, actor=CLERK)
    with db.session() as s:
        assert cert.request(s, d1, 3, actor=OFFICER, reuse_pending=True) == r1  # the command line takes it
        assert s.get(CertificationRequest, r1).copies == 3
        cert.claim(s, [r1], actor=OFFICER, owner=OWNER)
    with pytest.raises(Conflict, match="đã được xử lý hoặc đang được ký"), db.session() as s:
        cert.claim(s, [r1, r2], actor=OFFICER, owner="other:1")  # r1 is taken: r2 is not claimed either
    with pytest.raises(Conflict, match="đang được ký"), db.session() as s:
        cert.request(s, d1, 1, actor=OFFICER, reuse_pending=True)
    with db.session() as s:
        assert _state(s, r2) == CertState.PENDING and _acts(s, r2) == ["certify.request"]


def test_recovery_of_requests_a_killed_batch_left_signing(any_db):
    db = any_db
    with db.session() as s:
        ids = [cert.request(s, _doc(s, n), 1, actor=CLERK) for n in range(1, 5)]
    with db.session() as s:
        cert.claim(s, ids[:1], actor=OFFICER, owner="dead:1")  # its process is gone
        cert.claim(s, ids[1:2], actor=OFFICER, owner="alive:1", lease=dt.timedelta(minutes=-1))  # lease ran out
        cert.claim(s, ids[2:3], actor=OFFICER, owner="alive:2")  # still signing
    alive = {"alive:1", "alive:2"}.__contains__
    with db.session() as s:
        assert cert.recover(s, alive) == ids[:2]
    with db.session() as s:
        assert [_state(s, i) for i in ids] == ["pending", "pending", "signing", "pending"]
        assert cert.recover(s, alive) == []  # nothing more, and no new audit row
        assert _acts(s, ids[0]) == ["certify.request", "certify.claim", "certify.release"]
        (row,) = [(a, d) for a, d in s.execute(select(AuditEvent.actor, AuditEvent.detail))
                  if (d or {}).get("request") == ids[0] and d.get("reason")]
        assert row == ("system", {"request": ids[0], "reason": "recovered"})
        later = dt.datetime.now(dt.timezone.utc) + cert.LEASE + dt.timedelta(minutes=1)
        assert cert.recover(s, alive, now=later) == [ids[2]]  # a live owner's lease runs out too


def test_two_batches_racing_for_the_same_requests_one_wins(any_db):
    """Officers claiming at the same moment: every request is held by exactly one batch."""
    import threading

    db = any_db
    with db.session() as s:
        ids = [cert.request(s, _doc(s, n), 1, actor=CLERK) for n in range(1, 4)]
    start, results = threading.Barrier(4), {}

    def go(k: int) -> None:
        start.wait()
        try:
            with db.session() as s:
                results[k] = [c.id for c in cert.claim(s, ids, actor=OFFICER, owner=f"batch:{k}")]
        except Conflict as exc:
            results[k] = exc.message

    threads = [threading.Thread(target=go, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    winners = [k for k, v in results.items() if v == ids]
    assert len(results) == 4 and len(winners) == 1, results
    assert all("đang được ký" in v for k, v in results.items() if k not in winners)
    with db.session() as s:
        owners = {x.lease_owner for x in s.scalars(select(CertificationRequest))}
        assert owners == {f"batch:{winners[0]}"}
        assert [a for a, in s.execute(select(AuditEvent.action))].count("certify.claim") == 3
