"""Tone marks OCR dropped or swapped, put back by the word list (ocr/tones.py), only on words the
recognizer was unsure of."""
from __future__ import annotations

import pytest

from ocr import tones


def test_the_word_list_is_installed():
    assert tones.available(), "the word list inside pyvi's wheel is installed by scripts/install.sh"


@pytest.mark.parametrize("read, want", [
    ("phô biến kiến thức", "phổ biến kiến thức"),      # the hook over the circumflex lost
    ("tình hình khân cấp", "tình hình khẩn cấp"),
    ("triên khai thực hiện", "triển khai thực hiện"),
    ("phôi hợp với", "phối hợp với"),
    ("phô biên", "phổ biến"),                        # both syllables slipped: tried together
    ("theo dõi", "theo dõi"),                        # a word as read: left alone
    ("đề nghị các đơn vị", "đề nghị các đơn vị"),
])
def test_a_dropped_tone_is_put_back_where_the_word_list_says_which(read, want):
    got, n = tones.repair_words(read.split())
    assert " ".join(got) == want
    assert n == sum(a != b for a, b in zip(read.split(), want.split()))


def test_punctuation_and_case_are_kept_and_names_left_alone():
    got, _ = tones.repair_words("(phô biến),".split())
    assert got == ["(phổ", "biến),"]
    # a capitalised word is a name, a place or a heading: as read
    assert tones.repair_words("Phô Biên".split())[0] == ["Phô", "Biên"]


def test_two_changes_as_good_side_by_side_are_not_guessed():
    # "phòng chông": "tác phong" and "phòng chống" are both words; which syllable slipped is not
    # told by the list alone
    words = "công tác phòng chông dịch".split()
    assert tones.repair_words(words)[0] == words
    # the recognizer was sure of "phòng": only "chông" may change, and it does
    unsure = [False, False, False, True, False]
    assert tones.repair_words(words, unsure)[0] == "công tác phòng chống dịch".split()


def test_only_words_read_unsurely_change():
    line = {"words": [{"text": "phô", "conf": 0.95}, {"text": "biến", "conf": 0.96}]}
    assert tones.repair_lines([line], sure=0.9) == 0 and line["words"][0]["text"] == "phô"
    line["words"][0]["conf"] = 0.6
    assert tones.repair_lines([line], sure=0.9) == 1 and line["words"][0]["text"] == "phổ"


def test_a_tone_goes_where_every_spelling_puts_it_or_nowhere():
    assert tones._spell("chông", "\u0301") == "chống"
    assert tones._spell("thương", "\u0300") == "thường"  # ươ: on the ơ
    assert tones._spell("toan", "\u0301") == "toán"   # before a final consonant
    assert tones._spell("hoa", "\u0300") is None        # "hoà" or "hòa": a spelling style's choice
