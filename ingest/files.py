"""What a file in the inbox is: ignored temp name, supported scan, complete or still being written.

Pure functions of a path and its bytes; no database, no moving.
"""
from __future__ import annotations

import fnmatch
import os
from pathlib import Path

SUPPORTED = {".pdf": "pdf", ".jpg": "jpeg", ".jpeg": "jpeg", ".png": "png", ".tif": "tiff", ".tiff": "tiff"}

# scanner / OS / NAS litter and names of files still being written
IGNORED_NAMES = ("*.part", "*.partial", "*.tmp", "*.temp", "*.crdownload", "*.download", "~$*", ".*",
                 "Thumbs.db", "desktop.ini", "*.reason.txt")
IGNORED_DIRS = ("@eaDir", "#recycle", "#snapshot", ".*", "$RECYCLE.BIN", "System Volume Information",
                "lost+found")


def is_ignored(rel: str | os.PathLike) -> bool:
    """True for temp names and NAS metadata folders anywhere in the relative path."""
    parts = Path(rel).parts
    if not parts:
        return True
    *dirs, name = parts
    if any(fnmatch.fnmatch(d, pat) for d in dirs for pat in IGNORED_DIRS):
        return True
    return any(fnmatch.fnmatch(name, pat) for pat in IGNORED_NAMES)


def kind_of(path: str | os.PathLike) -> str | None:
    return SUPPORTED.get(Path(path).suffix.lower())


def display_name(rel: str | os.PathLike) -> str:
    """A printable, UTF-8-safe form of a file name that may hold undecodable bytes."""
    raw = os.fsencode(rel)
    return raw.decode("utf-8", "backslashreplace")


def has_odd_name(rel: str | os.PathLike) -> bool:
    """Names that are not valid UTF-8 or carry control characters cannot be shown or stored faithfully."""
    raw = os.fsencode(rel)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return any(ord(c) < 32 or ord(c) == 127 for c in text)


def _tail(path: Path, n: int = 2048) -> bytes:
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        fh.seek(max(0, size - n))
        return fh.read()


def _head(path: Path, n: int = 16) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(n)


def looks_complete(path: str | os.PathLike) -> bool:
    """Whether the file's bytes end the way a finished file of its claimed type ends.

    A file that will never look complete (a text file renamed .pdf) is still handed on once it has
    been quiet for long enough: the decoder then quarantines it with the real reason.
    """
    p = Path(path)
    kind = kind_of(p)
    try:
        if p.stat().st_size == 0:
            return False
        head = _head(p)
        if kind == "pdf":
            return head.startswith(b"%PDF") and b"%%EOF" in _tail(p, 4096)
        if kind == "jpeg":
            return head.startswith(b"\xff\xd8") and _tail(p, 64).rstrip(b"\x00").endswith(b"\xff\xd9")
        if kind == "png":
            return head.startswith(b"\x89PNG") and b"IEND" in _tail(p, 64)
        if kind == "tiff":
            if not head[:4] in (b"II*\x00", b"MM\x00*"):
                return False
            from PIL import Image  # TIFF has no trailer: a complete one opens and loads its first frame

            with Image.open(p) as im:
                im.load()
            return True
    except Exception:
        return False
    return False
