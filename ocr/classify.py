"""Document type from OCR text (the product spec's document taxonomy): the title a document carries first, body
vocabulary second. Matching runs on a diacritic-free fold and tolerates OCR slips (fuzzy)."""
from __future__ import annotations

import re

from rapidfuzz import fuzz

from ocr.fields import CMND_FRONT_LABELS
from ocr.textutil import fold, upper_ratio
from vocab.kinds import DOC_TYPES

TYPES = DOC_TYPES  # the product spec's document taxonomy (vocab.kinds)

# Title patterns (folded). The type whose title pattern starts earliest in the title wins, so
# "TỜ KHAI ĐĂNG KÝ KHAI SINH" is a form (to_khai), not a birth certificate.
TITLE_PATTERNS: list[tuple[str, str]] = [
    ("to_khai", r"\bto khai\b|\bdon (de nghi|xin|dang ky)\b|\bphieu (de nghi|yeu cau)\b|\bso yeu ly lich\b"),
    ("xac_nhan_hon_nhan", r"xac nhan tinh trang hon nhan|tinh trang hon nhan"),
    ("ket_hon", r"chung nhan (dang ky )?ket hon|trich luc (dang ky )?ket hon|marriage certificate|\bket hon\b"),
    ("khai_tu", r"trich luc (dang ky )?khai tu|giay chung tu\b|\bkhai tu\b|death certificate"),
    ("khai_sinh", r"giay khai sinh|trich luc (dang ky )?khai sinh|birth certificate|\bkhai sinh\b"),
    ("gcn_qsdd", r"quyen su dung dat|quyen so huu nha o|\bso do\b|\bso hong\b|"
                 # the certificate's inner pages carry their section headings (2009 and 2024 models)
                 r"so do thua dat|nhung thay doi sau khi cap|tai san (khac )?gan lien voi dat"),
    ("dang_ky_ho_kinh_doanh", r"dang ky ho kinh doanh|\bho kinh doanh\b"),
    ("giay_phep_lai_xe", r"giay phep lai xe|driver'?s? licen[cs]e|driving licen[cs]e|bang lai xe"),
    ("bang_tot_nghiep", r"\bbang tot nghiep\b|\bbang cu nhan\b|\bbang ky su\b|\bbang thac si\b|\bdiploma\b|"
                        r"\bbang trung cap\b|\bbang cao dang\b|\bbang tien si\b"),
    ("cccd", r"can cuoc cong dan|\bcan cuoc\b|citizen identity|identity card|chung minh nhan dan|\bcccd\b|"
             r"dau vet rieng va di hinh|dac diem nhan dang"),  # the backs' headings
    ("van_ban", r"^(quyet dinh|cong van|bao cao|ket luan|thong bao|to trinh|ke hoach|nghi quyet|chi thi|"
                r"giay moi|bien ban|huong dan|cong dien|chuong trinh|de an|thong tu|nghi dinh|luat|"
                r"phuong an|giay gioi thieu|quy che|quy dinh)\b"),
]
_TITLE_RE = [(t, re.compile(p)) for t, p in TITLE_PATTERNS]
# Exact title strings for fuzzy matching when OCR garbled a letter or two.
FUZZY_TITLES: list[tuple[str, str]] = [
    ("to_khai", "to khai"),
    ("to_khai", "so yeu ly lich"),  # the personal history form a dossier often carries
    ("xac_nhan_hon_nhan", "giay xac nhan tinh trang hon nhan"),
    ("ket_hon", "giay chung nhan ket hon"),
    ("khai_tu", "trich luc khai tu"),
    ("khai_sinh", "giay khai sinh"),
    ("khai_sinh", "trich luc khai sinh"),
    ("ket_hon", "trich luc ket hon"),
    ("khai_tu", "giay chung tu"),
    ("gcn_qsdd", "giay chung nhan quyen su dung dat"),
    ("dang_ky_ho_kinh_doanh", "giay chung nhan dang ky ho kinh doanh"),
    ("giay_phep_lai_xe", "giay phep lai xe"),
    ("bang_tot_nghiep", "bang tot nghiep"),
    ("cccd", "can cuoc cong dan"),
    ("cccd", "giay chung minh nhan dan"),  # the old CMND (else it fuzzily matches "giay chung tu")
    ("cccd", "chung minh nhan dan"),
]

NATIONAL_HEADER = re.compile(r"cong hoa xa hoi|doc lap\W+tu do|socialist republic|independence|"
                             r"^uy ban nhan dan|^ubnd|^so\s*[:.]|^bo |^so |^truong ")

# Body vocabulary (folded) -> weight, per type.
KEYWORDS: dict[str, list[tuple[str, float]]] = {
    "cccd": [(r"quoc tich|nationality", .3), (r"que quan|place of origin", .6), (r"noi thuong tru|p[il1]ace\s*of\s*res[il1]dence", .6),
             (r"co gia tri den|date\s*of\s*exp[il1]ry|ngay het han", .6), (r"dac diem nhan dang|personal identification", .6),
             (r"\bso\s*/\s*no\b", .4), (r"full name", .3), (r"date of birth", .2),
             (r"nguyen quan", .6), (r"\bdkhk\b|noi dang ky ho khau|ho khau thuong tru", .6),
             # the old CMND's front, its labels read with slips ("Nơi £)KHK thường trú")
             (r"\bsinh\s*ngay\b", .2), (r"\bnoi\s*\S{2,6}\s*thuong\s*tru\b", .4),
             # the 2024 card's back, the chip card's back and the old CMND's back
             (r"p[il1]ace\s*of\s*res[il1]dence", .4), (r"p[il1]ace\s*of\s*b[il1]rth", .4),
             (r"cuc canh sat quan ly hanh chinh|ve trat tu xa hoi", .6), (r"bo cong an|ministry of public security", .3),
             (r"date\s*of\s*[il1]ssue", .3), (r"i[dl]vnm|<{4,}", 1.0), (r"dau vet rieng|di hinh", .8),
             (r"ngon\s*tr[o0]\b", .8), (r"nam\s*het\s*han", .8), (r"ngay[,.;]?\s*thang[,.;]?\s*nam\s*cap\b", .2),
             (r"\bton giao\b", .3), (r"giam doc (cong an|ca)\b", .3)],
    "khai_sinh": [(r"noi sinh", .6), (r"nguoi me|ten me\b", .6), (r"nguoi cha|ten cha\b", .6),
                  (r"dang ky khai sinh|noi dang ky", .3)],
    "ket_hon": [(r"ten chong|\bchong\b", .8), (r"ten vo|\bvo\b", .5), (r"dang ky ket hon|ket hon", .5)],
    "xac_nhan_hon_nhan": [(r"tinh trang hon nhan", 1.2), (r"chua dang ky ket hon|hien tai (chua|dang)", .6),
                          (r"muc dich su dung", .3), (r"thoi han (6|sau) thang", .4)],
    "khai_tu": [(r"nguoi chet|da chet|nguoi mat|da mat", 1.0), (r"noi chet|nguyen nhan chet|nguyen nhan", .5),
                (r"khai tu", .5)],
    "gcn_qsdd": [(r"thua dat", .8), (r"to ban do", .8), (r"dien tich", .4), (r"muc dich su dung", .3),
                 (r"thoi han su dung", .4), (r"nguoi su dung dat|su dung dat", .6), (r"so phat hanh|vao so cap", .4),
                 (r"so do thua dat", .9), (r"nhung thay doi sau khi cap", 1.0), (r"bang (liet )?ke toa do", .7),
                 (r"goc ranh|goc thua", .5), (r"noi dung thay doi va co so phap ly", .8),
                 (r"tai san (khac )?gan lien voi dat", .6), (r"chuyen nhuong", .3), (r"hinh thuc su dung", .5),
                 (r"nguon goc su dung", .5)],
    "to_khai": [(r"kinh gui", .6), (r"cam doan", .8), (r"nguoi yeu cau|nguoi khai|nguoi di dang ky", .6),
                (r"de nghi", .4), (r"ky, ghi ro ho|ky ghi ro", .4)],
    "bang_tot_nghiep": [(r"tot nghiep", .8), (r"xep loai", .6), (r"so hieu", .4), (r"vao so cap bang", .6),
                        (r"hieu truong|giam doc so giao duc|giao duc va dao tao", .4)],
    "giay_phep_lai_xe": [(r"\bhang\s*(/\s*class)?\s*:", .8), (r"\bclass\b", .3), (r"lai xe", .6), (r"expires", .3)],
    "dang_ky_ho_kinh_doanh": [(r"ho kinh doanh", 1.0), (r"nganh,? nghe kinh doanh", .6), (r"von kinh doanh", .6),
                              (r"dia diem kinh doanh", .6), (r"chu ho", .4)],
    "van_ban": [(r"uy ban nhan dan|\bubnd\b", .3), (r"thu tuc hanh chinh|\btthc\b", .4), (r"\bnoi nhan\b", .5),
                (r"\bcan cu\b", .3), (r"trien khai", .3), (r"chi dao", .3), (r"dong chi", .3), (r"co quan", .2),
                (r"don vi", .2), (r"\bv/v\b", .5), (r"/(qd|ubnd|bc|tb|kl|cv|ct|kh|tt|nd)-", .5),
                (r"to chuc", .2), (r"cai cach hanh chinh", .4), (r"nhiem vu", .2), (r"ket qua", .2),
                (r"so, nganh|cac so|ban nganh", .3), (r"tinh uy|huyen uy|thanh uy", .3), (r"hoi nghi", .2),
                (r"kinh gui", .2), (r"quyet dinh", .2), (r"bao cao", .2), (r"thong bao", .2)],
}
_KW_RE = {t: [(re.compile(p), w) for p, w in kws] for t, kws in KEYWORDS.items()}
# Long headings that only one type prints, matched fuzzily line by line (a photo's read slips a
# letter or two in a long line, and mixed-case headings are not titles): type, phrase, weight
FUZZY_PHRASES: list[tuple[str, str, float]] = [
    ("gcn_qsdd", "nhung thay doi sau khi cap giay chung nhan", 1.0),
    ("gcn_qsdd", "noi dung thay doi va co so phap ly", .8),
    ("gcn_qsdd", "bang liet ke toa do goc ranh", .7),
    ("gcn_qsdd", "so do thua dat, nha o va tai san khac gan lien voi dat", .9),
    ("cccd", "dac diem nhan dang", .6),
    ("cccd", "dau vet rieng va di hinh", .8),
    ("khai_sinh", "noi dang ky khai sinh", .5),
]
FUZZY_PHRASE_MIN = 88


def _fuzzy_phrases(text: str) -> dict[str, float]:
    """Weights of the FUZZY_PHRASES some line of ``text`` carries with slips, per type (each phrase
    once; a phrase read right is left to the exact keywords)."""
    from rapidfuzz import fuzz

    lines = [fold(ln) for ln in _lines(text)]
    out: dict[str, float] = {}
    whole = " ".join(lines)
    for t, phrase, w in FUZZY_PHRASES:
        if phrase in whole:
            continue  # read right: the exact keywords count it
        if any(len(f) >= 0.9 * len(phrase) and fuzz.partial_ratio(phrase, f) >= FUZZY_PHRASE_MIN for f in lines):
            out[t] = out.get(t, 0.0) + w
    return out
# Shop receipts and invoices: not a civil document whatever names or numbers they carry
_TRADE = [re.compile(p) for p in (r"tong (tien|cong|thanh toan)", r"thanh tien", r"don gia", r"tien mat",
                                   r"hoa don", r"thue gtgt|\(vat\)|vat\s*\d", r"so luong|\bsl\b",
                                   r"tien thua|tien khach", r"cam on quy khach|xin cam on", r"ma (hang|hd)|\bmst\b",
                                   r"\bvnd\b")]


def _lines(text: str) -> list[str]:
    return [ln.strip() for ln in (text or "").splitlines() if ln.strip()]


def find_titles(text: str, top: int = 14) -> list[tuple[str, int, float]]:
    """Titles of known types in the head of the text: [(type, line_no, strength)]."""
    lines = _lines(text)[:top]
    out: list[tuple[str, int, float]] = []
    i = 0
    while i < len(lines):
        ln = lines[i]
        f = fold(ln)
        if NATIONAL_HEADER.search(f) and not any(r.search(f) for t, r in _TITLE_RE if t != "van_ban"):
            i += 1
            continue
        up = upper_ratio(ln)
        # join a title that wraps onto the next upper-case line(s)
        j = i
        if up >= 0.6:
            while j + 1 < len(lines) and upper_ratio(lines[j + 1]) >= 0.6 and len(f) < 160:
                j += 1
                f = f + " " + fold(lines[j])
        f = re.sub(r"\s*/\s*", " / ", f)
        best: tuple[int, str] | None = None
        for t, r in _TITLE_RE:
            m = r.search(f)
            if m and (best is None or m.start() < best[0]):
                best = (m.start(), t)
        strength = 0.0
        if best is not None:
            t = best[1]
            if up >= 0.6:
                strength = 3.0 if best[0] < 12 else 2.0
            elif best[0] == 0 and len(f.split()) <= 14:
                strength = 1.5 if t != "van_ban" else 1.0
            elif t == "cccd" and best[0] == 0:
                strength = 1.0
        elif up >= 0.6 and 2 <= len(f.split()) <= 20:
            # fuzzy: a garbled upper-case title
            # a line that is, as a whole, close to a title is that title ("GIAY CHUNG MINH NHAN
            # DAN" read with two letters wrong is not "giay chung tu" that its start resembles);
            # else a title found inside a longer line
            whole = sorted(((fuzz.ratio(s, f), len(s), t) for t, s in FUZZY_TITLES
                            if len(s) >= 15 and abs(len(f) - len(s)) <= 0.15 * len(s)), reverse=True)
            scored = sorted(((fuzz.partial_ratio(s, f), len(s), t) for t, s in FUZZY_TITLES
                             if len(f) >= len(s) - 2), reverse=True)
            strength = 2.0
            if whole and whole[0][0] >= 88:
                scored = [(100, *whole[0][1:])]
            elif whole and scored and scored[0][0] >= 88 and whole[0][0] >= 78 and whole[0][1] > scored[0][1]:
                scored, strength = [(100, *whole[0][1:])], 1.5  # closer as a whole to the longer title
            if scored and scored[0][0] >= 88:
                best = (0, scored[0][2])
            else:
                strength = 0.0
        if best is not None and strength > 0:
            out.append((best[1], i, strength))
        i = j + 1
    return out


def _scores(text: str) -> dict[str, float]:
    f = fold(text)
    scores = {t: 0.0 for t in TYPES}
    titles = find_titles(text)
    seen = set()
    for rank, (t, line_no, strength) in enumerate(titles):
        if t in seen:
            continue
        seen.add(t)
        # the first title found dominates; later ones (quoted document names) count less
        scores[t] += strength * (1.0 if rank == 0 else 0.35)
    fuzzy = _fuzzy_phrases(text)
    for t, kws in _KW_RE.items():
        s = 0.0
        for r, w in kws:
            n = len(r.findall(f))
            if n:
                s += w * min(n, 3 if t == "van_ban" else 1) ** 0.5
        s += fuzzy.get(t, 0.0)  # the headings read with slips (those read right count above)
        scores[t] += s * (0.35 if t != "van_ban" else 0.25)
    if _MRZ_ID.search(f):  # an ID card's machine-readable zone: the card itself
        scores["cccd"] += 1.5
    # the old CMND's front: most of its few labels together on a short text (a letter or a form
    # carries one or two of them among many words, or a title of its own)
    if len(f.split()) <= 80 and sum(bool(r.search(f)) for r in _CMND_LABELS) >= 3:
        scores["cccd"] += 0.5
    return scores


_CMND_LABELS = [re.compile(p) for p in (r"\bho\s*ten\b",) + CMND_FRONT_LABELS]
_MRZ_ID = re.compile(r"i[dl1]\s?vnm\s?[0-9o]{5,}|i[dl1]vnm.{0,40}<<")


def classify(text: str) -> tuple[str, float]:
    """(doc_type, confidence 0..1) for the text of one document (or one page)."""
    words = len((text or "").split())
    if words < 3:
        return "khac", 0.3
    scores = _scores(text)
    f = fold(text)
    if sum(1 for r in _TRADE if r.search(f)) >= 3 and not any(st >= 1.0 for _t, _i, st in find_titles(text)):
        return "khac", 0.6  # a receipt or an invoice: "other", never a civil document
    civil = {t: s for t, s in scores.items() if t not in ("van_ban", "khac")}
    best = max(civil, key=civil.get)
    second = sorted(civil.values())[-2]
    if civil[best] >= 1.0 and civil[best] >= scores["van_ban"] * 0.8:
        margin = civil[best] - max(second, scores["van_ban"] * 0.5)
        conf = min(0.99, 0.55 + 0.15 * civil[best] + 0.1 * max(0.0, margin))
        return best, round(max(0.5, conf), 4)
    vb = scores["van_ban"]
    if vb >= 0.6 or (words >= 60 and vb >= 0.3):
        conf = min(0.97, 0.5 + 0.15 * vb + (0.1 if words >= 80 else 0.0))
        return "van_ban", round(conf, 4)
    if civil[best] >= 0.6:
        return best, round(0.4 + 0.1 * civil[best], 4)
    return "khac", round(0.5 if words >= 20 else 0.35, 4)


def starts_document(text: str) -> bool:
    """True when the page carries a document title of a known type near its top."""
    return any(strength >= 1.5 for _t, _i, strength in find_titles(text, top=12))
