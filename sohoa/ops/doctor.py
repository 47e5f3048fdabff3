"""``sohoa doctor``: what a working office needs, checked one by one, one Vietnamese line each.

Each check answers ``ok``, ``warn`` (work goes on, someone should look) or ``fail`` (something
blocks work: the command exits non-zero). The checks' names are in the catalogue
(``label("doctor", code)``).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import secrets
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ingest.files import folder_write_error
from sohoa.config import Settings
from sohoa.i18n import fmt_time, label

CHECKS = ("tesseract", "registry", "disk", "inbox", "certificates", "tsa", "public_url", "clock", "portal",
          "backup")
MARK = {"ok": "đạt", "warn": "lưu ý", "fail": "LỖI"}
CERT_WARN_DAYS = 30
CLOCK_MAX_SKEW = 60.0  # seconds


@dataclass
class Result:
    code: str
    status: str  # ok | warn | fail
    detail: str
    value: float | None = None

    @property
    def name(self) -> str:
        return label("doctor", self.code)

    @property
    def blocking(self) -> bool:
        return self.status == "fail"

    def line(self) -> str:
        return f"[{MARK[self.status]}] {self.name}: {self.detail}"

    def to_json(self) -> dict:
        return {"check": self.code, "name": self.name, "status": self.status, "detail": self.detail,
                "value": self.value}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


# -- the checks ------------------------------------------------------------------------------------

def check_tesseract(st: Settings) -> Result:
    exe = shutil.which("tesseract")
    if exe is None:
        return Result("tesseract", "fail", "không tìm thấy chương trình tesseract (cài gói tesseract-ocr)")
    try:
        out = subprocess.run([exe, "--list-langs"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Result("tesseract", "fail", f"tesseract không chạy được ({type(exc).__name__})")
    langs = {ln.strip() for ln in out.splitlines()[1:]}
    missing = [lang for lang in st.ocr_lang.split("+") if lang not in langs]
    if missing:
        return Result("tesseract", "fail", f"thiếu dữ liệu ngôn ngữ {', '.join(missing)} "
                                           f"(cài gói tesseract-ocr-{missing[0]})")
    return Result("tesseract", "ok", f"có tesseract và ngôn ngữ {st.ocr_lang}")


def check_registry(st: Settings) -> Result:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy.exc import SQLAlchemyError

    from registry.db import Database

    db = Database(st.db_url)
    try:
        with db.engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
        heads = set(ScriptDirectory.from_config(db.alembic_config()).get_heads())
    except SQLAlchemyError as exc:
        return Result("registry", "fail", f"không kết nối được {db.safe_url} ({type(exc).__name__})")
    finally:
        db.dispose()
    if not current:
        return Result("registry", "fail", f"{db.safe_url} chưa được khởi tạo: chạy `sohoa init`")
    if current != heads:
        return Result("registry", "fail", f"lược đồ {', '.join(sorted(current))} cũ hơn bản cài đặt "
                                          f"({', '.join(sorted(heads))}): chạy `sohoa init` để nâng cấp")
    return Result("registry", "ok", f"{db.safe_url}, lược đồ {', '.join(sorted(current))}")


def check_disk(st: Settings) -> Result:
    need = st.min_free_mb * 1024 * 1024
    worst: tuple[int, Path] | None = None
    for d in (st.inbox, st.store_dir):
        p = d if d.exists() else d.parent
        free = shutil.disk_usage(p).free
        if worst is None or free < worst[0]:
            worst = (free, d)
    assert worst is not None
    free_mb = worst[0] / (1024 * 1024)
    if worst[0] < need:
        return Result("disk", "fail", f"chỉ còn {free_mb:,.0f} MB trống cho {worst[1]} (cần ít nhất "
                                      f"{st.min_free_mb:,} MB)", free_mb)
    return Result("disk", "ok", f"còn {free_mb:,.0f} MB trống", free_mb)


def check_inbox(st: Settings) -> Result:
    inbox = st.inbox
    if not inbox.is_dir():
        return Result("inbox", "fail", f"{inbox} không phải thư mục (chạy `sohoa init`)")
    err = folder_write_error(inbox)
    if err:
        return Result("inbox", "fail", f"không ghi được vào {inbox} ({err})")
    if st.scanner_user and not writable_by(inbox, st.scanner_user):
        return Result("inbox", "fail", f"tài khoản máy quét {st.scanner_user} không ghi được vào {inbox}")
    return Result("inbox", "ok", f"{inbox} ghi được" + (f" (cả tài khoản {st.scanner_user})" if st.scanner_user else ""))


def writable_by(path: Path, user: str) -> bool:
    """Whether the Unix account ``user`` may create files in the directory ``path`` (its mode bits,
    owner and groups; whoever runs the check, root included). False for an unknown account."""
    import pwd
    import stat

    try:
        pw = pwd.getpwnam(user)
    except KeyError:
        return False
    if pw.pw_uid == 0:
        return True
    stt = path.stat()
    if stt.st_uid == pw.pw_uid:
        return bool(stt.st_mode & stat.S_IWUSR and stt.st_mode & stat.S_IXUSR)
    if stt.st_gid in os.getgrouplist(user, pw.pw_gid):
        return bool(stt.st_mode & stat.S_IWGRP and stt.st_mode & stat.S_IXGRP)
    return bool(stt.st_mode & stat.S_IWOTH and stt.st_mode & stat.S_IXOTH)


def _cert_days(not_after: dt.datetime, now: dt.datetime) -> float:
    if not_after.tzinfo is None:
        not_after = not_after.replace(tzinfo=dt.timezone.utc)
    return (not_after - now).total_seconds() / 86400


def check_certificates(st: Settings) -> Result:
    from cryptography import x509

    now = _now()
    found: list[tuple[float, str]] = []
    problems: list[str] = []
    for name in ("trust_roots", "trust_roots_gov", "trust_roots_public", "intermediates"):
        for value in filter(None, (v.strip() for v in str(getattr(st, name) or "").split(","))):
            p = Path(value).expanduser()
            files = sorted(p.glob("*.pem")) if p.is_dir() else [p]
            for f in files:
                try:
                    for c in x509.load_pem_x509_certificates(f.read_bytes()):
                        found.append((_cert_days(c.not_valid_after_utc, now), f"{f.name}: {c.subject.rfc4514_string()}"))
                except (OSError, ValueError) as exc:
                    problems.append(f"không đọc được {f} ({type(exc).__name__})")
    with contextlib.suppress(Exception):
        from sqlalchemy import select

        from registry.db import Database
        from registry.models import Officer

        db = Database(st.db_url)
        try:
            with db.session() as s:
                for kind, oname, pem in s.execute(select(Officer.kind, Officer.name, Officer.cert_pem)
                                                  .where(Officer.status == "active")):
                    if pem:
                        c = x509.load_pem_x509_certificate(pem.encode())
                        who = "con dấu" if kind == "seal" else "người ký"
                        found.append((_cert_days(c.not_valid_after_utc, now), f"{who} {oname}"))
        finally:
            db.dispose()
    if st.seal_key and not st.seal_key.startswith("pkcs11:"):
        p = Path(st.seal_key).expanduser()
        if not p.is_file():
            problems.append(f"không có tệp khóa con dấu {p}")
    if problems:
        return Result("certificates", "fail", "; ".join(problems))
    if not found:
        return Result("certificates", "warn", "chưa cấu hình chứng thư số nào (chưa ký, chứng thực được)")
    days, what = min(found)
    if days < 0:
        return Result("certificates", "fail", f"chứng thư {what} đã hết hạn {-days:.0f} ngày", days)
    status = "warn" if days < CERT_WARN_DAYS else "ok"
    return Result("certificates", status, f"{len(found)} chứng thư; sớm hết hạn nhất: {what}, còn {days:.0f} ngày",
                  days)


def tsa_time(url: str, timeout: float = 10.0) -> dt.datetime:
    """Ask the TSA for a real RFC 3161 token; returns the time it states (genTime)."""
    import httpx
    from asn1crypto import algos, tsp

    req = tsp.TimeStampReq({
        "version": 1,
        "message_imprint": tsp.MessageImprint({
            "hash_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
            "hashed_message": hashlib.sha256(b"sohoa doctor").digest()}),
        "nonce": secrets.randbits(63), "cert_req": False})
    r = httpx.post(url, content=req.dump(), timeout=timeout,
                   headers={"Content-Type": "application/timestamp-query"})
    r.raise_for_status()
    resp = tsp.TimeStampResp.load(r.content)
    if resp["status"]["status"].native not in ("granted", "granted_with_mods"):
        raise ValueError(f"TSA refused: {resp['status']['status'].native}")
    tst = resp["time_stamp_token"]["content"]["encap_content_info"]["content"].parsed
    return tst["gen_time"].native


def check_tsa(st: Settings, probe: dict) -> Result:
    if not st.tsa_url:
        return Result("tsa", "warn", "chưa đặt tsa_url: bản chứng thực không có dấu thời gian")
    try:
        before = _now()
        gen = tsa_time(st.tsa_url)
        after = _now()
    except Exception as exc:  # noqa: BLE001 - any failure is the answer
        return Result("tsa", "fail", f"không lấy được dấu thời gian từ {st.tsa_url} ({type(exc).__name__})")
    probe["skew"] = (gen - (before + (after - before) / 2)).total_seconds()
    return Result("tsa", "ok", f"{st.tsa_url} cấp dấu thời gian")


def check_public_url(st: Settings) -> Result:
    from urllib.parse import urlparse

    url = st.public_base_url
    if not url and st.dev_mode:
        return Result("public_url", "warn", "chưa đặt public_base_url: chế độ thử (dev) dùng địa chỉ nội bộ")
    if not url:
        return Result("public_url", "fail", "chưa đặt public_base_url: mã QR của bản chứng thực không dẫn đến đâu")
    host = urlparse(url).hostname or ""
    if host in ("localhost", "127.0.0.1", "::1") and not st.dev_mode:
        return Result("public_url", "fail", f"{url} là địa chỉ nội bộ: người dân không mở được")
    if urlparse(url).scheme != "https" and not st.dev_mode:
        return Result("public_url", "warn", f"{url} không dùng https")
    return Result("public_url", "ok", url)


def check_clock(st: Settings, probe: dict) -> Result:
    skew = probe.get("skew")
    if skew is None:
        return Result("clock", "warn", "không so được với đồng hồ của TSA")
    if abs(skew) > CLOCK_MAX_SKEW:
        way = "chậm" if skew > 0 else "nhanh"
        return Result("clock", "fail", f"đồng hồ máy chủ {way} {abs(skew):.0f} giây so với TSA (tối đa "
                                       f"{CLOCK_MAX_SKEW:.0f} giây): chỉnh NTP", skew)
    return Result("clock", "ok", f"lệch {abs(skew):.1f} giây so với TSA", skew)


def check_portal(st: Settings) -> Result:
    """An empty batch with the token: 401/403 is a refused token; another answer says the token
    passed (a portal may still dislike an empty batch); no answer at all fails."""
    import httpx

    if not st.portal_url:
        return Result("portal", "warn", "chưa đặt portal_url: sự kiện chờ trong hàng đợi gửi")
    headers = {"Authorization": f"Bearer {st.portal_token}"} if st.portal_token else {}
    try:
        r = httpx.post(st.portal_url, json={"events": []}, headers=headers, timeout=st.portal_timeout)
    except httpx.HTTPError as exc:
        return Result("portal", "fail", f"không kết nối được {st.portal_url} ({type(exc).__name__})")
    if r.status_code in (401, 403):
        return Result("portal", "fail", f"Cổng từ chối mã truy cập (HTTP {r.status_code}): kiểm tra SOHOA_PORTAL_TOKEN")
    if r.status_code >= 500:
        return Result("portal", "warn", f"Cổng đang lỗi (HTTP {r.status_code}); sự kiện chờ và được gửi lại sau")
    return Result("portal", "ok", f"{st.portal_url} chấp nhận mã truy cập")


def check_backup(st: Settings) -> Result:
    from sohoa.ops.backup import last_backup_age, last_good, load_identity
    from vocab.errors import SohoaError

    if st.backup_key:
        try:
            load_identity(st)
        except SohoaError as exc:
            return Result("backup", "warn", f"lần sao lưu tới sẽ không chạy được: {exc.message}")
    age = last_backup_age(st)
    if age is None:
        return Result("backup", "warn", "chưa có lần sao lưu tốt nào: chạy `sohoa backup ĐÍCH`")
    hours = age / 3600
    when = fmt_time((last_good(st) or {}).get("last_good"))
    if hours > st.backup_max_age_hours:
        return Result("backup", "warn", f"đã {hours:.0f} giờ ({when}), quá {st.backup_max_age_hours:.0f} giờ", age)
    return Result("backup", "ok", f"{when}, cách đây {hours:.1f} giờ", age)


def run_checks(st: Settings, *, offline: bool = False) -> list[Result]:
    probe: dict = {}
    steps: list[tuple[str, Callable[[], Result]]] = [
        ("tesseract", lambda: check_tesseract(st)), ("registry", lambda: check_registry(st)),
        ("disk", lambda: check_disk(st)), ("inbox", lambda: check_inbox(st)),
        ("certificates", lambda: check_certificates(st)),
        ("tsa", lambda: Result("tsa", "warn", "bỏ qua (--offline)") if offline else check_tsa(st, probe)),
        ("public_url", lambda: check_public_url(st)), ("clock", lambda: check_clock(st, probe)),
        ("portal", lambda: Result("portal", "warn", "bỏ qua (--offline)") if offline else check_portal(st)),
        ("backup", lambda: check_backup(st)),
    ]
    out = []
    for code, fn in steps:
        try:
            out.append(fn())
        except Exception as exc:  # noqa: BLE001 - a check that breaks is a failed check, the others still run
            out.append(Result(code, "fail", f"không kiểm tra được ({type(exc).__name__}: {exc})"))
    return out
