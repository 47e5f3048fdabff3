"""Lines every paper of the state prints the same way, put back as printed when read with a slip.

The national header ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc") heads
nearly every paper a counter receives: letters, certificates, forms, both ID cards (with the
card's English lines under it). On photos it is often read with a mark or a letter wrong ("Đặc
lập", "CÓNG HÓA XÃ Hội", "Độc lập * Tự do + Hạnh phúc,"). A run of as many words as one of
these lines, close to it as a whole (its letters nearly all right, its marks mostly right, no
digit among them), is replaced by the line as printed; of its printed spellings ("HÒA" or the
older "HOÀ", a hyphen or a dash) the one nearest to what was read is kept. The rest of the text
line (the issuing body beside the header on a two-column letter), its spacing too, is left as
read, and words run together ("HỘICHỦ") or a line broken in two are left as read.
"""
from __future__ import annotations

import functools
import re
import unicodedata

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from .language import TONES
from .textutil import fold
from .tones import _STYLE_RHYMES

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
    """The run of ``tokens`` closest to ``spelling``, as many words as it: (score, start, end), or
    None when none is close enough. (A run of another length would take a neighbouring word in
    or leave one of the line's out: words run together are left as read.)"""
    n = len(spelling.split())
    want_up, want_fold = spelling.upper(), fold(spelling)
    best = None
    for i in range(0, len(tokens) - n + 1):
        if any(c.isdigit() for t in tokens[i:i + n] for c in t):
            continue  # a number beside the header ("QUẬN 3") is no part of it
        run = " ".join(tokens[i:i + n])
        if fuzz.ratio(fold(run), want_fold) < LETTERS_SCORE:
            continue
        if abs(_upper_share(run) - _upper_share(spelling)) > 0.3:
            continue  # "Cộng hòa xã hội chủ nghĩa Việt Nam" in a sentence is not the header
        score = fuzz.ratio(run.upper(), want_up)
        if score >= MARKS_SCORE and (best is None or score > best[0]):
            best = (score, i, i + n)
    return best


def _splice(line: str, spans: list[tuple[int, int]], i: int, j: int, words: list[str]) -> str:
    """``line`` with its words ``i`` to ``j`` (``spans``: each word's place) replaced by
    ``words``, the rest of the line (its spacing too) as it was."""
    return line[:spans[i][0]] + " ".join(words) + line[spans[j - 1][1]:]


def _spans(line: str) -> tuple[list[str], list[tuple[int, int]]]:
    found = list(re.finditer(r"\S+", line))
    return [m.group(0) for m in found], [m.span() for m in found]


def snap_line(line: str) -> str:
    """One text line with a fixed line inside it put back as printed (see the module)."""
    tokens, spans = _spans(line)
    if len(tokens) < 2:
        return line
    folded = set(fold(line).split())
    for spellings in FIXED_LINES:
        if len(folded & set(fold(spellings[0]).split())) < 2:
            continue  # not two of its words even without marks: it is not here
        hits = [w for w in (_best_window(tokens, s) for s in spellings) if w is not None]
        if not hits:
            continue
        _, i, j = max(hits)
        run = " ".join(tokens[i:j])
        printed = min(spellings, key=lambda s: Levenshtein.distance(run, s))
        if run != printed:
            line = _splice(line, spans, i, j, printed.split())
            tokens, spans = _spans(line)
    if sum(t.isupper() for t in tokens) < 2:  # no run of capitals: no body's name
        return line
    return _snap_bodies(line)


@functools.lru_cache(maxsize=1)
def _bodies() -> dict[str, tuple[str, ...]]:
    """Each body's name (and "TỈNH …", "THÀNH PHỐ …" for every province, in both spellings of
    "oa", "uy": "KHÁNH HÒA", "KHÁNH HOÀ"), by its letters without marks."""
    from vocab.identifiers import _provinces

    names = list(BODIES)
    for p in sorted(set(_provinces().values())):
        for prefix in ("TỈNH", "THÀNH PHỐ"):
            name = f"{prefix} {p.upper()}"
            names.append(tuple(dict.fromkeys((name, _old_style(name)))))
    return {fold(n[0]): n for n in names}


# the tone on the rhyme's second vowel ("hoà", "thuý"), as older print places it
_OLD_STYLE = {f"{r[0]}{t}{r[1]}": f"{r}{t}" for r in _STYLE_RHYMES for t in TONES}


def _old_style(name: str) -> str:
    """``name`` with the tone of an open "oa", "oe", "uy" on its second vowel."""
    d = unicodedata.normalize("NFD", name.lower())
    for new_, old in _OLD_STYLE.items():
        d = re.sub(new_ + r"(?![^\W\d_])", old, d)
    return unicodedata.normalize("NFC", d).upper() if name.isupper() else unicodedata.normalize("NFC", d)


def _snap_bodies(line: str) -> str:
    """Runs of capitals words whose letters are a body's name, with a mark read wrong, put back."""
    table = _bodies()
    longest = max(len(k.split()) for k in table)
    tokens, spans = _spans(line)
    i = 0
    while i < len(tokens):
        for size in range(min(longest, len(tokens) - i), 1, -1):
            run = tokens[i:i + size]
            tail = re.match(r"^(.*?)([^\w]*)$", run[-1])
            if not tail.group(1):
                continue  # a lone mark at the run's end is no word of a name
            text = " ".join(run[:-1] + [tail.group(1)])
            names = table.get(fold(text))
            if names is None or _upper_share(text) < 0.95:
                continue
            if text not in names:
                printed = min(names, key=lambda n: Levenshtein.distance(text, n)).split()
                line = _splice(line, spans, i, i + size, printed[:-1] + [printed[-1] + tail.group(2)])
                tokens, spans = _spans(line)
            i += len(names[0].split()) - 1
            break
        i += 1
    return line


def snap(text: str) -> str:
    """Every line of ``text`` through :func:`snap_line` (NFC in, NFC out)."""
    text = unicodedata.normalize("NFC", text)
    return "\n".join(snap_line(ln) if len(ln) >= 6 else ln for ln in text.split("\n"))
