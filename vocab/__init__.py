"""sohoa's shared vocabulary: the bottom layer every stage may import, and that imports no stage.

- :mod:`vocab.text`   — NFC, the diacritic fold used for search, masking of personal ID numbers;
- :mod:`vocab.clock`  — UTC for storage, Vietnam time (+07:00) for people, ISO 8601 with offset;
- :mod:`vocab.kinds`  — document types, statuses, states and origins as enums; scan suffixes;
- :mod:`vocab.errors` — typed errors (not found / conflict / invalid / forbidden / unavailable)
  that each surface (CLI, HTTP API, web UI) maps once to its own form.
"""
from vocab.clock import VN_TZ, as_utc, iso, local, utcnow, vn_now, vn_today
from vocab.errors import Conflict, Forbidden, Invalid, NotFound, SohoaError, Unavailable
from vocab.kinds import (DOC_TYPES, IMAGE_SUFFIXES, OPEN_STATUSES, SCAN_SUFFIXES, DocType, DossierStatus,
                         EntryState, Origin, RoutedBy)
from vocab.text import fold, fold_keep, mask_pid, nfc, redact_pids

__all__ = [
    "VN_TZ", "as_utc", "iso", "local", "utcnow", "vn_now", "vn_today",
    "SohoaError", "NotFound", "Conflict", "Invalid", "Forbidden", "Unavailable",
    "DOC_TYPES", "IMAGE_SUFFIXES", "OPEN_STATUSES", "SCAN_SUFFIXES", "DocType", "DossierStatus", "EntryState",
    "Origin", "RoutedBy",
    "fold", "fold_keep", "mask_pid", "nfc", "redact_pids",
]
