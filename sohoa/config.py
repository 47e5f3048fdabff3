"""Configuration: environment variables with a ``SOHOA_`` prefix over ``$SOHOA_HOME/sohoa.toml``.

Everything the stages need is read once into a frozen :class:`Settings` and passed down; no
stage reads the environment on its own.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

DEFAULT_HOME = "~/.sohoa"


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str = ""
    broker_url: str = ""  # empty = in-process workers; redis://… or amqp://… = Celery
    queue: str = "sohoa.ingest"  # the Celery queue of ingest jobs
    workers: int = 0  # 0 = one per core
    # niceness added to the OCR worker processes (and the Tesseract they start): the counter's
    # pages and the reuse API answer first, OCR takes the CPU left over (0 = same priority). 19,
    # the lowest: at 10 a page being read still held the lookups' p99 over 10 ms (bench/load.py)
    ocr_nice: int = 19
    # niceness of the staff pages' server when it runs apart from the API (`sohoa serve --only
    # web`): a page has 300 ms, a reuse lookup 10 ms, so the lookup takes the CPU first
    web_nice: int = 10
    quiet_seconds: float = 2.0  # a file must stay unchanged this long before it is picked up
    rescan_seconds: float = 5.0  # periodic rescan of the inbox, whatever the observer says
    max_attempts: int = 5  # transient failures are retried this many times, with backoff
    max_pixels: int = 200_000_000  # decompression-bomb cap per page
    work_pixels: int = 30_000_000  # a page is analysed and OCR'd at most this big (memory per page worker)
    empty_timeout_seconds: float = 900.0  # an empty file in the inbox is waited for this long
    ocr_lang: str = "vie"
    agency_code: str = "000.00.01.H29"  # the unit's code, first part of every dossier code
    unit_name: str = "Ủy ban nhân dân xã"  # shown on receipts and certification stamps
    tsa_url: str = ""
    web_host: str = "127.0.0.1"
    web_port: int = 8080
    polling_observer: bool = False  # for network shares where inotify does not see changes
    # signing (issue 4): the organisation seal key (PKCS#12 path or pkcs11: URI), its passphrase
    # from a file or SOHOA_SEAL_PASSPHRASE (never a CLI argument), explicit trust roots (PEM files,
    # comma-separated; never the OS store)
    seal_key: str = ""
    seal_passphrase_file: str = ""
    trust_roots: str = ""  # older name of trust_roots_gov
    # identity check at intake (registry.population): a population-database gateway's URL and bearer
    # token; or identity_verifier = "stub" with identity_stub_file (JSON of known people) for dev
    identity_url: str = ""
    identity_token: str = ""
    identity_verifier: str = ""
    identity_stub_file: str = ""
    # the two anchor sets kept apart (the product spec's certified copy): the government special-use
    # CA and the public CAs;
    # intermediates: a PEM bundle (or directory) used to build paths for keys that lack them
    trust_roots_gov: str = ""
    trust_roots_public: str = ""
    intermediates: str = ""
    # where the QR code of a certified copy leads (required outside dev mode, never loopback)
    public_base_url: str = ""
    dev_mode: bool = False  # set by `sohoa pki dev`: dev PKI published at /pki/, loopback QR allowed
    # portal sync (issue 12): empty portal_url = events wait in the outbox; the token is a secret
    portal_url: str = ""
    portal_token: str = ""
    portal_timeout: float = 10.0  # seconds per request
    sync_max_attempts: int = 10  # failed deliveries before an event is dead-lettered
    sync_backoff: float = 2.0  # first retry delay, seconds; doubles per attempt
    sync_backoff_max: float = 600.0
    sync_batch: int = 50  # events per request (one per dossier)
    # backups (issue 21): the age key file (`sohoa backup keygen --out FILE`), retention, and the
    # age past which `sohoa doctor` and /metrics call the last good backup too old
    backup_key: str = ""
    backup_keep_daily: int = 7
    backup_keep_monthly: int = 12
    backup_max_age_hours: float = 26.0
    # `sohoa doctor` (issue 21): free space the inbox and the store need; the Unix account the
    # scanners write the inbox as, e.g. through the Samba share (empty: not checked)
    min_free_mb: int = 1024
    scanner_user: str = ""
    extra: dict = field(default_factory=dict)

    # -- derived paths -------------------------------------------------------------------
    @property
    def inbox(self) -> Path:
        return self.home / "inbox"

    @property
    def work_dir(self) -> Path:
        return self.home / "work"

    @property
    def done_dir(self) -> Path:
        return self.home / "done"

    @property
    def quarantine_dir(self) -> Path:
        return self.home / "quarantine"

    @property
    def store_dir(self) -> Path:
        return self.home / "store"

    @property
    def pki_dir(self) -> Path:
        return self.home / "pki"

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'sohoa.db'}"

    @property
    def worker_count(self) -> int:
        return self.workers if self.workers > 0 else (os.cpu_count() or 1)

    def ensure_dirs(self) -> None:
        """The data home and the folders that hold personal data are the service account's alone
        (0700); the inbox keeps the mode it was given (scanners and shares write into it)."""
        for d in (self.home, self.inbox, self.work_dir, self.done_dir, self.quarantine_dir,
                  self.store_dir, self.pki_dir):
            d.mkdir(parents=True, exist_ok=True)
        for d in (self.home, self.work_dir, self.done_dir, self.quarantine_dir, self.store_dir, self.pki_dir):
            try:
                if d.stat().st_mode & 0o077:
                    d.chmod(0o700)
            except OSError:  # not ours (a mounted share): left as it is
                pass


def _coerce(value: str, typ: object):
    if typ in (int, "int"):
        return int(value)
    if typ in (float, "float"):
        return float(value)
    if typ in (bool, "bool"):
        return str(value).strip().lower() in ("1", "true", "yes", "on")
    return value


def load_settings(home: str | os.PathLike | None = None, env: dict | None = None, **overrides) -> Settings:
    """Settings from (lowest first) defaults, ``$SOHOA_HOME/sohoa.toml``, ``SOHOA_*`` env, overrides."""
    env = dict(os.environ if env is None else env)
    home_path = Path(home or env.get("SOHOA_HOME") or DEFAULT_HOME).expanduser().resolve()
    values: dict = {}
    toml_path = home_path / "sohoa.toml"
    known = {f.name: f.type for f in fields(Settings) if f.name not in ("home", "extra")}
    extra: dict = {}
    if toml_path.is_file():
        with open(toml_path, "rb") as fh:
            data = tomllib.load(fh)
        for k, v in data.items():
            (values if k in known else extra)[k] = v
    for name, typ in known.items():
        key = "SOHOA_" + name.upper()
        if key in env and env[key] != "":
            values[name] = _coerce(env[key], typ)
        elif key in env and name in ("database_url", "broker_url", "tsa_url", "portal_url"):
            values[name] = ""
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Settings(home=home_path, extra=extra, **values)


def with_overrides(settings: Settings, **kw) -> Settings:
    return replace(settings, **{k: v for k, v in kw.items() if v is not None})


def update_config_file(home: str | os.PathLike, values: dict) -> Path:
    """Set top-level keys in ``$SOHOA_HOME/sohoa.toml``, keeping everything else (comments,
    tables) as is; refuses to touch a file that is not valid TOML."""
    import json
    import re

    path = Path(home) / "sohoa.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if text:
        tomllib.loads(text)
    lines = text.splitlines()
    first_table = next((i for i, ln in enumerate(lines) if ln.lstrip().startswith("[")), len(lines))
    for k, v in values.items():
        rendered = f"{k} = {json.dumps(v, ensure_ascii=False)}"
        pat = re.compile(rf"^\s*{re.escape(k)}\s*=")
        for i in range(first_table):
            if pat.match(lines[i]):
                lines[i] = rendered
                break
        else:
            lines.insert(first_table, rendered)
            first_table += 1
    out = "\n".join(lines) + "\n"
    tomllib.loads(out)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(out, encoding="utf-8")
    tmp.replace(path)
    return path


# -- the configuration reference (docs/operations.md is generated from this) -----------------------
# field -> (default as a person reads it, or None for the field's own default; what it means)
FIELD_DOCS: dict[str, tuple[str | None, str]] = {
    "home": ("`~/.sohoa`", "data directory: inbox/, work/, done/, quarantine/, store/, pki/, sohoa.db, sohoa.toml "
                          "(environment only: `sohoa.toml` lives in it)"),
    "database_url": ("SQLite file `$SOHOA_HOME/sohoa.db`", "any SQLAlchemy URL, e.g. `postgresql+psycopg://…`"),
    "backup_key": ("empty (no backups)", "the office's age key file made by `sohoa backup keygen --out FILE`; then "
                   "`sohoa backup DEST` and `sohoa restore SRC` need nothing else (keep a copy apart from the backups)"),
    "backup_keep_daily": (None, "backup sets kept one per day, for this many days"),
    "backup_keep_monthly": (None, "backup sets kept one per month, for this many months"),
    "backup_max_age_hours": (None, "age past which `sohoa doctor` and `/metrics` call the last good backup too old"),
    "min_free_mb": (None, "free space (MB) the inbox and the store need; `sohoa doctor` fails below it"),
    "scanner_user": ("empty (not checked)", "the Unix account the scanners write the inbox as (the Samba share's); "
                     "`sohoa doctor` checks it can"),
    "broker_url": ("empty (in-process workers)", "`redis://…` / `amqp://…` for Celery workers (scaled mode)"),
    "queue": (None, "Celery queue of ingest jobs"),
    "workers": ("0 (one per core)", "OCR worker processes"),
    "ocr_nice": ("19", "CPU priority the OCR workers give up (Unix niceness, 0–19): people and the API are served first, "
                       "OCR takes the CPU they leave"),
    "web_nice": ("10", "CPU priority the staff pages' server gives up when it runs apart from the API "
                      "(`sohoa serve --only web`; Unix niceness, 0–19): reuse lookups answer first"),
    "quiet_seconds": (None, "a file must be unchanged this long before it is taken"),
    "rescan_seconds": (None, "periodic rescan besides file-system events"),
    "max_attempts": (None, "transient failures of a file are retried this many times, with exponential backoff"),
    "max_pixels": (None, "decompression-bomb cap per page"),
    "work_pixels": (None, "a page is analysed and OCR'd at most this big (memory per page worker)"),
    "empty_timeout_seconds": (None, "an empty file in the inbox is waited for this long before it is quarantined; "
                                    "a file its writer holds open is waited for as long"),
    "ocr_lang": (None, "Tesseract language(s)"),
    "agency_code": (None, "the unit's code, first part of dossier codes"),
    "unit_name": (None, "the unit's name on receipts and certification stamps"),
    "tsa_url": ("empty", "RFC 3161 time-stamping service (B-T, B-LT, B-LTA)"),
    "web_host": (None, "address of the web UI and the API"),
    "web_port": (None, "port of the web UI and the API"),
    "polling_observer": (None, "poll instead of inotify (network shares)"),
    "seal_key": ("(set by `sohoa pki dev`)", "organisation seal key (PKCS#12 path or `pkcs11:` URI)"),
    "seal_passphrase_file": ("(set by `sohoa pki dev`)", "file holding the seal key's passphrase "
                                                        "(or `SOHOA_SEAL_PASSPHRASE`; never an argument)"),
    "trust_roots": ("empty", "older name of `trust_roots_gov`, read as that set too"),
    "identity_url": ("empty", "population-database gateway for the identity check at intake "
                              "(`registry.verifier.HttpVerifier`)"),
    "identity_token": ("empty", "bearer token of that gateway"),
    "identity_verifier": ("`http` when a URL is set, else `none`", "`stub` + `identity_stub_file` for development "
                                                                   "and tests"),
    "identity_stub_file": ("empty", "JSON file of known people for the `stub` verifier"),
    "trust_roots_gov": ("(set by `sohoa pki dev`)", "anchors of the government special-use CA, comma-separated "
                                                   "PEM files or directories"),
    "trust_roots_public": ("empty", "anchors of the public CAs"),
    "intermediates": ("empty", "PEM bundle of intermediate CA certificates, for keys that lack them"),
    "public_base_url": ("empty (required to certify outside dev mode)", "public address of the web app: the QR "
                                                                       "code on stamps leads to `<it>/verify`"),
    "dev_mode": ("false (set by `sohoa pki dev`)", "dev PKI published at `/pki/`, loopback QR address allowed"),
    "portal_url": ("empty (events wait in the outbox)", "national portal endpoint"),
    "portal_token": ("empty", "the portal's bearer token (a secret: `/etc/default/sohoa` or `sohoa.toml`)"),
    "portal_timeout": (None, "seconds per portal request"),
    "sync_max_attempts": (None, "failed deliveries before an event is dead-lettered"),
    "sync_backoff": (None, "first retry delay, seconds (doubling, with jitter)"),
    "sync_backoff_max": (None, "cap of the retry delay, seconds"),
    "sync_batch": (None, "events per portal request (one per dossier)"),
}
# keys read from sohoa.toml only (Settings.extra): key -> (default, meaning)
EXTRA_DOCS: dict[str, tuple[str, str]] = {
    "login_max_failures": ("5", "wrong passwords in a row before a staff account is locked"),
    "login_lockout_seconds": ("900", "how long a locked account stays locked"),
    "session_idle_minutes": ("30", "a staff session ends after this long idle"),
    "session_max_hours": ("12", "a staff session ends after this long in any case"),
    "session_https_only": ("false", "set `true` behind HTTPS (the session cookie is sent over HTTPS only)"),
    "audit_read_durability": ('"relaxed"', '`"full"`: a flushed commit for the audit row of every read '
                                           "(relaxed survives a killed process, not a power cut)"),
    "cert_book": ('"01/{year}-SCTĐT/BS"', "the certification register's book number (electronic books apart "
                                         "from paper ones)"),
    "crl_dirs": ("empty", "more directories of `*.crl` files, besides `$SOHOA_HOME/pki`"),
}


def _shown_default(f) -> str:
    from dataclasses import MISSING

    value = f.default if f.default is not MISSING else None
    if isinstance(value, bool):
        return str(value).lower()
    if value == "":
        return "empty"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return f"`{value}`" if isinstance(value, str) else str(value)


def docs_markdown() -> str:
    """The configuration reference as Markdown: every Settings field, then the sohoa.toml-only keys."""
    out = ["| variable | `sohoa.toml` key | default | meaning |", "|---|---|---|---|"]
    for f in fields(Settings):
        if f.name == "extra":
            continue
        default, meaning = FIELD_DOCS[f.name]
        out.append(f"| `SOHOA_{f.name.upper()}` | {'—' if f.name == 'home' else f'`{f.name}`'} | "
                   f"{default if default is not None else _shown_default(f)} | {meaning} |")
    out += ["", "Read from `sohoa.toml` only:", "", "| key | default | meaning |", "|---|---|---|"]
    out += [f"| `{k}` | {d} | {m} |" for k, (d, m) in EXTRA_DOCS.items()]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    import sys

    if sys.argv[1:] != ["--docs"]:
        sys.exit("usage: python -m sohoa.config --docs   (prints the configuration reference as Markdown)")
    sys.stdout.write(docs_markdown())
