"""Tone marks OCR dropped or swapped, put back where a Vietnamese word list says which one it is.

Tesseract often loses the small tone mark above a circumflex ("chống" read "chông", "phổ biến"
read "phô biến") or reads one mark for another: the syllable it gives is still a syllable, so no
spelling check catches it. A word list does: "phòng chông" is no word, "phòng chống" is. For a
lower-case syllable that makes no word with either neighbour, each other tone (and d for đ, đ
for d) is tried; when exactly one of them makes a word with a neighbour, the syllable becomes it.
Two neighbouring syllables that both make no word are tried together the same way. Capitalised
words (names, places, headings) are left as read, as is any syllable whose tone's place would
depend on a spelling style ("hoà"/"hòa").

The word list (31,158 words, MIT licence) ships inside the ``pyvi`` wheel (Viet-Trung Tran,
``pyvi/models/words.txt``); the package is installed without its dependencies and only that
file is read, located without importing the package (``ocr.packages``, as the line
detector's model is).
Without it, :func:`available` is False and the text is left as read.
"""
from __future__ import annotations

import functools
import re
import unicodedata

from .language import ONSETS, RHYMES, TONES, _toneless, is_syllable
from .packages import package_file

WORDS = "models/words.txt"
# words of the papers a one-stop counter reads that the general list lacks
ADMIN_WORDS = ("chính công", "vụ công", "một cửa", "cấp tỉnh", "cấp huyện", "cấp xã", "ký số", "bản chính",
               "tỉnh ủy", "huyện ủy", "thị ủy", "thành ủy", "đảng ủy")
_TONE_MARKS = ("",) + tuple(TONES)  # level, then each mark
_MODIFIED = "ăâêôơư"  # a vowel with its own mark carries the tone
_STYLE_RHYMES = frozenset(("oa", "oe", "uy"))  # "hoà"/"hòa", "thuý"/"thúy": the place is a style
_VOWELS = "aăâeêioôơuưy"
_WORD = re.compile(r"^([^\w]*)(\w+)([^\w]*)$")


def _key(syllable: str) -> tuple[str, str]:
    """(the syllable without its tone mark, lower case; its tone mark or ''), whatever the tone's
    place in the spelling."""
    base, tones = _toneless(syllable.lower())
    return base, tones[0] if tones else ""


def _pair(a: str, b: str) -> str:
    """Two neighbouring syllables as the word list's pairs are kept: their keys, as one string."""
    (ba, ta), (bb, tb) = _key(a), _key(b)
    return f"{ba}{ta} {bb}{tb}"


@functools.lru_cache(maxsize=1)
def _pairs() -> frozenset[str]:
    path = package_file("pyvi", WORDS)  # located, not imported: only its word list is read
    if path is None:
        return frozenset()
    out = {_pair(*w.split()) for w in ADMIN_WORDS}
    for line in path.read_text(encoding="utf-8").splitlines():
        syl = unicodedata.normalize("NFC", line).replace("_", " ").split()
        out.update(_pair(a, b) for a, b in zip(syl, syl[1:]))
    return frozenset(out)


def available() -> bool:
    return bool(_pairs())


def _split(base: str) -> tuple[str, str] | None:
    """(onset, rhyme) of a toneless syllable, the longest onset whose rest is a rhyme."""
    for onset in sorted(ONSETS, key=len, reverse=True):
        if base.startswith(onset) and base[len(onset):] in RHYMES:
            return onset, base[len(onset):]
    return None


@functools.lru_cache(maxsize=8192)
def _spell(base: str, tone: str) -> str | None:
    """The syllable ``base`` (toneless, lower case) with ``tone`` on its one sure vowel: a vowel
    with its own mark (ơ of ươ), else the last vowel before a final consonant, else a lone vowel,
    else the first of two open vowels ("ai", "oi", "ia") or the middle of "oai"; None when the
    place would depend on a spelling style (an open "oa", "oe", "uy")."""
    if not tone:
        return base
    parts = _split(base)
    if parts is None:
        return None
    onset, rhyme = parts
    vowels = [i for i, c in enumerate(rhyme) if c in _VOWELS]
    if not vowels:
        return None
    marked = [i for i in vowels if rhyme[i] in _MODIFIED]
    if marked:
        at = marked[-1] if rhyme[marked[0]] == "ư" and len(marked) > 1 else marked[0]
    elif vowels[-1] < len(rhyme) - 1:  # a final consonant after the vowels
        at = vowels[-1]
    elif len(vowels) == 1:
        at = vowels[0]
    elif rhyme in _STYLE_RHYMES:
        return None
    elif len(vowels) == 2:  # an open "ai", "ao", "oi", "ui", "eo", "ia", "ua"…: the first vowel
        at = vowels[0]
    elif len(vowels) == 3 and rhyme in ("oai", "oay", "uya"):  # the middle one
        at = vowels[1]
    else:
        return None
    word = onset + rhyme[:at + 1] + tone + rhyme[at + 1:]
    return unicodedata.normalize("NFC", word)


def _variants(word: str) -> list[str]:
    """The other spellings of a lower-case syllable: each other tone, and d/đ swapped."""
    base, tone = _key(word)
    bases = [base] + ([("đ" + base[1:]) if base[0] == "d" else ("d" + base[1:])] if base[:1] in "dđ" else [])
    out = []
    for b in bases:
        for t in _TONE_MARKS:
            if (b, t) == (base, tone):
                continue
            s = _spell(b, t)
            if s and is_syllable(s):
                out.append(s)
    return out


def _hits(pairs, left: str | None, word: str, right: str | None) -> int:
    return int(left is not None and _pair(left, word) in pairs) + int(right is not None and _pair(word, right) in pairs)


def _fixable(tok: str) -> bool:
    """A lower-case syllable whose onset and rhyme are told (a name or a heading is capitalised)."""
    return tok.islower() and tok.isalpha() and _split(_key(tok)[0]) is not None


def sure_may_change(word: str) -> bool:
    """A word (punctuation attached) that is a syllable with â, ê or ô and no tone mark: where the
    recognizer most often loses the small tone mark above the circumflex, even when it is sure
    of the word."""
    m = _WORD.match(word)
    if not m:
        return False
    base, tone = _key(m.group(2))
    return not tone and any(c in base for c in "âêô")


def repair_words(tokens: list[str], may_change: list[bool] | None = None,
                 context: tuple[str | None, str | None] = (None, None)) -> tuple[list[str], int]:
    """``tokens`` (one line's words, punctuation attached) with their syllables' tones repaired
    where the word list says which (see the module), only those ``may_change`` allows (all by
    default); and how many changed. ``context``: the previous line's last word and the next
    line's first (a sentence goes on across a line break), read but never changed."""
    pairs = _pairs()
    if not pairs:
        return tokens, 0
    may = may_change if may_change is not None else [True] * len(tokens)
    parts = [_WORD.match(t) for t in tokens]
    core = [m.group(2) if m else None for m in parts]
    words = [c if c and c.isalpha() else None for c in core]
    changed = 0
    before, after = (_plain_word(c) for c in context)

    def nb(i: int) -> str | None:
        if i == -1:
            return before
        if i == len(words):
            return after
        return words[i] if 0 <= i < len(words) and words[i] is not None else None

    def open_(i: int) -> bool:  # a syllable of this line this pass may change, making no word as read
        w = nb(i) if 0 <= i < len(words) else None
        return w is not None and may[i] and _fixable(w) and not _hits(pairs, nb(i - 1), w, nb(i + 1))

    # the change that makes the most words goes first (its neighbours then make words too, and
    # are left alone); a syllable whose best spellings tie is left as read
    for _ in range(len(words)):
        best = []
        for i in range(len(words)):
            if not open_(i):
                continue
            scored = sorted(((_hits(pairs, nb(i - 1), v, nb(i + 1)), v) for v in _variants(words[i])), reverse=True)
            if scored and scored[0][0] and (len(scored) == 1 or scored[1][0] < scored[0][0]):
                best.append((scored[0][0], i, (scored[0][1],)))
            elif not (scored and scored[0][0]) and open_(i + 1):  # two neighbours that make no word: together
                w, n = words[i], words[i + 1]
                both = [(a, b) for a in [w] + _variants(w) for b in [n] + _variants(n)
                        if (a, b) != (w, n) and _pair(a, b) in pairs]
                if len(both) == 1:
                    best.append((1, i, both[0]))
        if not best:
            break
        top = max(b[0] for b in best)
        at = [b for b in best if b[0] == top]
        if any(abs(a[1] - b[1]) <= len(a[2]) for a in at for b in at if a is not b):
            break  # two changes as good, side by side: which syllable slipped is not told
        _, i, new = at[0]
        for k, v in enumerate(new):
            changed += v != words[i + k]
            words[i + k] = v
    if not changed:
        return tokens, 0
    return [m.group(1) + w + m.group(3) if m and w is not None and w != c else t
            for t, m, c, w in zip(tokens, parts, core, words)], changed


def _plain_word(token: str | None) -> str | None:
    """A neighbouring line's word as a neighbour: its letters, lower case (None for a number or
    a sign)."""
    m = _WORD.match(token) if token else None
    return m.group(2).lower() if m and m.group(2).isalpha() else None


def repair_lines(lines: list[dict], sure: float) -> int:
    """The words of an OCR read's lines (``engine.parse_tsv_lines``' shape, in reading order)
    repaired in place, only those read with a confidence below ``sure``, and a toneless â, ê or ô
    whatever its confidence (the recognizer is often sure of a circumflex whose tone it lost):
    other words read surely keep their tone. Returns how many changed."""
    total = 0
    for k, ln in enumerate(lines):
        ws = ln["words"]
        prev = lines[k - 1]["words"] if k else []
        nxt = lines[k + 1]["words"] if k + 1 < len(lines) else []
        context = (prev[-1]["text"] if prev else None, nxt[0]["text"] if nxt else None)
        fixed, n = repair_words([w["text"] for w in ws],
                                [0 <= w["conf"] < sure or (w["conf"] >= 0 and sure_may_change(w["text"]))
                                 for w in ws], context)
        for w, t in zip(ws, fixed):
            w["text"] = t
        total += n
    return total
