"""Reading papers as a counter receives them: phone photos of ID cards (QR front, MRZ back, the
old 9-digit CMND), both sides on one A4 sheet, a whole page photographed small, and a scanner's
text layer with its Vietnamese mangled. All fixtures are drawn by tests/photos.py."""
from __future__ import annotations

import io
import subprocess

import pytest

from sohoa.dev import samples
from tests import photos
from tests.ocr.conftest import PROSE, nfc

WOMAN = samples.Person("Nguyễn Thị Minh Khai", "001190012345", "12/04/1990", "Nữ")
MAN = samples.Person("Lê Văn Phúc", "079203004567", "30/11/2003", "Nam")


def _cer(gt: str, hyp: str) -> float:
    from rapidfuzz.distance import Levenshtein

    g, h = " ".join(nfc(gt).split()), " ".join(nfc(hyp).split())
    return Levenshtein.distance(g, h) / max(1, len(g))


# --------------------------------------------------------------------------- MRZ (no OCR)

def test_td1_check_digits_parse_and_repair():
    from ocr.mrz import check_digit, parse_td1

    # ICAO 9303 part 5's own TD1 specimen
    z = parse_td1("I<UTOD231458907<<<<<<<<<<<<<<<", "7408122F1204159UTO<<<<<<<<<<<6", "ERIKSSON<<ANNA<MARIA<<<<<<<<<<")
    assert z is not None and z.doc_number == "D23145890" and z.birth == "740812" and z.sex == "Nữ"
    assert z.expiry == "120415" and z.name == "ERIKSSON ANNA MARIA"
    assert check_digit("D23145890") == "7"
    l1, l2, l3 = photos.td1(MAN, "30/11/2028")
    z = parse_td1(l1, l2, l3)
    assert z.personal_id == MAN.pid and z.birth_date() == MAN.dob and z.expiry_date() == "30/11/2028"
    assert z.sex == "Nam" and z.name == "LE VAN PHUC"
    # OCR slips: O for 0, I for 1, a space, the filler read as K, a trailing stray character
    slipped = (l1.replace("0", "O", 2), l2[:3] + " " + l2[3:].replace("1", "I", 1), l3.replace("<", "K", 0) + "<")
    z2 = parse_td1(*slipped)
    assert z2 is not None and z2.personal_id == MAN.pid and z2.birth == z.birth
    # one digit of the birth date misread 8 for 0: the check digit repairs it
    bad = l2[:1] + ("8" if l2[1] == "0" else "0") + l2[2:]
    rep = parse_td1(l1, bad, l3)
    assert rep is None or rep.birth == z.birth  # repaired or refused, never wrong
    # a changed ID digit that no slip explains is refused (the composite check)
    wrong = l1[:20] + str((int(l1[20]) + 5) % 10) + l1[21:]
    assert parse_td1(wrong, l2, l3) is None
    # the composite digit lost at the card's edge: still bound by the document number and the
    # birth year (the province list of vocab.identifiers), marked as not fully checked
    lost = parse_td1(l1, l2[:29] + "<", l3)
    assert lost is not None and lost.personal_id == MAN.pid and lost.composite_ok is False


def test_mangled_vietnamese_text_layer_detected():
    from ocr.language import mangled_vietnamese

    assert mangled_vietnamese("CONG Hcok xA HQI CHiJ NGHiA VIVT NAM Doc lap Tu do Hanh phuc UY BAN NHAN DAN "
                              "TINH HA NAM quyet dinh ve viec giao dat")
    assert not mangled_vietnamese(" ".join(PROSE))
    assert not mangled_vietnamese("The committee reviewed the annual report of the company and approved "
                                  "the budget for the next financial year")


# --------------------------------------------------------------------------- photos, real OCR

@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    d = tmp_path_factory.mktemp("photos")
    return {
        "front": photos.save(photos.photograph(photos.card_front(WOMAN, old_id="012345678", seed=1), seed=1,
                                               quality=50), d / "front.jpg"),
        "back": photos.save(photos.photograph(photos.card_back(MAN, expiry="30/11/2028", damaged=True, seed=2),
                                              seed=2, quality=60, out_long=1400), d / "back.jpg"),
        "cmnd": photos.save(photos.photograph(photos.card_front(
            samples.Person("Trần Văn Bình", "145678912", "03/05/1985"), kind="cmnd", seed=3), seed=3,
            out_long=1000, quality=45), d / "cmnd.jpg"),
    }


def test_chip_card_photo_qr_is_ground_truth(shots):
    import ocr

    r = ocr.ocr_file(shots["front"])
    assert r.doc_type == "cccd"
    f = r.fields
    assert f["so_dinh_danh"].value == WOMAN.pid and f["so_dinh_danh"].source == "qr"
    assert f["so_dinh_danh"].confidence == 1.0
    assert f["ho_ten"].value == nfc(WOMAN.name) and f["ngay_sinh"].value == WOMAN.dob
    assert f["gioi_tinh"].value == "Nữ"
    assert f["so_cmnd"].value == "012345678" and f["so_cmnd"].source == "qr"  # the old ID, linked
    assert r.to_json()["fields"]["so_dinh_danh"]["source"] == "qr"


def test_card_photographed_on_a_table_is_cut_out(shots):
    """The card is found in the photo, cut out and seen from the front (perspective removed):
    the page read is the card alone, at the card's proportions."""
    import ocr
    from ocr.preprocess import CARD_RATIO, CARD_WIDTH

    r = ocr.read_page(shots["cmnd"], 0)
    w, h = max(r.width, r.height), min(r.width, r.height)
    assert w == CARD_WIDTH and abs(w / h - CARD_RATIO) < 0.02, (r.width, r.height)
    assert "Sinh ngày" in nfc(r.text) or "GIẤY CHỨNG MINH" in nfc(r.text).upper()


def test_card_back_photo_mrz_is_ground_truth(shots):
    import ocr

    r = ocr.ocr_file(shots["back"])
    assert r.doc_type == "cccd"
    assert r.pages[0].mrz
    f = r.fields
    for k, v in (("ngay_sinh", MAN.dob), ("ngay_het_han", "30/11/2028"), ("gioi_tinh", "Nam")):
        assert f[k].value == v and f[k].source == "mrz" and f[k].confidence == 1.0, k
    assert f["so_dinh_danh"].value == MAN.pid and f["so_dinh_danh"].source == "mrz"
    assert f["so_dinh_danh"].confidence >= 0.95
    assert f["ho_ten"].confidence < 0.9  # the zone's name has no diacritics: not given as certain


def test_old_cmnd_photo_gives_its_own_number(shots):
    import ocr

    r = ocr.ocr_file(shots["cmnd"])
    assert r.doc_type == "cccd"
    assert r.fields["so_cmnd"].value == "145678912"
    assert "so_dinh_danh" not in r.fields  # nine digits are not a personal ID number


@pytest.mark.parametrize("hatch,long", [(((120, 170, 130), 4), 800), (((120, 170, 130), 4), 1280), (((135, 180, 145), 5), 1000)])
def test_old_cmnd_under_a_dense_security_print_is_read(tmp_path, hatch, long):
    """The old CMND's green cross-hatch runs under every letter: each line found by the detector
    is evened out (its background divided away) and read two ways, so the number and the birth
    date come through where the line read as cut gave neither."""
    import ocr

    man = samples.Person("Hoàng Minh Quân", "187320564", "14/06/1993", "Nam")
    path = photos.save(photos.photograph(photos.card_front(man, kind="cmnd", seed=1, hatch=hatch), seed=1,
                                         out_long=long, quality=50), tmp_path / "cmnd.jpg")
    r = ocr.ocr_file(path)
    assert r.doc_type == "cccd"
    assert r.fields["ngay_sinh"].value == man.dob
    if "so_cmnd" in r.fields:  # read, it is right; unread, it is not guessed
        assert r.fields["so_cmnd"].value == man.pid
    else:
        assert r.quality == "review"
    # the number or the name comes through as well: never the date alone
    assert "so_cmnd" in r.fields or r.fields.get("ho_ten") and r.fields["ho_ten"].value == nfc(man.name)


@pytest.mark.parametrize("seed", range(4))
def test_an_old_cards_number_glued_to_its_label_and_its_red_band_is_read(tmp_path, seed):
    """The old CMND prints its number close after a small "Số", in a larger face, with a band of
    red hatching right after it: a photo's line read glues the label to the number ("s2…",
    "Số1…") and reads the band as "/". The number is cut out after its label and read again as
    digits only, and the band is no part of it; the number then comes through, for review."""
    import ocr

    people = [samples.Person("Trần Văn Bình", "145678912", "03/05/1985", "Nam"),
              samples.Person("Lê Thị Hoa", "271039476", "21/11/1979", "Nữ"),
              samples.Person("Nguyễn Đức Minh", "024187365", "07/02/1992", "Nam"),
              samples.Person("Phạm Thu Hà", "381920475", "30/08/1988", "Nữ")]
    p = people[seed]
    card = photos.card_front(p, kind="cmnd", seed=seed, number_band=True, hatch=((188, 200, 180), 6))
    path = photos.save(photos.photograph(card, seed=seed, out_long=900, blur=1.3, quality=45), tmp_path / "cmnd.jpg")
    r = ocr.ocr_file(path)
    assert r.doc_type == "cccd"
    assert r.fields["so_cmnd"].value == p.pid
    assert r.quality == "review"  # a photo's small print: a person looks


def test_a_number_glued_to_its_label_is_cut_out_and_read_as_digits():
    """The line reader on its own: the card's number line read as one word with its label
    ("s2145678912/": the label's "ố" read as a digit, the band as "/") is read again, cut where
    the number starts, as digits only."""
    import cv2
    import numpy as np

    from ocr import fields, lines

    assert lines.available(), "the PP-OCR detector model (rapidocr-onnxruntime) is installed by scripts/install.sh"
    p = samples.Person("Trần Văn Bình", "145678912", "03/05/1985", "Nam")
    card = photos.card_front(p, kind="cmnd", seed=0, number_band=True, hatch=((188, 200, 180), 6))
    g = cv2.cvtColor(np.asarray(card), cv2.COLOR_RGB2GRAY)
    g = cv2.GaussianBlur(cv2.resize(g, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA), (0, 0), 0.8)
    read = lines.read(g)
    assert fields.extract_fields("cccd", read["text"])["so_cmnd"].value == p.pid
    # the reread keeps its hands off a number of a known length already read
    words = [{"text": "Số:", "conf": 0.9, "left": 0, "width": 30}, {"text": "145678912", "conf": 0.4, "left": 34, "width": 90}]
    assert lines._number_words(words) is None
    # nor does it touch a document's number and symbol
    assert lines._number_words([{"text": "Số:", "conf": 0.9, "left": 0, "width": 30},
                                {"text": "1234/2021/QĐ-UBND", "conf": 0.5, "left": 34, "width": 190}]) is None


def test_both_sides_on_one_a4_sheet(tmp_path):
    import ocr

    page = photos.a4_both_sides(photos.card_front(MAN, expiry="30/11/2028", seed=4),
                                photos.card_back(MAN, expiry="30/11/2028", seed=5), seed=4)
    path = tmp_path / "a4.png"
    page.save(path, dpi=(300, 300))
    r = ocr.ocr_file(str(path))
    assert r.doc_type == "cccd"
    assert r.fields["so_dinh_danh"].value == MAN.pid and r.fields["so_dinh_danh"].source in ("qr", "mrz")
    assert r.fields["ngay_het_han"].value == "30/11/2028" and r.fields["ngay_het_han"].source == "mrz"
    assert r.quality == "ok"


def test_small_page_photo_reads_no_worse_than_plain_tesseract(tmp_path):
    import ocr

    lines = ["#CÔNG VĂN"] + PROSE * 3
    path = photos.save(photos.small_page_photo(lines, seed=1), tmp_path / "small.jpg")
    gt = "\n".join(ln.lstrip("#") for ln in lines)
    res = ocr.read_page(path, 0)
    ours = _cer(gt, res.text)
    plain = _cer(gt, subprocess.run(["tesseract", path, "-", "-l", "vie"], capture_output=True).stdout.decode())
    assert ours <= plain and ours < 0.01, (ours, plain)


def test_page_photographed_too_small_is_marked_for_review(tmp_path):
    import ocr

    lines = ["#CÔNG VĂN"] + PROSE * 3
    path = photos.save(photos.small_page_photo(lines, seed=1, out_long=700), tmp_path / "tiny.jpg")
    res = ocr.read_page(path, 0)
    gt = "\n".join(ln.lstrip("#") for ln in lines)
    plain = _cer(gt, subprocess.run(["tesseract", path, "-", "-l", "vie"], capture_output=True).stdout.decode())
    assert _cer(gt, res.text) <= plain
    assert res.quality == "review"  # letters 6 px high: read, and marked for a person to check


def test_mangled_text_layer_is_not_taken_as_the_text(tmp_path):
    """A scanner's PDF: the page image with an invisible OCR layer whose Vietnamese lost its
    diacritics. The page is OCR'd instead."""
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    import ocr

    img = samples.render_page(samples.HEADER + ["#THÔNG BÁO"] + PROSE)
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(595, 842))
    c.drawImage(ImageReader(img.convert("RGB")), 0, 0, 595, 842)
    t = c.beginText(70, 760)
    t.setTextRenderMode(3)  # invisible, as OCR layers are
    t.setFont("Helvetica", 11)
    for ln in ["CONG Hcok xA HQI CHiJ NGHiA VIVT NAM", "Doc Ip - Tir do - Hnh phiic", "THONG BAO",
               "Ngay 28 thang 12 nam 2023, Uy ban nhan dan tinh to chuc Hoi nghi tong ket",
               "cong tac tiep nhan va giai quyet thu tuc hanh chinh tai Bo phan Mot cua"]:
        t.textLine(ln)
    c.drawText(t)
    c.showPage()
    c.save()
    path = tmp_path / "scan.pdf"
    path.write_bytes(buf.getvalue())
    res = ocr.read_page(str(path), 0)
    assert res.text_source == "ocr" and not res.born_digital
    assert "Hcok" not in res.text and "CỘNG HÒA" in nfc(res.text).upper()


def test_official_letter_number_date_body_summary():
    from ocr import classify, extract_fields

    text = "\n".join([
        "UBND TỈNH LAI CHÂU CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "SỞ TƯ PHÁP Độc lập - Tự do - Hạnh phúc",
        "Số: 215/STP-HCTP Lai Châu, ngày 05 tháng 3 năm 2024",
        "V/v triển khai số hóa hồ sơ",
        "hộ tịch trên địa bàn tỉnh",
        "Kính gửi: Ủy ban nhân dân các huyện, thành phố.",
        "Thực hiện chỉ đạo của Ủy ban nhân dân tỉnh về cải cách hành chính, Sở Tư pháp đề nghị",
        "các đơn vị triển khai số hóa hồ sơ hộ tịch theo kế hoạch. Nơi nhận: như trên."])
    assert classify(text)[0] == "van_ban"
    f = extract_fields("van_ban", text)
    assert f["so_ky_hieu"].value == "215/STP-HCTP"
    assert f["ngay_ban_hanh"].value == "05/03/2024"
    assert f["co_quan_ban_hanh"].value == "SỞ TƯ PHÁP"
    assert f["trich_yeu"].value == "triển khai số hóa hồ sơ hộ tịch trên địa bàn tỉnh"


def test_2024_card_front_photo(tmp_path):
    import ocr

    shot = photos.photograph(photos.card_front(MAN, kind="cancuoc", seed=6), seed=6, quality=65, tilt=0.05)
    r = ocr.ocr_file(photos.save(shot, tmp_path / "cancuoc.jpg"))
    assert r.doc_type == "cccd"
    assert r.fields["so_dinh_danh"].value == MAN.pid and r.fields["so_dinh_danh"].source == "qr"
    assert r.fields["ngay_sinh"].value == MAN.dob and r.fields["gioi_tinh"].value == "Nam"


def test_both_sides_without_codes_are_cut_apart_and_read_front_then_back(tmp_path):
    """An old CMND (no QR, no MRZ) photocopied front above back on one A4 sheet: each side is
    found, cut out and read on its own, so the values come from the card's own lines, in order."""
    import ocr
    from ocr import preprocess

    old = samples.Person("Trần Thị Bích Ngọc", "145678912", "02/09/1985", "Nữ")
    sheet = photos.a4_both_sides(photos.card_front(old, kind="cmnd", seed=8),
                                 photos.card_back(old, seed=9), seed=8)
    path = tmp_path / "cmnd-a4.png"
    sheet.save(path, dpi=(300, 300))
    import numpy as np

    corners = preprocess.find_cards(np.asarray(sheet.convert("L")))
    assert len(corners) == 2 and corners[0][:, 1].mean() < corners[1][:, 1].mean()  # front above back
    r = ocr.ocr_file(str(path))
    page = r.pages[0]
    assert page.text_source == "ocr-cards"
    text = nfc(r.text)
    assert text.index("CHỨNG MINH") < text.index("Đặc điểm nhân dạng")
    assert r.doc_type == "cccd"
    assert r.fields["so_cmnd"].value == old.pid
    assert nfc(r.fields["ho_ten"].value).upper() == nfc(old.name).upper()


def test_one_card_on_a_sheet_is_found_and_a_page_of_text_is_not_taken_for_cards():
    import numpy as np

    from ocr import preprocess

    page = samples.render_page(["#CÔNG VĂN"] + PROSE * 3)
    assert preprocess.find_cards(np.asarray(page.convert("L"))) == []
    one = photos.a4_both_sides(photos.card_front(MAN, seed=1), photos.card_back(MAN, seed=2), seed=1)
    arr = np.asarray(one.convert("L")).copy()
    arr[1300:, :] = 250  # only the front left on the sheet: one card
    assert len(preprocess.find_cards(arr)) == 1
    arr[2000:2100, 300:2200] = 40  # and a line of print below it: a page, not a card on a sheet
    assert preprocess.find_cards(arr) == []


@pytest.mark.parametrize("kind", ["blur", "glare"])
def test_hard_to_read_photo_is_marked_for_review_with_the_reason(tmp_path, kind):
    """A card photographed out of focus, or with a flash blowing part of it out, is read but
    marked for review with the reason; the same card photographed well is "ok"."""
    import ocr

    card = photos.card_front(WOMAN, qr=False, seed=12)
    good = ocr.read_page(photos.save(photos.photograph(card, seed=12), tmp_path / "good.jpg"), 0)
    assert good.quality == "ok" and good.flags == []
    bad_shot = photos.photograph(card, seed=12, blur=4.5) if kind == "blur" else \
        photos.photograph(card, seed=12, glare=170)
    bad_path = photos.save(bad_shot, tmp_path / f"{kind}.jpg")
    bad = ocr.read_page(bad_path, 0)
    assert kind in bad.flags
    assert bad.quality == "review"
    out = ocr.assemble(bad_path, [bad]).to_json()  # `sohoa ocr --json` says why
    assert out["quality"] == "review" and kind in out["review_reasons"]
    # and no value read off it claims more than a guess's confidence (zone values excepted)
    read = [f for f in out["fields"].values() if f.get("source") not in ("qr", "mrz")]
    assert all(f["confidence"] <= 0.7 for f in read)
    if kind == "glare":  # (the blurred card gives no value at all: nothing to over-trust)
        assert read


def test_page_photographed_at_an_angle_is_cut_out_in_its_own_proportions(tmp_path):
    """A whole A4 page photographed on a table at an angle: the page is found, its perspective
    removed, in A4's proportions (not a card's) and at the photo's own resolution, and it reads
    at least as well as plain Tesseract on the photo."""
    import ocr
    from ocr import preprocess

    lines = ["#THÔNG BÁO"] + PROSE * 2
    gt = "\n".join(ln.lstrip("#") for ln in lines)
    shot = photos.photograph(samples.render_page(lines, font_index=2), seed=2, out_long=2600, tilt=0.06,
                             margin=0.12, blur=0.6, glare=False, quality=70)
    path = photos.save(shot, tmp_path / "page.jpg")
    res = ocr.read_page(path, 0)
    assert abs(res.height / res.width - 2 ** 0.5) < 0.1  # (a card would be 1.585; the angle blurs the exact ratio)
    assert max(res.height, res.width) > preprocess.CARD_WIDTH * 1.3
    ours = _cer(gt, res.text)
    plain = _cer(gt, subprocess.run(["tesseract", path, "-", "-l", "vie"], capture_output=True).stdout.decode())
    assert ours <= plain and ours < 0.01, (ours, plain)
    assert res.quality == "ok" and res.flags == []


def test_one_card_scanned_on_a_sheet_is_read_from_the_card(tmp_path):
    import ocr

    old = samples.Person("Đỗ Minh Quân", "171234567", "14/06/1979", "Nam")
    sheet = photos.a4_both_sides(photos.card_front(old, kind="cmnd", seed=21), photos.card_back(old, seed=22), seed=21)
    import numpy as np

    arr = np.asarray(sheet.convert("L")).copy()
    arr[1300:, :] = 250  # the back left off the sheet
    from PIL import Image

    path = tmp_path / "one-card.png"
    Image.fromarray(arr).save(path, dpi=(300, 300))
    r = ocr.ocr_file(str(path))
    assert r.pages[0].text_source == "ocr-cards"
    assert r.fields["so_cmnd"].value == old.pid
    from vocab.text import fold

    # (the bold capitals' tone marks at a card's size are Tesseract's weak spot either way)
    assert fold(r.fields["ho_ten"].value) == fold(old.name)


def test_a_field_only_another_read_gave_is_kept_for_review():
    """The page's losing reads (plain, line by line) lend a field the chosen text lacks, when
    the value passes its checks: flagged, at a confidence that sends the document for review;
    a value the chosen text gave is never replaced."""
    from ocr import assemble
    from ocr.types import PageResult

    chosen = "CĂN CƯỚC CÔNG DÂN\nHọ và tên / Full name:\nLÊ VĂN PHÚC\nNgày sinh / Date of birth: 30/11/2003"
    other = ("CĂN CƯỚC CÔNG DÂN\nSố / No.: 079203004567\nHọ và tên / Full name:\nLÊ VĂN PHỨC\n"
             "Ngày sinh / Date of birth: 30/11/2003")
    page = PageResult(index=0, text=chosen, confidence=0.9, alt_texts=[other], source_sha256="0" * 64)
    doc = assemble("card.jpg", [page])
    f = doc.fields["so_dinh_danh"]
    assert f.value == MAN.pid and "alternate_read" in f.flags and f.confidence <= 0.6
    assert doc.fields["ho_ten"].value == "Lê Văn Phúc" and not doc.fields["ho_ten"].flags  # the chosen text's
    assert doc.quality == "review"
    # a value failing its checks in the other read is not taken (a birth year unlike the ID's)
    wrong = other.replace("079203004567", "079299004567")
    doc2 = assemble("card.jpg", [PageResult(index=0, text=chosen, confidence=0.9, alt_texts=[wrong],
                                            source_sha256="0" * 64)])
    assert "so_dinh_danh" not in doc2.fields


def test_a_field_made_of_words_the_recognizer_doubted_is_no_surer_than_they_are():
    """Each page keeps the words its chosen read was unsure of; a value made of them (its digits,
    or one of its words) gets at most 0.5 + 0.5 × their confidence, and below 0.75 its document
    goes to review. A value read surely keeps its confidence."""
    from ocr import assemble
    from ocr.types import PageResult

    text = ("CĂN CƯỚC CÔNG DÂN\nSố / No.: 079203004567\nHọ và tên / Full name:\nLÊ VĂN PHÚC\n"
            "Ngày sinh / Date of birth: 30/11/2003")
    sure = assemble("card.jpg", [PageResult(index=0, text=text, confidence=0.96, source_sha256="0" * 64)])
    assert sure.fields["ngay_sinh"].confidence >= 0.9 and sure.fields["so_dinh_danh"].confidence >= 0.9
    assert sure.quality == "ok"
    doubted = PageResult(index=0, text=text, confidence=0.96, source_sha256="0" * 64,
                         weak_words=[("30/11/2003", 0.3), ("PHÚC", 0.4), ("Date", 0.2)])
    doc = assemble("card.jpg", [doubted])
    assert doc.fields["ngay_sinh"].confidence == pytest.approx(0.65)
    assert doc.fields["ho_ten"].confidence == pytest.approx(0.7)
    assert doc.fields["so_dinh_danh"].confidence == sure.fields["so_dinh_danh"].confidence  # no digit doubted
    assert doc.quality == "review"


def test_the_pipeline_keeps_the_words_it_doubted(shots):
    import ocr

    page = ocr.read_page(shots["cmnd"], 0)
    words = page.text.split()
    assert page.weak_words and all(0 <= c < 0.9 for _, c in page.weak_words)
    assert all(w in words for w, _ in page.weak_words)


def test_doubted_words_elsewhere_on_the_page_do_not_lower_a_value():
    from ocr import assemble
    from ocr.types import PageResult

    text = ("CĂN CƯỚC CÔNG DÂN\nSố / No.: 079203004567\nHọ và tên / Full name:\nLÊ VĂN NAM\n"
            "Ngày sinh / Date of birth: 30/11/2003\nGiới tính / Sex: Nam\nCó giá trị đến: 30/11/2030")
    page = PageResult(index=0, text=text, confidence=0.96, source_sha256="0" * 64,
                      weak_words=[("Nam", 0.2), ("2030", 0.2), ("30/11/2030", 0.3)])
    doc = assemble("card.jpg", [page])
    sure = assemble("card.jpg", [PageResult(index=0, text=text, confidence=0.96, source_sha256="0" * 64)])
    assert doc.fields["ho_ten"].confidence == sure.fields["ho_ten"].confidence  # the sex field's "Nam"
    assert doc.fields["so_dinh_danh"].confidence == sure.fields["so_dinh_danh"].confidence  # a year is no ID
    assert doc.fields["ngay_het_han"].confidence == pytest.approx(0.65)


def test_a_blank_line_cut_is_not_stretched_into_noise():
    import numpy as np

    from ocr import lines

    flat = np.full((52, 300), 180, np.uint8)
    flat[::7, ::11] = 176  # a faint texture, no print
    out = lines.flatten(flat)
    assert int(out.min()) > 200  # evened out to white, not stretched to black and white


@pytest.mark.parametrize("seed, held_sideways", [(3, False), (7, False), (1, True)])
def test_a_sparse_page_photographed_is_not_laid_sideways(tmp_path, seed, held_sideways):
    """Two short lines on a photographed page: the projections may take it for sideways (or, the
    phone held sideways and no EXIF tag, for upright), and Tesseract then reads the image by
    turning its lines itself: the text came out right while the page image (and its searchable
    PDF) stood sideways, or came out as noise. Words standing taller than wide tell it: the page
    is read turned a quarter each way and the turn that lays them down is kept."""
    import random

    import ocr
    from tests import civil_forms as cf

    page = cf.render(["#PHIẾU CHUYỂN", "Người nộp: Mai Đình Lực"], random.Random(seed)).convert("RGB")
    shot = photos.photograph(page, seed=seed, out_long=2000, tilt=0.05, margin=0.08, quality=55, blur=0.6)
    if held_sideways:
        shot = shot.rotate(90, expand=True)  # counter-clockwise: a quarter turn clockwise stands it up
    path = tmp_path / "sparse.jpg"
    shot.save(path, quality=95)
    r = ocr.read_page(str(path), 0)
    assert r.rotation == (90 if held_sideways else 0) and "PHIẾU CHUYỂN" in r.text
    assert r.height > r.width  # the page as read stands upright


def test_a_sideways_read_kept_for_its_text_gets_its_pdf_page_turned_upright(tmp_path):
    """When the sideways read says more than the turned ones, its text is kept and its PDF page is
    shown turned (/Rotate): image and text layer turn together."""
    import numpy as np
    from PIL import Image

    from ocr import engine
    from ocr.pipeline import _turn_pdf
    from tests.ocr.conftest import render_lines

    page = render_lines(PROSE[:6], height_in=11.69)
    # turned clockwise: Tesseract reads it so, by turning its lines; three quarter turns stand it up
    sideways = np.ascontiguousarray(np.rot90(page, -1))
    read = engine.run_tesseract(sideways, lang="vie", dpi=300)
    assert nfc(PROSE[0].split()[0]) in read["text"]
    pdf = _turn_pdf(read["pdf"], 270)
    path = tmp_path / "turned.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "30", "-png", "-singlefile", str(path), str(tmp_path / "p")], check=True)
    shown = Image.open(tmp_path / "p.png")
    assert shown.height > shown.width  # shown standing, as the page was printed
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True).stdout.decode()
    assert nfc(PROSE[0].split()[0]) in nfc(text)  # the text layer turned with it


@pytest.mark.parametrize("seed", [0, 1])
def test_a_form_filled_in_by_hand_is_marked_for_review(tmp_path, seed):
    # a print recognizer reads a cursive hand as letters it is unsure of ("MWWm", "xwwWwm"); such
    # lines among print read surely say the page was filled in by hand: a person reads it
    from ocr import pipeline

    hand = tmp_path / "hand.png"
    photos.form_filled(by_hand=True, seed=seed).save(hand, dpi=(300, 300))
    pages = pipeline.read_pages(str(hand))
    assert "handwriting" in pages[0].flags
    doc = pipeline.assemble(str(hand), pages)
    assert doc.quality == "review" and doc.doc_type == "to_khai"
    # the same form typed: no such flag, and its answers are read
    typed = tmp_path / "typed.png"
    photos.form_filled(by_hand=False, seed=seed).save(typed, dpi=(300, 300))
    pages = pipeline.read_pages(str(typed))
    assert "handwriting" not in pages[0].flags
    doc = pipeline.assemble(str(typed), pages)
    assert doc.quality == "ok" and doc.fields["ho_ten"].value == "Nguyễn Thị Mai Hương"


@pytest.mark.parametrize("seed", [1, 4])
def test_chip_card_expiry_printed_under_its_photo_is_read_without_a_code(tmp_path, seed):
    # as on the real card: a small label over its English line ("Date of expiry"), the date in a
    # larger face beside the label's line; no QR to give it
    from ocr import ocr_file

    man = samples.Person("Lê Văn Phúc", "079203004567", "30/11/2003", "Nam")
    shot = photos.photograph(photos.card_front(man, qr=False, expiry_under=True, expiry="30/11/2028", seed=seed),
                             seed=seed)
    res = ocr_file(photos.save(shot, tmp_path / "front.jpg"))
    assert res.fields["ngay_het_han"].value == "30/11/2028"
