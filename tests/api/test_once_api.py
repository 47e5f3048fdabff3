"""The wrong-citizen cases over the HTTP API (SQLite and PostgreSQL): reusing another subject's
document is refused 409 unless an override reason is given (then audited), and the reuse lookups
only ever return the subject's own documents; expired documents are never reusable; the
indicators endpoint gives the Decision 766 figures."""
from __future__ import annotations

from sqlalchemy import select

from registry.models import AuditEvent, Component
from registry.service import get_dossier
from tests.once_helpers import id_card_fields, intake_document, person


def _lookup(env, pid, **extra):
    with env.client("reuse_read") as c:
        r = c.post("/api/v1/subjects/documents", json={"subject_id": pid, **extra})
    assert r.status_code == 200, r.text
    return [d["id"] for d in r.json()["documents"]]


def test_api_refuses_another_subjects_document_unless_overridden(env):
    an, hanh = person("Nguyễn Văn An", 1988), person("Trần Ngọc Hạnh", 1960, "Nữ", province="010")
    with env.db.session() as s:
        an_card = intake_document(s, env.store, doc_type="cccd", fields=id_card_fields(an)).id
        hanh_card = intake_document(s, env.store, doc_type="cccd", fields=id_card_fields(hanh)).id
        code = env.dossier(s, an.pid, "1.001193", name=an.name).code
    assert _lookup(env, an.pid) == [an_card]

    with env.client("reuse_write") as c:
        r = c.post(f"/api/v1/dossiers/{code}/reuse", json={"document_id": hanh_card, "purpose": "tiếp nhận"})
        assert r.status_code == 409, r.text
        assert "không phải giấy tờ của người nộp" in r.json()["detail"] and hanh.pid not in r.text
        r = c.post(f"/api/v1/dossiers/{code}/reuse", json={"document_id": hanh_card, "override_reason": " "})
        assert r.status_code == 409
        with env.db.session() as s:
            assert s.scalars(select(Component).where(Component.document_id == hanh_card)).all() == []
        reason = "Hệ thống một cửa tỉnh: hồ sơ ủy quyền, người được ủy quyền nộp thẻ của người ủy quyền"
        r = c.post(f"/api/v1/dossiers/{code}/reuse", json={"document_id": hanh_card, "override_reason": reason})
        assert r.status_code == 200, r.text
        assert r.json()["component"]["document_id"] == hanh_card
    with env.db.session() as s:
        ev = s.scalars(select(AuditEvent).where(AuditEvent.action == "reuse.override",
                                                AuditEvent.object_id == code)).all()
        assert [(e.detail["document_id"], e.detail["reason"], e.actor) for e in ev] == [
            (hanh_card, reason, "client:test-reuse_write")]
        assert get_dossier(s, code).subject.identifier == an.pid

    # the lookups still never return Hạnh's card to An, and still return it to Hạnh
    assert _lookup(env, an.pid) == [an_card] and _lookup(env, an.pid, type="cccd") == [an_card]
    assert hanh_card in _lookup(env, hanh.pid)


def test_api_reuse_of_expired_document_is_refused_even_with_a_reason(env):
    p = person("Lò Văn Sơn", 1970)
    with env.db.session() as s:
        old = intake_document(s, env.store, doc_type="cccd", fields=id_card_fields(p, expiry="01/01/2020")).id
        code = env.dossier(s, p.pid, "1.001193", name=p.name).code
    assert _lookup(env, p.pid) == []  # expired: not offered
    with env.client("reuse_write") as c:
        r = c.post(f"/api/v1/dossiers/{code}/reuse", json={"document_id": old, "override_reason": "cần gấp"})
    assert r.status_code == 409 and "hết hiệu lực" in r.json()["detail"]


def test_api_opens_a_dossier_with_the_persons_it_concerns(env):
    """POST /api/v1/dossiers (scope dossiers:write): the wife's card then routes and reuses without
    an override; a bad person is refused with the field named, nothing created."""
    husband, wife = person("Lê Văn Cường", 1985), person("Phạm Thị Dung", 1987, "Nữ")
    body = {"procedure": "1.000894", "subject": husband.pid, "name": husband.name, "phone": "0912345678",
            "persons": [{"role": "vợ", "subject": wife.pid, "name": wife.name}]}
    with env.client("reuse_write") as c:
        assert c.post("/api/v1/dossiers", json=body).status_code == 403  # another scope
    with env.client("dossiers_write") as c:
        bad = c.post("/api/v1/dossiers", json={**body, "persons": [{"role": "hàng xóm", "subject": wife.pid}]})
        assert bad.status_code == 422 and "Vai trò" in bad.json()["detail"]
        r = c.post("/api/v1/dossiers", json=body)
        assert r.status_code == 201, r.text
        out = r.json()
    assert out["persons"] == [{"role": "wife", "subject": "*********" + wife.pid[-3:], "name": wife.name}]
    with env.db.session() as s:
        from registry.service import subject_mismatch

        card = intake_document(s, env.store, doc_type="cccd", fields=id_card_fields(wife))
        assert subject_mismatch(s, card, get_dossier(s, out["code"])) is None
        audit = s.scalar(select(AuditEvent).where(AuditEvent.action == "dossier.person",
                                                  AuditEvent.object_id == out["code"]))
        assert audit is not None and audit.actor.startswith("client:")
