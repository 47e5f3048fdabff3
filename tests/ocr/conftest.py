"""Fixtures for the OCR tests: pages rendered here with PIL and a Debian font (no shared files)."""
from __future__ import annotations

import os
import unicodedata

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

FONT_CANDIDATES = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
    "/usr/share/fonts/truetype/noto/NotoSerif-Regular.ttf",
    "/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf",
    "/usr/share/fonts/truetype/freefont/FreeSerif.ttf",
]
FONT = next((f for f in FONT_CANDIDATES if os.path.exists(f)), None)
SANS = next((f for f in ["/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
                         "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"] if os.path.exists(f)), FONT)

PROSE = [
    "Ngày 28 tháng 12 năm 2023, Ủy ban nhân dân tỉnh tổ chức Hội nghị tổng kết",
    "công tác tiếp nhận và giải quyết thủ tục hành chính tại Bộ phận Một cửa",
    "các cấp trên địa bàn tỉnh. Dự Hội nghị có đại diện lãnh đạo các sở, ngành,",
    "Bảo hiểm xã hội tỉnh, Bưu điện tỉnh và lãnh đạo Ủy ban nhân dân các huyện.",
    "Công tác cải cách hành chính luôn nhận được sự quan tâm, chỉ đạo sát sao",
    "của Tỉnh ủy; việc số hóa hồ sơ, kết quả giải quyết thủ tục hành chính được",
    "triển khai đồng bộ, góp phần nâng cao chất lượng phục vụ người dân.",
]


def nfc(s: str) -> str:
    return unicodedata.normalize("NFC", s)


def render_lines(lines: list[str], *, font: str | None = None, pt: int = 13, dpi: int = 300,
                 width_in: float = 8.27, height_in: float | None = None, title_lines: int = 0) -> np.ndarray:
    """Grey page with the lines drawn at 300 dpi (titles centred)."""
    f = ImageFont.truetype(font or FONT, int(pt * dpi / 72))
    line_h = int(f.size * 1.5)
    W = int(width_in * dpi)
    H = int(height_in * dpi) if height_in else int(0.6 * dpi) * 2 + line_h * len(lines)
    img = Image.new("L", (W, H), 255)
    d = ImageDraw.Draw(img)
    y = int(0.6 * dpi)
    for i, ln in enumerate(lines):
        x = (W - d.textlength(ln, font=f)) / 2 if i < title_lines else int(0.8 * dpi)
        d.text((x, y), nfc(ln), font=f, fill=20)
        y += line_h
    return np.array(img)


def scan(a: np.ndarray, angle: float = 0.0, noise: float = 4.0, seed: int = 0) -> np.ndarray:
    """Rotate (cv2 convention, degrees) and add a little noise like a flatbed scan."""
    rng = np.random.default_rng(seed)
    h, w = a.shape
    M = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    if abs(angle) in (180.0,):
        out = a[::-1, ::-1].copy()
        M = cv2.getRotationMatrix2D((w / 2, h / 2), 0.0, 1.0)
        a = out
        angle = 0.0
    b = cv2.warpAffine(a, M, (w, h), borderValue=255) if angle else a
    b = np.clip(b.astype(np.float32) + rng.normal(0, noise, b.shape), 0, 255).astype(np.uint8)
    return b


def save(a: np.ndarray, path, dpi: int = 300) -> str:
    Image.fromarray(a).save(str(path), dpi=(dpi, dpi))
    return str(path)


@pytest.fixture(scope="session")
def prose_png(tmp_path_factory) -> tuple[str, str]:
    """A Vietnamese prose page skewed by 2.5 degrees, and its ground truth."""
    d = tmp_path_factory.mktemp("prose")
    a = scan(render_lines(PROSE), angle=2.5, seed=1)
    return save(a, d / "prose.png"), "\n".join(PROSE)


@pytest.fixture(scope="session")
def prose_result(prose_png):
    import ocr

    return ocr.read_page(prose_png[0], 0)
