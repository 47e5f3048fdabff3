"""The national header, read with a slip, put back as every paper prints it (ocr/phrases.py)."""
from __future__ import annotations

import pytest

from ocr import phrases


@pytest.mark.parametrize("read,printed", [
    ("CÓNG HÓA XÃ Hội CHỦ NGHĨA VIỆT NAM", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"),
    ("CỘNG HOÁ XÃ HỘI CHỦ NGHIA VIỆT NAM", "CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM"),  # the older spelling kept
    ("Đặc lập - Tự do - Hạnh phúc", "Độc lập - Tự do - Hạnh phúc"),
    ("Độc lập * Tự do + Hạnh phúc,", "Độc lập - Tự do - Hạnh phúc"),
    ("Đặc lập – Tự do – Hạnh phúc", "Độc lập – Tự do – Hạnh phúc"),  # the dash as printed
    ("Independence - Freedom - Happlness", "Independence - Freedom - Happiness"),
    # beside the issuing body on a two-column letter: only the header's words change
    ("UBND TỈNH LAI CHÂU CỘNG HÒA XÃ HỘl CHỦ NGHĨA VlỆT NAM",
     "UBND TỈNH LAI CHÂU CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"),
])
def test_the_national_header_read_with_a_slip_is_put_back(read, printed):
    assert phrases.snap_line(read) == printed
    assert phrases.snap("Số: 12/UBND\n" + read + "\nQUYẾT ĐỊNH") == "Số: 12/UBND\n" + printed + "\nQUYẾT ĐỊNH"


@pytest.mark.parametrize("line", [
    "CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",  # as printed: unchanged
    # words run together, a word on the next line: a neighbour is neither taken in nor dropped
    "UBND QUẬN 3 CỘNG HÒA XÃ HỘICHỦ NGHĨA VIỆTNAM", "Số: 12 Độc lập - Tựdo - Hạnhphúc",
    "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT", "lập - Tự do - Hạnh phúc",
    "nước Cộng hòa xã hội chủ nghĩa Việt Nam ban hành",  # in a sentence, not the header
    "ĐỘC LẬP - TỰ DO - HẠNH PHÚC",  # printed in capitals: left as printed
    "Tự do đi lại và cư trú", "Aaa lập - Tự a - Aaaa Aaaa",  # too far from it
])
def test_other_lines_are_left_as_read(line):
    assert phrases.snap_line(line) == line
    assert phrases.snap(line + "\nNAM") == line + "\nNAM"


@pytest.mark.parametrize("read,printed", [
    ("UBND THÀNH PHÓ ĐÀ NĂNG CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM",
     "UBND THÀNH PHỐ ĐÀ NẴNG CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM"),
    ("ỦY BAN NHÂN DẬN", "ỦY BAN NHÂN DÂN"),
    ("UỶ BAN NHÂN DẦN TỈNH QUANG NAM", "UỶ BAN NHÂN DÂN TỈNH QUẢNG NAM"),  # the spelling as read kept
    ("SỞ TƯ PHÀP,", "SỞ TƯ PHÁP,"),
    ("TỈNH THANH HỎA", "TỈNH THANH HÓA"),
    # the rest of the line, its spacing too, stays as read
    ("UBND   THÀNH PHÓ ĐÀ NĂNG      CỘNG HÒA XÃ HỘl CHỦ NGHĨA VIỆT NAM",
     "UBND   THÀNH PHỐ ĐÀ NẴNG      CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"),
])
def test_a_bodys_name_in_capitals_read_with_a_mark_wrong_is_put_back(read, printed):
    assert phrases.snap_line(read) == printed


@pytest.mark.parametrize("line", [
    "NGUYỄN QUANG NAM",  # a person's name: a province's letters, but no "TỈNH" before them
    "Thành phó Đà Nẵng",  # not in capitals
    "TỈNH LAI CHÂU", "CÔNG AN TP ĐÀ NẴNG",  # as printed
    "UBND TỈNH KHÁNH HOÀ", "TỈNH THANH HOÁ",  # the older spelling, as printed
    "UBND TỈNH LAI CHÂU | CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "SỞ TƯ PHÁP - TỈNH A",  # a lone mark after
    "THANH PHONG",  # letters that are not a body's
])
def test_other_capitals_are_left_as_read(line):
    assert phrases.snap_line(line) == line
