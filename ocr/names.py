"""Repair OCR slips in Vietnamese personal names with a lexicon of common name syllables.

Upper-case diacritics are where Tesseract slips most (ĐẶNG -> ĐĂNG, SÙNG -> SỪNG). A word that is
not a known name syllable, but differs from exactly one known syllable (of the same base
letters) by the fewest diacritic edits, is replaced; anything ambiguous is left as read."""
from __future__ import annotations

import unicodedata
from functools import lru_cache

from rapidfuzz.distance import Levenshtein

from ocr.language import is_syllable
from ocr.textutil import fold

SURNAMES = """Nguyễn Trần Lê Phạm Hoàng Huỳnh Phan Vũ Võ Đặng Bùi Đỗ Hồ Ngô Dương Lý Đào Đoàn Vương Trịnh
Trương Lâm Phùng Mai Tô Hà Tạ Cao Lương Đinh Châu Quách Lưu Thái Lò Giàng Tòng Sùng Lục Nông Triệu Hứa
Kiều Khổng Thân Chu Đàm Lại Tăng Mạc La Vi Lộc Cầm Quàng Vàng Thào Mùa Hạng Đèo Khúc Kim Doãn Diệp Ninh
Âu Bạch Giáp Lã Mẫn Nghiêm Ông Phí Thạch Tiêu Từ Viên Hầu Khương Lạc Lỗ Mã Nhâm Phó Quan Tống Trình Ứng""".split()

GIVEN = """An Ân Anh Ánh Bảo Bắc Bích Bình Cảnh Cẩm Chi Chiến Chính Chung Công Cúc Cường Dân Diệp Diệu Dũng Dung
Duy Duyên Dương Đại Đạt Điệp Định Đông Đức Gấm Giang Hà Hải Hân Hạnh Hào Hậu Hiền Hiếu Hiệp Hòa Hoa Hoài
Hoàn Hoàng Hồng Huế Huệ Hùng Hưng Hương Hường Hữu Huy Huyền Kha Khải Khang Khánh Khoa Khôi Khuê Kiên Kiều
Kim Lam Lâm Lan Lệ Liên Liễu Linh Loan Lộc Lợi Long Luân Lực Ly Lý Mai Mạnh Minh Mỹ Mỷ Nam Nga Ngân Nghĩa
Ngọc Nguyên Nhân Nhật Nhi Như Nhung Ninh Oanh Phát Phong Phú Phúc Phụng Phương Phượng Quang Quân Quốc
Quý Quyên Quỳnh Sang Sinh Sơn Tài Tâm Tân Tấn Thắm Thắng Thanh Thành Thảo Thế Thi Thị Thịnh Thơ Thông Thu
Thư Thuận Thục Thùy Thúy Thủy Tiến Tiên Toàn Trâm Trang Trí Trinh Trọng Trung Tú Tuấn Tùng Tường Tuyết Uyên
Văn Vân Việt Vinh Vĩnh Vy Xuân Yến Páo Chử Sử Dìn Mỷ Súa Pó Lử Sình Chá Mảy Phìn A Đình Gia Hiển Lập Sỹ Sĩ
Tín Tính Trường Vũ Vương Châu Ca Cao Diễm Hằng Hạ Khuyên Lài Lành Lụa Mận Mơ Nhàn Nhạn Nhị Phấn Sen Soa
Thoa Thương Tình Trà Trúc Tươi Vui Xinh Yên Bằng Chiêm Cương Danh Dự Giao Hoạt Hợp Kế Lãm Lĩnh Luyện Mão
Ngà Ngư Nhâm Pháp Quế Sáng Sương Tạo Thạch Thái Thiện Thịnh Toản Tuệ Tuyền Út Vượng Hùng""".split()


def _nfd(s: str) -> str:
    return unicodedata.normalize("NFD", s.lower())


@lru_cache(maxsize=None)
def _index(kind: str) -> tuple[set[str], dict[str, list[str]]]:
    words = SURNAMES if kind == "surname" else SURNAMES + GIVEN
    known = {w.lower() for w in words}
    by_fold: dict[str, list[str]] = {}
    for w in dict.fromkeys(words):
        by_fold.setdefault(fold(w), []).append(w)
    return known, by_fold


_CG = {"C": "G", "G": "C", "c": "g", "g": "c"}


def _fix_word(word: str, kind: str) -> str:
    known, by_fold = _index(kind)
    lw = unicodedata.normalize("NFC", word).lower()
    if lw in known:
        return word
    cands = by_fold.get(fold(word))
    if not cands and (word[:1] in "Cc" or word[:1] in "Gg" and kind == "surname"):
        # capitals C and G are Tesseract's commonest letter slip in names ("GẦM" for "CẦM"): the
        # other letter, when that makes a known name (a G only in a surname: a given name such as
        # "Gương" may be missing from the list, while the surnames are nearly all there)
        swapped = _CG[word[0]] + word[1:]
        if by_fold.get(fold(swapped)):
            word, cands = swapped, by_fold[fold(swapped)]
    if not cands:
        return word
    # a mark too many or too few is the usual slip; a different mark counts double. A syllable
    # with one known spelling may be a mark further off ("Thẽ": the circumflex read as a tilde, the
    # tone lost: "Thế")
    dists = sorted((Levenshtein.distance(_nfd(word), _nfd(c), weights=(1, 1, 2)), c) for c in cands)
    if len(dists) > 1 and dists[0][0] == dists[1][0]:
        return word
    if dists[0][0] > (2 if len(dists) > 1 else 3):
        return word
    best = dists[0][1]
    return best.upper() if word.isupper() else best


def is_name_syllable(word: str) -> bool:
    """A known surname or given name, whatever its marks ("HOANG" is "Hoàng")."""
    return fold(word) in _index("given")[1]


def _unglue(word: str) -> list[str]:
    """A word that is no syllable but two known name syllables run together (the space between
    "Mai Ly" lost: "Maily"), split where only one split makes two; else the word."""
    from ocr.language import is_syllable

    if is_syllable(word):
        return [word]
    known, _ = _index("given")
    lw = unicodedata.normalize("NFC", word).lower()
    splits = [k for k in range(1, len(lw)) if lw[:k] in known and lw[k:] in known]
    if len(splits) != 1:
        return [word]
    k = splits[0]
    second = word[k:]
    return [word[:k], second if word.isupper() else second[:1].upper() + second[1:]]


def repair_name(name: str) -> tuple[str, bool]:
    """(repaired name, whether anything changed)."""
    words = name.split()
    if len(words) < 2:
        return name, False
    words = words[:1] + [p for w in words[1:] for p in _unglue(w)]
    out = [_fix_word(words[0], "surname")] + [_fix_word(w, "given") for w in words[1:]]
    res = " ".join(out)
    return res, res != name
