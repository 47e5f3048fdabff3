"""Integrity check: re-hash the content-addressed store against the documents table."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.models import Document
from registry.store import Store, sha256_file

_EXT = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png", "image/tiff": "tif"}


def ext_for(mime: str | None) -> str:
    return _EXT.get((mime or "").lower(), "pdf")


def check(s: Session, store: Store, *, limit: int = 1000) -> dict[str, Any]:
    """Every document's file must exist and hash to its sha256; every stored file must be known.

    Returns ``{"ok", "documents", "files", "missing", "mismatch", "orphans"}`` (lists capped at
    ``limit`` entries each; the counts are exact).
    """
    known: set[str] = set()
    missing: list[dict] = []
    mismatch: list[dict] = []
    n_missing = n_mismatch = n_docs = 0
    for doc_id, sha, mime in s.execute(select(Document.id, Document.sha256, Document.mime)
                                       .order_by(Document.id).execution_options(yield_per=5000)):
        n_docs += 1
        known.add(sha)
        path = store.path_for(sha, ext_for(mime))
        if not path.is_file():
            alt = store.path_for(sha)
            if alt.is_file():
                path = alt
            else:
                n_missing += 1
                if len(missing) < limit:
                    missing.append({"document_id": doc_id, "sha256": sha, "path": str(path)})
                continue
        actual = sha256_file(path)
        if actual != sha:
            n_mismatch += 1
            if len(mismatch) < limit:
                mismatch.append({"document_id": doc_id, "sha256": sha, "actual": actual, "path": str(path)})
    orphans: list[dict] = []
    n_orphans = n_files = 0
    if store.root.is_dir():
        for sha, path in store.walk():
            n_files += 1
            if sha not in known:
                n_orphans += 1
                if len(orphans) < limit:
                    orphans.append({"sha256": sha, "path": str(path)})
    return {"ok": not (n_missing or n_mismatch or n_orphans), "documents": n_docs, "files": n_files,
            "missing_count": n_missing, "mismatch_count": n_mismatch, "orphan_count": n_orphans,
            "missing": missing, "mismatch": mismatch, "orphans": orphans}
