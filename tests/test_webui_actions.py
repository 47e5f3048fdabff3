"""The staff UI's forms without a browser (the app in-process, real SQLite): dossier actions,
refusing an original, the admin's account actions, and sessions that expire when idle."""
from __future__ import annotations

import datetime as dt
import re
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from registry import service
from registry.models import AuditEvent, CertificationRefusal, CertificationRequest, Component, Document, Staff
from registry.staff import add_staff
from registry.store import Store
from sohoa.dev import samples
from vocab.text import fold

PW = "mật-khẩu-dài"


def _app(settings, db):
    from sohoa.web.app import create_app

    return TestClient(create_app(settings, db))


def _sign_in(c: TestClient, user: str) -> str:
    tok = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text).group(1)
    r = c.post("/login", data={"username": user, "password": PW, "csrf_token": tok}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return re.search(r'name="csrf_token" value="([^"]+)"', c.get(r.headers["location"]).text).group(1)


def _actions(db, object_id: str) -> list[str]:
    with db.session() as s:
        return [a for a, in s.execute(select(AuditEvent.action).where(AuditEvent.object_id == object_id)
                                      .order_by(AuditEvent.id))]


@pytest.fixture
def office(settings, db):
    with db.session() as s:
        for user, role in (("canbo", "clerk"), ("chungthuc", "officer"), ("quantri", "admin"), ("lanhdao", "manager")):
            add_staff(s, user, PW, name=user.title(), role=role)
        data = samples.images_to_pdf([samples.render_page(["#GIẤY KHAI SINH", "Họ tên: Lý Minh Khang"], dpi=60)])
        digest, _ = Store(settings.store_dir).put_bytes(data)
        doc = Document(sha256=digest, size=len(data), doc_type="khai_sinh", text="GIẤY KHAI SINH",
                       text_folded=fold("GIẤY KHAI SINH"), fields={"ho_ten": "Lý Minh Khang"})
        s.add(doc)
        s.flush()
        d = service.create_dossier(s, procedure="1.001193", subject="001092044556", name="Lý Thị Thanh",
                                   agency="000.00.01.H29", now=dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=9))
        service.attach(s, d, doc, routed_by="qr")
        return {"code": d.code, "doc": doc.id}


def test_dossier_actions_pause_resume_detach_apology_complete(settings, db, office):
    code = office["code"]
    with _app(settings, db) as c:
        tok = _sign_in(c, "canbo")
        r = c.post(f"/dossiers/{code}/pause", data={"csrf_token": tok, "reason": ""})
        assert r.status_code == 422 and 'role="alert"' in r.text  # a pause needs a written reason
        c.post(f"/dossiers/{code}/pause", data={"csrf_token": tok, "reason": "Chờ bổ sung tờ khai"})
        page = c.get(f"/dossiers/{code}").text
        assert "Tạm dừng" in page and "Chờ bổ sung tờ khai" in page
        c.post(f"/dossiers/{code}/resume", data={"csrf_token": tok})
        assert "Đang xử lý" in c.get(f"/dossiers/{code}").text
        with db.session() as s:
            comp = s.scalar(select(Component).where(Component.document_id == office["doc"]))
        r = c.post(f"/dossiers/{code}/components/{comp.id}/detach", data={"csrf_token": tok, "reason": ""})
        assert r.status_code == 422
        c.post(f"/dossiers/{code}/components/{comp.id}/detach", data={"csrf_token": tok, "reason": "Nhầm hồ sơ"})
        assert f"doc-{office['doc']}" in c.get("/unassigned").text  # back in the queue
        new_date = (dt.date.today() + dt.timedelta(days=4)).strftime("%d/%m/%Y")
        r = c.post(f"/dossiers/{code}/apology", data={"csrf_token": tok, "reason": "Chờ xác minh", "new_date": new_date})
        assert r.status_code == 200 and "Đã lập phiếu xin lỗi" in r.text
        pdf = c.get(f"/dossiers/{code}/apology.pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        r = c.post(f"/dossiers/{code}/complete", data={"csrf_token": tok, "result_document_id": ""})
        assert r.status_code == 409 and 'role="alert"' in r.text  # required components are missing
        c.post(f"/dossiers/{code}/exempt", data={"csrf_token": tok, "doc_type": "cccd", "reason": "comparison"})
        assert "Giấy tờ chỉ xuất trình để đối chiếu" in c.get(f"/dossiers/{code}").text
        page = c.post(f"/dossiers/{code}/complete", data={"csrf_token": tok, "override_reason": "Tờ khai nộp sau"}).text
        assert "Xác nhận: Hoàn thành hồ sơ" in page and "Đang xử lý" in c.get(f"/dossiers/{code}").text  # not yet
        c.post(f"/dossiers/{code}/complete", data={"csrf_token": tok, "override_reason": "Tờ khai nộp sau",
                                                   "confirm": "1"})
        page = c.get(f"/dossiers/{code}").text
        assert "Đã giải quyết" in page and "Hoàn thành" in page
        r = c.post(f"/dossiers/{code}/complete", data={"csrf_token": tok, "confirm": "1"})
        assert r.status_code in (409, 422) and 'role="alert"' in r.text
    changes = [a for a in _actions(db, code) if a not in ("dossier.show", "dossier.watch", "dossier.apology_read")]
    assert changes == ["dossier.pause", "dossier.resume", "dossier.detach", "dossier.apology", "component.exempt",
                       "dossier.complete.override", "dossier.complete"]


def test_officer_refuses_with_a_legal_reason(settings, db, office):
    with db.session() as s:
        s.add(CertificationRequest(document_id=office["doc"], copies=2, status="pending", requested_by="canbo"))
    with _app(settings, db) as c:
        tok = _sign_in(c, "chungthuc")
        req = re.search(r'id="refuse-(\d+)"', c.get("/certify").text).group(1)
        r = c.post(f"/certify/{req}/refuse", data={"csrf_token": tok, "reason": "made-up"})
        assert r.status_code == 422
        c.post(f"/certify/{req}/refuse", data={"csrf_token": tok, "reason": "damaged", "note": "rách mất góc"})
        page = c.get("/certify").text
        assert "Từ chối chứng thực" in page and "Không có bản chính nào chờ chứng thực" in page
        assert c.post(f"/certify/{req}/refuse", data={"csrf_token": tok, "reason": "damaged"}).status_code == 404
    with db.session() as s:
        refusal = s.scalar(select(CertificationRefusal))
        assert (refusal.reason, refusal.note, refusal.document_id) == ("damaged", "rách mất góc", office["doc"])
        assert s.get(CertificationRequest, int(req)).status == "refused"
        refused = list(s.scalars(select(AuditEvent).where(AuditEvent.action == "certify.refuse")))
        assert len(refused) == 1 and refused[0].actor == "staff:chungthuc"  # one audit row for the act
        assert refused[0].detail == {"request": int(req), "reason": "damaged", "refusal_id": refusal.id}


def test_a_request_held_by_a_gone_batch_is_back_in_the_queue(settings, db, office):
    """A batch killed mid-signing (here: its lease ran out) held a request: the officer's queue
    shows it again, and it can be refused."""
    with db.session() as s:
        x = CertificationRequest(document_id=office["doc"], copies=1, status="signing", requested_by="canbo",
                                 decided_by="chungthuc", lease_owner="may-khac:4242",
                                 lease_until=dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1))
        s.add(x)
        s.flush()
        rid = x.id
    with _app(settings, db) as c:
        tok = _sign_in(c, "chungthuc")
        assert f'id="req-{rid}"' in c.get("/certify").text
        c.post(f"/certify/{rid}/refuse", data={"csrf_token": tok, "reason": "damaged"})
    with db.session() as s:
        x = s.get(CertificationRequest, rid)
        assert (x.status, x.lease_owner, x.lease_until) == ("refused", None, None)
        acts = [(a.actor, a.action) for a in s.scalars(select(AuditEvent).order_by(AuditEvent.id))
                if a.action.startswith("certify.") and a.action != "certify.queue"]
        assert acts == [("system", "certify.release"), ("staff:chungthuc", "certify.refuse")]


def test_admin_changes_role_resets_disables_and_unlocks(settings, db, office):
    with _app(settings, db) as admin, _app(settings, db) as clerk:
        tok = _sign_in(admin, "quantri")
        _sign_in(clerk, "canbo")
        assert clerk.get("/dossiers").status_code == 200
        admin.post("/admin/staff/canbo/role", data={"csrf_token": tok, "role": "manager"})
        assert clerk.get("/dossiers", follow_redirects=False).status_code == 303  # the role change ended it
        with db.session() as s:
            assert s.scalar(select(Staff.role).where(Staff.username == "canbo")) == "manager"
            st = s.scalar(select(Staff).where(Staff.username == "canbo"))
            st.failed_logins, st.locked_until = 5, dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=9)
        assert "Tạm khóa đến" in admin.get("/admin/staff").text
        admin.post("/admin/staff/canbo/unlock", data={"csrf_token": tok})
        _sign_in(clerk, "canbo")
        r = admin.post("/admin/staff/canbo/reset", data={"csrf_token": tok, "password": "ngan"})
        assert r.status_code == 422 and "ít nhất 8 ký tự" in r.text
        admin.post("/admin/staff/canbo/reset", data={"csrf_token": tok, "password": "mật-khẩu-mới-2026"})
        assert clerk.get("/dashboard", follow_redirects=False).status_code == 303  # reset ends the session
        admin.post("/admin/staff/canbo/disable", data={"csrf_token": tok})
        assert "Đã khóa" in admin.get("/admin/staff").text
        r = admin.post("/admin/staff/quantri/disable", data={"csrf_token": tok})
        assert r.status_code == 422  # not oneself
        r = admin.post("/admin/staff", data={"csrf_token": tok, "username": "canbo", "password": PW, "role": "clerk"})
        assert "Chưa tạo được tài khoản" in r.text and 'id="err-add-staff-username"' in r.text  # no silent overwrite
    admin_actions = [a for a in _actions(db, "canbo") if a not in ("staff.login", "staff.logout", "staff.add")]
    assert admin_actions == ["staff.role", "staff.unlock", "staff.reset", "staff.disable"]


def test_sessions_end_when_idle(settings, db, office, tmp_path):
    from sohoa.config import load_settings

    (settings.home / "sohoa.toml").write_text("session_idle_minutes = 0.01\n")  # 0.6 s
    idle = load_settings(settings.home, env={})
    with _app(idle, db) as c:
        _sign_in(c, "canbo")
        assert c.get("/dossiers", follow_redirects=False).status_code == 200
        time.sleep(1.0)
        r = c.get("/dossiers", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
        assert "Phiên làm việc đã hết hạn" in c.get(r.headers["location"]).text
