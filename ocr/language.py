"""Does a text read as text? Vietnamese syllables, character classes, legacy-font mojibake.

Vietnamese is written in syllables of a closed shape: an onset (b, ch, ngh, qu, …), a rhyme
(a, oai, ương, uyêt, …) and at most one tone mark, and a rhyme that ends in p, t, c or ch takes
only the sắc or nặng tone. The grammar below generates every well-formed syllable (a few
thousand toneless forms); a real Vietnamese text has 85-100 % of its words in it, with or
without diacritics, while OCR of an upside-down page, a byte-swapped UTF-16 layer or a
TCVN3/VNI font read as Latin-1 has few. Texts in other Latin-script languages (English, French)
are recognised by their word shapes and their clean character classes.

Legacy fonts: a PDF typed in ``.VnTime`` (TCVN3/ABC) or ``VNI-Times`` stores one byte per glyph,
so its text layer reads as Latin-1 mojibake ("Céng hoµ x· héi" / "Coäng hoøa xaõ hoäi");
:func:`best_reading` converts it to Unicode when the conversion reads as Vietnamese.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# --------------------------------------------------------------------------- syllables

ONSETS = ("", "b", "c", "ch", "d", "đ", "g", "gh", "gi", "h", "k", "kh", "l", "m", "n", "ng", "ngh", "nh",
          "p", "ph", "qu", "r", "s", "t", "th", "tr", "v", "x")
RHYMES = frozenset("""
a ai ao au ay ac ach am an ang anh ap at
ăc ăm ăn ăng ăp ăt
âc âm ân âng âp ât âu ây
e eo ec em en eng ep et
ê êu êch êm ên ênh êp êt
i ia iu ich im in inh ip it
iêc iêm iên iêng iêp iêt iêu
o oi oc om on ong op ot oong ooc
oa oai oao oay oac oach oam oan oang oanh oap oat
oăc oăm oăn oăng oăt
oe oeo oen oet
ô ôi ôc ôm ôn ông ôp ôt
ơ ơi ơm ơn ơp ơt
u ua ui uc um un ung up ut
uân uâng uât uây
uê uêch uên uênh uêt uơ
uy uya uych uyn uynh uyp uyt uyu uyên uyêt
uôc uôi uôm uôn uông uôt
ư ưa ưi ưu ưc ưm ưn ưng ưt
ươc ươi ươm ươn ương ươp ươt ươu
y yêm yên yêt yêu
""".split())
TONES = {"\u0300": "huyền", "\u0301": "sắc", "\u0303": "ngã", "\u0309": "hỏi", "\u0323": "nặng"}
_STOP_CODAS = ("p", "t", "c", "ch")


def _toneless(word: str) -> tuple[str, list[str]] | None:
    d = unicodedata.normalize("NFD", word)
    tones = [c for c in d if c in TONES]
    base = unicodedata.normalize("NFC", "".join(c for c in d if c not in TONES))
    return base, tones


@lru_cache(maxsize=65536)
def is_syllable(word: str) -> bool:
    """True when ``word`` (any case, with or without diacritics) is a well-formed Vietnamese syllable."""
    w = unicodedata.normalize("NFC", word).lower()
    if not w or len(w) > 8:
        return False
    base, tones = _toneless(w)
    if len(tones) > 1:
        return False
    for onset in ONSETS:
        if not base.startswith(onset):
            continue
        rhyme = base[len(onset):]
        if rhyme in RHYMES:
            if tones and rhyme.endswith(_STOP_CODAS) and tones[0] not in ("\u0301", "\u0323"):
                continue
            return True
        if onset == "gi" and rhyme == "" :
            return True
    return False


# --------------------------------------------------------------------------- scores

_TOKEN = re.compile(r"\S+")
_EDGE = re.compile(r"^[\W_]+|[\W_]+$")
_VOWELS = set("aeiouyàáâãèéêìíòóôõùúýăđơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹäëïöüœæåø")
# letters outside the Latin alphabets: in a Vietnamese or Western text layer they mean mojibake
_PLAIN_PUNCT = set(".,;:!?()[]{}\"'/-–—%&+=*#@<>|_«»…“”‘’°§№")


def _char_class(c: str) -> str:
    o = ord(c)
    if c.isspace():
        return "space"
    if c.isdigit():
        return "digit"
    if c in _PLAIN_PUNCT:
        return "punct"
    if c.isalpha():
        if o < 0x250 or 0x1E00 <= o <= 0x1EFF:
            return "latin"
        return "other-letter"
    return "odd"


@dataclass(frozen=True)
class TextScore:
    words: int  # alphabetic tokens
    vietnamese: float  # share of them that are Vietnamese syllables
    wordlike: float  # share that look like words of a Latin-script language
    odd: float  # share of non-space characters that are neither Latin letters, digits nor punctuation
    plausibility: float  # 0..1: how much the whole reads as text

    @property
    def is_vietnamese(self) -> bool:
        return self.words >= 3 and self.vietnamese >= 0.6


# letters of Western European words; the Vietnamese-only letters (ă đ ĩ ũ ơ ư and the stacked
# forms of U+1EA0-1EF9) count only inside a well-formed syllable
_WESTERN = frozenset(chr(o) for o in list(range(0x41, 0x5B)) + list(range(0x61, 0x7B)) + list(range(0xC0, 0x250))
                     if chr(o).isalpha() and chr(o) not in "ăĂđĐĩĨũŨơƠưƯ")
_CONS_RUN = re.compile(r"[^aeiouyàáâãèéêìíòóôõùúýäëïöüœ]{5,}", re.I)


def _wordlike(tok: str) -> bool:
    """A token shaped like a word of a Latin-script language: letters of one alphabet, a vowel,
    no long consonant runs, sane case (lower, Capitalised, UPPER)."""
    if not tok.replace("-", "").replace("'", "").isalpha() or len(tok) > 24:
        return False
    if any(c not in _WESTERN for c in tok if c not in "-'"):
        return False
    low = tok.lower()
    if not any(c in _VOWELS for c in low):
        return len(tok) <= 3 and tok.isupper()  # abbreviations: UBND, TP, HCM
    if not (tok.islower() or tok.isupper() or (tok[0].isupper() and tok[1:].islower())):
        return False
    return not _CONS_RUN.search(unicodedata.normalize("NFD", low).encode("ascii", "ignore").decode())


def score_text(text: str) -> TextScore:
    chars = [c for c in text or "" if not c.isspace()]
    if not chars:
        return TextScore(0, 0.0, 0.0, 0.0, 0.0)
    classes = [_char_class(c) for c in chars]
    odd = (classes.count("odd") + classes.count("other-letter")) / len(chars)
    vi = wl = n = 0
    for raw in _TOKEN.findall(text):
        tok = _EDGE.sub("", raw)
        if not tok or not any(c.isalpha() for c in tok):
            continue
        n += 1
        if is_syllable(tok):
            vi += 1
            wl += 1
        elif _wordlike(tok):
            wl += 1
    if n == 0:
        return TextScore(0, 0.0, 0.0, odd, 0.0 if odd > 0.2 else 0.5)
    v, w = vi / n, wl / n
    plaus = max(v, 0.9 * w) * max(0.0, 1.0 - 2.0 * odd)
    return TextScore(n, round(v, 4), round(w, 4), round(odd, 4), round(plaus, 4))


_ODD_CASE = re.compile(r"[a-zà-ỹ][A-ZÀ-Ỹ]|^[A-ZÀ-Ỹ]{2,}[a-zà-ỹ]+[A-ZÀ-Ỹ]*$|^[A-ZÀ-Ỹ][a-zà-ỹ]+[A-ZÀ-Ỹ]")
_MARKED = re.compile(r"[\u00C0-\u024F\u1E00-\u1EFF]")


def marked_share(text: str) -> float:
    """Share of the alphabetic words that carry a letter beyond plain ASCII (Vietnamese marks)."""
    toks = [t for t in (_EDGE.sub("", t) for t in _TOKEN.findall(text or "")) if t.isalpha()]
    return sum(bool(_MARKED.search(t)) for t in toks) / len(toks) if toks else 0.0


def mangled_vietnamese(text: str) -> bool:
    """Vietnamese whose diacritics were dropped or replaced by look-alike Latin letters, the way
    a scanner's or a converter's text layer spells it ("CONG Hcok xA HQI CHiJ NGHiA VIVT NAM"):
    words shaped like Vietnamese syllables, far too few of them marked (a real Vietnamese text
    marks most syllables), and case flipping inside words."""
    toks = [_EDGE.sub("", t) for t in _TOKEN.findall(text or "")]
    toks = [t for t in toks if len(t) >= 1 and t.isalpha()]
    if len(toks) < 10:
        return False
    marked = sum(bool(_MARKED.search(t)) for t in toks) / len(toks)
    if marked >= 0.4:
        return False
    bare = sum(is_syllable(t.lower()) for t in toks) / len(toks)
    odd_case = sum(bool(_ODD_CASE.search(t)) for t in toks if len(t) >= 3) / len(toks)
    return bare >= 0.45 or odd_case >= 0.03


# --------------------------------------------------------------------------- legacy encodings

# TCVN 5712:1993 VN3 ("ABC", .VnTime fonts): one byte per precomposed lower-case letter; capitals
# with tones come from a separate all-capitals font (.VnTimeH) drawing the same codes.
_TCVN3 = dict(zip(
    "¡¢£¤¥¦§¨©ª«¬\xad®µ¶·¸¹»¼½¾ÆÇÈÉÊËÌÎÏÐÑÒÓÔÕÖ×ØÜÝÞßáâãäåæçèéêëìíîïñòóôõö÷øùúûüýþ",
    "ĂÂÊÔƠƯĐăâêôơưđàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ"))

# VNI Windows: a base letter followed by a mark byte (tone, or shape + tone); ơ ư đ and some
# forms of i and ỵ have bytes of their own.
_VNI_TONE = {"ø": "\u0300", "ù": "\u0301", "û": "\u0309", "õ": "\u0303", "ï": "\u0323"}
_VNI_CIRC = {"â": "", "à": "\u0300", "á": "\u0301", "å": "\u0309", "ã": "\u0303", "ä": "\u0323"}
_VNI_BREVE = {"ê": "", "è": "\u0300", "é": "\u0301", "ú": "\u0309", "ü": "\u0303", "ë": "\u0323"}
_VNI_SINGLE = {"ô": "ơ", "ö": "ư", "ñ": "đ", "ì": "ì", "í": "í", "æ": "ỉ", "ó": "ĩ", "ò": "ị", "î": "ỵ"}


@lru_cache(maxsize=1)
def _vni_table() -> dict[str, str]:
    t: dict[str, str] = {}

    def put(key: str, val: str) -> None:
        val = unicodedata.normalize("NFC", val)
        t[key] = val
        t[key.upper()] = val.upper()
        # capitals followed by a lower-case mark byte (fonts mixed within a word)
        t[key[0].upper() + key[1:]] = val[0].upper() + val[1:]

    for base in "aeiouy":
        for mark, tone in _VNI_TONE.items():
            put(base + mark, base + tone)
    for base, shape in (("a", "\u0302"), ("e", "\u0302"), ("o", "\u0302")):
        for mark, tone in _VNI_CIRC.items():
            put(base + mark, base + shape + tone)
    for mark, tone in _VNI_BREVE.items():
        put("a" + mark, "a\u0306" + tone)
    for horn, letter in (("ô", "ơ"), ("ö", "ư")):
        for mark, tone in _VNI_TONE.items():
            put(horn + mark, letter + tone)
    for k, v in _VNI_SINGLE.items():
        t.setdefault(k, v)
        t.setdefault(k.upper(), v.upper())
    return t


def _restore_caps(text: str) -> str:
    """.VnTimeH draws lower-case codes as capitals: a line whose ASCII letters are capitals is a
    capitals line, and so is a word with two or more ASCII letters, all capitals."""
    def word(m: re.Match) -> str:
        w = m.group(0)
        letters = [c for c in w if c.isascii() and c.isalpha()]
        return w.upper() if len(letters) >= 2 and all(c.isupper() for c in letters) else w

    out = []
    for line in text.split("\n"):
        letters = [c for c in line if c.isascii() and c.isalpha()]
        if len(letters) >= 4 and sum(c.isupper() for c in letters) >= 0.9 * len(letters):
            out.append(line.upper())
        else:
            out.append(re.sub(r"\S+", word, line))
    return "\n".join(out)


def _soft_hyphen_u(text: str) -> str:
    """TCVN3 stores ư as 0xAD, the soft hyphen, which PDF text extraction often turns into '-':
    'm-ơi' → 'mươi', 'đ-ợc' → 'được' (only where that makes a syllable)."""
    def fix(m: re.Match) -> str:
        w = m.group(0)
        cand = w.replace("-", "ư")
        return cand if is_syllable(cand) else w
    return re.sub(r"[^\W\d_]*-[^\W\d_]+|[^\W\d_]+-(?=\s|$)", fix, text)


def decode_tcvn3(text: str) -> str:
    out = "".join(_TCVN3.get(c, c) for c in text)
    return unicodedata.normalize("NFC", _restore_caps(_soft_hyphen_u(out)))


def decode_vni(text: str) -> str:
    t = _vni_table()
    out, i = [], 0
    while i < len(text):
        two = text[i:i + 2]
        if len(two) == 2 and two in t:
            out.append(t[two])
            i += 2
            continue
        out.append(t.get(text[i], text[i]) if text[i] in _VNI_SINGLE or text[i].lower() in _VNI_SINGLE else text[i])
        i += 1
    return unicodedata.normalize("NFC", "".join(out))


LEGACY_FONT = re.compile(r"(^|[+,])\.?vn[a-z]|vni[-_ ]|\.vn|abc", re.I)


@dataclass(frozen=True)
class Reading:
    text: str
    source: str  # "plain" | "tcvn3" | "vni"
    score: TextScore


def best_reading(text: str, fonts: tuple[str, ...] = ()) -> Reading:
    """The text as stored, or converted from TCVN3/VNI when that reads as Vietnamese and the
    stored form does not. ``fonts`` (base font names) only make a conversion more likely to be tried."""
    plain = Reading(text, "plain", score_text(text))
    if plain.score.is_vietnamese and plain.score.odd < 0.01:
        return plain
    has_high = any(0xA0 <= ord(c) <= 0xFF for c in text)
    if not has_high and not any(LEGACY_FONT.search(f) for f in fonts):
        return plain
    best = plain
    for name, fn in (("tcvn3", decode_tcvn3), ("vni", decode_vni)):
        conv = fn(text)
        s = score_text(conv)
        if s.is_vietnamese and s.vietnamese > best.score.vietnamese + 0.15:
            best = Reading(conv, name, s)
    return best


__all__ = ["is_syllable", "score_text", "TextScore", "best_reading", "Reading", "decode_tcvn3", "decode_vni"]
