"""Content-addressed file store: ``store/ab/cd/<sha256>.<ext>``, written atomically, never overwritten."""
from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


def sha256_file(path: str | os.PathLike, bufsize: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(bufsize):
            h.update(chunk)
    return h.hexdigest()


def fsync_dir(path: str | os.PathLike) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Store:
    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)

    def path_for(self, sha256: str, ext: str = "pdf") -> Path:
        return self.root / sha256[:2] / sha256[2:4] / f"{sha256}.{ext}"

    def put_bytes(self, data: bytes, ext: str = "pdf") -> tuple[str, Path]:
        """Store ``data``; returns (sha256, path). Idempotent: the same bytes land in the same place."""
        digest = hashlib.sha256(data).hexdigest()
        dest = self.path_for(digest, ext)
        if dest.exists():
            return digest, dest
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, dest)
            fsync_dir(dest.parent)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return digest, dest

    def read(self, sha256: str, ext: str = "pdf") -> bytes:
        return self.path_for(sha256, ext).read_bytes()

    def exists(self, sha256: str, ext: str = "pdf") -> bool:
        return self.path_for(sha256, ext).exists()

    def walk(self) -> Iterator[tuple[str, Path]]:
        """Every stored file as (sha256 from its name, path)."""
        for p in self.root.glob("??/??/*"):
            if p.is_file() and not p.name.startswith(".tmp-"):
                yield p.name.split(".", 1)[0], p
