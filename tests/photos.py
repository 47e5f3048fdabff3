"""Photo mode for the test fixtures: ID cards and pages as a counter really receives them — a
phone photo of a card on a table (perspective, background, shadow, glare, blur, JPEG quality
40–70, low resolution), both sides of a card on one A4 sheet, a whole page photographed small;
chip-card fronts with their QR code, backs with an ICAO 9303 TD1 machine-readable zone, the old
9-digit CMND and the 2024 "CĂN CƯỚC" card. Everything is drawn here (PIL + Debian fonts), no
shared files; deterministic per seed.
"""
from __future__ import annotations

import io
import math
import random
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from sohoa.dev import samples
from vocab.identifiers import card_expiry_by_law

MONO = next((f for f in ("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
                         "/usr/share/fonts/truetype/liberation2/LiberationMono-Regular.ttf",
                         "/usr/share/fonts/truetype/freefont/FreeMono.ttf") if Path(f).exists()), None)
SANS = next((f for f in ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
                         "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf") if Path(f).exists()), None)
ITALIC = next((f for f in ("/usr/share/fonts/truetype/dejavu/DejaVuSans-Oblique.ttf",) if Path(f).exists()), SANS)
BOLD = next((f for f in ("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",) if Path(f).exists()), SANS)

CARD_W, CARD_H = 1012, 638  # px: an ID-1 card (85.6 × 54 mm) at 300 dpi


# --------------------------------------------------------------------------- MRZ

def _cd(s: str) -> str:
    w = (7, 3, 1)
    v = lambda c: int(c) if c.isdigit() else (ord(c) - 55 if c.isalpha() else 0)  # noqa: E731
    return str(sum(v(c) * w[i % 3] for i, c in enumerate(s)) % 10)


def _ascii(s: str) -> str:
    import unicodedata

    s = unicodedata.normalize("NFD", s.replace("Đ", "D").replace("đ", "d"))
    return "".join(c for c in s if unicodedata.category(c) != "Mn").upper()


def td1(p: samples.Person, expiry: str) -> list[str]:
    """The three 30-character lines of a Vietnamese chip card's MRZ (check digits computed)."""
    d, m, y = p.dob.split("/")
    ed, em, ey = expiry.split("/")
    docnum = p.pid[3:]
    l1 = ("IDVNM" + docnum + _cd(docnum) + p.pid + "<<<")[:30].ljust(30, "<")
    birth, exp = y[2:] + m + d, ey[2:] + em + ed
    sex = "M" if p.sex == "Nam" else "F"
    l2 = birth + _cd(birth) + sex + exp + _cd(exp) + "VNM" + "<" * 11
    l2 = l2 + _cd(l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29])
    parts = _ascii(p.name).split()
    l3 = (parts[0] + "<<" + "<".join(parts[1:]))[:30].ljust(30, "<")
    return [l1, l2, l3]


# --------------------------------------------------------------------------- cards

def _guilloche(img: Image.Image, rng: random.Random, colour: tuple[int, int, int]) -> None:
    d = ImageDraw.Draw(img)
    w, h = img.size
    cx, cy = w * rng.uniform(0.45, 0.6), h * rng.uniform(0.45, 0.6)
    for r in range(20, int(max(w, h) * 0.7), 9):
        d.ellipse((cx - r, cy - r * 0.7, cx + r, cy + r * 0.7), outline=colour, width=1)


def _qr(payload: str, side: int) -> Image.Image:
    import qrcode

    q = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_M)
    q.add_data(payload)
    q.make(fit=True)
    return q.make_image(fill_color="black", back_color="white").convert("RGB").resize((side, side), Image.NEAREST)


ISSUED = "10/07/2021"  # the cards' issue date, in their QR


def qr_payload(p: samples.Person, old_id: str = "", issued: str = ISSUED) -> str:
    return "|".join([p.pid, old_id, p.name, p.dob.replace("/", ""), p.sex, "Xã Bản Bo, Tam Đường, Lai Châu",
                     issued.replace("/", "")])


def _hatch(img: Image.Image, colour: tuple[int, int, int], step: int) -> None:
    """A dense cross-hatched security print over the whole card (the old CMND's green pattern)."""
    d = ImageDraw.Draw(img)
    w, h = img.size
    for k in range(-h, w, step):
        d.line((k, 0, k + h, h), fill=colour, width=1)
        d.line((k + h, 0, k, h), fill=colour, width=1)


def card_front(p: samples.Person, *, kind: str = "cccd", expiry: str | None = None, old_id: str = "",
               qr: bool = True, seed: int = 0, hatch: tuple[tuple[int, int, int], int] | None = None,
               issued: str = ISSUED, number_band: bool = False, expiry_under: bool = False) -> Image.Image:
    """A card's front in colour. kind: 'cccd' (chip card 2021), 'cancuoc' (2024 model), 'cmnd'
    (old 9-digit card: ``p.pid`` is then the 9-digit number, no QR). ``hatch``: (colour, step) of
    a dense security print under the text. ``expiry`` defaults to the one the law gives a card
    issued on ``issued`` (the date its QR carries), as on a real card. ``number_band``: the old
    card's number as it is printed: close after a small "Số", in a larger face, followed by a band
    of red hatching to the card's edge. ``expiry_under``: the expiry printed as on the chip card,
    under its photo: a small label with its English line under it ("Date of expiry"), the date
    in a larger face beside the label's line."""
    rng = random.Random(seed)
    expiry = expiry or card_expiry_by_law(p.dob, issued)
    bg = {"cccd": (214, 232, 240), "cancuoc": (222, 236, 246), "cmnd": (206, 232, 210)}[kind]
    img = Image.new("RGB", (CARD_W, CARD_H), bg)
    _guilloche(img, rng, tuple(max(0, c - 28) for c in bg))
    if hatch:
        _hatch(img, *hatch)
    d = ImageDraw.Draw(img)
    f = lambda s, b=False: ImageFont.truetype(BOLD if b else SANS, s)  # noqa: E731
    d.text((150, 24), "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", font=f(27, True), fill=(30, 30, 30))
    d.text((260, 60), "Độc lập - Tự do - Hạnh phúc", font=f(25, True), fill=(30, 30, 30))
    title = {"cccd": "CĂN CƯỚC CÔNG DÂN", "cancuoc": "CĂN CƯỚC", "cmnd": "GIẤY CHỨNG MINH NHÂN DÂN"}[kind]
    d.text((300, 112), title, font=f(40, True), fill=(200, 30, 30))
    d.rectangle((40, 190, 250, 450), fill=(170, 180, 190))  # the photo
    y = 190
    rows = [(f"Số / No.: {p.pid}" if kind != "cmnd" else f"Số: {p.pid}", 38, True),
            ("Họ và tên / Full name:" if kind != "cmnd" else "Họ tên:", 24, False),
            (p.name.upper(), 34, True),
            (f"Ngày sinh / Date of birth: {p.dob}" if kind != "cmnd" else f"Sinh ngày: {p.dob}", 26, False),
            (f"Giới tính / Sex: {p.sex}   Quốc tịch / Nationality: Việt Nam", 24, False),
            ("Quê quán / Place of origin: Tam Đường, Lai Châu", 24, False),
            ("Nơi thường trú / Place of residence: Bản Bo, Lai Châu", 24, False)]
    if number_band:
        d.text((280, y + 10), "Số", font=f(26), fill=(25, 25, 25))
        x0 = 280 + int(d.textlength("Số", font=f(26))) + 2
        d.text((x0, y), p.pid, font=f(40, True), fill=(25, 25, 25))
        x1 = x0 + int(d.textlength(p.pid, font=f(40, True)))
        for k in range(x1, CARD_W - 30, 4):  # the red hatched band right after the number
            d.line((k, y + 46, k + 10, y + 4), fill=(170, 50, 50), width=3)
        rows = rows[1:]
        y += int(38 * 1.45)
    for text, size, bold in rows:
        d.text((280, y), text, font=f(size, bold), fill=(25, 25, 25))
        y += int(size * 1.45)
    if kind != "cmnd" and expiry_under:
        d.text((40, 562), "Có giá trị đến:", font=f(15, True), fill=(25, 25, 25))
        d.text((40, 581), "Date of expiry", font=ImageFont.truetype(ITALIC, 13), fill=(60, 60, 60))
        d.text((40 + int(d.textlength("Có giá trị đến:", font=f(15, True))) + 4, 560), expiry, font=f(21),
               fill=(25, 25, 25))
    elif kind != "cmnd":
        d.text((40, 560), f"Có giá trị đến: {expiry}", font=f(22), fill=(25, 25, 25))
    if qr and kind != "cmnd":
        img.paste(_qr(qr_payload(p, old_id, issued), 150), (CARD_W - 185, 20))
    return img


def card_back(p: samples.Person, *, expiry: str = "15/08/2038", damaged: bool = False, seed: int = 0) -> Image.Image:
    """A chip card's back: identification marks, issuing date, and the TD1 MRZ (OCR-B-like
    monospace). ``damaged`` scratches one character of the zone's name line."""
    rng = random.Random(seed)
    img = Image.new("RGB", (CARD_W, CARD_H), (226, 236, 242))
    _guilloche(img, rng, (200, 212, 222))
    d = ImageDraw.Draw(img)
    f = ImageFont.truetype(SANS, 24)
    d.text((40, 40), "Đặc điểm nhân dạng / Personal identification:", font=f, fill=(25, 25, 25))
    d.text((40, 80), "Nốt ruồi cách 2 cm dưới mép phải", font=f, fill=(25, 25, 25))
    d.text((40, 130), "Ngày, tháng, năm / Date, month, year: 10/07/2021", font=f, fill=(25, 25, 25))
    d.text((40, 170), "CỤC TRƯỞNG CỤC CẢNH SÁT QUẢN LÝ HÀNH CHÍNH", font=f, fill=(25, 25, 25))
    d.text((40, 210), "VỀ TRẬT TỰ XÃ HỘI", font=f, fill=(25, 25, 25))
    d.rectangle((0, 420, CARD_W, CARD_H), fill=(244, 246, 248))
    mono = ImageFont.truetype(MONO, 46)
    y = 440
    for ln in td1(p, expiry):
        d.text((36, y), ln, font=mono, fill=(20, 20, 20))
        y += 62
    if damaged:
        d.line((600, y - 50, 640, y - 20), fill=(240, 240, 240), width=5)
    return img


# --------------------------------------------------------------------------- photographing

def _table(w: int, h: int, rng: random.Random) -> np.ndarray:
    """A wooden table or a hand-ish skin tone with grain."""
    base = np.array(rng.choice([(120, 80, 50), (150, 105, 70), (190, 150, 120), (90, 70, 60)]), np.float32)
    ys = np.arange(h, dtype=np.float32)[:, None]
    grain = 18 * np.sin(ys / rng.uniform(6, 14) + np.sin(np.arange(w, dtype=np.float32)[None, :] / 90) * 3)
    a = base[None, None, :] + grain[..., None]
    return np.clip(a, 0, 255).astype(np.uint8)


def photograph(img: Image.Image, *, seed: int = 0, out_long: int = 1280, tilt: float = 0.08, blur: float = 0.8,
               shadow: bool = True, glare: bool | float = True, quality: int = 55, margin: float = 0.18) -> Image.Image:
    """``img`` photographed with a phone: on a table, in perspective, with a shadow over part of
    it, a glare spot, a little blur, at ``out_long`` px on the long side, JPEG ``quality``.
    ``glare``: True for a mild spot (+70), a number for its strength (160 blows the card out)."""
    rng = random.Random(seed)
    src = np.asarray(img.convert("RGB"))[..., ::-1]
    h, w = src.shape[:2]
    W, H = int(w * (1 + 2 * margin)), int(h * (1 + 2 * margin))
    out = np.ascontiguousarray(_table(W, H, rng)[..., ::-1])
    ox, oy = (W - w) / 2, (H - h) / 2
    j = lambda: rng.uniform(-tilt, tilt) * min(w, h)  # noqa: E731
    dst = np.float32([[ox + j(), oy + j()], [ox + w + j(), oy + j()], [ox + w + j(), oy + h + j()], [ox + j(), oy + h + j()]])
    M = cv2.getPerspectiveTransform(np.float32([[0, 0], [w, 0], [w, h], [0, h]]), dst)
    warped = cv2.warpPerspective(src, M, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_TRANSPARENT,
                                 dst=out.copy())
    a = warped.astype(np.float32)
    if shadow:  # a soft shadow across one side
        xs = np.linspace(0, 1, W, dtype=np.float32)[None, :]
        edge = rng.uniform(0.3, 0.6)
        a *= (1 - 0.35 / (1 + np.exp(-(xs - edge) * 14)))[..., None]
    if glare:
        gx, gy, r = rng.uniform(0.3, 0.7) * W, rng.uniform(0.2, 0.5) * H, 0.12 * min(W, H)
        yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
        a += (70.0 if glare is True else float(glare)) * np.exp(-((xx - gx) ** 2 + (yy - gy) ** 2) / (2 * r * r))[..., None]
    a = np.clip(a, 0, 255).astype(np.uint8)
    if blur:
        a = cv2.GaussianBlur(a, (0, 0), blur)
    s = out_long / max(W, H)
    a = cv2.resize(a, (int(W * s), int(H * s)), interpolation=cv2.INTER_AREA)
    buf = io.BytesIO()
    Image.fromarray(a[..., ::-1]).save(buf, "JPEG", quality=quality)  # no dpi recorded: a phone photo
    return Image.open(io.BytesIO(buf.getvalue()))


def a4_both_sides(front: Image.Image, back: Image.Image, *, seed: int = 0) -> Image.Image:
    """Both sides of a card photocopied onto one A4 sheet (300 dpi, grey), front above back."""
    rng = random.Random(seed)
    page = Image.new("L", (2480, 3508), 250)
    x = int(rng.uniform(500, 800))
    page.paste(front.convert("L"), (x, int(rng.uniform(300, 500))))
    page.paste(back.convert("L"), (x + int(rng.uniform(-40, 40)), int(rng.uniform(1400, 1700))))
    return samples.degrade(page, angle=rng.uniform(-1.5, 1.5), noise=5, seed=seed)


def small_page_photo(lines: list[str], *, seed: int = 0, out_long: int = 1000, quality: int = 60) -> Image.Image:
    """A whole A4 page photographed from afar (x-height of 6–8 px), as social media passes it on."""
    page = samples.render_page(lines, font_index=seed).convert("RGB")
    return photograph(page, seed=seed, out_long=out_long, tilt=0.0, blur=0.0, shadow=False, glare=False,
                      quality=quality, margin=0.02)


def save(img: Image.Image, path: Path) -> str:
    """As a phone writes it: JPEG without a resolution."""
    img.convert("RGB").save(path, "JPEG", quality=92)
    return str(path)


# --------------------------------------------------------------------------- handwriting

def scribble(rng: random.Random, width: int, height: int) -> Image.Image:
    """A word written by hand, as OCR meets it: a cursive line of joined loops and strokes, some
    rising to ascender height, the pen's width and the baseline wavering (no letters: what a
    print recognizer cannot read)."""
    img = Image.new("L", (width + 20, height * 2), 255)
    d = ImageDraw.Draw(img)
    x, base, pts = 6.0, height * 1.3, []
    while x < width:
        h = height * (rng.uniform(0.45, 0.6) if rng.random() < 0.7 else rng.uniform(0.9, 1.2))
        w = height * rng.uniform(0.3, 0.55)
        for k in range(11):
            t = k / 10
            pts.append((x + w * t + math.sin(t * math.pi) * w * 0.25,
                        base - h * math.sin(t * math.pi) + rng.uniform(-1, 1)))
        x += w
    d.line(pts, fill=rng.randint(30, 70), width=max(2, height // 9 + rng.randint(-1, 1)), joint="curve")
    return img


FORM_LABELS = ("Họ, chữ đệm, tên người yêu cầu:", "Nơi cư trú:", "Số định danh cá nhân:",
               "Quan hệ với người được cấp bản sao:", "Ngày, tháng, năm sinh:", "Lý do đề nghị cấp bản sao:")


def form_filled(*, by_hand: bool, seed: int = 0) -> Image.Image:
    """A request form (tờ khai) at 300 dpi: its title and labels printed, each answer written by
    hand (``by_hand``) or typed."""
    rng = random.Random(seed)
    page = Image.new("L", (2480, 1900), 255)
    d = ImageDraw.Draw(page)
    font, title = ImageFont.truetype(SANS, 44), ImageFont.truetype(BOLD, 56)
    head = "TỜ KHAI YÊU CẦU CẤP BẢN SAO TRÍCH LỤC"
    d.text(((2480 - d.textlength(head, font=title)) / 2, 90), head, font=title, fill=15)
    answers = ("Nguyễn Thị Mai Hương", "Số 12 đường Lê Lợi, phường Bến Thành", "079178004567",
               "Mẹ đẻ của người được cấp", "30/11/1978", "Bổ sung hồ sơ đăng ký thường trú")
    y = 260
    for label, answer in zip(FORM_LABELS, answers):
        d.text((150, y), label, font=font, fill=20)
        x = 150 + int(d.textlength(label, font=font)) + 30
        if not by_hand:
            d.text((x, y), answer, font=font, fill=30)
        else:
            for _ in range(max(2, len(answer.split()))):
                wlen = rng.randint(110, 260)
                if x + wlen > 2350:
                    break
                s = scribble(rng, wlen, 50)
                page.paste(s, (x, y - 40), mask=Image.eval(s, lambda v: 255 - v))
                x += wlen + rng.randint(30, 60)
        y += 230
    d.text((150, y + 60), "Tôi cam đoan những nội dung khai trên đây là đúng sự thật.", font=font, fill=20)
    return page
