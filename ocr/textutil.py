"""Text helpers: NFC, an index-preserving diacritic fold, OCR digit repair."""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache


def nfc(s: str | None) -> str:
    return unicodedata.normalize("NFC", s or "")


@lru_cache(maxsize=4096)
def _fold_char(c: str) -> str:
    if c in "đĐ":
        return "d"
    d = unicodedata.normalize("NFD", c)
    base = "".join(ch for ch in d if unicodedata.category(ch) != "Mn")
    if not base:
        return " "
    b = base[0].lower()
    if b in "\u2010\u2011\u2012\u2013\u2014\u2212":
        return "-"
    if b in "\u2018\u2019\u201b\u2032`":
        return "'"
    if b in "\u00a0\u2007\u202f\t":
        return " "
    return b[0] if len(b) else " "


def fold_keep(s: str) -> str:
    """Lower-case and strip diacritics character by character: the result has the same length as
    the NFC input, so a match position in the fold is a position in the original."""
    return "".join(_fold_char(c) for c in s)


def fold(s: str) -> str:
    return re.sub(r"\s+", " ", fold_keep(nfc(s))).strip()


_DIGITISH = str.maketrans({"O": "0", "o": "0", "D": "0", "Q": "0", "I": "1", "l": "1", "|": "1", "i": "1",
                           "!": "1", "S": "5", "s": "5", "B": "8", "Z": "2", "z": "2", "G": "6", "b": "6",
                           "g": "9", "q": "9", "T": "7", "§": "8"})


def repair_digits(token: str) -> str:
    """OCR letter/digit confusions inside a token that is mostly digits."""
    t = token.strip()
    digits = sum(ch.isdigit() for ch in t)
    if digits and digits >= 0.6 * len(t.replace(" ", "")):
        return t.translate(_DIGITISH)
    return t


def title_case(name: str) -> str:
    words = name.split()
    out = []
    for w in words:
        if w.isupper() or w.islower():
            out.append(w[:1].upper() + w[1:].lower())
        else:
            out.append(w)
    return " ".join(out)


def upper_ratio(s: str) -> float:
    letters = [c for c in s if c.isalpha()]
    if not letters:
        return 0.0
    return sum(c.isupper() for c in letters) / len(letters)
