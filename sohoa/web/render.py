"""Page images for the browser: a stored PDF's page rendered to PNG by poppler's pdftoppm, cached
under ``$SOHOA_HOME/cache/pages/<sha256>/`` (the store is content-addressed, so a cached image
never goes stale)."""
from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from vocab.errors import NotFound, Unavailable

__all__ = ["page_png", "file_preview_png", "preview", "IMAGE_TYPES"]


def _render(pdf: Path, page: int, dpi: int, dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
        base = Path(tmp) / "p"
        try:
            subprocess.run(["pdftoppm", "-png", "-r", str(dpi), "-f", str(page), "-l", str(page), "-singlefile",
                            str(pdf), str(base)], check=True, capture_output=True, timeout=60)
        except FileNotFoundError as exc:
            raise Unavailable("Máy chủ thiếu pdftoppm (gói poppler-utils) để hiển thị trang.") from exc
        except subprocess.CalledProcessError as exc:
            raise NotFound(f"Không hiển thị được trang {page}.", detail=exc.stderr.decode(errors="replace")) from exc
        os.replace(base.with_suffix(".png"), dest)
    return dest


def page_png(store_path: Path, sha256: str, page: int, cache_dir: Path, dpi: int = 90) -> Path:
    dest = cache_dir / sha256[:2] / sha256 / f"{page}-{dpi}.png"
    if dest.is_file():
        return dest
    if not store_path.is_file():
        raise NotFound("Tệp của văn bản không có trong kho.")
    return _render(store_path, page, dpi, dest)


IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}


def preview(path: Path, cache_dir: Path, key: str, dpi: int = 60) -> tuple[Path, str] | None:
    """What to send the browser for a file outside the store (quarantine, a backlog source): a PNG
    or JPEG as it is, else its first page rendered; None when it cannot be shown."""
    kind = IMAGE_TYPES.get(path.suffix.lower())
    if kind is not None:
        return path, kind
    png = file_preview_png(path, cache_dir, key, dpi)
    return (png, "image/png") if png is not None else None


def file_preview_png(path: Path, cache_dir: Path, key: str, dpi: int = 60) -> Path | None:
    """A first-page preview of a PDF outside the store (images are shown as they are), cached by ``key``."""
    dest = cache_dir / "quarantine" / f"{key}.png"
    if dest.is_file():
        return dest
    try:
        return _render(path, 1, dpi, dest)
    except (NotFound, Unavailable):
        return None
