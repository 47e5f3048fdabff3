"""Checks of what a document carries: personal ID structure, dates, tax codes, metadata printed on
an official paper, validity from the expiry, the receipt QR payload and foreign QR codes."""
from __future__ import annotations

import datetime as dt

import pytest

from vocab import identifiers
from registry import metadata
from registry.codes import parse_receipt_qr, read_receipt_qr, receipt_qr_payload
from registry.subjects import named_pids, subject_for_fields


@pytest.mark.parametrize("pid, dob, sex, problems", [
    ("001088012345", "07/05/1988", "Nam", []),  # Hà Nội, male born 1900s, '88
    ("001188012345", "07/05/1988", "Nữ", []),  # female born 1900s
    ("012324001122", "02/03/2024", "Nữ", []),  # Lai Châu, female born 2000s, '24
    ("abc", None, None, ["pid_format"]),
    ("00108801234", None, None, ["pid_format"]),  # 11 digits
    ("991088012345", None, None, ["pid_province"]),  # no province 991
    ("003088012345", None, None, ["pid_province"]),  # 003 is not in the official list
    ("001088012345", "07/05/1989", None, ["pid_dob_mismatch"]),  # year digits 88 vs 1989
    ("001208012345", "07/05/1908", None, ["pid_dob_mismatch"]),  # century digit 2 = 2008 vs 1908
    ("001088012345", None, "Nữ", ["pid_sex_mismatch"]),  # even digit = male
    ("001099012345", "1999", None, []),  # a year alone is compared too
    ("001299012345", None, None, ["pid_future"]),  # born 2099
])
def test_personal_id_structure(pid, dob, sex, problems):
    assert identifiers.pid_problems(pid, birth_date=dob, sex=sex, today=dt.date(2026, 11, 24)) == problems


def test_province_list_is_the_official_one():
    codes = identifiers.province_codes()
    assert len(codes) == 63 and {"001", "079", "096", "012"} <= codes and not {"000", "003", "097", "991"} & codes
    assert identifiers.province_name("079123456789") == "Hồ Chí Minh"


@pytest.mark.parametrize("code, ok", [("0101234567", True), ("0101234567-001", True), ("0101234567001", True),
                                      ("010123456", False), ("0101234567-01", False), ("01012345AB", False)])
def test_tax_codes(code, ok):
    assert (identifiers.tax_code_problems(code) == []) is ok


@pytest.mark.parametrize("value, problems", [("01/01/2020", []), ("29/02/2024", []), ("29/02/2023", ["date_invalid"]),
                                             ("1/1/2020", ["date_format"]), ("2020-01-01", ["date_format"]),
                                             ("31/04/2020", ["date_invalid"])])
def test_dates(value, problems):
    assert identifiers.field_problems({"ngay_het_han": value}) == ({"ngay_het_han": problems} if problems else {})


def test_field_problems_by_kind():
    fields = {"so_dinh_danh": "001088012345", "ngay_sinh": "07/05/1990", "ma_so_thue": "12345",
              "ho_ten": "abc", "hieu_luc_den": "vĩnh viễn"}
    assert identifiers.field_problems(fields) == {"so_dinh_danh": ["pid_dob_mismatch"], "ma_so_thue": ["tax_format"]}
    assert identifiers.field_problems(fields, ["ho_ten"]) == {}


def test_subject_from_fields_ignores_ids_that_fail_or_were_flagged():
    assert subject_for_fields({"so_dinh_danh": "001088012345", "ngay_sinh": "07/05/1988"}) == "001088012345"
    assert subject_for_fields({"so_dinh_danh": "001088012345", "ngay_sinh": "07/05/1999"}) is None
    assert subject_for_fields({"so_dinh_danh": "991088012345"}) is None
    assert subject_for_fields({"so_dinh_danh": "001088012345"},
                              {"so_dinh_danh": {"confidence": 0.4, "flags": ["pid_checksum"]}}) is None
    # a corrected or QR-confirmed value is trusted
    assert subject_for_fields({"so_dinh_danh": "001088012345"},
                              {"so_dinh_danh": {"confidence": 1.0, "flags": ["corrected"]}}) == "001088012345"
    # a marriage certificate names both spouses
    assert named_pids({"so_dinh_danh_chong": "001088012345", "so_dinh_danh_vo": "001190054321"}) == [
        "001088012345", "001190054321"]


DECISION = """ỦY BAN NHÂN DÂN CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
XÃ BẢN BO Độc lập - Tự do - Hạnh phúc
Số: 125/QĐ-UBND Bản Bo, ngày 12 tháng 3 năm 2024
QUYẾT ĐỊNH
Về việc cấp giấy phép kinh doanh karaoke
CHỦ TỊCH ỦY BAN NHÂN DÂN XÃ BẢN BO
Mã kết quả: KQ.G15.000031
Điều 1. Cấp phép cho hộ kinh doanh Lò Văn Sơn.
Giấy phép có giá trị đến ngày 31/12/2029.
Phạm vi áp dụng: trên địa bàn xã Bản Bo.
KT. CHỦ TỊCH
PHÓ CHỦ TỊCH
Nguyễn Văn Bình
"""


def test_metadata_printed_on_an_official_paper():
    assert metadata.extract_metadata(DECISION) == {
        "ma_ket_qua": "KQ.G15.000031", "so_ky_hieu": "125/QĐ-UBND", "ngay_ban_hanh": "12/03/2024",
        "co_quan_ban_hanh": "ỦY BAN NHÂN DÂN XÃ BẢN BO", "trich_yeu": "Về việc cấp giấy phép kinh doanh karaoke",
        "hieu_luc_den": "31/12/2029", "pham_vi": "trên địa bàn xã Bản Bo", "nguoi_ky": "Nguyễn Văn Bình"}
    letter = "SỞ TƯ PHÁP\nSố: 88/STP-HCTP\nV/v hướng dẫn chứng thực điện tử\nHà Nội, ngày 02 tháng 01 năm 2025\n" \
             "Văn bản có hiệu lực vĩnh viễn.\nGIÁM ĐỐC\nTrần Thị Hoa"
    m = metadata.extract_metadata(letter)
    assert m["so_ky_hieu"] == "88/STP-HCTP" and m["trich_yeu"] == "V/v hướng dẫn chứng thực điện tử"
    assert m["hieu_luc_den"] == metadata.PERMANENT and m["nguoi_ky"] == "Trần Thị Hoa"
    assert m["ngay_ban_hanh"] == "02/01/2025" and m["co_quan_ban_hanh"] == "SỞ TƯ PHÁP"
    assert metadata.extract_metadata("Giấy khai sinh\nHọ và tên: Nguyễn Thị Mai") == {}


def test_validity_comes_from_the_expiry_the_document_carries():
    assert metadata.valid_until({"ngay_het_han": "15/08/2038"}) == dt.date(2038, 8, 15)
    assert metadata.valid_until({"co_gia_tri_den": "01/01/2020"}) == dt.date(2020, 1, 1)  # driving licence
    assert metadata.valid_until({"ngay_het_han": "Không thời hạn"}) is None
    assert metadata.valid_until({}, {"hieu_luc_den": "31/12/2029"}) == dt.date(2029, 12, 31)
    # the card's own expiry field comes before a paper's validity metadata
    assert metadata.valid_until({"ngay_het_han": "15/08/2038"}, {"hieu_luc_den": "vĩnh viễn"}) == dt.date(2038, 8, 15)
    # an ID card's text is not an official paper's header: no issue date from "Ngày sinh"
    card = "CĂN CƯỚC CÔNG DÂN\nSố / No.: 001088012345\nNgày sinh / Date of birth: 07/05/1988\n" \
           "Có giá trị đến / Date of expiry: 15/08/2038"
    assert "ngay_ban_hanh" not in metadata.extract_metadata(card)
    assert metadata.metadata_problems({"ma_ket_qua": "KQ.G15.31", "ngay_ban_hanh": "2024-01-01", "x": "1"}).keys() == {
        "ma_ket_qua", "ngay_ban_hanh", "x"}


@pytest.mark.parametrize("born, issued, expiry", [
    ("01/05/2006", "10/07/2021", "01/05/2031"),  # issued at 15: valid to the 25th birthday
    ("01/05/1997", "10/07/2021", "01/05/2037"),  # issued at 24, within two years of 25: to 40
    ("01/05/1988", "10/07/2021", "01/05/2028"),  # issued at 33: to 40
    ("01/05/1982", "10/07/2021", "01/05/2042"),  # issued at 39: to 60
    ("01/05/1962", "10/07/2021", identifiers.NO_EXPIRY),  # issued at 59: no expiry
    ("01/05/2018", "10/07/2024", "01/05/2032"),  # the 2023 law (cards from 1 July 2024): to 14
    ("29/02/2000", "10/07/2021", None),  # born 29 February: the printed day is not certain
    ("xx", "10/07/2021", None),
])
def test_an_id_cards_expiry_by_law(born, issued, expiry):
    assert identifiers.card_expiry_by_law(born, issued) == expiry


def test_the_expiries_a_card_can_print():
    assert identifiers.card_expiry_dates("01/05/1995") == ["01/05/2009", "01/05/2020", "01/05/2035", "01/05/2055"]
    assert identifiers.card_expiry_dates("29/02/2000") == ["29/02/2040", "29/02/2060"]  # leap years only
    assert identifiers.card_expiry_dates("") == []


def test_receipt_qr_payload_round_trip_and_foreign_qr_codes():
    code = "000.00.01.H29-260310-0420"
    payload = receipt_qr_payload(code=code, procedure="1.001193", subject="001088012345",
                                 paper="Giấy tiếp nhận hồ sơ và hẹn trả kết quả", system="sohoa|000.00.01.H29",
                                 issued_at=dt.datetime(2026, 3, 10, 14, 30), appointment=dt.datetime(2026, 3, 11, 17))
    assert payload.startswith("TNHS1|ma=000.00.01.H29-260310-0420|tt=1.001193|dd=001088012345|")
    assert read_receipt_qr(payload) == {"ma": code, "tt": "1.001193", "dd": "001088012345",
                                        "gt": "Giấy tiếp nhận hồ sơ và hẹn trả kết quả", "ht": "sohoa|000.00.01.H29",
                                        "tg": "20260310143000", "hen": "20260311170000"}
    assert parse_receipt_qr(payload) == code
    assert parse_receipt_qr(code) == code  # receipts printed before the structured payload
    assert parse_receipt_qr("38.98.H29-210519-0013") == "38.98.H29-210519-0013"
    foreign = [
        # VietQR (EMVCo) payment code whose merchant text happens to contain a dossier code
        "00020101021238570010A000000727012700069704070113000.00.01.H29-260310-04200208QRIBFTTA53037045802VN6304ABCD",
        # a chip ID card's QR
        "001088012345|123456789|Nguyễn Văn An|07051988|Nam|Tổ 5-260310-0420, Bản Bo|15082021",
        "https://dichvucong.gov.vn/p/home/dvc-tra-cuu-ho-so.html?ma=000.00.01.H29-260310-0420",
        "TNHS1|tt=1.001193",  # the layout without a code
        "Hồ sơ 000.00.01.H29-260310-0420",
        "000.00.01.H29-261399-0420",  # no 99th day of a 13th month
    ]
    assert [parse_receipt_qr(p) for p in foreign] == [None] * len(foreign)
