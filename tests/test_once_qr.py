"""QR codes with real parts: the receipt's Circular 01/2023 QR (upper left, structured payload)
read back by the router; foreign QR codes (VietQR, a chip ID card) never route a scan; the chip ID
card's own QR is ground truth for the card's fields at intake, with real Tesseract OCR."""
from __future__ import annotations

import datetime as dt
import io

import numpy as np
import pytest
import qrcode
from PIL import Image

import ocr
from ocr.cccd import QR_MISMATCH, parse_cccd_qr
from registry.codes import parse_receipt_qr, read_receipt_qr
from sohoa.dev import samples

pytestmark = pytest.mark.slow

AN = samples.Person("Nguyễn Văn An", "001088012345", "07/05/1988", "Nam")
CCCD_PAYLOAD = "001088012345|123456789|Nguyễn Văn An|07051988|Nam|Số 12, tổ 5, phường Tân Phong, tỉnh Lai Châu|15082021"


def _qr_image(payload: str, box: int = 8) -> Image.Image:
    q = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=box, border=2)
    q.add_data(payload.encode("utf-8"))
    q.make(fit=True)
    return q.make_image(fill_color="black", back_color="white").get_image().convert("L")


def card_with_qr(p: samples.Person, payload: str, seed: int = 0, expiry: str = "07/05/2028") -> Image.Image:
    """A chip ID card's front as a scanner sees it: printed fields and the QR in the corner. The
    expiry printed is, as on a real card, the one the law gives the QR's birth and issue dates."""
    img = samples.render_page(samples.id_card(p, expiry=expiry), card=True).convert("L")
    qr = _qr_image(payload)
    qr = qr.resize((330, 330), Image.NEAREST)
    img.paste(qr, (img.width - qr.width - 40, img.height - qr.height - 40))
    return samples.degrade(img, angle=-0.6, seed=seed)


def test_cccd_qr_payload_layout():
    card = parse_cccd_qr(CCCD_PAYLOAD)
    assert card.fields() == {"so_dinh_danh": "001088012345", "so_cmnd": "123456789", "ho_ten": "Nguyễn Văn An",
                             "ngay_sinh": "07/05/1988", "gioi_tinh": "Nam",
                             "noi_thuong_tru": "Số 12, tổ 5, phường Tân Phong, tỉnh Lai Châu", "ngay_cap": "15/08/2021"}
    assert parse_cccd_qr("001088012345||Nguyễn Văn An|07051988|Nam|Lai Châu|15082021").so_cmnd == ""
    for bad in ("000201010212", "001088012345|x|Nguyễn Văn An|07051988|Nam|Lai Châu", "12|x|A|07051988|Nam|B|15082021",
                "001088012345||Nguyễn Văn An|31131988|Nam|Lai Châu|15082021", "TNHS1|ma=38.98.H29-210519-0013"):
        assert parse_cccd_qr(bad) is None


def test_cccd_fields_come_from_the_qr_and_ocr_misreads_are_flagged(tmp_path):
    # a card whose print OCR reads as it is: the QR confirms, nothing is flagged, fields the print
    # does not carry (old ID, issue date, residence as registered) come from the QR
    good = tmp_path / "good.jpg"
    samples.save_jpeg(card_with_qr(AN, CCCD_PAYLOAD), good)
    res = ocr.ocr_file(str(good))
    assert res.doc_type == "cccd"
    got = {k: (f.value, f.flags) for k, f in res.fields.items()}
    assert got["so_dinh_danh"] == ("001088012345", ())
    assert got["ho_ten"] == ("Nguyễn Văn An", ()) and got["ngay_sinh"] == ("07/05/1988", ())
    assert got["so_cmnd"] == ("123456789", ()) and got["ngay_cap"] == ("15/08/2021", ())
    assert got["noi_thuong_tru"][0] == "Số 12, tổ 5, phường Tân Phong, tỉnh Lai Châu"
    # not in the QR: the law gives it from the QR's birth and issue dates (25, 40, 60: born 1988,
    # issued at 33, valid to the 40th birthday); the print read the same, so it is sure
    assert got["ngay_het_han"] == ("07/05/2028", ()) and res.fields["ngay_het_han"].source == "qr"
    assert all(f.confidence == 1.0 for f in res.fields.values())
    assert res.quality == "ok"

    # a card whose print OCR gets wrong (here: the ID number and the name printed as OCR would
    # misread them): the QR's values win and each disagreement is flagged for a person to look at
    misread = samples.Person("Nguyễn Văn Am", "001088012346", "07/05/1988", "Nam")
    bad = tmp_path / "misread.jpg"
    samples.save_jpeg(card_with_qr(misread, CCCD_PAYLOAD, seed=3, expiry="15/08/2038"), bad)
    res = ocr.ocr_file(str(bad))
    got = {k: (f.value, f.flags) for k, f in res.fields.items()}
    assert got["so_dinh_danh"] == ("001088012345", (QR_MISMATCH,))
    # an expiry the law cannot give this card's dates: the law's, and a person looks
    assert got["ngay_het_han"] == ("07/05/2028", (QR_MISMATCH,))
    assert got["ho_ten"] == ("Nguyễn Văn An", (QR_MISMATCH,))
    assert got["ngay_sinh"] == ("07/05/1988", ())
    assert res.quality == "review" and res.to_json()["fields"]["so_dinh_danh"]["flags"] == [QR_MISMATCH]


def test_a_cards_expiry_follows_from_its_qr_by_law(tmp_path):
    """The QR carries no expiry and the front's small print is often unreadable: the law gives it
    from the QR's checked birth and issue dates, a little below full confidence."""
    path = tmp_path / "unread.jpg"
    samples.save_jpeg(card_with_qr(AN, CCCD_PAYLOAD, seed=1, expiry=""), path)
    res = ocr.ocr_file(str(path))
    f = res.fields["ngay_het_han"]
    assert (f.value, f.source, f.flags) == ("07/05/2028", "qr", ())
    assert f.confidence == pytest.approx(0.9) and res.quality == "ok"


def test_intake_takes_the_subject_from_the_cccd_qr(sohoa):
    """The misprinted card in the inbox: the QR's ID number routes it to its holder's open dossier
    and is recorded as the card's number; the misread stays visible as a flag."""
    code = sohoa.json("dossier", "create", "--procedure", "1.001193", "--subject", AN.pid, "--name", AN.name)[0]["code"]
    misread = samples.Person("Nguyễn Văn Am", "001088012346", "07/05/1988", "Nam")
    samples.save_jpeg(card_with_qr(misread, CCCD_PAYLOAD, seed=5), sohoa.home / "inbox" / "card.jpg")
    assert sohoa.json("watch", "--once")[-1]["quarantined"] == 0
    comps = sohoa.json("dossier", "show", code)[0]["components"]
    assert [(c["doc_type"], c["routed_by"], c["state"]) for c in comps] == [("cccd", "pid", "scanned")]
    doc = sohoa.json("document", "show", str(comps[0]["document"]["id"]))[0]
    assert doc["fields"]["so_dinh_danh"] == AN.pid and doc["fields"]["ngay_cap"] == "15/08/2021"
    assert doc["field_confidences"]["so_dinh_danh"]["flags"] == [QR_MISMATCH]
    assert doc["subjects"] == ["*********345"]


def test_receipt_qr_is_upper_left_and_carries_the_circular_fields(sohoa, tmp_path):
    created = sohoa.json("dossier", "create", "--procedure", "1.001193", "--subject", AN.pid, "--name", AN.name)[0]
    code = created["code"]
    out = tmp_path / "r.pdf"
    sohoa.run("receipt", code, "--out", str(out))
    page = np.asarray(samples.rasterize_pdf(out.read_bytes(), dpi=150)[0].convert("L"))
    # read as the inbox reads codes (zxing-cpp): OpenCV's detector misses some payloads at 150 dpi
    import zxingcpp

    found = [r for r in zxingcpp.read_barcodes(page) if r.format == zxingcpp.BarcodeFormat.QRCode]
    assert len(found) == 1, found
    payload, pos = found[0].text, found[0].position
    h, w = page.shape
    xs = [pos.top_left.x, pos.top_right.x, pos.bottom_left.x, pos.bottom_right.x]
    ys = [pos.top_left.y, pos.top_right.y, pos.bottom_left.y, pos.bottom_right.y]
    assert max(xs) < w / 3 and max(ys) < h / 4, (xs, ys, w, h)  # upper-left corner
    fields = read_receipt_qr(payload)
    due = dt.datetime.fromisoformat(created["due_at"])
    assert fields["ma"] == code and fields["tt"] == "1.001193" and fields["dd"] == AN.pid
    assert fields["gt"] == "Giấy tiếp nhận hồ sơ và hẹn trả kết quả" and fields["ht"] == "sohoa 000.00.01.H29"
    assert fields["hen"] == due.strftime("%Y%m%d%H%M%S") and len(fields["tg"]) == 14
    assert parse_receipt_qr(payload) == code


def test_foreign_qr_codes_never_route_a_scan(sohoa, tmp_path):
    """A batch whose first page carries a VietQR payment code that happens to contain a dossier
    code, then a chip ID card of a person without an open dossier: no page is taken for a receipt,
    nothing lands on that dossier, both pages become documents left for staff."""
    code = sohoa.json("dossier", "create", "--procedure", "1.001193", "--subject", AN.pid)[0]["code"]
    purpose = f"HS {code} le phi"  # the transfer's purpose names the dossier, as counters write it
    extra = f"08{len(purpose):02d}{purpose}"
    vietqr = (f"00020101021238570010A000000727012700069704070113000123456780208QRIBFTTA530370454061000005802VN"
              f"62{len(extra):02d}{extra}6304ABCD")
    assert __import__("registry.codes").codes.find_dossier_code(vietqr) == code  # what the router used to take
    pay = Image.new("L", (2480, 3508), 255)
    pay.paste(_qr_image(vietqr, box=14), (800, 300))
    assert ocr.detect_qr(np.asarray(pay)) == [vietqr]
    lan = samples.Person("Lê Thị Lan", "079190123456", "11/09/1990", "Nữ")
    payload = f"{lan.pid}||{lan.name}|11091990|Nữ|Tổ 3, phường Tân Phong, tỉnh Lai Châu|01012022"
    pages = [samples.degrade(pay, seed=1), card_with_qr(lan, payload, seed=2)]
    buf = io.BytesIO()
    pages[0].save(buf, "PDF", resolution=300, save_all=True, append_images=[pages[1].convert("L")])
    (sohoa.home / "inbox" / "batch.pdf").write_bytes(buf.getvalue())
    out = sohoa.json("watch", "--once")[-1]
    assert out["quarantined"] == 0, out
    assert sohoa.json("dossier", "show", code)[0]["components"] == []
    left = sohoa.json("unassigned")
    assert len(left) == 2, left  # the payment page is a page of its own, not a separator sheet
    card = next(d for d in left if d["doc_type"] == "cccd")
    assert card["fields"]["so_dinh_danh"] == lan.pid

