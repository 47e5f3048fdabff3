"""Lines every paper of the state prints the same way, put back as printed when read with a slip.

The national header ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc") heads
nearly every paper a counter receives: letters, certificates, forms, both ID cards (with the
card's English lines under it). On photos it is often read with a mark or a letter wrong ("Đặc
lập", "CÓNG HÓA XÃ Hội", "Độc lập * Tự do + Hạnh phúc,"). A run of words close to one of these
lines, as a whole (its letters nearly all right, its marks mostly right), is replaced by the line
as printed; of its printed spellings ("HÒA" or the older "HOÀ", a hyphen or a dash) the one
nearest to what was read is kept. The rest of the text line (the issuing body beside the header
on a two-column letter) is left as read.
"""
from __future__ import annotations

import functools
import re
import unicodedata

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from .textutil import fold

__all__ = ["BODIES", "FIXED_LINES", "snap", "snap_line"]

# each fixed line with its printed spellings
FIXED_LINES: tuple[tuple[str, ...], ...] = (
    ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM"),
    ("Độc lập - Tự do - Hạnh phúc", "Độc lập – Tự do – Hạnh phúc"),
    ("SOCIALIST REPUBLIC OF VIET NAM",),
    ("Independence - Freedom - Happiness", "Independence – Freedom – Happiness"),
)
# the names of the state's bodies printed in capitals at the head of a paper: read with a mark
# wrong ("THÀNH PHÓ ĐÀ NĂNG", "ỦY BAN NHÂN DẬN"), they are put back when every letter is right
# (only marks differ) and the run is in capitals; a person's name in capitals ("NGUYỄN QUANG
# NAM") is no body's name, so a province alone is not one of them, only after "TỈNH"/"THÀNH PHỐ"
BODIES: tuple[tuple[str, ...], ...] = (
    ("ỦY BAN NHÂN DÂN", "UỶ BAN NHÂN DÂN"), ("HỘI ĐỒNG NHÂN DÂN",), ("THÀNH PHỐ",), ("SỞ TƯ PHÁP",),
    ("PHÒNG TƯ PHÁP",), ("CÔNG AN",), ("SỞ GIÁO DỤC VÀ ĐÀO TẠO",), ("SỞ TÀI NGUYÊN VÀ MÔI TRƯỜNG",),
)
MARKS_SCORE = 80  # rapidfuzz ratio, case aside, marks counted: most marks right…
LETTERS_SCORE = 90  # …and the letters without marks nearly all right


def _upper_share(s: str) -> float:
    letters = [c for c in s if c.isalpha()]
    return sum(c.isupper() for c in letters) / max(1, len(letters))


def _best_window(tokens: list[str], spelling: str) -> tuple[float, int, int] | None:
    """The run of ``tokens`` closest to ``spelling`` (as many words, one more or one fewer):
    (score, start, end), or None when none is close enough."""
    n = len(spelling.split())
    want_up, want_fold = spelling.upper(), fold(spelling)
    best = None
    for size in (n, n - 1, n + 1):
        for i in range(0, len(tokens) - size + 1):
            run = " ".join(tokens[i:i + size])
            if fuzz.ratio(fold(run), want_fold) < LETTERS_SCORE:
                continue
            if abs(_upper_share(run) - _upper_share(spelling)) > 0.3:
                continue  # "Cộng hòa xã hội chủ nghĩa Việt Nam" in a sentence is not the header
            score = fuzz.ratio(run.upper(), want_up)
            if score >= MARKS_SCORE and (best is None or score > best[0]):
                best = (score, i, i + size)
    return best


def snap_line(line: str) -> str:
    """One text line with a fixed line inside it put back as printed (see the module)."""
    tokens = line.split()
    if len(tokens) < 2:
        return line
    folded = set(fold(line).split())
    for spellings in FIXED_LINES:
        if len(folded & set(fold(spellings[0]).split())) < 2:
            continue  # not two of its words even without marks: it is not here
        hits = [(w, s) for s in spellings for w in [_best_window(tokens, s)] if w is not None]
        if not hits:
            continue
        (score, i, j), _ = max(hits, key=lambda h: h[0][0])
        run = " ".join(tokens[i:j])
        printed = min(spellings, key=lambda s: Levenshtein.distance(run, s))
        if run != printed:
            tokens = tokens[:i] + printed.split() + tokens[j:]
            line = " ".join(tokens)
    if sum(t.isupper() for t in tokens) < 2:  # no run of capitals: no body's name
        return line
    snapped = _snap_bodies(tokens)
    return " ".join(snapped) if snapped != tokens else line


@functools.lru_cache(maxsize=1)
def _bodies() -> dict[str, tuple[str, ...]]:
    """Each body's name (and "TỈNH …", "THÀNH PHỐ …" for every province), by its letters
    without marks."""
    from vocab.identifiers import _provinces

    names = list(BODIES)
    for p in sorted(set(_provinces().values())):
        names += [(f"TỈNH {p.upper()}",), (f"THÀNH PHỐ {p.upper()}",)]
    return {" ".join(fold(n[0]).split()): n for n in names}


def _snap_bodies(tokens: list[str]) -> list[str]:
    """Runs of capitals words whose letters are a body's name, with a mark read wrong, put back."""
    table = _bodies()
    longest = max(len(k.split()) for k in table)
    i = 0
    while i < len(tokens):
        for size in range(min(longest, len(tokens) - i), 1, -1):
            run = tokens[i:i + size]
            tail = re.match(r"^(.*?)([^\w]*)$", run[-1])
            words = run[:-1] + [tail.group(1)]
            text = " ".join(words)
            names = table.get(" ".join(fold(text).split()))
            if names is None or _upper_share(text) < 0.95:
                continue
            if text not in names:
                printed = min(names, key=lambda n: Levenshtein.distance(text, n))
                tokens = tokens[:i] + printed.split()[:-1] + [printed.split()[-1] + tail.group(2)] + tokens[i + size:]
            i += len(names[0].split()) - 1
            break
        i += 1
    return tokens


def snap(text: str) -> str:
    """Every line of ``text`` through :func:`snap_line` (NFC in, NFC out)."""
    text = unicodedata.normalize("NFC", text)
    return "\n".join(snap_line(ln) if len(ln) >= 6 else ln for ln in text.split("\n"))
