"""Text helpers for OCR: digit repair and name casing; NFC and the diacritic fold come from vocab.text."""
from __future__ import annotations

from vocab import text


nfc, fold, fold_keep = text.nfc, text.fold, text.fold_keep  # the one vocabulary (vocab.text)


# the letters and signs OCR gives for a digit: the one table (a digit-shaped run's repair, the
# expiry's garbled digits, the number reread's notion of a digit-like run)
DIGIT_LOOKALIKES = {"O": "0", "o": "0", "D": "0", "Q": "0", "I": "1", "l": "1", "|": "1", "i": "1", "!": "1",
                    "S": "5", "s": "5", "B": "8", "Z": "2", "z": "2", "G": "6", "b": "6", "g": "9", "q": "9",
                    "T": "7", "§": "8"}
_DIGITISH = str.maketrans(DIGIT_LOOKALIKES)


def as_digits(s: str) -> str:
    """``s`` with every look-alike read as its digit (the caller knows the run is digits)."""
    return s.translate(_DIGITISH)


def repair_digits(token: str) -> str:
    """OCR letter/digit confusions inside a token that is mostly digits."""
    t = token.strip()
    digits = sum(ch.isdigit() for ch in t)
    if digits and digits >= 0.6 * len(t.replace(" ", "")):
        return as_digits(t)
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
