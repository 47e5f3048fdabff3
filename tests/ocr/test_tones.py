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


def test_only_words_read_unsurely_change_but_a_toneless_circumflex_may():
    line = {"words": [{"text": "hành", "conf": 0.96}, {"text": "chinh", "conf": 0.95}]}
    assert tones.repair_lines([line], sure=0.9) == 0 and line["words"][1]["text"] == "chinh"
    line["words"][1]["conf"] = 0.6
    assert tones.repair_lines([line], sure=0.9) == 1 and line["words"][1]["text"] == "chính"
    # the recognizer is often sure of a circumflex whose tone mark it lost: "phô biến" read at 0.95
    line = {"words": [{"text": "phô", "conf": 0.95}, {"text": "biến", "conf": 0.96}]}
    assert tones.repair_lines([line], sure=0.9) == 1 and line["words"][0]["text"] == "phổ"
    # a toneless circumflex that makes a word as read stays ("công dân"), and so does one of the
    # counter's own words the general list lacks ("hành chính công", not "chính cống")
    line = {"words": [{"text": "công", "conf": 0.97}, {"text": "dân", "conf": 0.97}]}
    assert tones.repair_lines([line], sure=0.9) == 0
    line = {"words": [{"text": w, "conf": 0.97} for w in ("dịch", "vụ", "hành", "chính", "công")]}
    assert tones.repair_lines([line], sure=0.9) == 0 and line["words"][4]["text"] == "công"


def test_a_sentence_goes_on_across_a_line_break():
    # "phòng" ends one line, "chông" starts the next: the neighbour across the break tells the tone
    lines_ = [{"words": [{"text": "công", "conf": 0.97}, {"text": "tác", "conf": 0.97}, {"text": "phòng", "conf": 0.97}]},
              {"words": [{"text": "chông", "conf": 0.7}, {"text": "ngay", "conf": 0.97}]}]
    assert tones.repair_lines(lines_, sure=0.9) == 1 and lines_[1]["words"][0]["text"] == "chống"
    # the neighbour's own word is read, never changed
    assert lines_[0]["words"][2]["text"] == "phòng"
    assert tones.repair_words(["chông", "ngay"], [True, True]) == (["chông", "ngay"], 0)
    # the line's last word is mended by the next line's first ("phô | biến": "phổ biến"), which
    # itself stays as it is
    assert tones.repair_words(["cần", "phô"], [True, True], ("việc", "biến")) == (["cần", "phổ"], 1)
    assert tones.repair_words(["cần", "phô"], [True, True]) == (["cần", "phô"], 0)


def test_a_tone_goes_where_every_spelling_puts_it_or_nowhere():
    assert tones._spell("chông", "\u0301") == "chống"
    assert tones._spell("thương", "\u0300") == "thường"  # ươ: on the ơ
    assert tones._spell("toan", "\u0301") == "toán"   # before a final consonant
    assert tones._spell("hoa", "\u0300") is None        # "hoà" or "hòa": a spelling style's choice
    assert tones._spell("thuy", "\u0301") is None       # "thuý" or "thúy"
    assert tones._spell("doi", "\u0303") == "dõi"       # two open vowels: the first, in every style
    assert tones._spell("hai", "\u0309") == "hải"
    assert tones._spell("hoai", "\u0300") == "hoài"     # "oai": the middle one
