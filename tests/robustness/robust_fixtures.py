"""Files that real scanners, mail programs and old Vietnamese office software produce, made here
(no shared files): PDFs with data after %%EOF, attachments-only and certificate encryption,
TCVN3/VNI legacy-font text layers, a byte-swapped UTF-16 text layer, TIFFs written page by page,
upright pages that fool a fast orientation test."""
from __future__ import annotations

import datetime as dt
import io
import re
import subprocess
import unicodedata
from pathlib import Path

import numpy as np
import pikepdf
import pytest
from PIL import Image, ImageDraw, ImageFont

SANS = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
SERIF = "/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf"

VN_LINES = [
    "Cộng hòa xã hội chủ nghĩa Việt Nam",
    "Độc lập - Tự do - Hạnh phúc",
    "Ủy ban nhân dân tỉnh tổ chức hội nghị tổng kết công tác",
    "tiếp nhận và giải quyết thủ tục hành chính tại bộ phận một cửa",
    "các cấp trên địa bàn tỉnh năm hai nghìn không trăm hai mươi ba.",
    "Việc số hóa hồ sơ được triển khai đồng bộ ở tất cả các xã.",
]


def text_pdf(lines: list[str], font: str = "Helvetica", ttf: str | None = None) -> bytes:
    """A born-digital A4 page with ``lines`` drawn by reportlab (a TTF embeds with a ToUnicode map)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    if ttf:
        pdfmetrics.registerFont(TTFont("Embedded", ttf))
        font = "Embedded"
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(595, 842), invariant=True)
    c.setFont(font, 14)
    for i, ln in enumerate(lines):
        c.drawString(60, 780 - 26 * i, ln)
    c.save()
    return buf.getvalue()


# -- legacy encodings: Unicode text → the bytes a .VnTime / VNI-Times document stores, as Latin-1

def to_tcvn3(text: str) -> str:
    """What a TCVN3 (ABC) document stores: capitals with tones come from the .VnTimeH font, which
    draws the lower-case codes as capitals."""
    from ocr.language import _TCVN3

    inv = {u: b for b, u in _TCVN3.items()}
    out = []
    for ch in unicodedata.normalize("NFC", text):
        if ch in inv:
            out.append(inv[ch])
        elif ch.lower() in inv and ch.lower() != ch:
            out.append(inv[ch.lower()])
        else:
            out.append(ch)
    return "".join(out)


def to_vni(text: str) -> str:
    """What a VNI-Times document stores: the base letter, then a mark byte."""
    from ocr.language import _VNI_BREVE, _VNI_CIRC, _VNI_SINGLE, _VNI_TONE

    tone_of = {v: k for k, v in _VNI_TONE.items()}
    circ_of = {v: k for k, v in _VNI_CIRC.items()}
    breve_of = {v: k for k, v in _VNI_BREVE.items()}
    single_of = {v: k for k, v in _VNI_SINGLE.items()}
    out = []
    for ch in unicodedata.normalize("NFC", text):
        up = ch.isupper()
        low = ch.lower()
        if low in single_of:
            s = single_of[low]
            out.append(s.upper() if up else s)
            continue
        d = unicodedata.normalize("NFD", low)
        base, marks = d[0], d[1:]
        tone = next((m for m in marks if m in "\u0300\u0301\u0303\u0309\u0323"), "")
        if "\u031b" in marks:  # horn: ơ ư have bytes of their own
            b = single_of["ơ" if base == "o" else "ư"] + tone_of.get(tone, "")
        elif "\u0302" in marks:
            b = base + circ_of[tone]
        elif "\u0306" in marks:
            b = base + breve_of[tone]
        elif tone:
            b = base + tone_of[tone]
        else:
            b = ch
            out.append(b)
            continue
        out.append(b.upper() if up else b)
    return "".join(out)


def swap_tounicode(pdf_bytes: bytes) -> bytes:
    """Byte-swap every destination of the fonts' ToUnicode maps (U+0041 → U+4100), the way
    OCRmyPDF's cmyk.pdf extracts: a text layer of CJK-looking garbage over a readable page."""
    pdf = pikepdf.open(io.BytesIO(pdf_bytes))
    for _name, font in pdf.pages[0].Resources.Font.items():
        if "/ToUnicode" not in font:
            continue
        cmap = font.ToUnicode.read_bytes().decode("latin-1")
        cmap = re.sub(r"(<[0-9A-Fa-f]{2}>\s*)<([0-9A-Fa-f]{2})([0-9A-Fa-f]{2})>",
                      lambda m: f"{m.group(1)}<{m.group(3)}{m.group(2)}>", cmap)
        font.ToUnicode = pdf.make_stream(cmap.encode("latin-1"))
    buf = io.BytesIO()
    pdf.save(buf)
    return buf.getvalue()


# -- encryption

def attachments_only_encrypted(path: Path) -> None:
    """A readable page whose only encrypted part is an attachment (/StmF /Identity, /EFF)."""
    from pyhanko.pdf_utils import crypt, embed, generic, writer
    from pyhanko.pdf_utils.reader import PdfFileReader

    r = PdfFileReader(io.BytesIO(text_pdf(["Ket qua giai quyet thu tuc hanh chinh nam 2023",
                                           "tai Bo phan Mot cua cac cap tren dia ban tinh"])))
    w = writer.copy_into_new_writer(r)
    N = generic.NameObject
    cfc = crypt.CryptFilterConfiguration({N("/EFFCF"): crypt.StandardAESCryptFilter(keylen=32)},
                                         default_stream_filter=N("/Identity"), default_string_filter=N("/Identity"),
                                         default_file_filter=N("/EFFCF"))
    w._assign_security_handler(crypt.StandardSecurityHandler.build_from_pw("owner", "secret", crypt_filter_config=cfc,
                                                                          pdf_mac=False))
    ef = embed.EmbeddedFileObject.from_file_data(w, b"phu luc", mime_type="text/plain")
    embed.embed_file(w, embed.FileSpec(file_spec_string="phuluc.txt", embedded_data=ef))
    with open(path, "wb") as fh:
        w.write(fh)


def certificate_encrypted(path: Path) -> None:
    """A PDF encrypted for the holder of a certificate (public-key security, /Adobe.PubSec)."""
    from asn1crypto import x509 as asn1_x509
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID
    from pyhanko.pdf_utils import crypt, writer
    from pyhanko.pdf_utils.reader import PdfFileReader

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Can bo mot cua")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.KeyUsage(True, False, True, False, False, False, False, False, False), critical=True)
            .sign(key, hashes.SHA256()))
    a1 = asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    w = writer.copy_into_new_writer(PdfFileReader(io.BytesIO(text_pdf(["Van ban mat"]))))
    w._assign_security_handler(crypt.PubKeySecurityHandler.build_from_certs([a1], pdf_mac=False))
    with open(path, "wb") as fh:
        w.write(fh)


# -- pages

def descender_page(path: Path, upside_down: bool = False) -> None:
    """An upright A4 page of 12 lines of Vietnamese typed without diacritics and rich in
    descenders (g, p, q, y): more ink below the letters' core than above it, the opposite of
    ordinary Vietnamese print, so a fast ink-balance test is sure it is upside down."""
    lines = ["quang ngai yen my gia nghia quy nhon", "ong vuong sang quy ong cung ngay", "nguyen quang vy gap nguoi quen",
             "anh em ra may nuoc song yeu nuoc", "ngay qua ngay gap nguy ngap", "ra suoi gieo ngo vuon cay",
             "su nghiep quy giao suc ung pho", "quyen yeu cau giay cong nghe", "may ngay sau gap ong nguyen van",
             "xa quang uyen yen my vung gia", "rang ngay mai ong se goi ve", "nguoi ngu ngay qua song gieo"]
    f = ImageFont.truetype(SERIF, 50)
    im = Image.new("L", (2480, 3508), 255)
    d = ImageDraw.Draw(im)
    for i, ln in enumerate(lines):
        d.text((240, 300 + 110 * i), ln, font=f, fill=20)
    a = np.asarray(im)
    if upside_down:
        a = np.ascontiguousarray(a[::-1, ::-1])
    Image.fromarray(a).save(path, dpi=(300, 300))


def tiff_frames(n: int, size: tuple[int, int] = (400, 560)) -> list[Image.Image]:
    out = []
    for k in range(n):
        im = Image.new("L", size, 255)
        ImageDraw.Draw(im).text((40, 40 + 30 * k), f"Trang {k + 1}", fill=0)
        out.append(im)
    return out


def chattr(flag: str, path) -> None:
    """Set or clear the immutable flag (``+i``/``-i``): the one way to make a file that even root
    cannot move. The case under test needs it, so a file system without the flag fails the test
    (run the suite on ext4/xfs/btrfs, as CI does) instead of skipping it."""
    r = subprocess.run(["chattr", flag, str(path)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.fail(f"chattr {flag} failed: this file system has no immutable flag ({r.stderr.strip()}); "
                    "run these tests on ext4, xfs or btrfs")
