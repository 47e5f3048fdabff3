"""Time: stored as UTC, shown to people in Vietnam time (UTC+07:00 all year, no DST).

Every time that leaves the process in JSON is ISO 8601 with its offset (:func:`iso`).
"""
from __future__ import annotations

import datetime as dt

VN_TZ = dt.timezone(dt.timedelta(hours=7), "+07")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def as_utc(t: dt.datetime | None) -> dt.datetime | None:
    """Timestamps read back from SQLite are naive UTC: make them aware."""
    if t is None:
        return None
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)


def local(t: dt.datetime | None) -> dt.datetime | None:
    """Vietnam local time, for what people read (receipts, stamps, reports)."""
    t = as_utc(t)
    return t.astimezone(VN_TZ) if t else None


def vn_now() -> dt.datetime:
    return dt.datetime.now(VN_TZ)


def vn_today() -> dt.date:
    return vn_now().date()


def iso(t: dt.datetime | dt.date | None) -> str | None:
    """ISO 8601 with the +07:00 offset (``2026-11-24T21:05:00+07:00``); dates as ``2026-11-24``."""
    if t is None:
        return None
    if isinstance(t, dt.datetime):
        return local(t).isoformat(timespec="seconds")
    return t.isoformat()
