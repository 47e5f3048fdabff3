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

import unicodedata

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from .textutil import fold

__all__ = ["FIXED_LINES", "snap"]

# each fixed line with its printed spellings
FIXED_LINES: tuple[tuple[str, ...], ...] = (
    ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM"),
    ("Độc lập - Tự do - Hạnh phúc", "Độc lập – Tự do – Hạnh phúc"),
    ("SOCIALIST REPUBLIC OF VIET NAM",),
    ("Independence - Freedom - Happiness", "Independence – Freedom – Happiness"),
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
    if len(tokens) < 3:
        return line
    for spellings in FIXED_LINES:
        hits = [(w, s) for s in spellings for w in [_best_window(tokens, s)] if w is not None]
        if not hits:
            continue
        (score, i, j), _ = max(hits, key=lambda h: h[0][0])
        run = " ".join(tokens[i:j])
        printed = min(spellings, key=lambda s: Levenshtein.distance(run, s))
        if run != printed:
            tokens = tokens[:i] + printed.split() + tokens[j:]
            line = " ".join(tokens)
    return line


def snap(text: str) -> str:
    """Every line of ``text`` through :func:`snap_line` (NFC in, NFC out)."""
    text = unicodedata.normalize("NFC", text)
    return "\n".join(snap_line(ln) if len(ln) >= 12 else ln for ln in text.split("\n"))
