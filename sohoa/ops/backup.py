"""Backup and restore of one office's home: the registry, the content-addressed store and the
configuration, encrypted at rest with the age format (``pyrage``).

Layout of a destination ``DEST``::

    DEST/.lock                       one backup at a time (flock; released when a process dies)
    DEST/store/ab/cd/<sha>.<ext>.age the store's files, shared by every set, copied once (incremental)
    DEST/sohoa-<UTC stamp>/          one backup set, complete: it was renamed from .partial-… last
        manifest.json                every file of the set with its sha256 (plain and encrypted)
        registry.sqlite.age          an online, consistent copy (SQLite backup API) — or
        registry.pgdump.age          ``pg_dump -Fc`` in the scaled mode
        home.tar.age                 configuration, PKI directory, quarantine (no inbox, no store)
    DEST/.partial-sohoa-…/           a set being written; a killed backup leaves it, the next removes it

A set is good only once its directory carries the ``sohoa-`` name: the rename is the last step,
so a backup killed midway never counts. The key file (``backup_key``) is the age identity; the
public key derived from it encrypts, the identity decrypts. It is never inside a backup.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url

from registry.store import sha256_file
from sohoa.config import Settings
from vocab.errors import Conflict, Invalid, NotFound, SohoaError, Unavailable

FORMAT = 1
SET_PREFIX = "sohoa-"
PARTIAL_PREFIX = ".partial-"
POOL = "store"
TMP_PREFIX = ".backup-tmp-"  # scratch directories in the home
STATE_FILE = "backup.json"  # in the home: the last good backup (read by doctor and /metrics)
EXCLUDED_DIRS = ("inbox", "work", "done", "store", "backups")  # the store is copied apart; backups/ holds pre-upgrade copies
_EXT = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png", "image/tiff": "tif"}


# -- the key -------------------------------------------------------------------------------------

def keygen(out: str | os.PathLike) -> str:
    """Write a new age identity to ``out`` (mode 0600, never over an existing file); returns the
    public key (``age1…``)."""
    import pyrage

    path = Path(out)
    if path.exists():
        raise Conflict(f"tệp khóa {path} đã có: không ghi đè (một khóa mất là mọi bản sao lưu của nó mất)")
    path.parent.mkdir(parents=True, exist_ok=True)
    ident = pyrage.x25519.Identity.generate()
    pub = str(ident.to_public())
    text = (f"# created: {dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()}\n"
            f"# public key: {pub}\n{ident}\n")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    return pub


def key_file(settings: Settings) -> Path:
    if not settings.backup_key:
        raise Invalid('chưa có khóa sao lưu: đặt backup_key = "TỆP" trong sohoa.toml hoặc SOHOA_BACKUP_KEY '
                      "(tạo khóa bằng `sohoa backup keygen --out TỆP`)")
    p = Path(settings.backup_key).expanduser()
    return p if p.is_absolute() else settings.home / p


def load_identity(settings: Settings):
    import pyrage

    path = key_file(settings)
    try:
        lines = [ln.strip() for ln in path.read_text(encoding="ascii").splitlines()]
    except (OSError, UnicodeDecodeError) as exc:
        raise Unavailable(f"không đọc được khóa sao lưu {path}", detail=str(exc)) from exc
    for ln in lines:
        if ln.startswith("AGE-SECRET-KEY-"):
            try:
                return pyrage.x25519.Identity.from_str(ln)
            except Exception as exc:  # noqa: BLE001 - pyrage raises its own IdentityError
                raise Invalid(f"tệp {path} không phải khóa sao lưu hợp lệ", detail=str(exc)) from exc
    raise Invalid(f"tệp {path} không chứa khóa sao lưu (dòng AGE-SECRET-KEY-…)")


# -- streams that hash what passes -------------------------------------------------------------

class _HashingReader:
    def __init__(self, fh) -> None:
        self.fh, self.h, self.size = fh, hashlib.sha256(), 0

    def read(self, n: int = -1) -> bytes:
        b = self.fh.read(n)
        self.h.update(b)
        self.size += len(b)
        return b


class _HashingWriter:
    def __init__(self, fh=None) -> None:
        self.fh, self.h, self.size = fh, hashlib.sha256(), 0

    def write(self, b) -> int:
        self.h.update(b)
        self.size += len(b)
        if self.fh is not None:
            self.fh.write(b)
        return len(b)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _encrypt_to(src, dest: Path, recipient) -> dict:
    """Encrypt the readable ``src`` into ``dest`` atomically (temp file, fsync, rename); returns
    the plaintext's and the ciphertext's sha256 and sizes."""
    import pyrage

    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as out:
            r, w = _HashingReader(src), _HashingWriter(out)
            pyrage.encrypt_io(r, w, [recipient])
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return {"sha256": r.h.hexdigest(), "size": r.size, "enc_sha256": w.h.hexdigest(), "enc_size": w.size}


def _decrypt(src: Path, identity, out=None) -> tuple[str, str]:
    """Decrypt ``src`` into ``out`` (or nowhere); returns (sha256 of the ciphertext, of the plaintext)."""
    import pyrage

    if not src.is_file():
        raise Invalid(f"bản sao lưu thiếu tệp {src}: chạy `sohoa backup verify`")
    with open(src, "rb") as fh:
        r, w = _HashingReader(fh), _HashingWriter(out)
        try:
            pyrage.decrypt_io(r, w, [identity])
        except Exception as exc:  # noqa: BLE001 - pyrage raises OSError/DecryptError
            raise Invalid(f"không giải mã được {src.name}: sai khóa sao lưu hoặc tệp hỏng", detail=str(exc)) from exc
        r.read()  # hash any trailing bytes too
    return r.h.hexdigest(), w.h.hexdigest()


# -- the registry snapshot -----------------------------------------------------------------------

def _db_kind(settings: Settings) -> str:
    backend = make_url(settings.db_url).get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise Invalid(f"không sao lưu được cơ sở dữ liệu loại {backend}")
    return backend


def _sqlite_path(settings: Settings) -> Path:
    return Path(make_url(settings.db_url).database or "")


def _pg_command(settings: Settings, *args: str) -> subprocess.CompletedProcess:
    """Run pg_dump/pg_restore on the configured database; the password goes through the
    environment (PGPASSWORD), never the command line other users can see."""
    url = make_url(settings.db_url).set(drivername="postgresql")
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    dsn = url.set(password=None).render_as_string(hide_password=False)
    p = subprocess.run([*args, "--dbname", dsn], capture_output=True, text=True, env=env)
    if p.returncode != 0:
        from vocab.text import redact_pids

        said = redact_pids(" ".join((p.stderr.strip().splitlines() or [""])[0].split()))[:200]
        raise Unavailable(f"{Path(args[0]).name} không chạy được trên cơ sở dữ liệu"
                          + (f": {said}" if said else ""), detail=redact_pids(p.stderr))
    return p


def _snapshot_db(settings: Settings, tmpdir: Path) -> Path:
    """A consistent copy of the live registry while the service runs."""
    if _db_kind(settings) == "sqlite":
        src_path = _sqlite_path(settings)
        if not src_path.is_file():
            raise NotFound(f"không có sổ đăng ký {src_path}: chạy `sohoa init` trước")
        out = tmpdir / "registry.sqlite"
        src = sqlite3.connect(src_path, timeout=60)
        dst = sqlite3.connect(out)
        try:
            src.backup(dst)  # one read transaction over the whole file: a consistent snapshot
        finally:
            dst.close()
            src.close()
        return out
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise Unavailable("không có pg_dump (gói postgresql-client) để sao lưu cơ sở dữ liệu PostgreSQL")
    out = tmpdir / "registry.pgdump"
    _pg_command(settings, pg_dump, "-Fc", "--no-owner", "--no-privileges", "-f", str(out))
    return out


def _quick_check(snapshot: Path) -> str:
    """SQLite's own check of the snapshot ("ok", or what is wrong); "" for a pg_dump. A damaged
    registry is still backed up (it may be all there is), and the damage is said."""
    if snapshot.suffix != ".sqlite":
        return ""
    con = sqlite3.connect(snapshot)
    try:
        return "; ".join(r[0] for r in con.execute("PRAGMA quick_check").fetchmany(20))
    finally:
        con.close()


def _stored_files(settings: Settings, sqlite_file: Path | None) -> list[tuple[str, str]]:
    """(sha256, ext) of every stored file the registry refers to (in ``sqlite_file`` when given,
    e.g. the snapshot just taken; else in the database of ``settings``)."""
    rows: set[tuple[str, str]] = set()
    if sqlite_file is not None:
        snapshot = sqlite_file
        con = sqlite3.connect(f"file:{snapshot}?mode=ro", uri=True)
        try:
            docs = con.execute("SELECT sha256, mime FROM documents").fetchall()
        finally:
            con.close()
    else:
        from sqlalchemy import select

        from registry.db import Database
        from registry.models import Document

        db = Database(settings.db_url)
        try:
            with db.session() as s:
                docs = s.execute(select(Document.sha256, Document.mime)).all()
        finally:
            db.dispose()
    for sha, mime in docs:
        rows.add((sha, _EXT.get((mime or "").lower(), "pdf")))
    return sorted(rows)


# -- configuration and keys ----------------------------------------------------------------------

_EXTERNAL_SETTINGS = ("seal_key", "trust_roots", "trust_roots_gov", "trust_roots_public", "intermediates",
                      "identity_stub_file")


def config_inventory(settings: Settings) -> dict:
    """What the configuration consists of, what a backup carries, and what must be kept apart."""
    home = settings.home
    included, external, apart = [], [], []
    key = None
    with contextlib.suppress(Invalid):
        key = key_file(settings)
    if key is not None:
        apart.append({"what": "backup_key", "path": str(key),
                      "why": "khóa giải mã các bản sao lưu: giữ ở nơi khác bản sao lưu (mất khóa là mất bản sao lưu)"})
    if settings.seal_passphrase_file:
        apart.append({"what": "seal_passphrase_file", "path": settings.seal_passphrase_file,
                      "why": "mật khẩu khóa con dấu: không nằm trong bản sao lưu"})
    if settings.seal_key.startswith("pkcs11:"):
        apart.append({"what": "seal_key", "path": settings.seal_key,
                      "why": "khóa con dấu trong thiết bị phần cứng (token): không sao lưu được"})
    for name in _EXTERNAL_SETTINGS:
        for value in str(getattr(settings, name, "") or "").split(","):
            value = value.strip()
            if not value or value.startswith("pkcs11:"):
                continue
            p = Path(value).expanduser()
            p = p if p.is_absolute() else home / p
            if p.exists() and not _inside(p, home):
                external.append({"setting": name, "path": str(p)})
    for secret in ("portal_token", "identity_token"):
        if getattr(settings, secret, ""):
            apart.append({"what": secret, "path": "sohoa.toml/SOHOA_" + secret.upper(),
                          "why": "bí mật trong cấu hình: bản sao lưu mang nó (đã mã hóa); thu hồi nếu lộ khóa sao lưu"})
    skip = {os.path.realpath(p) for p in _skipped(settings)}
    for root, dirs, names in os.walk(home):
        dirs[:] = sorted(d for d in dirs if os.path.realpath(os.path.join(root, d)) not in skip
                         and not d.startswith(TMP_PREFIX))
        for n in sorted(names):
            p = os.path.join(root, n)
            if os.path.isfile(p) and not os.path.islink(p) and os.path.realpath(p) not in skip:
                included.append(os.path.relpath(p, home))
    return {"included": included, "external": external, "kept_apart": apart}


def _inside(p: Path, root: Path) -> bool:
    try:
        p.resolve().relative_to(root.resolve())
        return True
    except ValueError:
        return False


def _skipped(settings: Settings) -> list[Path]:
    home = settings.home
    skip = [home / d for d in EXCLUDED_DIRS] + [home / STATE_FILE]
    if _db_kind(settings) == "sqlite":
        db = _sqlite_path(settings)
        skip += [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm"),
                 db.with_name(db.name + "-journal")]
    with contextlib.suppress(Invalid):
        skip.append(key_file(settings))
    if settings.seal_passphrase_file:
        sp = Path(settings.seal_passphrase_file).expanduser()
        skip.append(sp if sp.is_absolute() else home / sp)
    return skip


def _home_tar(settings: Settings, inventory: dict, out: Path) -> None:
    with tarfile.open(out, "w") as tar:
        for rel in inventory["included"]:
            tar.add(settings.home / rel, arcname="home/" + rel, recursive=False)
        for i, e in enumerate(inventory["external"]):
            tar.add(e["path"], arcname=f"external/{i}/{Path(e['path']).name}")
        data = json.dumps(inventory, ensure_ascii=False, indent=1).encode()
        info = tarfile.TarInfo("inventory.json")
        info.size, info.mtime = len(data), int(dt.datetime.now().timestamp())
        tar.addfile(info, io.BytesIO(data))


# -- backup ----------------------------------------------------------------------------------------

@dataclass
class BackupResult:
    name: str
    path: Path
    started_at: str
    finished_at: str
    documents: int
    files: int
    new_files: int
    bytes_new: int
    missing: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    kept_apart: list[dict] = field(default_factory=list)

    def to_json(self) -> dict:
        d = dict(self.__dict__)
        d["path"] = str(self.path)
        return d


def _tmpdir(settings: Settings) -> Path:
    """A private scratch directory in the home (the registry snapshot is written there before it
    is encrypted); those a killed backup left over a day ago are removed."""
    for old in settings.home.glob(TMP_PREFIX + "*"):
        with contextlib.suppress(OSError):
            if dt.datetime.now().timestamp() - old.stat().st_mtime > 86400:
                shutil.rmtree(old, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=TMP_PREFIX, dir=settings.home))


@contextlib.contextmanager
def _locked(dest: Path) -> Iterator[None]:
    dest.mkdir(parents=True, exist_ok=True)
    fh = open(dest / ".lock", "a+")
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise Conflict(f"một lần sao lưu khác đang ghi vào {dest}") from exc
        yield
    finally:
        fh.close()


def _clean_partials(dest: Path) -> None:
    """What a killed backup left: its unfinished set and half-written pool files."""
    for p in dest.glob(PARTIAL_PREFIX + "*"):
        shutil.rmtree(p, ignore_errors=True)
    pool = dest / POOL
    if pool.is_dir():
        for p in pool.glob("??/??/.tmp-*"):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()


def list_sets(dest: Path) -> list[Path]:
    """The good backup sets in ``dest``, oldest first."""
    return sorted(p for p in Path(dest).glob(SET_PREFIX + "*") if (p / "manifest.json").is_file())


def _known_objects(dest: Path) -> dict[str, dict]:
    known: dict[str, dict] = {}
    for s in list_sets(dest):
        with contextlib.suppress(OSError, ValueError):
            for e in json.loads((s / "manifest.json").read_text(encoding="utf-8"))["files"]:
                known[e["path"]] = e
    return known


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def backup(settings: Settings, dest: str | os.PathLike, *, now: dt.datetime | None = None,
           keep_daily: int | None = None, keep_monthly: int | None = None) -> BackupResult:
    """Back ``settings.home`` up into ``dest`` while the service runs."""
    identity = load_identity(settings)
    recipient = identity.to_public()
    dest = Path(dest).expanduser().resolve()
    if _inside(dest, settings.home) and not _inside(dest, settings.home / "backups"):
        raise Invalid(f"nơi sao lưu {dest} nằm trong thư mục dữ liệu: chọn ổ đĩa hoặc thư mục khác")
    if _inside(key_file(settings), dest):
        raise Invalid(f"khóa sao lưu {key_file(settings)} nằm trong nơi sao lưu {dest}: ai có bản sao lưu "
                      "sẽ có cả khóa; để khóa ở nơi khác")
    started = now or _now()
    with _locked(dest):
        _clean_partials(dest)
        name = SET_PREFIX + started.strftime("%Y%m%dT%H%M%SZ")
        n = 1
        while (dest / name).exists():
            n += 1
            name = SET_PREFIX + started.strftime("%Y%m%dT%H%M%SZ") + f"-{n}"
        part = dest / (PARTIAL_PREFIX + name)
        part.mkdir()
        tmpdir = _tmpdir(settings)
        try:
            snap = _snapshot_db(settings, tmpdir)
            integrity = _quick_check(snap)
            db_name = snap.name + ".age"
            with open(snap, "rb") as fh:
                db_entry = {"path": db_name, **_encrypt_to(fh, part / db_name, recipient)}
            stored = _stored_files(settings, snap if snap.suffix == ".sqlite" else None)
            snap.unlink()
            known = _known_objects(dest)
            files, missing, new, new_bytes = [], [], 0, 0
            for sha, ext in stored:
                rel = f"{POOL}/{sha[:2]}/{sha[2:4]}/{sha}.{ext}.age"
                obj = dest / rel
                if obj.is_file() and rel in known:
                    files.append(known[rel])
                    continue
                live = settings.store_dir / sha[:2] / sha[2:4] / f"{sha}.{ext}"
                if not live.is_file():
                    missing.append(str(live.relative_to(settings.home)))
                    continue
                # new, or left by a killed backup with no manifest naming it: encrypted (again)
                with open(live, "rb") as fh:
                    entry = {"path": rel, **_encrypt_to(fh, obj, recipient)}
                new += 1
                new_bytes += entry["enc_size"]
                if entry["sha256"] != sha:
                    obj.unlink()
                    missing.append(str(live.relative_to(settings.home)) + " (nội dung không khớp tên)")
                    continue
                files.append(entry)
            inventory = config_inventory(settings)
            tar_path = tmpdir / "home.tar"
            _home_tar(settings, inventory, tar_path)
            with open(tar_path, "rb") as fh:
                tar_entry = {"path": "home.tar.age", **_encrypt_to(fh, part / "home.tar.age", recipient)}
            tar_path.unlink()
            finished = _now()
            manifest = {
                "format": FORMAT, "name": name, "started_at": started.isoformat(),
                "finished_at": finished.isoformat(), "home": str(settings.home),
                "database": {"kind": _db_kind(settings), "integrity": integrity, **db_entry}, "home_tar": tar_entry,
                "recipient": str(recipient), "documents": len(stored), "files": files, "missing": missing,
                # file names in the home may name people (quarantined scans): their list travels
                # encrypted, inside home.tar (inventory.json); the manifest keeps counts and settings
                "config": {"files": len(inventory["included"]), "external": inventory["external"],
                           "kept_apart": inventory["kept_apart"]},
            }
            _write_json(part / "manifest.json", manifest)
            _fsync_dir(part)
            os.rename(part, dest / name)  # the set counts from here on
            _fsync_dir(dest)
        finally:
            shutil.rmtree(tmpdir, ignore_errors=True)
        pruned = prune(dest, settings.backup_keep_daily if keep_daily is None else keep_daily,
                       settings.backup_keep_monthly if keep_monthly is None else keep_monthly)
    record_good(settings, dest / name, finished)
    if integrity not in ("", "ok"):
        missing.append(f"sohoa.db: SQLite báo hỏng ({integrity[:200]})")
    return BackupResult(name=name, path=dest / name, started_at=started.isoformat(),
                        finished_at=finished.isoformat(), documents=len(stored), files=len(files), new_files=new,
                        bytes_new=new_bytes, missing=missing, pruned=pruned, kept_apart=inventory["kept_apart"])


def _write_json(path: Path, obj: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(obj, fh, ensure_ascii=False, indent=1)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def record_good(settings: Settings, set_path: Path, finished: dt.datetime) -> None:
    _write_json(settings.home / STATE_FILE, {"last_good": finished.isoformat(), "set": str(set_path),
                                             "dest": str(set_path.parent)})


def last_good(settings: Settings) -> dict | None:
    """The last good backup of this home: ``{"last_good": iso, "set", "dest"}`` or None."""
    try:
        return json.loads((settings.home / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def last_backup_age(settings: Settings, now: dt.datetime | None = None) -> float | None:
    """Seconds since the last good backup finished, or None when there never was one."""
    st = last_good(settings)
    if not st:
        return None
    with contextlib.suppress(KeyError, ValueError):
        return ((now or _now()) - dt.datetime.fromisoformat(st["last_good"])).total_seconds()
    return None


# -- retention -------------------------------------------------------------------------------------

def _set_time(p: Path) -> dt.datetime:
    stamp = p.name[len(SET_PREFIX):].split("-", 1)[0]
    return dt.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.timezone.utc)


def prune(dest: Path, keep_daily: int, keep_monthly: int) -> list[str]:
    """Keep every set of the newest set's day, the newest set of each of the last ``keep_daily``
    days and of each of the last ``keep_monthly`` months; remove the others, then the store files
    no kept set refers to. Call with the destination locked."""
    sets = list_sets(dest)
    if not sets:
        return []
    by_day: dict[str, Path] = {}
    by_month: dict[str, Path] = {}
    for s in sets:  # oldest first: the last one written per key is the newest
        t = _set_time(s)
        by_day[t.strftime("%Y-%m-%d")] = s
        by_month[t.strftime("%Y-%m")] = s
    newest_day = _set_time(sets[-1]).date()
    keep = {s for s in sets if _set_time(s).date() == newest_day}  # all of the newest set's day
    keep |= {by_day[k] for k in sorted(by_day)[-keep_daily:]} if keep_daily > 0 else set()
    keep |= {by_month[k] for k in sorted(by_month)[-keep_monthly:]} if keep_monthly > 0 else set()
    removed = []
    for s in sets:
        if s not in keep:
            # first out of the good names, then deleted: a crash in between leaves a partial
            doomed = s.with_name(PARTIAL_PREFIX + s.name)
            os.rename(s, doomed)
            shutil.rmtree(doomed, ignore_errors=True)
            removed.append(s.name)
    if removed:
        referenced = set(_known_objects(dest))
        for p in (dest / POOL).glob("??/??/*.age"):
            if str(p.relative_to(dest)) not in referenced:
                p.unlink()
    return removed


# -- verify ----------------------------------------------------------------------------------------

@dataclass
class VerifyReport:
    sets: list[str] = field(default_factory=list)
    files: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.sets) and not self.errors


def resolve_sets(src: str | os.PathLike, *, newest_only: bool) -> tuple[Path, list[Path]]:
    """SRC is a destination (its sets) or one set inside it; returns (destination, sets)."""
    src = Path(src).expanduser().resolve()
    if (src / "manifest.json").is_file():
        if not src.name.startswith(SET_PREFIX):
            raise Invalid(f"{src} là một lần sao lưu chưa hoàn tất (bị ngắt giữa chừng): không dùng được")
        return src.parent, [src]
    sets = list_sets(src)
    if not sets:
        raise NotFound(f"không có bản sao lưu hoàn chỉnh nào trong {src}")
    return src, sets[-1:] if newest_only else sets


def _manifest(set_path: Path) -> dict:
    try:
        m = json.loads((set_path / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise Invalid(f"bảng kê {set_path.name}/manifest.json hỏng", detail=str(exc)) from exc
    if m.get("format") != FORMAT:
        raise Invalid(f"bản sao lưu {set_path.name} có định dạng {m.get('format')} không đọc được")
    return m


def _set_entries(m: dict) -> list[tuple[str, dict]]:
    return [("set", m["database"]), ("set", m["home_tar"])] + [("dest", e) for e in m["files"]]


def verify(settings: Settings, src: str | os.PathLike) -> VerifyReport:
    """Re-hash every file of every set in ``src`` (or the one set), decrypt each and check the
    plaintext's hash too."""
    identity = load_identity(settings)
    dest, sets = resolve_sets(src, newest_only=False)
    rep = VerifyReport()
    seen: set[str] = set()
    for s in sets:
        try:
            m = _manifest(s)
        except Invalid as exc:
            rep.errors.append(exc.message)
            continue
        rep.sets.append(s.name)
        for where, e in _set_entries(m):
            path = (s if where == "set" else dest) / e["path"]
            key = str(path)
            if key in seen:
                continue
            seen.add(key)
            rep.files += 1
            label = f"{s.name}: {e['path']}" if where == "set" else e["path"]
            if not path.is_file():
                rep.errors.append(f"thiếu {label}")
                continue
            try:
                enc, plain = _decrypt(path, identity)
            except Invalid as exc:
                rep.errors.append(f"{label}: {exc.message}")
                continue
            if enc != e["enc_sha256"]:
                rep.errors.append(f"{label}: tệp mã hóa bị thay đổi (sha256 khác bảng kê)")
            elif plain != e["sha256"]:
                rep.errors.append(f"{label}: nội dung giải mã khác bảng kê")
    return rep


# -- restore ---------------------------------------------------------------------------------------

@dataclass
class RestoreResult:
    set: str
    home: str
    documents: int
    files: int
    external: list[str]
    kept_apart: list[dict]

    def to_json(self) -> dict:
        return dict(self.__dict__)


def _restore_file(path: Path, entry: dict, identity, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            enc, plain = _decrypt(path, identity, fh)
            fh.flush()
            os.fsync(fh.fileno())
        if enc != entry["enc_sha256"] or plain != entry["sha256"]:
            raise Invalid(f"{entry['path']} không khớp bảng kê của bản sao lưu: chạy `sohoa backup verify`")
        os.replace(tmp, out)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _target_empty(settings: Settings) -> None:
    """A home without a registry. Files already in its store are allowed (content-addressed: a
    restore that stopped midway, or the store of a registry that was lost, is completed)."""
    home = settings.home
    if _db_kind(settings) == "sqlite" and _sqlite_path(settings).exists():
        raise Conflict(f"{home} đã có sổ đăng ký: khôi phục chỉ vào thư mục dữ liệu trống")


def restore(settings: Settings, src: str | os.PathLike, *, env: dict | None = None) -> RestoreResult:
    """Restore the newest good set in ``src`` (or the set ``src``) onto the empty home of ``settings``."""
    from sohoa.config import load_settings

    identity = load_identity(settings)
    dest, (set_path,) = resolve_sets(src, newest_only=True)
    m = _manifest(set_path)
    _target_empty(settings)
    lost = [e["path"] for where, e in _set_entries(m) if not ((set_path if where == "set" else dest) / e["path"]).is_file()]
    if lost:  # said before anything is written
        raise Invalid(f"bản sao lưu {set_path.name} thiếu tệp {lost[0]}"
                      + (f" và {len(lost) - 1} tệp khác" if len(lost) > 1 else "") + ": chạy `sohoa backup verify`")
    home = settings.home
    home.mkdir(parents=True, exist_ok=True)
    # 1. configuration: the backed-up sohoa.toml replaces the one that only named the key
    buf = tempfile.TemporaryFile(dir=home)  # no name: gone with the process whatever happens
    _restore_to_buffer(set_path / m["home_tar"]["path"], m["home_tar"], identity, buf)
    buf.seek(0)
    external = []
    toml = home / "sohoa.toml"
    if toml.exists():
        toml.replace(home / "sohoa.toml.before-restore")
    with buf, tarfile.open(fileobj=buf, mode="r") as tar:
        for member in tar.getmembers():
            if member.name.startswith("home/"):
                member.name = member.name[len("home/"):]
                tar.extract(member, home, filter="data")
        for i, e in enumerate(m["config"].get("external", [])):
            target = Path(e["path"])
            member = tar.getmember(f"external/{i}/{target.name}")
            if target.exists():
                continue
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                fh = tar.extractfile(member)
                target.write_bytes(fh.read() if fh else b"")
                external.append(str(target))
            except OSError:
                external.append(f"{target} (không ghi được: đặt lại bằng tay)")
    old_home = m.get("home", "")
    if toml.exists() and old_home and old_home != str(home):
        text = toml.read_text(encoding="utf-8").replace(old_home, str(home))
        toml.write_text(text, encoding="utf-8")
    # 2. the registry, into the configuration now in place (plus this process's environment)
    target = load_settings(home, env=env)
    _target_empty(target)
    kind = m["database"]["kind"]
    if kind != _db_kind(target):
        raise Invalid(f"bản sao lưu là của cơ sở dữ liệu {kind}, cấu hình hiện tại dùng {_db_kind(target)}")
    # 3. the store first, the registry last: a restore stopped midway leaves no registry, and is
    # simply run again (the files already there are checked and kept)
    n = 0
    for e in m["files"]:
        rel = e["path"][len(POOL) + 1:-len(".age")]
        out = target.store_dir / rel
        if not (out.is_file() and sha256_file(out) == e["sha256"]):
            _restore_file(dest / e["path"], e, identity, out)
        n += 1
    db_src = set_path / m["database"]["path"]
    if kind == "sqlite":
        dbp = _sqlite_path(target)
        part = dbp.with_name(dbp.name + ".restoring")
        _restore_file(db_src, m["database"], identity, part)
        for stale in (dbp.with_name(dbp.name + "-wal"), dbp.with_name(dbp.name + "-shm")):
            stale.unlink(missing_ok=True)  # a journal left by a deleted registry must not replay onto this one
        os.replace(part, dbp)
    else:
        _restore_pg(target, db_src, m["database"], identity)
        # pg_dump's snapshot may predate files the manifest lists (it was taken first): drop those
        wanted = {f"{sha}.{ext}" for sha, ext in _stored_files(target, None)}
        for e in m["files"]:
            name = e["path"].rsplit("/", 1)[-1][:-len(".age")]
            if name not in wanted:
                (target.store_dir / e["path"][len(POOL) + 1:-len(".age")]).unlink(missing_ok=True)
                n -= 1
    target.ensure_dirs()
    return RestoreResult(set=set_path.name, home=str(home), documents=m["documents"], files=n, external=external,
                         kept_apart=m["config"].get("kept_apart", []))


def _restore_to_buffer(path: Path, entry: dict, identity, buf) -> None:
    enc, plain = _decrypt(path, identity, buf)
    if enc != entry["enc_sha256"] or plain != entry["sha256"]:
        raise Invalid(f"{entry['path']} không khớp bảng kê của bản sao lưu: chạy `sohoa backup verify`")


def _restore_pg(target: Settings, src: Path, entry: dict, identity) -> None:
    from registry.db import Database

    pg_restore = shutil.which("pg_restore")
    if pg_restore is None:
        raise Unavailable("không có pg_restore (gói postgresql-client) để khôi phục cơ sở dữ liệu PostgreSQL")
    db = Database(target.db_url)
    try:
        if db.is_initialised():
            raise Conflict(f"cơ sở dữ liệu {db.safe_url} đã có sổ đăng ký: khôi phục chỉ vào cơ sở dữ liệu trống")
    finally:
        db.dispose()
    tmpdir = Path(tempfile.mkdtemp(prefix="sohoa-restore-"))
    try:
        dump = tmpdir / "registry.pgdump"
        _restore_file(src, entry, identity, dump)
        _pg_command(target, pg_restore, "--no-owner", "--no-privileges", "--exit-on-error", str(dump))
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


# -- before a schema upgrade -------------------------------------------------------------------

def schema_revisions(db) -> tuple[set[str], set[str]]:
    """(the registry's current revisions, the installed code's heads)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    with db.engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    return current, set(ScriptDirectory.from_config(db.alembic_config()).get_heads())


def backup_before_upgrade(settings: Settings, db) -> dict | None:
    """``sohoa init`` on a registry whose schema is older than the code: first a consistent copy of
    the registry in ``$SOHOA_HOME/backups/`` (the store is never rewritten by a migration), and a
    full encrypted backup to the last backup's destination when the office has one. None when
    nothing is to be upgraded (a new registry, or one already at the newest schema)."""
    if not db.is_initialised():
        return None
    current, heads = schema_revisions(db)
    if not current or current == heads:
        return None
    stamp = _now().strftime("%Y%m%dT%H%M%SZ")
    rev = "+".join(sorted(current))
    local = settings.home / "backups"
    local.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmpdir = Path(tempfile.mkdtemp(prefix=".pre-upgrade-", dir=local))
    try:
        snap = _snapshot_db(settings, tmpdir)
        kept = local / f"pre-upgrade-{rev}-{stamp}{snap.suffix}"
        os.replace(snap, kept)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    out = {"from": sorted(current), "to": sorted(heads), "registry_copy": str(kept)}
    st = last_good(settings)
    if st and settings.backup_key:
        try:
            out["backup"] = str(backup(settings, st["dest"]).path)
        except (SohoaError, OSError) as exc:  # e.g. the backup disk is not plugged in: the copy above suffices
            out["backup_error"] = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
    return out
