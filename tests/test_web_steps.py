"""The dossier's flow on the staff pages without a browser (the app in-process, real SQLite): the
intake form keeps every value typed after an error and says each problem beside its field; each
step asks for a confirmation before anything is saved; each state offers only its own steps."""
from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from registry.models import AuditEvent, Dossier, DossierPerson, Staff
from registry.staff import add_staff
from registry.units import add_unit
from tests.once_helpers import person
from tests.test_webui_actions import PW, _app, _sign_in

HUSBAND, WIFE = person("Lê Văn Cường", 1985), person("Phạm Thị Dung", 1987, "Nữ")


@pytest.fixture
def office(settings, db):
    with db.session() as s:
        add_unit(s, settings.agency_code, "UBND xã Tân Phú")
        add_unit(s, "TUPHAP", "Bộ phận Tư pháp - Hộ tịch", parent_code=settings.agency_code)
        add_staff(s, "canbo", PW, name="Lò Thị Hạnh", role="clerk")
        add_staff(s, "tuphap", PW, name="Đỗ Văn Hùng", role="officer")
        s.flush()
        s.scalar(select(Staff).where(Staff.username == "tuphap")).unit_code = "TUPHAP"


def _forms(page: str) -> set[str]:
    return set(re.findall(r'id="(step-[a-z_]+|upload-form|exempt-form|apology-form)"', page))


def test_intake_form_keeps_every_value_and_says_each_error_beside_its_field(settings, db, office):
    typed = {"procedure": "1.000894", "subject": "12345", "name": "Lê Văn Cường", "birth_date": "31/02/1985",
             "phone": "09x", "address": "Thôn Đông, xã Tân Phú", "sets": "0", "fee": "năm mươi nghìn",
             "channel": "postal", "person-1-role": "wife", "person-1-id": "0011", "person-1-name": "Phạm Thị Dung",
             "person-2-role": "", "person-2-id": WIFE.pid, "person-2-name": ""}
    with _app(settings, db) as c:
        tok = _sign_in(c, "canbo")
        page = c.post("/dossiers", data={"csrf_token": tok, **typed}).text
        for k, v in typed.items():
            if k in ("procedure", "channel") or k.endswith("-role"):
                if v:
                    assert re.search(rf'<option value="{re.escape(v)}" selected', page), k
            else:
                assert f'name="{k}" value="{v}"' in page, k
        for f in ("subject", "birth_date", "phone", "sets", "fee", "person-1-id", "person-2-role"):
            assert f'id="err-new-dossier-{f}"' in page, f
        errs = " ".join(re.findall(r'class="field-error"[^>]*>([^<]+)<', page))
        assert "-NNN" not in errs and "_" not in errs and "dd/mm" not in errs.replace("(dd/mm/yyyy)", "")
        with db.session() as s:
            assert s.scalar(select(Dossier.id)) is None
        # corrected: the dossier opens with the wife as a person concerned
        fixed = {**typed, "subject": HUSBAND.pid, "birth_date": HUSBAND.dob, "phone": "0912345678", "sets": "1",
                 "fee": "0", "person-1-id": WIFE.pid, "person-2-id": ""}
        r = c.post("/dossiers", data={"csrf_token": tok, **fixed}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/dossiers/"), r.text
        page = c.get(r.headers["location"]).text
        assert "Vợ" in page and "Phạm Thị Dung" in page and WIFE.pid not in page and "0912345678" in page
    with db.session() as s:
        assert s.scalar(select(DossierPerson.role)) == "wife"


def test_each_step_is_confirmed_and_each_state_offers_only_its_steps(settings, db, office):
    with _app(settings, db) as c:
        tok = _sign_in(c, "canbo")
        r = c.post("/dossiers", data={"csrf_token": tok, "procedure": "1.000894", "subject": HUSBAND.pid,
                                      "name": HUSBAND.name, "person-1-role": "wife", "person-1-id": WIFE.pid,
                                      "person-1-name": WIFE.name}, follow_redirects=False)
        url = r.headers["location"]
        code = url.rsplit("/", 1)[1]
        page = c.get(url).text
        assert _forms(page) >= {"step-forward", "step-pause", "step-supplement", "step-return", "upload-form"}
        assert "step-decide" not in _forms(page) and "step-return_result" not in _forms(page)
        # forward without an officer: the form again, the unit kept, the message beside the officer
        page = c.post(f"{url}/steps/forward", data={"csrf_token": tok, "unit": "TUPHAP", "officer": ""}).text
        assert 'id="err-step-forward-officer"' in page and '<option value="TUPHAP" selected' in page
        # the first request only asks for a confirmation: nothing changes
        page = c.post(f"{url}/steps/forward", data={"csrf_token": tok, "unit": "TUPHAP", "officer": "tuphap",
                                                    "due": "", "note": "thẩm định"}).text
        assert "Xác nhận: Chuyển xử lý" in page and "Đỗ Văn Hùng" in page and "Bộ phận Tư pháp" in page
        with db.session() as s:
            assert s.scalar(select(Dossier.holder)) is None
        hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
        r = c.post(f"{url}/steps/forward", data=hidden, follow_redirects=False)
        assert r.status_code == 303
        page = c.get(url).text
        assert "Đỗ Văn Hùng — Bộ phận Tư pháp - Hộ tịch" in page and "step-decide" in _forms(page)
        # supplement → only resume, upload and return are offered
        c.post(f"{url}/steps/supplement", data={"csrf_token": tok, "reason": "Giấy xác nhận tình trạng hôn nhân",
                                                "confirm": "1"})
        assert _forms(c.get(url).text) == {"step-resume", "upload-form", "step-return"}
        c.post(f"{url}/steps/resume", data={"csrf_token": tok, "confirm": "1"})
        assert "step-decide" in _forms(c.get(url).text)
        # a decision while papers are missing asks for a reason, naming the papers (not their codes)
        page = c.post(f"{url}/steps/decide", data={"csrf_token": tok, "outcome": "refused", "note": "x"}).text
        err = re.search(r'id="err-step-decide-override_reason">([^<]+)<', page).group(1)
        assert "Tờ khai" in err and "to_khai" not in err
        # decide without a result paper: refused beside the field; a refusal with its reason is kept
        page = c.post(f"{url}/steps/decide", data={"csrf_token": tok, "outcome": "approved"}).text
        assert 'id="err-step-decide-result_document_id"' in page
        c.post(f"{url}/steps/decide", data={"csrf_token": tok, "outcome": "refused", "confirm": "1",
                                            "note": "Không đủ điều kiện kết hôn",
                                            "override_reason": "Trả lời bằng văn bản"})
        page = c.get(url).text
        assert _forms(page) == {"step-return_result", "apology-form"} and "Chờ trả kết quả" in page
        r = c.post(f"{url}/steps/return_result", data={"csrf_token": tok, "method": "counter",
                                                       "recipient": HUSBAND.name, "at": "", "confirm": "1"},
                   follow_redirects=False)
        assert r.status_code == 303
        page = c.get(url).text
        assert _forms(page) == set() and "Gỡ thành phần" not in page
        assert "Trực tiếp tại Bộ phận Một cửa, người nhận Lê Văn Cường" in page
        # a step the state does not offer is refused even when posted by hand
        r = c.post(f"{url}/steps/pause", data={"csrf_token": tok, "reason": "x", "confirm": "1"})
        assert "không thực hiện được thao tác này" in r.text
    with db.session() as s:
        acts = [a for a, in s.execute(select(AuditEvent.action).where(AuditEvent.object_id == code)
                                      .order_by(AuditEvent.id)) if a not in ("dossier.show",)]
    assert acts == ["dossier.person", "dossier.create", "identity.verify", "dossier.forward", "dossier.supplement", "dossier.resume",
                    "dossier.decide.override", "dossier.decide", "dossier.return_result"]


def test_correction_and_certification_forms_keep_what_was_typed(settings, db, office):
    from registry.store import Store
    from tests.once_helpers import intake_document

    with db.session() as s:
        doc = intake_document(s, Store(settings.store_dir), doc_type="ket_hon", fields={
            "ho_ten_chong": HUSBAND.name, "so_dinh_danh_chong": HUSBAND.pid, "so": "12"}, text="GIẤY CHỨNG NHẬN KẾT HÔN")
        doc_id = doc.id
    with _app(settings, db) as c:
        tok = _sign_in(c, "canbo")
        typed = {"csrf_token": tok, "doc_type": "khai_sinh", "field:ho_ten_chong": "Lê Văn Cường Sửa",
                 "field:so_dinh_danh_chong": "00108", "field:so": "13", "meta:ngay_ban_hanh": "2026-12-31",
                 "new_field": "ho_ten", "new_value": "Tên mới"}
        page = c.post(f"/documents/{doc_id}/correct", data=typed).text
        for k, v in typed.items():
            if k in ("csrf_token", "doc_type", "new_field"):
                continue
            assert f'value="{v}"' in page, k
        assert re.search(r'<option value="khai_sinh" selected', page)
        assert 'id="err-correct-field:so_dinh_danh_chong"' in page
        errs = " ".join(re.findall(r'class="field-error"[^>]*>([^<]+)<', page))
        assert "so_dinh_danh" not in errs and "Siêu dữ liệu" not in errs
        page = c.post(f"/documents/{doc_id}/certification", data={"csrf_token": tok, "copies": "mười"}).text
        assert 'value="mười"' in page and 'id="err-cert-request-copies"' in page


def test_the_officer_a_dossier_is_forwarded_to_decides_it(settings, db, office):
    from registry import flow, service as svc
    from registry.store import Store
    from tests.once_helpers import intake_document

    with db.session() as s:
        d = svc.open_dossier(s, procedure="1.000894", subject=HUSBAND.pid, name=HUSBAND.name,
                             agency=settings.agency_code, actor="staff:canbo")
        paper = intake_document(s, Store(settings.store_dir), doc_type="cccd", fields={"so_dinh_danh": HUSBAND.pid})
        svc.attach(s, d, paper, routed_by="manual")
        other = svc.open_dossier(s, procedure="1.000894", subject=WIFE.pid, agency=settings.agency_code,
                                 actor="staff:canbo")
        flow.forward(s, d, unit_code="TUPHAP", officer="tuphap", due=None, actor="staff:canbo",
                     default_unit=settings.agency_code)
        code, other_code, paper_id = d.code, other.code, paper.id
    with _app(settings, db) as c:
        tok = _sign_in(c, "tuphap")
        queue = c.get("/certify").text
        assert f"/dossiers/{code}" in queue and other_code not in queue and HUSBAND.name in queue
        page = c.get(f"/dossiers/{code}").text
        assert _forms(page) == {"step-decide", "step-supplement", "step-pause"}  # the holder's steps only
        assert c.get(f"/dossiers/{other_code}").status_code == 404  # not forwarded to them: answered as absent (need-to-know)
        r = c.post(f"/dossiers/{code}/steps/forward", data={"csrf_token": tok, "unit": "TUPHAP", "officer": "tuphap",
                                                            "confirm": "1"})
        assert "không thực hiện được thao tác này" in r.text
        c.post(f"/dossiers/{code}/steps/decide", data={"csrf_token": tok, "outcome": "approved", "confirm": "1",
                                                       "result_document_id": str(paper_id),
                                                       "override_reason": "Giấy tờ còn lại nộp bản giấy"})
    with db.session() as s:
        assert s.scalar(select(Dossier.status).where(Dossier.code == code)) == "decided"


def test_admin_form_keeps_what_was_typed_but_never_the_password(settings, db, office):
    with db.session() as s:
        add_staff(s, "quantri", PW, name="Phạm Quốc Khánh", role="admin")
    with _app(settings, db) as c:
        tok = _sign_in(c, "quantri")
        page = c.post("/admin/staff", data={"csrf_token": tok, "username": "canbo", "name": "Vũ Minh Châu",
                                            "role": "officer", "password": "mật-khẩu-mới-2026"}).text  # taken
        assert 'name="username" required' in page and 'value="canbo"' in page and 'value="Vũ Minh Châu"' in page
        assert re.search(r'<option value="officer" selected', page) and "mật-khẩu-mới-2026" not in page
        assert 'id="err-add-staff-' in page


def test_certification_forms_keep_the_ticked_boxes(settings, db, office):
    from registry import service as svc
    from registry.models import CertificationRequest
    from registry.store import Store
    from tests.once_helpers import intake_document

    with db.session() as s:
        add_staff(s, "chungthuc", PW, name="Nguyễn Văn Bình", role="officer")
        d = svc.open_dossier(s, procedure="1.000894", subject=HUSBAND.pid, name=HUSBAND.name,
                             agency=settings.agency_code, actor="staff:canbo")
        paper = intake_document(s, Store(settings.store_dir), doc_type="cccd", fields={"so_dinh_danh": HUSBAND.pid})
        svc.attach(s, d, paper, routed_by="manual")
        other = intake_document(s, Store(settings.store_dir), doc_type="cccd", fields={"so_dinh_danh": WIFE.pid})
        s.add(CertificationRequest(document_id=other.id, copies=1, status="pending", requested_by="canbo"))
        s.flush()
        code, paper_id = d.code, paper.id
        req_id = s.query(CertificationRequest).one().id
    with _app(settings, db) as c:
        tok = _sign_in(c, "canbo")
        page = c.post(f"/dossiers/{code}/steps/certify", data={"csrf_token": tok, "document": str(paper_id),
                                                               "copies": "0"}).text
        assert re.search(rf'value="{paper_id}" checked', page) and 'value="0"' in page
        assert 'id="err-step-certify-copies"' in page
    with _app(settings, db) as c:
        tok = _sign_in(c, "chungthuc")
        page = c.post("/certify", data={"csrf_token": tok, "request": str(req_id), "passphrase": ""}).text
        assert re.search(rf'value="{req_id}" id="pick-{req_id}"[^>]*checked', page)
        assert 'id="err-certify-form-passphrase"' in page
