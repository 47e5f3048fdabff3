"""A dossier's life at the counter below the web layer: persons concerned (routing, the wrong-citizen
refusal, reuse, the portal's events use them), the processing flow's states and steps, certification
requests in the dossier's timeline."""
from __future__ import annotations

import datetime as dt

import pytest

from registry import flow, lifecycle, persons, service
from registry.errors import FormErrors, SubjectMismatch
from registry.intake import IntakeTx
from registry.models import AuditEvent, OutboxEvent, Staff
from registry.staff import add_staff
from registry.store import Store
from registry.units import add_unit
from sohoa.jobs.portal import to_portal
from registry.outbox import heads
from tests.once_helpers import Cli, id_card_fields, intake_document, person
from vocab.errors import Conflict

HUSBAND, WIFE, STRANGER = person("Lê Văn Cường", 1985), person("Phạm Thị Dung", 1987, "Nữ"), person("Hà Văn Tư", 1970)
AGENCY = "000.00.01.H29"


def _open(s, **kw):
    return service.open_dossier(s, procedure="1.000894", subject=HUSBAND.pid, name=HUSBAND.name, agency=AGENCY,
                                actor="staff:canbo1",
                                persons=[persons.PersonIn("wife", WIFE.pid, WIFE.name)], **kw)


def test_papers_of_the_persons_concerned_route_and_others_are_refused(settings, db):
    store = Store(settings.store_dir)
    with db.session() as s:
        d = _open(s, phone="0912 345 678", address="Thôn 2, xã Tân Phú", sets=1, fee="0")
        code = d.code
        assert [(p.role, p.identifier) for p in persons.persons(s, d)] == [("applicant", HUSBAND.pid),
                                                                            ("wife", WIFE.pid)]
        wife_card = intake_document(s, store, doc_type="cccd", fields=id_card_fields(WIFE))
        stranger_card = intake_document(s, store, doc_type="cccd", fields=id_card_fields(STRANGER))
        tx = IntakeTx(s, store)
        # the personal-ID route finds the dossier by the wife's number; the refusal lets it in
        assert [x.code for x in service.open_dossiers_of(s, WIFE.pid)] == [code]
        assert tx.attach(wife_card.id, code, "pid").dossier_code == code
        assert tx.attach(stranger_card.id, code, "folder").dossier_code is None  # left unassigned
        assert isinstance(service.subject_mismatch(s, stranger_card, d), SubjectMismatch)
        refused = s.query(AuditEvent).filter_by(action="document.route.refused").all()
        assert [e.object_id for e in refused] == [str(stranger_card.id)]
        received = s.query(OutboxEvent).filter_by(dossier_code=code, kind="dossier.received").one()
        assert received.payload["persons"] == [{"role": "wife", "subject": WIFE.pid, "name": WIFE.name}]
        portal = to_portal(next(p for p in heads(s) if p.dossier_code == code))
        assert portal["NguoiLienQuan"] == [{"VaiTro": "wife", "MaDoiTuong": WIFE.pid, "HoTen": WIFE.name}]
        # the wife's earlier paper is offered for reuse in a new dossier that concerns her
        d2 = _open(s)
        assert any(r["document_id"] == wife_card.id for r in __import__("registry.reuse", fromlist=["x"])
                   .reusable_for_dossier(s, d2))


def test_intake_form_errors_by_field_in_plain_vietnamese(settings, db):
    with db.session() as s:
        with pytest.raises(FormErrors) as e:
            service.open_dossier(s, procedure="", subject="12345", agency=AGENCY, actor="staff:x", sets="0",
                                 fee="năm mươi", phone="abc",
                                 persons=[persons.PersonIn("wife", "0011", ""),
                                          persons.PersonIn("", WIFE.pid, "")])
    errs = e.value.errors
    assert set(errs) == {"procedure", "subject", "sets", "fee", "phone", "person-1-id", "person-2-role"}
    text = " ".join(errs.values())
    assert "-NNN" not in text and "_" not in text and not any(w in text for w in ("invalid", "field", "subject"))


def test_cli_person_option(home, db):
    cli = Cli(home)
    out = cli.ok("dossier", "create", "--procedure", "1.000894", "--subject", HUSBAND.pid, "--name", HUSBAND.name,
                 "--person", f"vợ:{WIFE.pid}:{WIFE.name}", "--fee", "0", "--sets", "2")[0]
    assert out["persons"] == [{"role": "wife", "subject": WIFE.pid, "name": WIFE.name}]
    shown = cli.ok("dossier", "show", out["code"])[0]
    assert shown["persons"] == out["persons"] and shown["holder"] is None and shown["handover"] is None
    assert "vai trò" in cli.refused("dossier", "create", "--procedure", "1.000894", "--subject", HUSBAND.pid,
                                    "--person", f"hàng-xóm:{STRANGER.pid}", code=2).lower()


def test_the_flow_offers_only_what_each_state_allows(settings, db):
    store = Store(settings.store_dir)
    now = dt.datetime.now(dt.timezone.utc)
    with db.session() as s:
        add_unit(s, AGENCY, "UBND xã Tân Phú")
        add_unit(s, "TP.TUPHAP", "Bộ phận Tư pháp - Hộ tịch", parent_code=AGENCY)
        add_staff(s, "tuphap1", "Mật-khẩu-dài-2026", name="Đỗ Văn Hùng", role="officer")
        s.flush()
        s.query(Staff).filter_by(username="tuphap1").one().unit_code = "TP.TUPHAP"
        d = _open(s)
        assert flow.actions(d)[:1] == ("upload",) and "decide" not in flow.actions(d)
        with pytest.raises(FormErrors) as e:
            flow.forward(s, d, unit_code="TP.TUPHAP", officer="canbo-khong-co", due=None, actor="staff:canbo1",
                         default_unit=AGENCY)
        assert set(e.value.errors) == {"officer"}
        flow.forward(s, d, unit_code="TP.TUPHAP", officer="tuphap1", due=now.date() + dt.timedelta(days=1),
                     actor="staff:canbo1", default_unit=AGENCY)
        assert (d.status, d.holder, d.holder_unit) == ("processing", "tuphap1", "TP.TUPHAP")
        step = s.query(OutboxEvent).filter_by(dossier_code=d.code, kind="dossier.step").one().payload
        assert step["name"] == "Chuyển xử lý" and step["step"]["unit"] == "Bộ phận Tư pháp - Hộ tịch"
        assert step["step"]["officer"] == "Đỗ Văn Hùng" and step["step"]["due_at"]
        lifecycle.pause(s, d, "giấy xác nhận tình trạng hôn nhân", actor="staff:tuphap1", supplement=True)
        assert flow.actions(d) == ("upload", "resume", "return")
        with pytest.raises(Conflict):
            flow.decide(s, d, outcome="approved", result_document_id=None, actor="staff:tuphap1")
        lifecycle.resume(s, d, actor="staff:canbo1")
        assert d.status == "processing"
        paper = intake_document(s, store, doc_type="ket_hon", fields={
            "ho_ten_chong": HUSBAND.name, "so_dinh_danh_chong": HUSBAND.pid, "ho_ten_vo": WIFE.name,
            "so_dinh_danh_vo": WIFE.pid, "so": "15/2026"})
        service.attach(s, d, paper, routed_by="manual")
        ids = flow.request_certification(s, d, [paper.id], 2, actor="staff:canbo1")
        assert [c.id for c in flow.certifications(s, d)] == ids
        flow.decide(s, d, outcome="approved", result_document_id=paper.id, actor="staff:tuphap1",
                    override_reason="Thành phần còn lại nộp bản giấy")
        assert flow.actions(d) == ("certify", "return_result", "apology")
        with pytest.raises(FormErrors) as e:
            flow.return_result(s, d, method="", recipient="", at=None, actor="staff:canbo1")
        assert set(e.value.errors) == {"method", "recipient"}
        flow.return_result(s, d, method="counter", recipient=HUSBAND.name, at=None, actor="staff:canbo1")
        assert d.status == "completed" and flow.actions(d) == () and d.handover["recipient"] == HUSBAND.name
        with pytest.raises(Conflict):
            flow.request_certification(s, d, [paper.id], 1, actor="staff:canbo1")
        done = s.query(OutboxEvent).filter_by(dossier_code=d.code, kind="dossier.completed").one()
        assert done.payload["handover"]["method"] == "counter"
        actions = [e.action for e in flow.timeline(s, d)]
        for a in ("dossier.create", "dossier.forward", "dossier.supplement", "dossier.resume", "certify.request",
                  "dossier.decide", "dossier.return_result"):
            assert a in actions, a


def test_each_officer_is_offered_only_their_own_keys(settings, db):
    from registry.models import Officer
    from registry.signers import keys_of, link_key

    with db.session() as s:
        add_staff(s, "binh", "Mật-khẩu-dài-2026", name="Nguyễn Văn Bình", role="officer")
        add_staff(s, "an", "Mật-khẩu-dài-2026", name="Trần Văn An", role="officer")
        add_staff(s, "canbo", "Mật-khẩu-dài-2026", name="Lò Thị Hạnh", role="clerk")
        binh = Officer(name="Nguyễn Văn Bình", key_ref="k1")
        an = Officer(name="Trần Văn An", key_ref="k2")
        s.add_all([binh, an])
        s.flush()
        # unlinked keys go to the account of their holder's name, never to another officer
        assert [o.id for o in keys_of(s, "binh", "Nguyễn Văn Bình")] == [binh.id]
        assert [o.id for o in keys_of(s, "an", "Trần Văn An")] == [an.id]
        link_key(s, an.id, "binh")  # Bình is also given An's key (e.g. a second token)
        assert {o.id for o in keys_of(s, "binh", "Nguyễn Văn Bình")} == {an.id}
        assert keys_of(s, "an", "Trần Văn An") == []
        with pytest.raises(Exception, match="không phải người có thẩm quyền"):
            link_key(s, binh.id, "canbo")


def test_certification_fee_follows_the_tariff():
    assert flow.certification_fee(1, 2) == 4_000  # 2.000 đồng a page, per copy
    assert flow.certification_fee(5, 1) == 2 * 2_000 + 3 * 1_000  # from the third page 1.000 đồng
    assert flow.certification_fee(400, 3) == 3 * 200_000  # at most 200.000 đồng a copy
