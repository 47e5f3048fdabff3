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
    "nước Cộng hòa xã hội chủ nghĩa Việt Nam ban hành",  # in a sentence, not the header
    "ĐỘC LẬP - TỰ DO - HẠNH PHÚC",  # printed in capitals: left as printed
    "Tự do đi lại và cư trú", "Aaa lập - Tự a - Aaaa Aaaa",  # too far from it
])
def test_other_lines_are_left_as_read(line):
    assert phrases.snap_line(line) == line
