"""Issue 19 §3 and §5: need-to-know by unit, and every subject shown is audited (lists too).

Two communes XA and XB under district H: a commune's clerk and manager see their commune's
dossiers only; an account placed at the district sees both; an officer sees the originals queued
for certification in their units and nothing else; another unit's dossier is answered as absent."""
from __future__ import annotations

from sqlalchemy import select

from registry.models import AuditEvent, CertificationRequest
from registry.staff import add_staff
from registry.units import set_staff_unit
from tests.security.conftest import PW, seed_world


def _last(office, action):
    with office.db.session() as s:
        ev = s.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id.desc())).first()
        return {"actor": ev.actor, "subject_id": ev.subject_id, "detail": dict(ev.detail or {})} if ev else None


def test_a_commune_clerk_sees_only_their_commune(office):
    w = seed_world(office)
    c = office.signed_in("clerk", "XA")
    page = c.get("/dossiers").text
    assert w["XA"]["code"] in page and w["XB"]["code"] not in page
    ev = _last(office, "dossier.list")
    assert ev["actor"] == "staff:clerk-xa" and ev["detail"]["subjects"] == [w["XA"]["subject_id"]]
    # search by the other commune's citizen: nothing
    page = c.get("/dossiers", params={"q": w["XB"]["pid"]}).text
    assert w["XB"]["code"] not in page
    assert _last(office, "dossier.search")["detail"]["subjects"] == []
    for path in (f"/dossiers/{w['XB']['code']}", f"/documents/{w['XB']['doc']}",
                 f"/documents/{w['XB']['doc']}/pdf", f"/dossiers/{w['XB']['code']}/receipt.pdf"):
        assert c.get(path).status_code == 404, path
    assert c.get(f"/dossiers/{w['XA']['code']}").status_code == 200
    assert c.get(f"/documents/{w['XA']['doc']}").status_code == 200
    # acting on the other commune's dossier: as absent
    from tests.security.conftest import post
    r = post(c, f"/dossiers/{w['XB']['code']}/pause", {"reason": "thiếu giấy tờ"})
    assert r.status_code == 404


def test_the_district_sees_both_and_managers_are_bound_too(office):
    w = seed_world(office)
    with office.db.session() as s:
        add_staff(s, "clerk-h", PW, role="clerk")
        set_staff_unit(s, "clerk-h", "H")
    c = office.client()
    from tests.security.conftest import login
    assert login(c, "clerk-h").status_code == 303
    page = c.get("/dossiers").text
    assert w["XA"]["code"] in page and w["XB"]["code"] in page
    m = office.signed_in("manager", "XB")
    assert m.get(f"/dossiers/{w['XA']['code']}").status_code == 404
    assert m.get(f"/dossiers/{w['XB']['code']}").status_code == 200
    assert m.get("/dashboard").status_code == 200
    assert w["XA"]["code"] not in m.get("/late").text


def test_officers_see_queued_originals_of_their_units_only(office):
    w = seed_world(office)
    o = office.signed_in("officer", "XA")
    assert o.get(f"/documents/{w['XA']['doc']}").status_code == 404  # not queued: not theirs to see
    with office.db.session() as s:
        from registry.models import Dossier
        for unit in ("XA", "XB"):
            d = s.scalar(select(Dossier).where(Dossier.code == w[unit]["code"]))
            s.add(CertificationRequest(document_id=w[unit]["doc"], dossier_id=d.id, copies=1, status="pending",
                                       requested_by=f"clerk-{unit.lower()}"))
    assert o.get(f"/documents/{w['XA']['doc']}").status_code == 200
    assert o.get(f"/documents/{w['XB']['doc']}").status_code == 404
    queue = o.get("/certify").text
    assert f"#{w['XA']['doc']}" in queue or f"/documents/{w['XA']['doc']}" in queue
    assert f"/documents/{w['XB']['doc']}" not in queue
    assert _last(office, "certify.queue")["detail"]["subjects"] == [w["XA"]["subject_id"]]


def test_inbox_quarantine_and_unassigned_lists_are_audited(office):
    c = office.signed_in("clerk", "XA")
    for path, action in (("/inbox", "inbox.list"), ("/quarantine", "quarantine.list"), ("/unassigned", "unassigned.list")):
        assert c.get(path).status_code == 200
        ev = _last(office, action)
        assert ev and ev["actor"] == "staff:clerk-xa", action
