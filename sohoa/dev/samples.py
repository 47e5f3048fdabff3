"""Sample scans for the demo and the tests: Vietnamese civil documents rendered with a Debian font
and degraded like a 300 dpi office scan, and receipts rasterized as a scanner would see them.

Nothing here reads ../shared: a fresh machine makes its own samples.
"""
from __future__ import annotations

import io
import random
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONTS = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
    "/usr/share/fonts/truetype/noto/NotoSerif-Regular.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
    "/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf",
]
HEADER = ["#CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "#Độc lập - Tự do - Hạnh phúc"]


@dataclass(frozen=True)
class Person:
    name: str
    pid: str
    dob: str  # dd/mm/yyyy
    sex: str = "Nam"


def font_path(i: int = 0) -> str:
    have = [f for f in FONTS if Path(f).exists()]
    if not have:
        raise RuntimeError("no Vietnamese-capable font: install fonts-dejavu-core or fonts-noto-core")
    return have[i % len(have)]


def birth_certificate(child: Person, so: str = "125") -> list[list[str]]:
    """Two pages: the certificate, and a continuation page without a title."""
    p1 = HEADER + ["#GIẤY KHAI SINH", f"Số: {so}",
                   f"Họ, chữ đệm, tên: {child.name.upper()}",
                   f"Ngày, tháng, năm sinh: {child.dob}",
                   f"Giới tính: {child.sex}   Dân tộc: Kinh   Quốc tịch: Việt Nam",
                   "Nơi sinh: Trạm Y tế xã Tân Phong, tỉnh Lai Châu",
                   "Quê quán: xã Bản Bo, tỉnh Lai Châu",
                   f"Số định danh cá nhân: {child.pid}"]
    p2 = ["Họ, chữ đệm, tên người mẹ: TRẦN THỊ HOA   Năm sinh: 1990",
          "Dân tộc: Kinh   Quốc tịch: Việt Nam",
          "Nơi cư trú: xã Bản Bo, tỉnh Lai Châu",
          "Họ, chữ đệm, tên người cha: NGUYỄN VĂN AN   Năm sinh: 1988",
          "Dân tộc: Kinh   Quốc tịch: Việt Nam",
          "Nơi cư trú: xã Bản Bo, tỉnh Lai Châu",
          "Nơi đăng ký: Ủy ban nhân dân xã Bản Bo",
          "Ngày, tháng, năm đăng ký: 12/03/2024",
          "Người thực hiện: Lò Văn Sơn, công chức tư pháp - hộ tịch"]
    return [p1, p2]


def marital_status(p: Person, so: str = "45/2024/XNTTHN") -> list[str]:
    """One page: Giấy xác nhận tình trạng hôn nhân (a result of a civil-status procedure)."""
    return HEADER + ["#GIẤY XÁC NHẬN TÌNH TRẠNG HÔN NHÂN", f"Số: {so}",
                     "Xét đề nghị của Ông/Bà về việc xác nhận tình trạng hôn nhân,",
                     "ỦY BAN NHÂN DÂN XÃ BẢN BO XÁC NHẬN:",
                     f"Họ, chữ đệm, tên: {p.name.upper()}",
                     f"Ngày, tháng, năm sinh: {p.dob}   Giới tính: {p.sex}",
                     f"Số định danh cá nhân: {p.pid}",
                     "Nơi cư trú: xã Bản Bo, tỉnh Lai Châu",
                     "Tình trạng hôn nhân: Hiện tại chưa đăng ký kết hôn với ai.",
                     "Mục đích sử dụng: Làm thủ tục đăng ký kết hôn.",
                     "Giấy này có giá trị sử dụng trong thời hạn 6 tháng."]


def id_card(p: Person, expiry: str = "15/08/2038") -> list[str]:
    return HEADER + ["#CĂN CƯỚC CÔNG DÂN", f"Số / No.: {p.pid}",
                     f"Họ và tên / Full name: {p.name.upper()}",
                     f"Ngày sinh / Date of birth: {p.dob}",
                     f"Giới tính / Sex: {p.sex}   Quốc tịch / Nationality: Việt Nam",
                     "Quê quán / Place of origin: xã Bản Bo, tỉnh Lai Châu",
                     "Nơi thường trú / Place of residence: phường Tân Phong, tỉnh Lai Châu",
                     f"Có giá trị đến / Date of expiry: {expiry}"]


def render_page(lines: list[str], *, card: bool = False, dpi: int = 300, font_index: int = 0) -> Image.Image:
    """Lines starting with '#' are centred titles."""
    fp = font_path(font_index)
    pt = 11 if card else 13
    size = int(pt * dpi / 72)
    W, H = (int(3.37 * dpi * 1.6), int(2.13 * dpi * 1.9)) if card else (int(8.27 * dpi), int(11.69 * dpi))
    img = Image.new("L", (W, H), 255)
    d = ImageDraw.Draw(img)
    y = int(0.25 * dpi if card else 0.9 * dpi)
    x0 = int(0.2 * dpi if card else 1.0 * dpi)
    for ln in lines:
        title = ln.startswith("#")
        f = ImageFont.truetype(fp, int(size * (1.15 if title else 1.0)))
        text = ln.lstrip("#")
        x = (W - d.textlength(text, font=f)) / 2 if title else x0
        d.text((x, y), text, font=f, fill=20)
        y += int(f.size * 1.5)
    return img


def degrade(img: Image.Image, *, angle: float = 0.0, noise: float = 6.0, seed: int = 0) -> Image.Image:
    import cv2

    rng = np.random.default_rng(seed)
    a = np.asarray(img, dtype=np.float32) + rng.normal(0, noise, (img.height, img.width))
    a = np.clip(a, 0, 255).astype(np.uint8)
    if angle:
        h, w = a.shape
        m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        a = cv2.warpAffine(a, m, (w, h), borderValue=255)
    return Image.fromarray(a)


def rasterize_pdf(pdf: bytes, dpi: int = 300) -> list[Image.Image]:
    """Pages of a PDF as a scanner would deliver them (poppler's pdftoppm)."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.pdf"
        src.write_bytes(pdf)
        subprocess.run(["pdftoppm", "-r", str(dpi), "-gray", "-png", str(src), str(Path(tmp) / "p")],
                       check=True, capture_output=True)
        pages = sorted(Path(tmp).glob("p*.png"))
        return [Image.open(p).copy() for p in pages]


def save_jpeg(img: Image.Image, path: Path, quality: int = 85) -> None:
    img.convert("L").save(path, "JPEG", quality=quality, dpi=(300, 300))


def images_to_pdf(images: list[Image.Image]) -> bytes:
    """A multi-page image PDF, the way scanner software writes one (JPEG per page)."""
    buf = io.BytesIO()
    first, *rest = [im.convert("L") for im in images]
    first.save(buf, "PDF", resolution=300, save_all=True, append_images=rest, quality=85)
    return buf.getvalue()


def write_slowly(data: bytes, path: Path, *, chunks: int = 5, pause: float = 0.3) -> None:
    """Write a file in pieces with pauses, like a scanner saving over the network."""
    step = max(1, len(data) // chunks)
    with open(path, "wb") as fh:
        for i in range(0, len(data), step):
            fh.write(data[i:i + step])
            fh.flush()
            import time

            time.sleep(pause)


def demo_people(seed: int = 1) -> tuple[Person, Person]:
    rnd = random.Random(seed)
    parent = Person("Nguyễn Văn An", f"012088{rnd.randrange(10**6):06d}", "07/05/1988", "Nam")
    child = Person("Nguyễn Thị Mai", f"012324{rnd.randrange(10**6):06d}", "02/03/2024", "Nữ")
    return parent, child
