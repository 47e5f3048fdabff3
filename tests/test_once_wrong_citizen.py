"""A document knows whose it is: another citizen's paper is never attached to a dossier, nor offered
for reuse, without an explicit override with a reason — through the CLI and the web UI (the API
has its own test in tests/api/test_once_api.py)."""
from __future__ import annotations

import re
import shutil

import pytest

from registry.models import Document, Subject
from registry.staff import add_staff
from registry.store import Store
from tests.conftest import need
from tests.once_helpers import Cli, audits, id_card_fields, intake_document, person
from tests.test_webui import server  # noqa: F401  (the fixture: the web app on loopback)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

AN = person("Nguyễn Văn An", 1988)
HANH = person("Trần Ngọc Hạnh", 1960, "Nữ", province="010")
CHONG, VO = person("Lê Văn Cường", 1985), person("Phạm Thị Dung", 1987, "Nữ")


@pytest.fixture
def papers(settings, db):
    """An's own ID card, Hạnh's ID card, another couple's marriage certificate, An's marital-status
    paper (a type the birth registration does not ask for) and a form that names nobody."""
    store = Store(settings.store_dir)
    with db.session() as s:
        ids = {
            "an_card": intake_document(s, store, doc_type="cccd", fields=id_card_fields(AN)).id,
            "hanh_card": intake_document(s, store, doc_type="cccd", fields=id_card_fields(HANH)).id,
            "couple": intake_document(s, store, doc_type="ket_hon", fields={
                "ho_ten_chong": CHONG.name, "so_dinh_danh_chong": CHONG.pid, "ho_ten_vo": VO.name,
                "so_dinh_danh_vo": VO.pid, "so": "15/2012"}).id,
            "an_marital": intake_document(s, store, doc_type="xac_nhan_hon_nhan", fields={
                "ho_ten": AN.name, "so_dinh_danh": AN.pid, "ngay_sinh": AN.dob}).id,
            "form": intake_document(s, store, doc_type="khac", fields={}).id,
        }
    return ids


def test_cli_refuses_another_citizens_paper_unless_overridden_and_audited(home, db, papers):
    cli = Cli(home)
    code = cli.ok("dossier", "create", "--procedure", "1.001193", "--subject", AN.pid, "--name", AN.name)[0]["code"]

    # Hạnh's card on An's birth-registration dossier: refused, nothing attached, nothing re-labelled
    out = cli.refused("assign", str(papers["hanh_card"]), code)
    assert "giấy tờ của người khác" in out and HANH.pid not in out and HANH.pid[-3:] in out
    assert cli.ok("dossier", "show", code)[0]["components"] == []
    mine = {papers["an_card"], papers["an_marital"]}
    assert {f["id"] for f in cli.ok("reuse", "find", "--subject", AN.pid, "--all")} == mine
    # another couple's marriage certificate, and An's own paper of a type the procedure does not ask for
    assert "giấy tờ của người khác" in cli.refused("assign", str(papers["couple"]), code)
    assert "không yêu cầu thành phần loại xac_nhan_hon_nhan" in cli.refused("assign", str(papers["an_marital"]), code)
    assert "lý do" in cli.refused("assign", str(papers["hanh_card"]), code, "--override-reason", "   ")
    with db.session() as s:
        assert audits(s, "document.assign") == [] and audits(s, "document.assign.override") == []

    # with a reason: attached, and the override is in the audit log with the reason
    reason = "Công dân nộp thẻ của mẹ để đối chiếu nơi cư trú; đã xác nhận với trưởng bộ phận"
    assert cli.ok("assign", str(papers["hanh_card"]), code, "--override-reason", reason)[0]["doc_type"] == "cccd"
    cli.ok("assign", str(papers["an_marital"]), code, "--override-reason", "hồ sơ kèm theo để tham khảo")
    shown = cli.ok("dossier", "show", code)[0]
    assert {c["document"]["id"] for c in shown["components"]} == {papers["hanh_card"], papers["an_marital"]}
    with db.session() as s:
        ov = audits(s, "document.assign.override")
        assert [(a.object_id, a.detail["reason"], a.detail["overridden"], a.actor) for a in ov] == [
            (str(papers["hanh_card"]), reason, ["subject_mismatch"], "staff:cli"),
            (str(papers["an_marital"]), "hồ sơ kèm theo để tham khảo", ["type_not_required"], "staff:cli")]
        assert ov[0].detail["dossier"] == code
        # the card is still Hạnh's: nothing re-labelled its subject
        card = s.get(Document, papers["hanh_card"])
        assert s.get(Subject, card.subject_id).identifier == HANH.pid
    assert cli.ok("document", "show", str(papers["hanh_card"]))[0]["subjects"] == ["*********" + HANH.pid[-3:]]

    # reuse never offers Hạnh's card to An, even now that it sits on An's dossier
    assert {f["id"] for f in cli.ok("reuse", "find", "--subject", AN.pid, "--all")} == mine
    assert [f["id"] for f in cli.ok("reuse", "find", "--subject", AN.pid, "--type", "cccd")] == [papers["an_card"]]
    assert papers["hanh_card"] in [f["id"] for f in cli.ok("reuse", "find", "--subject", HANH.pid)]
    code2 = cli.ok("dossier", "create", "--procedure", "1.004873", "--subject", AN.pid)[0]["code"]
    offered = cli.ok("dossier", "show", code2)[0]["reusable"]
    assert [(r["doc_type"], r["document_id"]) for r in offered] == [("cccd", papers["an_card"])]
    assert "không phải giấy tờ của người nộp" in cli.refused("dossier", "reuse", code2, "--document",
                                                           str(papers["hanh_card"]))

    # the marriage certificate belongs to both spouses, and to nobody else
    assert papers["couple"] in [f["id"] for f in cli.ok("reuse", "find", "--subject", VO.pid)]
    assert papers["couple"] in [f["id"] for f in cli.ok("reuse", "find", "--subject", CHONG.pid)]

    # a paper that names nobody takes the dossier's subject, as an audited decision
    cli.ok("assign", str(papers["form"]), code, "--type", "to_khai")
    assert cli.ok("document", "show", str(papers["form"]))[0]["subjects"] == ["*********" + AN.pid[-3:]]
    with db.session() as s:
        decided = audits(s, "document.subject")
        assert [(a.object_id, a.detail["subject"]) for a in decided] == [(str(papers["form"]), AN.pid)]


def test_correcting_an_id_field_relabels_with_an_audit_trail(home, db, papers):
    cli = Cli(home)
    # a misread ID number corrected by staff: the document now names whom its corrected field names
    cli.ok("document", "correct", str(papers["hanh_card"]), "--field", f"so_dinh_danh={AN.pid}",
           "--field", f"ngay_sinh={AN.dob}", "--field", f"ho_ten={AN.name}")
    assert cli.ok("document", "show", str(papers["hanh_card"]))[0]["subjects"] == ["*********" + AN.pid[-3:]]
    with db.session() as s:
        ev = audits(s, "document.subject")[-1]
        assert ev.detail["before"] == [HANH.pid] and ev.detail["after"] == [AN.pid]
    assert papers["hanh_card"] not in [f["id"] for f in cli.ok("reuse", "find", "--subject", HANH.pid, "--all")]


def test_web_ui_asks_for_a_reason_before_attaching_another_citizens_paper(settings, db, papers, server):
    need(CHROMIUM, "Debian's chromium")
    from playwright.sync_api import expect, sync_playwright

    from registry import service

    with db.session() as s:
        add_staff(s, "clerk2", "mật-khẩu-dài", name="Đỗ Thị Lan", role="clerk")
        code = service.create_dossier(s, procedure="1.001193", subject=AN.pid, name=AN.name,
                                      agency=settings.agency_code).code
    base = server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        page = browser.new_page()
        page.goto(base + "/login")
        page.fill("input[name=username]", "clerk2")
        page.fill("input[name=password]", "mật-khẩu-dài")
        page.click("button[type=submit]")
        expect(page.locator("header")).to_contain_text("Đỗ Thị Lan")

        # the couple's marriage certificate onto An's birth registration: the registry refuses, the
        # page asks for a confirmation with a reason
        page.goto(base + "/unassigned")
        row = page.locator(f"#doc-{papers['couple']}")
        row.locator("input[name=code]").fill(code)
        row.locator("button").click()
        box = page.locator("#assign-override")
        expect(box).to_contain_text("giấy tờ của người khác")
        assert VO.pid not in page.content() and CHONG.pid not in page.content()
        box.locator("button").click()  # confirming without a reason is refused again
        expect(page.locator("#assign-override")).to_contain_text("Cần ghi lý do")
        page.goto(base + "/unassigned")
        expect(page.locator(f"#doc-{papers['couple']}")).to_have_count(1)  # still unassigned

        page.goto(base + "/unassigned")
        row = page.locator(f"#doc-{papers['hanh_card']}")
        row.locator("input[name=code]").fill(code)
        row.locator("button").click()
        page.fill("textarea[name=override_reason]", "Thẻ của mẹ, nộp kèm để đối chiếu")
        page.locator("#assign-override button").click()
        expect(page.locator(".flash")).to_contain_text(f"Đã gắn văn bản {papers['hanh_card']} vào hồ sơ {code}")
        expect(page.locator(".flash")).to_contain_text("Lý do ghi đè")

        # An's next dossier is offered his own card, never Hạnh's, although it sits on his dossier
        with db.session() as s:
            code2 = service.create_dossier(s, procedure="1.004873", subject=AN.pid, agency=settings.agency_code).code
        page.goto(f"{base}/dossiers/{code2}")
        expect(page.locator("#reusable")).to_contain_text(f"#{papers['an_card']}")
        assert not re.search(rf"#{papers['hanh_card']}\b", page.locator("#reusable").inner_text())
        browser.close()

    with db.session() as s:
        ov = audits(s, "document.assign.override")
        assert [(a.object_id, a.actor, a.detail["reason"]) for a in ov] == [
            (str(papers["hanh_card"]), "staff:clerk2", "Thẻ của mẹ, nộp kèm để đối chiếu")]
        assert s.get(Document, papers["couple"]).components == []
        assert s.get(Document, papers["hanh_card"]).subject_id != s.get(Document, papers["an_card"]).subject_id



def test_a_paper_that_names_the_applicant_as_a_parent_is_his_to_bring(home, settings, db):
    """A child's birth certificate names the child by ID number and the parents by name: it may go
    on the father's dossier. Another man who shares the father's name does not make his own ID card
    the father's."""
    store = Store(settings.store_dir)
    child = person("Nguyễn Thị Mai", 2024, "Nữ", province="012")
    namesake = person(AN.name, 1990)
    with db.session() as s:
        birth = intake_document(s, store, doc_type="khai_sinh", text=(
            f"GIẤY KHAI SINH\nHọ, chữ đệm, tên: {child.name.upper()}\nSố định danh cá nhân: {child.pid}\n"
            f"Họ, chữ đệm, tên người cha: {AN.name.upper()}   Năm sinh: 1988"),
            fields={"ho_ten": child.name, "ngay_sinh": child.dob, "so_dinh_danh": child.pid}).id
        card = intake_document(s, store, doc_type="cccd", text=f"CĂN CƯỚC CÔNG DÂN\nHọ và tên: {AN.name.upper()}",
                               fields=id_card_fields(namesake)).id
    cli = Cli(home)
    code = cli.ok("dossier", "create", "--procedure", "1.001022", "--subject", AN.pid, "--name", AN.name)[0]["code"]
    cli.ok("assign", str(birth), code)
    assert "giấy tờ của người khác" in cli.refused("assign", str(card), code)
    shown = cli.ok("document", "show", str(birth))[0]
    assert shown["subjects"] == ["*********" + child.pid[-3:]]  # still the child's, not re-labelled


def test_a_route_never_attaches_another_citizens_paper(settings, db):
    """The intake (the ingest job's door): a receipt QR or an inbox folder that names An's dossier
    does not put Hạnh's card on it — the card waits for staff and the refusal is audited; An's own
    card, and a form that names nobody, are attached (the form then is An's, audited)."""
    from registry import IntakeTx
    from registry.intake import FieldRead, Incoming
    from tests.api.apitest_helpers import pdf_bytes

    def incoming(label, doc_type, fields):
        return Incoming(pdf=pdf_bytes(label), sealed=False, pages=1, text="", doc_type=doc_type, type_confidence=0.9,
                        fields={k: FieldRead(v, 0.9) for k, v in fields.items()}, quality="ok", ingest_id=None,
                        source_name=f"{label}.jpg", page_from=1, page_to=1)

    from registry import service

    with db.session() as s:
        code = service.create_dossier(s, procedure="1.001193", subject=AN.pid, name=AN.name,
                                      agency=settings.agency_code).code
        tx = IntakeTx(s, Store(settings.store_dir))
        hers = tx.record(incoming("hers", "cccd", id_card_fields(HANH)))
        his = tx.record(incoming("his", "cccd", id_card_fields(AN)))
        form = tx.record(incoming("form", "to_khai", {}))
        assert hers.subject_pid == HANH.pid and his.subject_pid == AN.pid and form.subject_pid is None
        assert tx.attach(hers.id, code, "qr").dossier_code is None
        assert tx.attach(his.id, code, "folder").dossier_code == code
        assert tx.attach(form.id, code, "qr").dossier_code == code
        refused = audits(s, "document.route.refused")
        assert [(a.object_id, a.detail["dossier"], a.detail["routed_by"], a.actor) for a in refused] == [
            (str(hers.id), code, "qr", "system:intake")]
        assert [c.document_id for c in service.get_dossier(s, code).components] == [his.id, form.id]
        assert s.get(Subject, s.get(Document, form.id).subject_id).identifier == AN.pid
        assert [a.object_id for a in audits(s, "document.subject")] == [str(form.id)]
    assert [d.id for d in _unassigned(db)] == [hers.id]


def _unassigned(db):
    from registry import service

    with db.session() as s:
        return service.unassigned_documents(s)
