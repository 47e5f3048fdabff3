"""Throughput of e-certified copies: the sohoa batch path vs. a plain per-document pyHanko loop.

Builds a throw-away test PKI shaped like a real CA's (RSA-4096 root and issuing CA, RSA-3072
officer with certificate policies, CRL distribution point and AIA; CRLs and TSA on loopback; only
the root configured), a temp SQLite registry and Store, and
N one-page 300 dpi scanned-image PDFs (each with an OCR text layer). Then:

* sohoa B-B / B-T / B-LTA: ``signing.Certifier.certify(batch)`` — numbers allocated in the
  register, the stamp placed in free space found by page image analysis, officer's certification
  signature with the visible Vietnamese stamp + QR (space for the CMS measured from the real
  chain), stored, recorded; a process pool whose initializer loads the key once per process;
* sohoa CSC B-B / B-T: the same ``Certifier.certify(batch)`` with the officer's key in the local
  CSC v2 service (``sohoa dev csc``, a separate process on loopback): credentials/info, ONE
  credentials/authorize (OTP) for the batch and signatures/signHash in chunks of 10, the rest as
  above in one process; printed beside the PKCS#12 path of the same run, with the ratio;
* plain loop: for each document ``SimpleSigner.load_pkcs12`` + pyHanko's ``sign_pdf`` (through
  ``PdfSigner``, which ``signers.sign_pdf`` wraps, to get the same visible stamp: Noto Sans through
  ``GlyphAccumulatorFactory`` + QR), one process, no registry or store work.

    python bench/sign.py [--n 120] [--plain-n 30] [--workers 0]
"""
from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def make_docs(db, store, n: int) -> tuple[list[int], list[bytes]]:
    from registry.models import Document
    from sohoa.dev.scans import scanned_pdf

    ids, datas = [], []
    with db.session() as s:
        for i in range(n):
            data = scanned_pdf(dpi=300, seed=1 + i % 4, ocr_text=f"GIAY KHAI SINH so {i:05d} Tran Thi Binh")
            sha, _ = store.put_bytes(data)
            d = Document(sha256=sha, size=len(data), pages=1, text=f"GIẤY KHAI SINH {i}", doc_type="khai_sinh")
            s.add(d)
            s.flush()
            ids.append(d.id)
            datas.append(data)
    return ids, datas


def plain_loop(datas: list[bytes], p12: Path, passphrase: bytes, tsa_url: str | None) -> float:
    """The straightforward way: load the PKCS#12 and sign, document by document."""
    from pyhanko.pdf_utils.font.opentype import GlyphAccumulatorFactory
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.text import TextBoxStyle
    from pyhanko.sign import fields, signers, timestamps
    from pyhanko.sign.fields import MDPPerm, SigSeedSubFilter
    from pyhanko.stamp import QRStampStyle

    from signing.stamp import SYSTEM_FONT, StampInfo

    t0 = time.perf_counter()
    for i, data in enumerate(datas):
        signer = signers.SimpleSigner.load_pkcs12(str(p12), passphrase=passphrase, prefer_pss=True)
        info = StampInfo(number=i + 1, book="01/2026-SCTĐT/BS", date=dt.date.today(),
                         body="Ủy ban nhân dân xã Tân Phú", officer_name="Nguyễn Văn An",
                         officer_title="Phó Chủ tịch UBND xã", verify_url=f"http://127.0.0.1:8080/verify?so={i + 1}")
        style = QRStampStyle(stamp_text=info.text(), border_width=1,
                             text_box_style=TextBoxStyle(font=GlyphAccumulatorFactory(str(SYSTEM_FONT), font_size=8)))
        meta = signers.PdfSignatureMetadata(field_name=f"Sig{i}", md_algorithm="sha256", certify=True,
                                            docmdp_permissions=MDPPerm.FILL_FORMS, subfilter=SigSeedSubFilter.PADES)
        w = IncrementalPdfFileWriter(io.BytesIO(data))
        ts = timestamps.HTTPTimeStamper(tsa_url) if tsa_url else None
        # signers.sign_pdf() is PdfSigner(...).sign_pdf(); PdfSigner directly, to get the same stamp
        out = signers.PdfSigner(meta, signer=signer, timestamper=ts, stamp_style=style,
                                new_field_spec=fields.SigFieldSpec(f"Sig{i}", on_page=-1, box=(250, 20, 580, 132))
                                ).sign_pdf(w, appearance_text_params={"url": info.verify_url})
        assert out.getbuffer().nbytes > len(data)
    return len(datas) / (time.perf_counter() - t0)


def sohoa_batch(settings, db, officer_id: int, ids: list[int], warm: list[int], workers: int, lt: bool) -> tuple[float, str]:
    from signing import Certifier

    with Certifier(settings, db, officer_id, workers=workers, seal=False, lt=lt) as c:
        c.certify(warm)  # starts the pool (one key load per process), not timed
        t0 = time.perf_counter()
        res = c.certify(ids)
        rate = len(ids) / (time.perf_counter() - t0)
        level = c.level
    assert len(res) == len(ids)
    return rate, level


def csc_batch(settings, db, tp, home: Path, ids: list[int], lt: bool) -> tuple[float, str, dict]:
    """The officer's key in ``sohoa dev csc`` (its own process): the batch on one authorization."""
    import json
    import urllib.request

    from signing import Certifier, Trust, add_officer
    from signing.csc import make_ref
    from sohoa.dev.csc import spawn

    secret = home / "csc.secret"
    proc, url = spawn(tp.directory, home, secret, "--otp-ttl", "3600")
    try:
        ref = make_ref(url, "officer", "sohoa", str(secret))
        oid = add_officer(db, ref, title="Phó Chủ tịch UBND xã", body="Ủy ban nhân dân xã Tân Phú",
                          trust=Trust.build(gov=[tp.ca_pem]))["id"]

        def otp() -> str:
            with urllib.request.urlopen(url + "/_dev/otp?credentialID=officer", timeout=5) as r:
                return json.load(r)["otp"]

        def stats() -> dict:
            with urllib.request.urlopen(url + "/_dev/stats", timeout=5) as r:
                return json.load(r)["calls"]

        with Certifier(settings, db, oid, seal=False, lt=lt, secret=otp()) as c:
            c.certify(ids[:2])  # warm: fonts, placement, TSA estimate (the OTP is spent: a new one below)
        before = stats()
        with Certifier(settings, db, oid, seal=False, lt=lt, secret=otp()) as c:
            t0 = time.perf_counter()
            res = c.certify(ids[2:])
            rate = len(ids[2:]) / (time.perf_counter() - t0)
            level = c.level
        assert len(res) == len(ids) - 2
        return rate, level, {k: v - before.get(k, 0) for k, v in stats().items()}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=120, help="documents per sohoa batch (default 120)")
    ap.add_argument("--plain-n", type=int, default=30, help="documents for the plain loop (default 30)")
    ap.add_argument("--workers", type=int, default=0, help="signing processes (0 = one per core)")
    ap.add_argument("--verify", action="store_true", help="also validate a sample with pyHanko")
    a = ap.parse_args()

    from registry.db import Database
    from registry.store import Store
    from signing import Trust, add_officer
    from sohoa.config import load_settings
    from sohoa.dev.testpki import make_test_pki

    workers = a.workers or (os.cpu_count() or 1)
    with tempfile.TemporaryDirectory(prefix="sohoa-bench-sign-") as tmp:
        home = Path(tmp)
        tp = make_test_pki(home / "pki")
        try:
            base = dict(trust_roots_gov=tp.ca_pem, seal_key="", workers=workers, dev_mode=True)
            s_bb = load_settings(home, env={}, tsa_url="", **base)
            s_bt = load_settings(home, env={}, tsa_url=tp.tsa_url, **base)
            db = Database(s_bb.db_url)
            db.migrate()
            store = Store(s_bb.store_dir)
            n_lt = max(10, a.n // 2)
            n_total = 2 * a.n + 3 * 2 * workers + n_lt + 2 * (a.n + 2)
            ids, datas = make_docs(db, store, n_total)
            size = sum(len(d) for d in datas[:a.n]) / a.n
            oid = add_officer(db, str(tp.officer.p12_path), title="Phó Chủ tịch UBND xã",
                              body="Ủy ban nhân dân xã Tân Phú", trust=Trust.build(gov=[tp.ca_pem]))["id"]
            w = 2 * workers
            warm_bb, warm_bt = ids[:w], ids[w:2 * w]
            batch_bb, batch_bt = ids[2 * w:2 * w + a.n], ids[2 * w + a.n:2 * w + 2 * a.n]
            print(f"# {a.n} one-page 300 dpi scanned PDFs (avg {size / 1024:.0f} KiB), {workers} signing "
                  f"processes on {os.cpu_count()} cores, 3-level chain (RSA-4096 root/issuing CA, RSA-3072 "
                  f"officer) PSS/SHA-256, stamp placed by page analysis + QR, registry + store included")
            bb, lvl_bb = sohoa_batch(s_bb, db, oid, batch_bb, warm_bb, workers, lt=False)
            print(f"sohoa {lvl_bb}: {bb:.1f} copies/s")
            bt, lvl_bt = sohoa_batch(s_bt, db, oid, batch_bt, warm_bt, workers, lt=False)
            print(f"sohoa {lvl_bt}: {bt:.1f} copies/s")
            rest = ids[2 * w + 2 * a.n:]
            lt, lvl_lt = sohoa_batch(s_bt, db, oid, rest[w:w + n_lt], rest[:w], workers, lt=None)
            print(f"sohoa {lvl_lt}: {lt:.1f} copies/s (CRLs fetched and embedded, document timestamp)")
            csc_ids = ids[-2 * (a.n + 2):]
            cbb, lvl_cbb, _ = csc_batch(s_bb, db, tp, home, csc_ids[:a.n + 2], lt=False)
            print(f"sohoa CSC {lvl_cbb} (remote key over loopback, 1 process): {cbb:.1f} copies/s")
            cbt, lvl_cbt, st = csc_batch(s_bt, db, tp, home, csc_ids[a.n + 2:], lt=False)
            print(f"sohoa CSC {lvl_cbt} (remote key over loopback, 1 process): {cbt:.1f} copies/s "
                  f"({st.get('credentials/authorize')} authorization, {st.get('signatures/signHash')} "
                  f"signHash calls for the {a.n} copies)")
            print(f"ratio CSC / PKCS#12 ({workers} processes): B-B {cbb / bb:.2f}x   B-T {cbt / bt:.2f}x")
            pw = tp.officer.pass_path.read_bytes()
            sample = datas[2 * w:2 * w + a.plain_n]
            pbb = plain_loop(sample, tp.officer.p12_path, pw, None)
            print(f"plain loop B-B (load_pkcs12 + sign_pdf per document): {pbb:.1f} copies/s")
            pbt = plain_loop(sample[: max(5, a.plain_n // 2)], tp.officer.p12_path, pw, tp.tsa_url)
            print(f"plain loop B-T (load_pkcs12 + sign_pdf per document): {pbt:.1f} copies/s")
            print(f"ratio B-B: {bb / pbb:.1f}x   ratio B-T: {bt / pbt:.1f}x")
            if a.verify:
                from registry.models import CertifiedCopy
                from signing import verify_pdf

                with db.session() as ses:
                    rows = ses.query(CertifiedCopy).filter(CertifiedCopy.status == "signed").limit(3).all()
                    shas = [r.signed_sha256 for r in rows]
                for sha in shas:
                    rep = verify_pdf(store.read(sha), Trust.build(gov=[tp.ca_pem]))
                    assert rep.valid, rep.to_text()
                print(f"verified {len(shas)} sample copies: valid")
            db.dispose()
        finally:
            tp.stop()


if __name__ == "__main__":
    main()
