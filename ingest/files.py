"""What a file in the inbox is: ignored temp name, supported scan, complete or still being written.

Pure functions of a path and its bytes; no database, no moving.
"""
from __future__ import annotations

import fnmatch
import mmap
import os
import re
from pathlib import Path

from vocab.formats import sniff_bytes

SUPPORTED = {".pdf": "pdf", ".jpg": "jpeg", ".jpeg": "jpeg", ".jpe": "jpeg", ".jfif": "jpeg", ".png": "png",
             ".tif": "tiff", ".tiff": "tiff"}

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
    """The scan kind a file's *name* suggests (for files not readable yet); content decides later."""
    return SUPPORTED.get(Path(path).suffix.lower())


def content_kind(path: str | os.PathLike) -> str | None:
    """'pdf' | 'jpeg' | 'png' | 'tiff' by the file's bytes (a .jfif or .jpe is a JPEG), or None."""
    try:
        head, tail = _head(Path(path), 65536), _tail(Path(path), 4096)
    except OSError:  # unreadable right now: not known
        return None
    kind = sniff_bytes(head, tail)
    return kind.lower() if kind else None


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


_STARTXREF = re.compile(rb"startxref\s+(\d+)\s*$")
_OBJ_HEAD = re.compile(rb"\s*(xref\b|\d+\s+\d+\s+obj\b)")
_OBJ_ANY = re.compile(rb"\d+\s+\d+\s+obj\b")


def pdf_complete(path: Path) -> bool:
    """A PDF is complete when its last %%EOF ends a PDF: the ``startxref`` just before it points
    at a cross-reference inside the file. Whatever follows that %%EOF (padding, a mail footer,
    kilobytes of junk) is fine, unless it is more PDF objects still being written."""
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        end = mm.rfind(b"%%EOF")
        if end < 0:
            return False
        m = _STARTXREF.search(mm[max(0, end - 1024): end].rstrip())
        if not m:
            return False
        offset = int(m.group(1))
        if offset >= end or not _OBJ_HEAD.match(mm[offset: offset + 64]):
            return False
        return not _OBJ_ANY.search(mm[end: end + 65536])


def jpeg_complete(path: Path, size: int) -> bool:
    """The end-of-image marker is near the end (0xFF never stands alone inside the coded data,
    so FFD9 there is the marker; cameras and phones may append a few KB after it)."""
    tail = _tail(path, 4096)
    if tail.rstrip(b"\x00").endswith(b"\xff\xd9"):
        return True
    return size > 8192 and b"\xff\xd9" in tail


def looks_complete(path: str | os.PathLike) -> bool:
    """Whether the file's bytes end the way a finished file of its type (by content) ends. A
    TIFF has no trailer: it is complete when it opens (and, for the watcher, when its page count
    holds still; see :func:`tiff_pages`).

    A file that will never look complete (a text file renamed .pdf) is still handed on once it has
    been quiet for long enough: the decoder then quarantines it with the real reason.
    """
    p = Path(path)
    try:
        size = p.stat().st_size
        if size == 0:
            return False
        kind = content_kind(p)
        if kind == "pdf":
            return pdf_complete(p)
        if kind == "jpeg":
            return jpeg_complete(p, size)
        if kind == "png":
            return b"IEND" in _tail(p, 64)
        if kind == "tiff":
            return tiff_pages(p) is not None
    except Exception:  # noqa: BLE001
        return False
    return False


def held_for_writing(path: str | os.PathLike) -> bool:
    """Whether some process (a scanner writing through Samba, a copy in progress) holds the file
    open for writing. Linux grants a read lease only on a file nobody has open for writing, so
    taking one and giving it back at once answers without reading /proc and whatever user the
    writer runs as. Where leases are not available (not the file's owner, NFS, another OS) the
    answer is False: the other rules (quiet period, content, grace) decide alone."""
    import errno
    import fcntl
    import signal

    setlease, setsig = getattr(fcntl, "F_SETLEASE", None), getattr(fcntl, "F_SETSIG", None)
    if setlease is None or setsig is None:
        return False
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return False
    try:
        # A writer opening the file during the few microseconds the lease is held breaks it, and
        # the kernel signals the holder: SIGIO by default, whose default action ends the process.
        # SIGURG's default action is to ignore it.
        fcntl.fcntl(fd, setsig, signal.SIGURG)
        fcntl.fcntl(fd, setlease, fcntl.F_RDLCK)
    except OSError as exc:
        return exc.errno == errno.EAGAIN
    else:
        fcntl.fcntl(fd, setlease, fcntl.F_UNLCK)
        return False
    finally:
        os.close(fd)


def tiff_pages(path: str | os.PathLike) -> int | None:
    """Pages (frames) of a TIFF that opens, or None."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            return getattr(im, "n_frames", 1) or 1
    except Exception:  # noqa: BLE001 - not (yet) a readable TIFF
        return None


def folder_write_error(folder: str | os.PathLike) -> str | None:
    """Whether this process can create a file in ``folder`` (the inbox): None, or the system's
    reason. The probe is a hidden temporary file, which the watcher ignores, removed at once."""
    import tempfile

    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".sohoa-probe-")
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        return exc.strerror or str(exc)
    return None
