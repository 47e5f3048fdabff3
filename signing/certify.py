"""E-certified copies (chứng thực bản sao điện tử từ bản chính, as the product spec's certified-copy
section describes it), bound to the registry.

``Certifier`` checks the officer (registry status, key, certificate: validity, key usage, path
to a configured anchor set, revocation — refused before anything is allocated), allocates the
numbers of a batch in one transaction (:mod:`signing.book`; an act recorded settles its
certification request, :mod:`registry.certification`), signs — the officer's
certification signature with the lời chứng stamp, then the organisation seal — in a process pool
for batches (:mod:`signing.pool`), and records the copies as Documents and register rows.
The name on the stamp is the certificate holder's; title and body come from the registry.
"""
from __future__ import annotations

import ipaddress
import logging
import os
import time
import urllib.parse
from concurrent.futures import FIRST_COMPLETED, wait
from pathlib import Path

from signing import pool as pools
from signing import book as register_book
from signing.checks import holder_name
from signing.signer import Engine
from signing.errors import (CertificateRefused, SigningConflict, SigningFailed, SigningInvalid,
                            SigningNotFound)
from signing.keys import KeyRef, SignerKey, cert_fingerprint, resolve_secret, secret_env_var
from signing.book import CertifiedResult
from signing.seal import Sealer, open_checked, signing_profile
from signing.stamp import StampInfo
from signing.trust import Trust
from vocab.clock import vn_today

log = logging.getLogger(__name__)


def verify_base_url(settings) -> str:
    """Where the QR code of a stamp leads: ``public_base_url``; outside dev mode it is required
    and must not be a loopback address (a citizen's phone cannot reach it)."""
    base = (getattr(settings, "public_base_url", "") or "").strip().rstrip("/")
    dev = bool(getattr(settings, "dev_mode", False))
    if not base:
        if dev:
            return f"http://{settings.web_host}:{settings.web_port}"
        raise SigningInvalid("chưa cấu hình địa chỉ công khai của trang xác minh (public_base_url hoặc "
                             "SOHOA_PUBLIC_BASE_URL): mã QR trên bản sao phải dẫn tới một địa chỉ người dân "
                             "truy cập được, ví dụ https://motcua.tanphu.gov.vn")
    u = urllib.parse.urlparse(base)
    if u.scheme not in ("http", "https") or not u.hostname:
        raise SigningInvalid(f"địa chỉ công khai không hợp lệ: {base} (cần dạng https://tên-miền)")
    if _loopback(u.hostname) and not dev:
        raise SigningInvalid(f"địa chỉ công khai {base} là địa chỉ nội bộ của máy chủ (loopback): mã QR sẽ không "
                             "dẫn tới đâu; cấu hình public_base_url bằng địa chỉ người dân truy cập được")
    return base


def _loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain") or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Certifier:
    """Certify originals for one officer. Keys and configuration are loaded and checked once per
    Certifier (and loaded once per worker process for batches)."""

    def __init__(self, settings, db, officer_id: int, *, secret: bytes | str | None = None,
                 secret_file: str | None = None, workers: int | None = None, seal: bool = True,
                 allow_fetching: bool = True, lt: bool | None = None, lta: bool = True,
                 trust: Trust | None = None) -> None:
        """``lt``: embed validation data (B-LT); default: when a TSA is configured and the
        revocation status could be checked. ``lta``: then a document timestamp over everything
        (B-LTA; added after the organisation seal when there is one)."""
        from registry.models import Officer
        from registry.store import Store

        self.settings, self.db = settings, db
        self.store = Store(settings.store_dir)
        self.workers = workers if workers is not None else settings.worker_count
        self._pool = None
        with db.session() as s:
            officer = s.get(Officer, officer_id)
            if officer is None or officer.kind != "officer":
                raise SigningNotFound(f"không có người có thẩm quyền chứng thực số {officer_id}")
            if officer.status != "active":
                raise CertificateRefused(f"người ký {officer.name} (số {officer.id}) đã bị thu hồi quyền ký "
                                         f"({officer.status}): không được ký")
            self.officer = {"id": officer.id, "name": officer.name, "title": officer.title,
                            "body": officer.body or settings.unit_name, "key_ref": officer.key_ref,
                            "fingerprint": officer.cert_fingerprint}
        self.base_url = verify_base_url(settings)
        self.trust = trust or Trust.from_settings(settings)
        ref = KeyRef.parse(self.officer["key_ref"])
        self.remote = ref.kind == "csc"  # a CSC service signs: the whole batch on one authorization
        env_var = secret_env_var(self.officer["key_ref"])
        pw = resolve_secret(ref, env_var, secret, extra_file=secret_file)
        key, check = open_checked(self.officer["key_ref"], self.trust, env_var=env_var, secret=pw,
                                  allow_fetching=allow_fetching)
        if check is None:
            key.close()
            raise CertificateRefused("chưa cấu hình gốc tin cậy (trust_roots_gov / trust_roots_public): "
                                     "không kiểm tra được chứng thư số của người ký")
        self.check = check
        if self.officer["fingerprint"] and cert_fingerprint(key.cert) != self.officer["fingerprint"]:
            key.close()
            raise SigningConflict("khóa ký không khớp với chứng thư số đã đăng ký cho người ký này")
        self.holder = holder_name(key.cert)
        self.sealer = None
        if seal and settings.seal_key:
            try:
                self.sealer = Sealer.from_settings(settings, trust=self.trust, lt=lt, lta=lta)
            except Exception:
                key.close()
                raise
        seal_lta = self.sealer is not None and self.sealer.profile.use_lta
        self.profile = signing_profile(settings, self.trust, check=check, lt=lt, lta=lta and self.sealer is None)
        self.key = SignerKey(self.officer["key_ref"], env_var, pw)  # the pool's workers open it again
        self.engine = Engine(self.profile, key=key)
        level = self.profile.level
        self.level = "B-LTA" if level == "B-LT" and seal_lta else level

    def __repr__(self) -> str:
        return f"Certifier(officer={self.officer['id']}, {self.key!r}, level={self.level!r})"

    def _stamp(self, act, today, i: int, n: int) -> StampInfo:
        q = urllib.parse.urlencode({"quyen": act.book, "nam": act.year, "so": act.number})
        return StampInfo(number=act.number, book=act.book, date=today, body=self.officer["body"],
                         officer_name=self.holder, officer_title=self.officer["title"],
                         verify_url=f"{self.base_url}/verify?{q}", copy_index=i, copies=n)

    def allocate(self, document_ids, *, book: str | None = None, year: int | None = None, copies: int = 1,
                 requests: dict[int, int] | None = None):
        year = year or vn_today().year
        return register_book.allocate(self.db, [int(d) for d in document_ids],
                                      book=book or register_book.default_book(year, self.settings), year=year,
                                      copies=copies, officer_id=self.officer["id"], requests=requests)

    def certify(self, document_ids, *, copies: int | dict = 1, out_dir: str | os.PathLike | None = None,
                book: str | None = None, commit_every: int = 32, requests: dict[int, int] | None = None,
                actor: str | None = None) -> list[CertifiedResult]:
        """Certify each original (``copies`` copies sharing its number; a mapping gives each
        original its own count). Numbers for the whole batch are allocated first; signing runs in
        the process pool while finished acts are recorded. With a remote (CSC) key the batch is
        signed on one authorization and is all or nothing (:meth:`_certify_remote`).
        ``requests``: document id → its claimed certification request, settled in the transaction
        that records the act; ``actor``: who certifies, for the audit trail."""
        document_ids = [int(d) for d in document_ids]
        per_doc = {d: int(copies[d]) if isinstance(copies, dict) else int(copies) for d in document_ids}
        if any(n < 1 for n in per_doc.values()):
            raise SigningInvalid("số bản sao phải từ 1 trở lên")
        if self.remote:
            return self._certify_remote(document_ids, per_doc, out_dir, book, requests, actor)
        if isinstance(copies, dict):
            groups: dict[int, list[int]] = {}
            for d in document_ids:
                groups.setdefault(per_doc[d], []).append(d)
            found: dict[int, CertifiedResult] = {}
            for n, ids in groups.items():
                for r in self.certify(ids, copies=n, out_dir=out_dir, book=book, commit_every=commit_every,
                                      requests=requests, actor=actor):
                    found[r.source_document_id] = r
            return [found[d] for d in document_ids]
        today = vn_today()
        acts = self.allocate(document_ids, book=book, year=today.year, copies=copies, requests=requests)
        out = Path(out_dir) if out_dir else None
        jobs = []  # (act index, copy index, job)
        for ai, act in enumerate(acts):
            if not self.store.exists(act.sha256):
                register_book.mark_failed(self.db, act.id, "missing from store")
                raise SigningNotFound(f"tệp của tài liệu {act.source_id} không có trong kho (chạy `sohoa check`)")
            for i in range(1, copies + 1):
                suffix = f"-{i}" if copies > 1 else ""
                name = f"chung-thuc-{act.year}-{act.number:05d}-tl{act.source_id}{suffix}.pdf"
                jobs.append((ai, i, {"store_root": str(self.store.root), "src_sha": act.sha256,
                                     "info": self._stamp(act, today, i, copies),
                                     "out_path": str(out / name) if out is not None else None}))
        signed: dict[int, dict[int, dict]] = {}
        errors: dict[int, str] = {}
        results: dict[int, CertifiedResult] = {}
        pending: list[int] = []

        def flush(force: bool = False) -> None:
            if not pending or (not force and len(pending) < commit_every):
                return
            batch = [(acts[ai], [signed[ai][i] for i in sorted(signed[ai])]) for ai in pending]
            recorded = register_book.record(self.db, batch, officer_id=self.officer["id"], level=self.level,
                                            sealed=self.sealer is not None, actor=actor)
            for ai, outs in zip(pending, recorded):
                act = acts[ai]
                results[ai] = CertifiedResult(source_document_id=act.source_id, certified_copy_id=act.id,
                                              number=act.number, book=act.book, year=act.year,
                                              officer_id=self.officer["id"], level=self.level, copies=outs,
                                              warnings=list(self.check.warnings))
            pending.clear()

        def done(ai: int, i: int, res: dict | None, err: str | None) -> None:
            if err is not None:
                errors[ai] = err
            else:
                signed.setdefault(ai, {})[i] = res
            if ai not in errors and len(signed.get(ai, {})) == copies:
                pending.append(ai)
                flush()

        if self.workers > 1 and len(jobs) > 1:
            if self._pool is None:
                seal = (self.sealer.key, self.sealer.profile) if self.sealer is not None else None
                self._pool = pools.make_pool(self.workers, (self.key, self.profile), seal)
            futs = {pools.submit(self._pool, job): (ai, i) for ai, i, job in jobs}
            while futs:
                finished, _ = wait(futs, return_when=FIRST_COMPLETED)
                for f in finished:
                    ai, i = futs.pop(f)
                    try:
                        done(ai, i, f.result(), None)
                    except Exception as exc:  # noqa: BLE001 - recorded on the act, reported below
                        done(ai, i, None, _describe(exc))
        else:
            seal_engine = self.sealer.engine if self.sealer is not None else None
            pause = float(os.environ.get("SOHOA_TEST_SIGN_PAUSE") or 0)  # crash tests: time to kill mid-batch
            for ai, i, job in jobs:
                if pause:
                    time.sleep(pause)
                try:
                    done(ai, i, pools.run_job(self.engine, seal_engine, job), None)
                except Exception as exc:  # noqa: BLE001
                    done(ai, i, None, _describe(exc))
        flush(force=True)
        for ai, err in errors.items():
            register_book.mark_failed(self.db, acts[ai].id, err)
        if errors:
            first = next(iter(errors.values()))
            raise SigningFailed(f"ký thất bại cho {len(errors)} tài liệu (số chứng thực được giữ lại để ký lại): "
                                f"{first}")
        return [results[ai] for ai in range(len(acts))]

    def _certify_remote(self, document_ids: list[int], per_doc: dict[int, int], out_dir, book,
                        requests: dict[int, int] | None = None, actor: str | None = None) -> list[CertifiedResult]:
        """All copies of the batch signed together: numbers allocated, every copy prepared, ONE
        authorization (the officer's OTP or phone approval) and ``signHash`` for all the hashes,
        then the seal, the store and one transaction recording everything. Any failure before the
        record gives the numbers back (:func:`register_book.release`) and writes nothing."""
        from signing.csc import csc_failure

        today = vn_today()
        acts = []
        for n in sorted(set(per_doc.values())):
            acts += self.allocate([d for d in document_ids if per_doc[d] == n], book=book, year=today.year, copies=n,
                                  requests=requests)
        acts.sort(key=lambda a: document_ids.index(a.source_id))
        out = Path(out_dir) if out_dir else None
        try:
            items, where = [], []
            for ai, act in enumerate(acts):
                if not self.store.exists(act.sha256):
                    raise SigningNotFound(f"tệp của tài liệu {act.source_id} không có trong kho (chạy `sohoa check`)")
                pdf = self.store.read(act.sha256)
                n = per_doc[act.source_id]
                for i in range(1, n + 1):
                    slot = self.sealer.seal_slot() if self.sealer is not None else None
                    items.append((pdf, self._stamp(act, today, i, n), slot))
                    where.append((ai, i, n))
            signed = self.engine.certify_batch(items)
            if self.sealer is not None:
                sealed = self.sealer.seal_batch([data for data, _ in signed])
                signed = [(data, added) for data, (_, added) in zip(sealed, signed)]
        except Exception as exc:
            remote = csc_failure(exc)
            err = remote or (exc if isinstance(exc, SigningNotFound) else
                             SigningFailed(f"ký thất bại, không có văn bản nào được ký: {_describe(exc)}"))
            register_book.release(self.db, acts, err.message)
            if err is exc:
                raise
            raise err from exc
        outs: dict[int, list[dict]] = {}
        files = []  # (target, data): written once the register has the copies
        for (data, added), (ai, i, n) in zip(signed, where):
            act = acts[ai]
            sha, path = self.store.put_bytes(data)  # content-addressed: nothing refers to it until recorded
            dest = str(path)
            if out is not None:
                suffix = f"-{i}" if n > 1 else ""
                target = out / f"chung-thuc-{act.year}-{act.number:05d}-tl{act.source_id}{suffix}.pdf"
                files.append((target, data))
                dest = str(target)
            outs.setdefault(ai, []).append({"sha256": sha, "size": len(data), "path": dest, "pages_added": int(added)})
        recorded = register_book.record(self.db, [(act, outs[ai]) for ai, act in enumerate(acts)],
                                        officer_id=self.officer["id"], level=self.level,
                                        sealed=self.sealer is not None, actor=actor)
        for target, data in files:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(target.name + ".part")
            tmp.write_bytes(data)
            os.replace(tmp, target)
        return [CertifiedResult(source_document_id=act.source_id, certified_copy_id=act.id, number=act.number,
                                book=act.book, year=act.year, officer_id=self.officer["id"], level=self.level,
                                copies=cps, warnings=list(self.check.warnings))
                for act, cps in zip(acts, recorded)]

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


def _describe(exc: BaseException) -> str:
    msg = getattr(exc, "message", None) or str(exc)
    if "timestamp" in msg.lower() or "tsa" in msg.lower() or "connection" in msg.lower():
        return f"không lấy được dấu thời gian hoặc dữ liệu xác minh ({type(exc).__name__}: {msg})"
    return f"{type(exc).__name__}: {msg}"
