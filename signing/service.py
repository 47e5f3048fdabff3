"""The organisation seal and e-certified copies, bound to the registry (spec §5).

``Sealer.from_settings(settings)`` — the "ký số lưu kho" seal the pipeline applies to every stored
document. ``Certifier`` — allocates certification numbers per (book, year) *before* rendering, in
one transaction with the register row; signs (in a process pool for batches: one key load per
process); stores the signed copies in the Store and as Documents; refuses a revoked / expired /
non-signing officer certificate before anything is allocated.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import threading
import urllib.parse
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from signing.engine import CERT_PHRASE, Engine, Profile, StampInfo, _pool_init, vn_now
from signing.keys import (KeyLoadError, KeyRef, cert_fingerprint, load_signer, load_trust_roots,
                          resolve_secret, validation_context)

log = logging.getLogger(__name__)

REFUSAL_REASONS = {
    "erased": "Bản chính bị tẩy xóa, sửa chữa, thêm, bớt nội dung không hợp lệ",
    "damaged": "Bản chính bị hư hỏng, cũ nát, không xác định được nội dung",
    "confidential": "Bản chính đóng dấu mật hoặc ghi rõ không được sao chụp",
    "unlawful": "Bản chính có nội dung trái pháp luật, đạo đức xã hội",
    "self_made": "Giấy tờ do cá nhân tự lập, không có xác nhận và đóng dấu của cơ quan có thẩm quyền",
}


class CertifyError(Exception):
    """Certification could not be done; the message says why (in plain words)."""


class CertificateRefused(CertifyError):
    """The signer's certificate must not sign: revoked, expired, not yet valid, untrusted, or
    without a signing key usage."""


def default_book(year: int, settings=None) -> str:
    tpl = (settings.extra.get("cert_book") if settings is not None else None) or "01/{year}-SCTĐT/BS"
    return tpl.format(year=year)


def trust_roots_of(settings) -> list:
    return load_trust_roots(settings.trust_roots)


def crl_dirs_of(settings) -> list[str]:
    dirs = [str(settings.pki_dir)]
    extra = settings.extra.get("crl_dirs")
    if extra:
        dirs.extend(extra if isinstance(extra, list) else [d.strip() for d in str(extra).split(",")])
    return dirs


# -- certificate checks ---------------------------------------------------------------------------

@dataclass
class CertCheck:
    revocation_checked: bool
    warnings: list[str] = field(default_factory=list)


def check_signing_cert(cert, trust_roots, crl_dirs=(), *, allow_fetching: bool = True,
                       other_certs=()) -> CertCheck:
    """Refuse (``CertificateRefused``) a certificate that must not sign now; tell whether its
    revocation status could be checked (then the signature gets B-LT validation data)."""
    basic_cert_checks(cert)
    subject = cert.subject.human_friendly
    roots = list(trust_roots)
    if not roots:
        raise CertificateRefused("chưa cấu hình gốc tin cậy (trust_roots): không kiểm tra được chứng thư")
    return _chain_checks(cert, roots, crl_dirs, allow_fetching, other_certs, subject)


def basic_cert_checks(cert) -> None:
    """Validity period and a signing key usage (no trust anchor needed)."""
    now = dt.datetime.now(dt.timezone.utc)
    validity = cert["tbs_certificate"]["validity"]
    nb, na = validity["not_before"].native, validity["not_after"].native
    subject = cert.subject.human_friendly
    if na < now:
        raise CertificateRefused(f"chứng thư số đã hết hạn ngày {na:%d/%m/%Y} ({subject}): không được ký")
    if nb > now:
        raise CertificateRefused(f"chứng thư số chưa có hiệu lực (từ {nb:%d/%m/%Y}) ({subject})")
    ku = cert.key_usage_value
    usages = set(ku.native) if ku is not None else {"digital_signature", "non_repudiation"}
    if not usages & {"digital_signature", "non_repudiation"}:
        raise CertificateRefused(f"chứng thư số không có mục đích sử dụng ký số (key usage: "
                                 f"{', '.join(sorted(usages))}) ({subject})")


def _chain_checks(cert, roots, crl_dirs, allow_fetching, other_certs, subject) -> CertCheck:
    from pyhanko_certvalidator import CertificateValidator
    from pyhanko_certvalidator.errors import (ExpiredError, InvalidCertificateError, NotYetValidError,
                                              PathBuildingError, PathValidationError, RevokedError)

    def run(mode):
        vc = validation_context(roots, crl_dirs, allow_fetching=allow_fetching, revocation_mode=mode,
                                other_certs=other_certs)
        v = CertificateValidator(cert, validation_context=vc)
        return asyncio.run(v.async_validate_usage(set()))

    try:
        run("require")
        return CertCheck(revocation_checked=True)
    except RevokedError as exc:
        raise CertificateRefused(f"chứng thư số đã bị thu hồi ({subject}): không được ký") from exc
    except (ExpiredError, NotYetValidError) as exc:
        raise CertificateRefused(f"chứng thư số hết hạn hoặc chưa có hiệu lực ({subject}): {exc}") from exc
    except InvalidCertificateError as exc:
        raise CertificateRefused(f"chứng thư số không hợp lệ để ký ({subject}): {exc}") from exc
    except PathBuildingError as exc:
        raise CertificateRefused(f"chứng thư số không thuộc gốc tin cậy đã cấu hình ({subject}): {exc}") from exc
    except PathValidationError:
        pass  # revocation information unavailable: check the rest without it
    try:
        run("soft-fail")
    except RevokedError as exc:
        raise CertificateRefused(f"chứng thư số đã bị thu hồi ({subject}): không được ký") from exc
    except (PathValidationError, PathBuildingError, InvalidCertificateError) as exc:
        raise CertificateRefused(f"chứng thư số không hợp lệ ({subject}): {exc}") from exc
    return CertCheck(revocation_checked=False,
                     warnings=["không kiểm tra được tình trạng thu hồi chứng thư (CRL/OCSP không truy cập được):"
                               " ký không kèm dữ liệu xác minh dài hạn (B-LT)"])


# -- the organisation seal ----------------------------------------------------------------------------

class Sealer:
    """The unit's seal ("ký số lưu kho"): PAdES B-B, invisible; B-T when a TSA is configured.
    Load once (``from_settings``), then call ``seal`` from any thread."""

    def __init__(self, engine: Engine, profile: Profile) -> None:
        self.engine = engine
        self.profile = profile

    @classmethod
    def profile_from_settings(cls, settings, secret: bytes | str | None = None) -> Profile | None:
        if not settings.seal_key:
            return None
        ref = KeyRef.parse(settings.seal_key)
        env_var = "SOHOA_PKCS11_PIN" if ref.kind == "pkcs11" else "SOHOA_SEAL_PASSPHRASE"
        pw = resolve_secret(ref, env_var, secret, extra_file=settings.seal_passphrase_file or None)
        roots = [c.dump() for c in trust_roots_of(settings)]
        return Profile(key_ref=settings.seal_key, secret=pw, env_var=env_var, tsa_url=settings.tsa_url,
                       trust_roots=roots, crl_dirs=crl_dirs_of(settings), embed_validation=False)

    @classmethod
    def from_settings(cls, settings, secret: bytes | str | None = None) -> "Sealer | None":
        """None when no seal key is configured (``seal_key``). Raises ``KeyLoadError`` when the key
        cannot be opened and ``CertificateRefused`` when its certificate is expired, without a
        signing usage, or (with trust roots configured) revoked / untrusted — checked once, here."""
        profile = cls.profile_from_settings(settings, secret)
        if profile is None:
            return None
        engine = Engine(profile)
        try:
            roots = trust_roots_of(settings)
            if roots:
                check = check_signing_cert(engine.cert, roots, crl_dirs_of(settings))
                for w in check.warnings:
                    log.warning("organisation seal: %s", w)
            else:
                basic_cert_checks(engine.cert)
        except CertificateRefused:
            engine.close()
            raise
        return cls(engine, profile)

    @property
    def cert(self):
        return self.engine.cert

    def seal(self, pdf: bytes) -> bytes:
        return self.engine.seal(pdf)

    def close(self) -> None:
        self.engine.close()


# -- e-certified copies ---------------------------------------------------------------------------------

@dataclass
class CopyOut:
    document_id: int
    sha256: str
    path: str


@dataclass
class CertifiedResult:
    source_document_id: int
    certified_copy_id: int
    number: int
    book: str
    year: int
    officer_id: int
    level: str
    copies: list[CopyOut] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"source_document_id": self.source_document_id, "certified_copy_id": self.certified_copy_id,
                "number": self.number, "book": self.book, "year": self.year, "officer_id": self.officer_id,
                "level": self.level, "copies": [c.__dict__ for c in self.copies], "warnings": self.warnings}


_PROC_SEALER: Engine | None = None


def _pool_init2(profile: Profile, seal_profile: Profile | None) -> None:
    global _PROC_SEALER
    _pool_init(profile)
    _PROC_SEALER = Engine(seal_profile) if seal_profile is not None else None


def _run_job(engine: Engine, sealer: Engine | None, job: dict) -> dict:
    """Read the original from the store, sign (+ seal), write the copy to the store (and --out):
    only hashes and paths cross process boundaries, not megabytes of PDF."""
    from registry.store import Store

    store = Store(job["store_root"])
    pdf = store.read(job["src_sha"])
    out = engine.certify(pdf, job["info"])
    if sealer is not None:
        out = sealer.seal(out)
    sha, path = store.put_bytes(out)
    dest = str(path)
    if job.get("out_path"):
        target = Path(job["out_path"])
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".part")
        tmp.write_bytes(out)
        os.replace(tmp, target)
        dest = str(target)
    return {"sha256": sha, "size": len(out), "path": dest}


def _pool_job(job: dict) -> dict:
    from signing import engine as eng

    return _run_job(eng._PROC_ENGINE, _PROC_SEALER, job)


class Certifier:
    """Certify originals for one officer. Keys and config are loaded once per Certifier (and once
    per worker process for batches)."""

    def __init__(self, settings, db, officer_id: int, *, secret: bytes | str | None = None,
                 secret_file: str | None = None, workers: int | None = None, seal: bool = True,
                 allow_fetching: bool = True, lt: bool | None = None) -> None:
        """``lt``: embed validation data (B-LT); default: when a TSA is configured and the officer's
        revocation status could be checked."""
        from registry.models import Officer
        from registry.store import Store

        self.settings = settings
        self.db = db
        self.store = Store(settings.store_dir)
        self.workers = workers if workers is not None else settings.worker_count
        with db.session() as s:
            officer = s.get(Officer, officer_id)
            if officer is None or officer.kind != "officer":
                raise CertifyError(f"không có người có thẩm quyền chứng thực số {officer_id}")
            if officer.status != "active":
                raise CertificateRefused(f"người ký {officer.name} (số {officer.id}) đang ở trạng thái "
                                         f"{officer.status}: không được ký")
            self.officer = {"id": officer.id, "name": officer.name, "title": officer.title,
                            "body": officer.body or settings.unit_name, "key_ref": officer.key_ref,
                            "fingerprint": officer.cert_fingerprint}
        ref = KeyRef.parse(self.officer["key_ref"])
        env_var = "SOHOA_PKCS11_PIN" if ref.kind == "pkcs11" else "SOHOA_OFFICER_PASSPHRASE"
        pw = resolve_secret(ref, env_var, secret, extra_file=secret_file)
        self.roots = trust_roots_of(settings)
        try:
            key = load_signer(self.officer["key_ref"], env_var=env_var, secret=pw)
        except KeyLoadError as exc:
            raise CertifyError(str(exc)) from exc
        if self.officer["fingerprint"] and cert_fingerprint(key.cert) != self.officer["fingerprint"]:
            key.close()
            raise CertifyError("khóa ký không khớp với chứng thư số đã đăng ký cho người ký này")
        try:
            self.check = check_signing_cert(key.cert, self.roots, crl_dirs_of(settings),
                                            allow_fetching=allow_fetching)
        except CertificateRefused:
            key.close()
            raise
        self.profile = Profile(key_ref=self.officer["key_ref"], secret=pw, env_var=env_var,
                               tsa_url=settings.tsa_url, trust_roots=[c.dump() for c in self.roots],
                               crl_dirs=crl_dirs_of(settings),
                               embed_validation=bool(settings.tsa_url) and self.check.revocation_checked
                               and (lt is None or lt))
        self.engine = Engine(self.profile, key=key)
        self.seal_profile = Sealer.profile_from_settings(settings) if seal else None
        self.sealer = Engine(self.seal_profile) if self.seal_profile is not None else None
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    @property
    def level(self) -> str:
        if not self.settings.tsa_url:
            return "B-B"
        return "B-LT" if self.profile.embed_validation else "B-T"

    # -- register --------------------------------------------------------------------------------
    def _allocate(self, document_id: int, book: str | None, year: int, copies: int):
        return self._allocate_many([document_id], book, year, copies)[0]

    def _allocate_many(self, document_ids, book: str | None, year: int, copies: int) -> list[dict]:
        from sqlalchemy.exc import IntegrityError

        for attempt in range(3):
            try:
                return self._allocate_tx(document_ids, book, year, copies)
            except IntegrityError:  # two first allocations of a new (book, year) raced: retry
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _allocate_tx(self, document_ids, book: str | None, year: int, copies: int) -> list[dict]:
        """One number per original per act, allocated in one transaction with its register row,
        before anything is rendered; a retry of an unfinished act (allocated / failed) reuses its
        row and number, so numbers are never skipped nor reused."""
        from sqlalchemy import select

        from registry.models import CertifiedCopy, Counter, Document

        book = book or default_book(year, self.settings)
        key = f"certify:{book}:{year}"
        acts = []
        with self.db.session() as s:
            ctr = None
            for document_id in document_ids:
                doc = s.get(Document, document_id)
                if doc is None:
                    raise CertifyError(f"không có tài liệu số {document_id}")
                row = s.scalars(select(CertifiedCopy).where(
                    CertifiedCopy.source_document_id == document_id, CertifiedCopy.book == book,
                    CertifiedCopy.year == year, CertifiedCopy.status.in_(("allocated", "failed")))
                    .order_by(CertifiedCopy.id).limit(1)).first()
                if row is None:
                    if ctr is None:
                        ctr = s.get(Counter, key, with_for_update=True)
                        if ctr is None:
                            ctr = Counter(key=key, value=0)
                            s.add(ctr)
                    ctr.value += 1
                    row = CertifiedCopy(source_document_id=document_id, book=book, year=year, number=ctr.value,
                                        copies=copies, officer_id=self.officer["id"], status="allocated")
                    s.add(row)
                else:
                    row.officer_id = self.officer["id"]
                    row.copies = copies
                    row.status = "allocated"
                s.flush()
                acts.append({"id": row.id, "number": row.number, "book": row.book, "year": row.year,
                             "sha256": doc.sha256, "source_id": document_id})
        return acts

    def _stamp(self, act: dict, today: dt.date, i: int, n: int) -> StampInfo:
        base = self.settings.extra.get("public_url") or f"http://{self.settings.web_host}:{self.settings.web_port}"
        q = urllib.parse.urlencode({"quyen": act["book"], "nam": act["year"], "so": act["number"]})
        return StampInfo(number=act["number"], book=act["book"], date=today, body=self.officer["body"],
                         officer_name=self.officer["name"], officer_title=self.officer["title"],
                         verify_url=f"{base.rstrip('/')}/verify?{q}", copy_index=i, copies=n)

    def _record_many(self, done: list[tuple[dict, list[dict]]]) -> list[list[CopyOut]]:
        """Register signed copies (Documents + the act row) for several acts in one transaction."""
        from registry.models import AuditEvent, CertifiedCopy, Document

        result = []
        with self.db.session() as s:
            for act, copies in done:
                src = s.get(Document, act["source_id"])
                outs, ids = [], []
                for i, cp in enumerate(copies, 1):
                    doc = s.query(Document).filter_by(sha256=cp["sha256"]).one_or_none()
                    if doc is None:
                        doc = Document(sha256=cp["sha256"], size=cp["size"], pages=src.pages, mime="application/pdf",
                                       text=src.text, text_folded=src.text_folded, doc_type=src.doc_type,
                                       type_confidence=src.type_confidence, fields=dict(src.fields or {}),
                                       field_confidences=dict(src.field_confidences or {}), quality=src.quality,
                                       sealed=self.seal_profile is not None, subject_id=src.subject_id,
                                       page_from=1, page_to=src.pages,
                                       source_name=f"Bản sao chứng thực số {act['number']} quyển {act['book']}"
                                                   + (f" (bản {i}/{len(copies)})" if len(copies) > 1 else ""),
                                       valid_until=src.valid_until, created_by=f"officer:{self.officer['id']}",
                                       kind="certified_copy", certified_from_id=src.id)
                        s.add(doc)
                        s.flush()
                    ids.append(doc.id)
                    outs.append(CopyOut(document_id=doc.id, sha256=cp["sha256"], path=cp["path"]))
                row = s.get(CertifiedCopy, act["id"])
                row.status = "signed"
                row.signed_sha256 = outs[0].sha256
                row.signed_document_id = outs[0].document_id
                row.signed_at = dt.datetime.now(dt.timezone.utc)
                row.copies = len(copies)
                if hasattr(row, "signed_document_ids"):
                    row.signed_document_ids = ids
                if hasattr(row, "level"):
                    row.level = self.level
                if hasattr(row, "error"):
                    row.error = None
                s.add(AuditEvent(actor=f"officer:{self.officer['id']}", action="certify",
                                 subject_id=src.subject_id, object_type="document", object_id=str(src.id),
                                 detail={"book": act["book"], "year": act["year"], "number": act["number"],
                                         "copies": [o.document_id for o in outs], "level": self.level}))
                result.append(outs)
        return result

    def _mark_failed(self, act_id: int, error: str) -> None:
        from registry.models import CertifiedCopy

        with self.db.session() as s:
            row = s.get(CertifiedCopy, act_id)
            if row is not None and row.status != "signed":
                row.status = "failed"
                if hasattr(row, "error"):
                    row.error = error[:2000]

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            import multiprocessing as mp

            # fork is cheap; a PKCS#11 session must not cross a fork, so tokens get fresh processes
            pkcs11 = self.profile.key_ref.startswith("pkcs11:") or (
                self.seal_profile is not None and self.seal_profile.key_ref.startswith("pkcs11:"))
            # and forking a multi-threaded process (a web server) can deadlock: forkserver there
            if pkcs11 or not hasattr(os, "fork"):
                method = "spawn"
            elif threading.active_count() > 1:
                method = "forkserver"
            else:
                method = "fork"
            ctx = mp.get_context(method)
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx, initializer=_pool_init2,
                                             initargs=(self.profile, self.seal_profile))
        return self._pool

    def sign_one(self, pdf: bytes, info: StampInfo) -> bytes:
        out = self.engine.certify(pdf, info)
        if self.sealer is not None:
            out = self.sealer.seal(out)
        return out

    def certify(self, document_ids, *, copies: int = 1, out_dir: str | os.PathLike | None = None,
                book: str | None = None, commit_every: int = 32) -> list[CertifiedResult]:
        """Certify each original (``copies`` copies sharing its number). Numbers for the whole batch
        are allocated first; signing runs in the process pool while finished acts are recorded."""
        from concurrent.futures import FIRST_COMPLETED, wait

        if copies < 1:
            raise CertifyError("số bản sao phải ≥ 1")
        today = vn_now().date()
        acts = self._allocate_many([int(d) for d in document_ids], book, today.year, copies)
        out = Path(out_dir) if out_dir else None
        jobs = []  # (act index, copy index, job)
        for ai, act in enumerate(acts):
            if not self.store.exists(act["sha256"]):
                self._mark_failed(act["id"], "missing from store")
                raise CertifyError(f"tệp của tài liệu {act['source_id']} không có trong kho (chạy `sohoa check`)")
            for i in range(1, copies + 1):
                suffix = f"-{i}" if copies > 1 else ""
                name = f"chung-thuc-{act['year']}-{act['number']:05d}-tl{act['source_id']}{suffix}.pdf"
                jobs.append((ai, i, {"store_root": str(self.store.root), "src_sha": act["sha256"],
                                     "info": self._stamp(act, today, i, copies),
                                     "out_path": str(out / name) if out is not None else None}))
        signed: dict[int, dict[int, dict]] = {}
        errors: dict[int, str] = {}
        results: dict[int, CertifiedResult] = {}
        pending_record: list[int] = []

        def flush(force: bool = False) -> None:
            if not pending_record or (not force and len(pending_record) < commit_every):
                return
            batch = [(acts[ai], [signed[ai][i] for i in sorted(signed[ai])]) for ai in pending_record]
            for ai, outs in zip(pending_record, self._record_many(batch)):
                act = acts[ai]
                results[ai] = CertifiedResult(source_document_id=act["source_id"], certified_copy_id=act["id"],
                                              number=act["number"], book=act["book"], year=act["year"],
                                              officer_id=self.officer["id"], level=self.level, copies=outs,
                                              warnings=list(self.check.warnings))
            pending_record.clear()

        def done(ai: int, i: int, res: dict | None, err: str | None) -> None:
            if err is not None:
                errors[ai] = err
            else:
                signed.setdefault(ai, {})[i] = res
            if ai not in errors and len(signed.get(ai, {})) == copies:
                pending_record.append(ai)
                flush()

        if self.workers > 1 and len(jobs) > 1:
            pool = self._get_pool()
            futs = {pool.submit(_pool_job, job): (ai, i) for ai, i, job in jobs}
            while futs:
                finished, _ = wait(futs, return_when=FIRST_COMPLETED)
                for f in finished:
                    ai, i = futs.pop(f)
                    try:
                        done(ai, i, f.result(), None)
                    except Exception as exc:  # noqa: BLE001
                        done(ai, i, None, f"{type(exc).__name__}: {exc}")
        else:
            for ai, i, job in jobs:
                try:
                    done(ai, i, _run_job(self.engine, self.sealer, job), None)
                except Exception as exc:  # noqa: BLE001
                    done(ai, i, None, f"{type(exc).__name__}: {exc}")
        flush(force=True)
        for ai, err in errors.items():
            self._mark_failed(acts[ai]["id"], err)
        if errors:
            first = next(iter(errors.values()))
            raise CertifyError(f"ký thất bại cho {len(errors)} tài liệu (số chứng thực được giữ lại để ký lại): "
                               f"{first}")
        return [results[ai] for ai in range(len(acts))]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
        self.engine.close()
        if self.sealer is not None:
            self.sealer.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def record_refusal(db, document_id: int, reason: str, note: str = "", officer_id: int | None = None) -> int:
    from registry.models import AuditEvent, CertificationRefusal, Document

    if reason not in REFUSAL_REASONS:
        raise CertifyError(f"lý do không hợp lệ: {reason} (một trong: {', '.join(REFUSAL_REASONS)})")
    with db.session() as s:
        doc = s.get(Document, document_id)
        if doc is None:
            raise CertifyError(f"không có tài liệu số {document_id}")
        row = CertificationRefusal(document_id=document_id, reason=reason, note=note or "", officer_id=officer_id)
        s.add(row)
        s.flush()
        s.add(AuditEvent(actor=f"officer:{officer_id}" if officer_id else "staff", action="certify.refuse",
                         subject_id=doc.subject_id, object_type="document", object_id=str(document_id),
                         detail={"reason": reason, "refusal_id": row.id}))
        return row.id


def register_rows(db, book: str | None = None, year: int | None = None) -> list[dict]:
    """The certification register (sổ chứng thực), in number order."""
    from sqlalchemy import select

    from registry.models import CertifiedCopy, Document, Officer

    with db.session() as s:
        q = select(CertifiedCopy, Officer, Document).join(Officer, Officer.id == CertifiedCopy.officer_id) \
            .join(Document, Document.id == CertifiedCopy.source_document_id)
        if book:
            q = q.where(CertifiedCopy.book == book)
        if year:
            q = q.where(CertifiedCopy.year == year)
        q = q.order_by(CertifiedCopy.book, CertifiedCopy.year, CertifiedCopy.number)
        out = []
        for cc, off, doc in s.execute(q):
            out.append({"book": cc.book, "year": cc.year, "number": cc.number, "status": cc.status,
                        "copies": cc.copies, "source_document_id": cc.source_document_id,
                        "doc_type": doc.doc_type, "officer_id": off.id, "officer": off.name,
                        "signed_document_id": cc.signed_document_id, "signed_sha256": cc.signed_sha256,
                        "signed_at": cc.signed_at.isoformat() if cc.signed_at else None,
                        "created_at": cc.created_at.isoformat() if cc.created_at else None})
        return out


def find_certified(db, book: str, year: int, number: int) -> dict | None:
    """The register entry a stamp's QR code points to (``/verify?quyen=&nam=&so=``)."""
    rows = [r for r in register_rows(db, book, int(year)) if r["number"] == int(number)]
    return rows[0] if rows else None


__all__ = ["find_certified", "Sealer", "Certifier", "CertifyError", "CertificateRefused", "check_signing_cert",
           "record_refusal", "register_rows", "REFUSAL_REASONS", "CERT_PHRASE", "default_book"]
