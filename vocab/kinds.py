"""The closed vocabularies: document types, dossier statuses, journal states, component origins.

Values are the stable codes stored in the registry and sent in JSON; people see their Vietnamese
names (the message catalogue), never these codes.
"""
from __future__ import annotations

from enum import StrEnum


class DocType(StrEnum):
    CCCD = "cccd"
    KHAI_SINH = "khai_sinh"
    KET_HON = "ket_hon"
    XAC_NHAN_HON_NHAN = "xac_nhan_hon_nhan"
    KHAI_TU = "khai_tu"
    GCN_QSDD = "gcn_qsdd"
    TO_KHAI = "to_khai"
    BANG_TOT_NGHIEP = "bang_tot_nghiep"
    GIAY_PHEP_LAI_XE = "giay_phep_lai_xe"
    DANG_KY_HO_KINH_DOANH = "dang_ky_ho_kinh_doanh"
    VAN_BAN = "van_ban"
    KHAC = "khac"


# the product spec's document taxonomy, in its order (what OCR classifies into and procedures may require)
DOC_TYPES: tuple[str, ...] = tuple(t.value for t in DocType)
CERTIFIED_COPY = "certified_copy"  # a document sohoa made itself (signing), not a scanned type


class DossierStatus(StrEnum):
    RECEIVED = "received"
    PROCESSING = "processing"
    PAUSED = "paused"
    DECIDED = "decided"  # decided, the result waits to be handed over (trả kết quả)
    COMPLETED = "completed"
    RETURNED = "returned"


# What people read for a status in messages raised below the web layer (the web catalogue,
# sohoa/locale, has the same names: tests/test_structure.py checks they agree).
STATUS_NAMES: dict[str, str] = {DossierStatus.RECEIVED: "Mới tiếp nhận", DossierStatus.PROCESSING: "Đang xử lý",
                                DossierStatus.PAUSED: "Tạm dừng", DossierStatus.DECIDED: "Chờ trả kết quả",
                                DossierStatus.COMPLETED: "Đã giải quyết",
                                DossierStatus.RETURNED: "Đã trả lại"}


def status_name(status: str) -> str:
    """“Đã giải quyết” for ``completed``; an unknown status as it is."""
    return STATUS_NAMES.get(status, status)


OPEN_STATUSES: tuple[str, ...] = (DossierStatus.RECEIVED, DossierStatus.PROCESSING, DossierStatus.PAUSED,
                                  DossierStatus.DECIDED)
CLOSED_STATUSES: tuple[str, ...] = (DossierStatus.COMPLETED, DossierStatus.RETURNED)


class EntryState(StrEnum):
    """States of an ingest journal row (owned by ingest.journal)."""

    PENDING = "pending"
    WORKING = "working"
    RETRY = "retry"
    DONE = "done"
    DUPLICATE = "duplicate"
    QUARANTINED = "quarantined"
    RETAKEN = "retaken"  # put back in the inbox, taken anew: its bytes changed before it was done, or staff retried it
    DELETED = "deleted"  # a quarantined file staff deleted (the row stays, for the audit trail)


ACTIVE_STATES: tuple[str, ...] = (EntryState.PENDING, EntryState.WORKING, EntryState.RETRY)


class CertState(StrEnum):
    """States of a certification request (owned by registry.certification): a clerk asks
    (``pending``), an officer's batch claims it with a lease (``signing``), then ``certified`` or,
    when the signing did not happen, back to ``pending``; ``refused`` from ``pending``."""

    PENDING = "pending"
    SIGNING = "signing"
    CERTIFIED = "certified"
    REFUSED = "refused"


OPEN_CERT_STATES: tuple[str, ...] = (CertState.PENDING, CertState.SIGNING)
# what people read for a request's state in messages raised below the web layer (the catalogue's
# cert_status names: tests/test_structure.py checks they agree)
CERT_STATE_NAMES: dict[str, str] = {CertState.PENDING: "Chờ chứng thực", CertState.SIGNING: "Đang ký",
                                    CertState.CERTIFIED: "Đã chứng thực", CertState.REFUSED: "Từ chối chứng thực"}


class ActState(StrEnum):
    """States of a certification act, one number of the register (owned by signing.book): the
    number is ``allocated`` before signing; ``signed``; ``failed`` (kept for the retry of the same
    act); ``void`` when it will never be signed (the request refused, another book or year used
    for the retry): recorded as void rather than skipped."""

    ALLOCATED = "allocated"
    SIGNED = "signed"
    FAILED = "failed"
    VOID = "void"


UNFINISHED_ACTS: tuple[str, ...] = (ActState.ALLOCATED, ActState.FAILED)


class Origin(StrEnum):
    """Where a dossier component came from."""

    SCANNED = "scanned"
    REUSED = "reused"
    ONLINE = "online"


class RoutedBy(StrEnum):
    """How a scanned document found its dossier."""

    QR = "qr"
    FOLDER = "folder"
    PID = "pid"
    MANUAL = "manual"
    REUSE = "reuse"


# files the inbox accepts, by extension (content sniffing decides the real type)
IMAGE_SUFFIXES: frozenset[str] = frozenset({".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".tif", ".tiff"})
SCAN_SUFFIXES: frozenset[str] = frozenset({".pdf"}) | IMAGE_SUFFIXES
