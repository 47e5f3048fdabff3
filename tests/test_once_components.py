"""Each required component has a state; completing a dossier with a missing one needs a reason;
validity comes from the document and is derived again on correction; corrections are checked;
document metadata is read where printed and editable; certified copies are their own kind."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from registry import service
from registry.models import Document
from registry.store import Store
from tests.once_helpers import Cli, audits, id_card_fields, intake_document, person
from tests.test_webui import server  # noqa: F401  (the fixture: the web app on loopback)

AN = person("Nguyễn Văn An", 1988)


@pytest.fixture
def cli(home, db):
    return Cli(home)


def _states(cli, code):
    return {c["doc_type"]: (c["state"], c["exempt_reason"]) for c in cli.ok("dossier", "show", code)[0]["component_states"]}


def test_every_state_and_complete_needs_a_reason_for_a_missing_component(cli, settings, db, tmp_path):
    store = Store(settings.store_dir)
    with db.session() as s:
        card = intake_document(s, store, doc_type="cccd", fields=id_card_fields(AN)).id
        form = intake_document(s, store, doc_type="to_khai", fields={"ho_ten": AN.name, "so_dinh_danh": AN.pid}).id
        birth = intake_document(s, store, doc_type="khai_sinh", fields={"ho_ten": AN.name, "ngay_sinh": AN.dob,
                                                                       "so_dinh_danh": AN.pid}).id
    # 1.001022 asks for to_khai, cccd, khai_sinh
    first = cli.ok("dossier", "create", "--procedure", "1.001022", "--subject", AN.pid, "--name", AN.name)[0]["code"]
    assert _states(cli, first) == {"to_khai": ("missing", None), "cccd": ("missing", None),
                                   "khai_sinh": ("missing", None)}
    out = cli.refused("dossier", "complete", first)
    assert "to_khai, cccd, khai_sinh" in out and "lý do ghi đè" in out
    cli.ok("assign", str(card), first)
    cli.ok("assign", str(form), first)
    cli.ok("assign", str(birth), first)
    assert _states(cli, first) == {t: ("scanned", None) for t in ("to_khai", "cccd", "khai_sinh")}
    cli.ok("dossier", "complete", first, "--result-document", str(birth))  # the birth certificate, as the result

    # a second dossier: the card reused from the earlier component, the birth certificate from the
    # result, the form exempt (presented for comparison only)
    second = cli.ok("dossier", "create", "--procedure", "1.001022", "--subject", AN.pid)[0]["code"]
    cli.ok("dossier", "reuse", second, "--document", str(card))
    cli.ok("dossier", "reuse", second, "--document", str(birth))
    out = cli.refused("dossier", "exempt", second, "--type", "to_khai", "--reason", "lazy", code=2)
    assert all(r in out for r in ("online", "comparison", "internal", "confidential"))  # only the law's reasons
    cli.ok("dossier", "exempt", second, "--type", "to_khai", "--reason", "comparison", "--note", "bản giấy đối chiếu")
    assert _states(cli, second) == {"to_khai": ("exempt", "comparison"), "cccd": ("reused_component", None),
                                    "khai_sinh": ("reused_result", None)}
    cli.ok("dossier", "complete", second)

    # a third: the card replaced by data from the population database, the birth certificate from
    # the national store; nothing for the form → refused, then completed with a reason (audited)
    third = cli.ok("dossier", "create", "--procedure", "1.001022", "--subject", AN.pid)[0]["code"]
    cli.ok("dossier", "national-data", third, "--type", "cccd", "--source", "CSDL quốc gia về dân cư",
           "--ref", "tra cứu số 123")
    from tests.api.apitest_helpers import pdf_bytes

    (tmp_path / "kho.pdf").write_bytes(pdf_bytes("from the national store"))
    cli.ok("dossier", "national-store", third, "--type", "khai_sinh", "--file", str(tmp_path / "kho.pdf"),
           "--ref", "KHO-2026-000123")
    assert _states(cli, third) == {"to_khai": ("missing", None), "cccd": ("national_data", None),
                                   "khai_sinh": ("reused_national", None)}
    assert "không yêu cầu" in cli.refused("dossier", "exempt", third, "--type", "gcn_qsdd", "--reason", "online")
    cli.refused("dossier", "complete", third)
    cli.ok("dossier", "complete", third, "--override-reason", "tờ khai nộp sau theo quy định")
    with db.session() as s:
        ov = audits(s, "dossier.complete.override")
        assert [(a.object_id, a.detail["reason"], a.detail["overridden"]) for a in ov] == [
            (third, "tờ khai nộp sau theo quy định", ["components_incomplete"])]
        assert [a.detail["reason"] for a in audits(s, "component.exempt")] == ["comparison"]
        national = s.scalar(select(Document).where(Document.kind == "national_store"))
        assert national.subject_id == service.find_subject(s, AN.pid).id

    # a dossier received online: its components are exempt (already electronic) unless recorded
    online = cli.ok("dossier", "create", "--procedure", "1.001193", "--subject", AN.pid, "--channel", "online")[0]["code"]
    assert _states(cli, online) == {"to_khai": ("exempt", "online"), "cccd": ("exempt", "online")}
    cli.ok("dossier", "complete", online)


def test_validity_from_the_document_and_checked_corrections(cli, settings, db):
    store = Store(settings.store_dir)
    with db.session() as s:
        card = intake_document(s, store, doc_type="cccd", fields=id_card_fields(AN, expiry="15/08/2038"), text=(
            f"CĂN CƯỚC CÔNG DÂN\nSố / No.: {AN.pid}\nHọ và tên / Full name: {AN.name.upper()}\n"
            f"Ngày sinh / Date of birth: {AN.dob}\nCó giá trị đến / Date of expiry: 15/08/2038")).id
        licence = intake_document(s, store, doc_type="giay_phep_lai_xe", fields={
            "so": "790123456789", "ho_ten": AN.name, "ngay_sinh": AN.dob, "co_gia_tri_den": "01/01/2020"}).id
    shown = cli.ok("document", "show", str(card))[0]
    assert shown["valid_until"] == "2038-08-15" and shown["metadata"] == {}  # an ID card is not an official paper
    assert cli.ok("document", "show", str(licence))[0]["valid_until"] == "2020-01-01"

    # corrected to an expiry in the past: re-derived, listed but not reusable, and refused for reuse
    out = cli.ok("document", "correct", str(card), "--field", "ngay_het_han=01/01/2020")[0]
    assert out["valid_until"] == "2020-01-01"
    assert cli.ok("reuse", "find", "--subject", AN.pid) == []
    listed = {d["id"]: d for d in cli.ok("reuse", "find", "--subject", AN.pid, "--all")}
    assert listed[card]["valid"] is False and listed[card]["reusable"] is False
    code = cli.ok("dossier", "create", "--procedure", "1.001193", "--subject", AN.pid)[0]["code"]
    assert cli.ok("dossier", "show", code)[0]["reusable"] == []
    assert "hết hiệu lực" in cli.refused("dossier", "reuse", code, "--document", str(card))
    cli.ok("document", "correct", str(card), "--field", "ngay_het_han=Không thời hạn")
    assert cli.ok("document", "show", str(card))[0]["valid_until"] is None
    assert [r["document_id"] for r in cli.ok("dossier", "show", code)[0]["reusable"]] == [card]

    # checked corrections: nothing is saved when a value fails its check
    for field, value, words in [
        ("so_dinh_danh", "abc", "12 chữ số"),
        ("so_dinh_danh", "991088012345", "mã tỉnh"),
        ("so_dinh_danh", f"{AN.pid[:3]}1{AN.pid[4:]}", "giới tính"),  # female digit on a card that says Nam
        ("so_dinh_danh", f"{AN.pid[:4]}99{AN.pid[6:]}", "năm sinh"),  # born '99, the card says 1988
        ("ngay_sinh", "31/02/1988", "không có ngày này"),
        ("ngay_sinh", "1988-05-07", "dd/mm/yyyy"),
        ("ngay_sinh", "07/05/1990", "năm sinh"),  # no longer agrees with the ID number
        ("ma_so_thue", "12345", "mã số thuế"),
    ]:
        extra = ("--field", "gioi_tinh=Nam") if words == "giới tính" else ()
        out = cli.refused("document", "correct", str(card), "--field", f"{field}={value}", *extra, code=2)
        assert words in out, (field, value, out)
    after = cli.ok("document", "show", str(card))[0]
    assert after["fields"]["so_dinh_danh"] == AN.pid and after["fields"]["ngay_sinh"] == AN.dob
    assert "ma_so_thue" not in after["fields"] and "gioi_tinh" not in after["fields"]
    for good in ("0101234567", "0101234567-001"):
        assert cli.ok("document", "correct", str(card), "--field", f"ma_so_thue={good}")[0]["fields"]["ma_so_thue"] == good


DECISION = [
    "ỦY BAN NHÂN DÂN XÃ BẢN BO",
    "Số: 125/QĐ-UBND",
    "Bản Bo, ngày 12 tháng 3 năm 2024",
    "QUYẾT ĐỊNH",
    "Về việc công nhận hộ kinh doanh",
    "Mã kết quả: KQ.G15.000031",
    "Quyết định có giá trị đến ngày 31/12/2029.",
    "Phạm vi áp dụng: trên địa bàn xã Bản Bo.",
    "CHỦ TỊCH",
    "Nguyễn Văn Bình",
]


def test_metadata_read_where_printed_and_editable(cli, settings, db):
    with db.session() as s:
        doc = intake_document(s, Store(settings.store_dir), doc_type="van_ban", fields={},
                              text="\n".join(DECISION)).id
    shown = cli.ok("document", "show", str(doc))[0]
    assert shown["metadata"] == {"so_ky_hieu": "125/QĐ-UBND", "ngay_ban_hanh": "12/03/2024",
                                 "co_quan_ban_hanh": "ỦY BAN NHÂN DÂN XÃ BẢN BO",
                                 "trich_yeu": "Về việc công nhận hộ kinh doanh", "ma_ket_qua": "KQ.G15.000031",
                                 "hieu_luc_den": "31/12/2029", "pham_vi": "trên địa bàn xã Bản Bo",
                                 "nguoi_ky": "Nguyễn Văn Bình"}
    assert shown["valid_until"] == "2029-12-31"
    out = cli.ok("document", "correct", str(doc), "--meta", "hieu_luc_den=vĩnh viễn", "--meta", "nguoi_ky=Lò Văn Sơn",
                 "--meta", "pham_vi=")[0]
    assert out["metadata"]["hieu_luc_den"] == "vĩnh viễn" and out["metadata"]["nguoi_ky"] == "Lò Văn Sơn"
    assert "pham_vi" not in out["metadata"] and out["valid_until"] is None
    assert "KQ.G15.000031" in cli.refused("document", "correct", str(doc), "--meta", "ma_ket_qua=KQ-15", code=2)
    assert "siêu dữ liệu" in cli.refused("document", "correct", str(doc), "--meta", "mau_sac=đỏ", code=2)
    with db.session() as s:
        before = audits(s, "document.correct")[-1].detail["before"]
        assert before["metadata"]["pham_vi"] == "trên địa bàn xã Bản Bo"


def test_certified_copies_are_their_own_kind(home, db, settings, tmp_path):
    from sohoa.dev import samples
    from tests.conftest import SohoaCLI

    sub = SohoaCLI(home)
    sub.run("pki", "dev")
    cli = Cli(home)
    pdf = samples.images_to_pdf([samples.render_page(samples.id_card(samples.Person(AN.name, AN.pid, AN.dob)),
                                                     card=True)])
    with db.session() as s:
        digest, _ = Store(settings.store_dir).put_bytes(pdf)
        card = Document(sha256=digest, size=len(pdf), doc_type="cccd", fields=id_card_fields(AN),
                        field_confidences={}, source_name="an-cccd.pdf", doc_metadata={})
        s.add(card)
        s.flush()
        service.derive_from_content(s, card)
        card = card.id
    first = cli.ok("dossier", "create", "--procedure", "1.001193", "--subject", AN.pid)[0]["code"]
    cli.ok("assign", str(card), first)
    made = sub.json("certify", str(card), "--officer", "1", "--out", str(tmp_path / "out"))[0]
    copy = made["copies"][0]["document_id"]

    assert cli.ok("unassigned") == []  # the copy is not a scan waiting for a dossier
    shown = cli.ok("document", "show", str(copy))[0]
    assert shown["kind"] == "certified_copy" and shown["certified_from_id"] == card
    found = cli.ok("reuse", "find", "--subject", AN.pid)
    assert [f["id"] for f in found] == [card]  # listed under the scan it was made from
    assert [c["document_id"] for c in found[0]["certified_copies"]] == [copy]

    second = cli.ok("dossier", "create", "--procedure", "1.004873", "--subject", AN.pid)[0]
    offered = second["reusable"]
    assert [(r["doc_type"], r["document_id"]) for r in offered] == [("cccd", card)]  # the scan, not the copy …
    assert offered[0]["certified_copy"]["document_id"] == copy  # … with its copy beside it, as a certified result
    assert offered[0]["certified_copy"]["kind"] == "certified_result"
    cli.ok("dossier", "reuse", second["code"], "--document", str(copy))
    assert _states(cli, second["code"])["cccd"] == ("reused_result", None)
    stranger = person("Lê Thị Lan", 1990, "Nữ")
    other = cli.ok("dossier", "create", "--procedure", "1.004873", "--subject", stranger.pid)[0]
    assert other["reusable"] == []
    assert "không phải giấy tờ" in cli.refused("dossier", "reuse", other["code"], "--document", str(copy))


@pytest.mark.slow
def test_metadata_of_a_scanned_decision_through_the_inbox(sohoa):
    """Real Tesseract on a scanned decision dropped in the inbox: the intake records the metadata
    printed on it, and its validity."""
    from sohoa.dev import samples

    page = ["ỦY BAN NHÂN DÂN XÃ BẢN BO", "#CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "#Độc lập - Tự do - Hạnh phúc",
            *DECISION[1:3], "#QUYẾT ĐỊNH", "#Về việc công nhận hộ kinh doanh", *DECISION[5:]]
    samples.save_jpeg(samples.degrade(samples.render_page(page), angle=0.5, seed=3), sohoa.home / "inbox" / "qd.jpg")
    assert sohoa.json("watch", "--once")[-1]["quarantined"] == 0
    doc = sohoa.json("unassigned")[0]
    assert doc["doc_type"] == "van_ban"
    assert doc["metadata"] == {"so_ky_hieu": "125/QĐ-UBND", "ngay_ban_hanh": "12/03/2024",
                               "co_quan_ban_hanh": "ỦY BAN NHÂN DÂN XÃ BẢN BO",
                               "trich_yeu": "Về việc công nhận hộ kinh doanh", "ma_ket_qua": "KQ.G15.000031",
                               "hieu_luc_den": "31/12/2029", "pham_vi": "trên địa bàn xã Bản Bo",
                               "nguoi_ky": "Nguyễn Văn Bình"}
    assert doc["valid_until"] == "2029-12-31"


def test_metadata_is_editable_in_the_web_ui(settings, db, server):
    """The document page's correction form takes metadata as ``meta:KEY`` fields (checked like the CLI)."""
    import re

    import httpx

    from registry.staff import add_staff

    with db.session() as s:
        add_staff(s, "clerk3", "mật-khẩu-dài", role="clerk")
        doc = intake_document(s, Store(settings.store_dir), doc_type="van_ban", fields={},
                              text="\n".join(DECISION)).id
    with httpx.Client(base_url=server, follow_redirects=True) as c:
        token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text).group(1)
        c.post("/login", data={"username": "clerk3", "password": "mật-khẩu-dài", "csrf_token": token})
        r = c.post(f"/documents/{doc}/correct", data={"csrf_token": token, "meta:so_ky_hieu": "126/QĐ-UBND",
                                                       "meta:hieu_luc_den": "31/12/2030"})
        assert r.status_code == 200 and "Đã lưu" in r.text
        r = c.post(f"/documents/{doc}/correct", data={"csrf_token": token, "meta:ngay_ban_hanh": "2024-03-12"})
        assert "Không lưu được" in r.text and "ngày/tháng/năm" in r.text and 'value="2024-03-12"' in r.text
    with db.session() as s:
        d = s.get(Document, doc)
        assert d.doc_metadata["so_ky_hieu"] == "126/QĐ-UBND" and d.doc_metadata["ngay_ban_hanh"] == "12/03/2024"
        assert d.valid_until.isoformat() == "2030-12-31"
        assert audits(s, "document.correct")[0].actor == "staff:clerk3"
