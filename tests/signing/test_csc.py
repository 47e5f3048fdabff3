"""Remote signing over the CSC API against the local service (``sohoa dev csc``): real keys of the
test PKI in the service, pyHanko's CSC client in sohoa, real signatures validated by pyHanko's
validator and poppler's pdfsig. One authorization per batch; every failure at a distance gives its
Vietnamese message and leaves the register as it was; a revoked certificate is refused before any
hash leaves."""
from __future__ import annotations

from pathlib import Path

import pytest
from sigcheck import pdfsig_all_valid, validate_all

SECRET = "dev-client-secret-for-tests"


@pytest.fixture
def csc(tpki, tmp_path):
    from sohoa.dev.csc import DevCSC

    lines: list[str] = []
    svc = DevCSC(client_secret=SECRET, echo=lines.append)
    svc.add("officer", tpki.officer.key, tpki.officer.cert, tpki.officer.chain, multisign=8)
    phone = tpki.issue("phone", "Trần Thị Bình", title="Chủ tịch UBND xã", org="UBND xã Tân Phú", write=False)
    svc.add("phone", phone.key, phone.cert, phone.chain, mode="approval")
    svc.lines, svc.secret_file = lines, tmp_path / "csc.secret"
    svc.secret_file.write_text(SECRET + "\n")
    svc.start()
    yield svc
    svc.stop()


def ref(svc, credential="officer", **params) -> str:
    from signing.csc import make_ref

    r = make_ref(svc.url, credential, "sohoa", str(svc.secret_file))
    return r + "".join(f"&{k.replace('_', '-')}={v}" for k, v in params.items())


@pytest.fixture
def csc_officer(csc, sign_db, trust):
    """Register an officer whose key is the CSC credential (checked like any other)."""
    from signing import add_officer

    def add(credential="officer", **params):
        return add_officer(sign_db, ref(csc, credential, **params), title="Phó Chủ tịch UBND xã",
                           body="Ủy ban nhân dân xã Tân Phú", trust=trust)["id"]
    return add


def _register_state(db):
    from registry.models import CertifiedCopy, Counter, Document

    with db.session() as s:
        return ([(r.number, r.status) for r in s.query(CertifiedCopy).order_by(CertifiedCopy.number)],
                [(c.key, c.value) for c in s.query(Counter).filter(Counter.key.like("certify:%"))],
                s.query(Document).filter(Document.kind == "certified_copy").count())


def test_batch_of_20_on_one_authorization_b_lta(csc, csc_officer, make_settings, sign_db, put_doc, tpki, scan_pdf,
                                                trust, tmp_path):
    from signing import Certifier, verify_pdf

    oid = csc_officer()
    s = make_settings(tsa_url=tpki.tsa_url, seal_key=str(tpki.seal.p12_path))
    docs = [put_doc(sign_db, scan_pdf) for _ in range(10)]
    csc.reset_stats()
    with Certifier(s, sign_db, oid, secret=csc.current_otp("officer")) as c:
        assert c.remote and c.level == "B-LTA"
        results = c.certify(docs, copies=2, out_dir=tmp_path / "out")  # 10 originals x 2 copies = 20 signatures
    calls = csc.stats()["calls"]
    assert calls["credentials/authorize"] == 1  # the officer entered the OTP once
    assert calls["signatures/signHash"] == 3 and csc.stats()["hashes_signed"] == 20  # multisign 8: 8 + 8 + 4
    assert [r.number for r in results] == list(range(1, 11))
    files = [Path(cp.path) for r in results for cp in r.copies]
    assert len(files) == 20 and all(f.is_file() for f in files)
    for f in files:
        data = f.read_bytes()
        sts = validate_all(data, tpki, expect_timestamp=True, lt=True)
        assert [st.signing_cert.subject.native["common_name"] for st in sts] == [
            "Nguyễn Văn An", "Ủy ban nhân dân xã Tân Phú"]
        rep = verify_pdf(data, trust, allow_fetching=False)
        assert rep.valid, rep.to_text()
        regular = [x for x in rep.signatures if x.kind != "timestamp"]
        assert [x.kind for x in regular] == ["certification", "approval"]
        assert {x.pades_level for x in regular} == {"B-LTA"}
        pdfsig_all_valid(data, tpki.roots)
    assert _register_state(sign_db)[0] == [(n, "signed") for n in range(1, 11)]


def test_phone_approval_granted_and_token_renewed(csc, csc_officer, make_settings, sign_db, put_doc, scan_pdf, tpki):
    """No OTP: the service waits for the phone; sohoa polls until granted. An access token that
    expires during the batch is renewed without bothering the officer."""
    from signing import Certifier

    oid = csc_officer("phone", approval_timeout=20)
    docs = [put_doc(sign_db, scan_pdf) for _ in range(3)]
    csc.set(approve="poll", approve_after_polls=3, token_uses=3)
    csc.reset_stats()
    with Certifier(make_settings(tsa_url=tpki.tsa_url), sign_db, oid) as c:
        results = c.certify(docs)
    calls = csc.stats()["calls"]
    assert calls["credentials/authorize"] == 1 and calls["credentials/authorizeCheck"] >= 3  # + a 401 retried
    assert calls["oauth2/token"] >= 2  # renewed mid-batch
    for r in results:
        validate_all(Path(r.copies[0].path).read_bytes(), tpki, expect_timestamp=True)


FAILURES = {
    # name: (switches, ref params, which OTP, expected message part)
    "wrong_otp": ({}, {}, "wrong", "mã OTP không đúng"),
    "expired_otp": ({}, {}, "stale", "mã OTP đã hết hạn"),
    "no_otp": ({}, {}, "none", "chưa nhập mã OTP"),
    "authorize_5xx": ({"fail_on": ["credentials/authorize"]}, {}, "good", "đang gặp lỗi (HTTP 500)"),
    "signhash_5xx": ({"fail_on": ["signatures/signHash"]}, {}, "good", "đang gặp lỗi (HTTP 500)"),
    "no_answer": ({"hang_on": ["signatures/signHash"]}, {"timeout": 2}, "good", "không trả lời sau 2 giây"),
    "sad_expired_mid_batch": ({"delay": 0.4, "sad_ttl": 1.0}, {}, "good", "phiên ký đã hết hạn giữa chừng"),
    "sad_used_up_mid_batch": ({"sad_signatures": 2}, {}, "good", "phiên ký đã hết hạn giữa chừng"),
    "token_dead_mid_batch": ({"token_uses": 4}, {}, "good", None),  # renewed: succeeds
    "approval_never": ({"approve": "never"}, {"approval_timeout": 1.5}, "phone", "không nhận được phê duyệt"),
    "approval_denied": ({"approve": "never"}, {"approval_timeout": 10}, "deny", "bị từ chối trên điện thoại"),
}


@pytest.mark.parametrize("case", list(FAILURES))
def test_failures_at_a_distance(case, csc, csc_officer, make_settings, sign_db, put_doc, scan_pdf, tpki):
    """Each failure: its Vietnamese message, no number kept, nothing recorded; the same batch then
    signs with numbers from 1 (nothing skipped)."""
    import threading

    from signing import Certifier, SigningFailed

    switches, params, otp_kind, expected = FAILURES[case]
    cred = "phone" if otp_kind in ("phone", "deny") else "officer"
    if case in ("sad_expired_mid_batch", "sad_used_up_mid_batch"):
        csc.credentials["officer"].multisign = 1
    oid = csc_officer(cred, **params)
    docs = [put_doc(sign_db, scan_pdf) for _ in range(4)]
    s = make_settings(tsa_url=tpki.tsa_url, seal_key=str(tpki.seal.p12_path))
    otp = {"good": csc.current_otp("officer"), "wrong": "000000" if csc.current_otp("officer") != "000000" else "111111",
           "none": None, "phone": None, "deny": None}.get(otp_kind)
    if otp_kind == "stale":
        otp = csc.current_otp("officer")
        csc.rotate_otp("officer")
    if otp_kind == "none":
        otp = ""
    csc.set(**switches)
    if otp_kind == "deny":  # the officer refuses on the phone once the request shows up
        def deny():
            for _ in range(100):
                if csc.approve_all(deny=True):
                    return
                threading.Event().wait(0.05)
        threading.Thread(target=deny, daemon=True).start()
    with Certifier(s, sign_db, oid, secret=otp) as c:
        if expected is None:
            assert len(c.certify(docs)) == 4
            assert csc.count("oauth2/token") >= 2 and csc.count("credentials/authorize") == 1  # renewed, not re-asked
            return
        with pytest.raises(SigningFailed) as err:
            c.certify(docs)
    assert expected in err.value.message, err.value.message
    assert "không có văn bản nào được ký" in err.value.message
    y = _year()
    assert _register_state(sign_db) == ([], [(f"certify:01/{y}-SCTĐT/BS:{y}", 0)], 0)
    # the service back to normal, the officer tries again: numbers 1..4
    csc.set(fail_on=[], hang_on=[], delay=0.0, sad_ttl=300.0, sad_signatures=0, approve="poll", token_uses=0)
    csc.credentials["officer"].multisign = 8
    with Certifier(s, sign_db, oid, secret=None if cred == "phone" else csc.current_otp("officer")) as c:
        assert [r.number for r in c.certify(docs)] == [1, 2, 3, 4]


def _year() -> str:
    from vocab.clock import vn_today

    return str(vn_today().year)


def test_revoked_certificate_refused_before_any_hash(csc, csc_officer, make_settings, sign_db, put_doc, scan_pdf,
                                                     tpki):
    from signing import CertificateRefused, Certifier

    issued = tpki.issue("csc-revoked", "Đặng Văn Thu", title="Phó Chủ tịch UBND xã", org="UBND xã Tân Phú",
                        write=False)
    csc.add("later-revoked", issued.key, issued.cert, issued.chain)
    oid = csc_officer("later-revoked")  # valid when registered
    tpki.pki.revoke(issued.cert, "key_compromise")
    doc = put_doc(sign_db, scan_pdf)
    csc.reset_stats()
    with pytest.raises(CertificateRefused) as err:
        with Certifier(make_settings(tsa_url=tpki.tsa_url), sign_db, oid, secret=csc.current_otp("later-revoked")) as c:
            c.certify([doc])
    assert "đã bị thu hồi" in err.value.message
    calls = csc.stats()["calls"]
    assert calls.get("credentials/authorize", 0) == 0 and calls.get("signatures/signHash", 0) == 0
    assert csc.stats()["hashes_signed"] == 0
    assert _register_state(sign_db) == ([], [], 0)
    # registering it now is refused too
    from signing import add_officer

    csc.add("revoked", tpki.revoked.key, tpki.revoked.cert, tpki.revoked.chain)
    with pytest.raises(CertificateRefused):
        add_officer(sign_db, ref(csc, "revoked"), trust=__import__("signing").Trust.build(gov=tpki.roots))


def test_cli_officer_add_csc_and_certify(csc, tpki, scan_pdf, tmp_path):
    """``sohoa officer add --csc URL --credential ID`` and ``sohoa certify`` with the OTP from the
    environment; the client secret is never printed."""
    import json

    from click.testing import CliRunner

    from sohoa.cli import cli

    home = tmp_path / "h"
    home.mkdir()
    (home / "sohoa.toml").write_text('unit_name = "Ủy ban nhân dân xã Tân Phú"\nworkers = 1\ndev_mode = true\n',
                                     encoding="utf-8")
    env = {"SOHOA_HOME": str(home), "SOHOA_TRUST_ROOTS_GOV": tpki.ca_pem, "SOHOA_CSC_CLIENT_ID": "sohoa",
           "SOHOA_CSC_CLIENT_SECRET": SECRET}
    runner = CliRunner()
    assert runner.invoke(cli, ["init"], env=env).exit_code == 0
    bad = runner.invoke(cli, ["officer", "add", "--csc", csc.url], env=env)
    assert bad.exit_code == 2 and "--credential" in bad.output
    res = runner.invoke(cli, ["--json", "officer", "add", "--csc", csc.url, "--credential", "officer",
                              "--title", "Phó Chủ tịch UBND xã"], env=env, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    row = json.loads(res.output.splitlines()[-1])
    assert row["name"] == "Nguyễn Văn An" and row["key_ref"].startswith("csc:") and SECRET not in res.output
    from test_signing_cli import _put

    doc = _put(home, scan_pdf)
    res = runner.invoke(cli, ["--json", "certify", str(doc), "--officer", str(row["id"]), "--out", str(tmp_path / "o"),
                              "--no-seal"], env={**env, "SOHOA_CSC_OTP": "999999x"})
    assert res.exit_code == 6 and "mã OTP không đúng" in res.output and SECRET not in res.output
    res = runner.invoke(cli, ["--json", "certify", str(doc), "--officer", str(row["id"]), "--out", str(tmp_path / "o"),
                              "--no-seal"], env={**env, "SOHOA_CSC_OTP": csc.current_otp("officer")},
                        catch_exceptions=False)
    assert res.exit_code == 0, res.output
    out = json.loads(res.output.splitlines()[-1])
    assert out["number"] == 1
    validate_all(Path(out["copies"][0]["path"]).read_bytes(), tpki)


def test_remote_seal_one_authorization_per_batch(csc, csc_officer, make_settings, sign_db, put_doc, scan_pdf, tpki,
                                                 trust):
    """The organisation seal registered with the CSC service too (no OTP: an ``implicit``
    credential): a batch's seals share one authorization, the pipeline's single seal works alone."""
    from signing import Certifier, Sealer, verify_pdf

    csc.add("seal", tpki.seal.key, tpki.seal.cert, tpki.seal.chain, mode="implicit")
    s = make_settings(tsa_url=tpki.tsa_url, seal_key=ref(csc, "seal"))
    oid = csc_officer()
    docs = [put_doc(sign_db, scan_pdf) for _ in range(3)]
    csc.reset_stats()
    with Certifier(s, sign_db, oid, secret=csc.current_otp("officer")) as c:
        results = c.certify(docs)
    assert csc.stats()["calls"]["credentials/authorize"] == 2  # the officer's batch, the seal's batch
    assert csc.stats()["hashes_signed"] == 6
    for r in results:
        data = Path(r.copies[0].path).read_bytes()
        validate_all(data, tpki, expect_timestamp=True, lt=True)
        assert verify_pdf(data, trust, allow_fetching=False).valid
    sealer = Sealer.from_settings(s)
    sealed = sealer.seal(scan_pdf)
    sealer.close()
    validate_all(sealed, tpki, expect_timestamp=True, lt=True)


def test_sohoa_dev_csc_command(tpki, tmp_path):
    """``sohoa dev csc`` serves a dev PKI's officer (OTP) and seal (no OTP) on loopback, keeps the
    client secret in a 0600 file, prints the OTPs, and signs for real."""
    import json
    import time
    import urllib.request

    from cryptography.hazmat.primitives.serialization import Encoding

    from signing.csc import CSCClient, CSCRef, make_ref, run
    from sohoa.dev.csc import spawn

    secret = tmp_path / "client.secret"
    out = tmp_path / "csc.out"
    with open(out, "w") as fh:
        proc, url = spawn(tpki.directory, tmp_path / "h", secret, "--multisign", "4", stdout=fh)
    try:
        assert secret.is_file() and (secret.stat().st_mode & 0o077) == 0
        with urllib.request.urlopen(url + "/_dev/otp?credentialID=officer", timeout=5) as r:
            otp = json.load(r)["otp"]
        client = CSCClient(CSCRef.parse(make_ref(url, "officer", "sohoa", str(secret))))

        async def go(http):
            _, listed = await client.call(http, "credentials/list", {})
            info = await client.credential_info(http)
            return listed, info

        listed, info = run(go)
        assert listed["credentialIDs"] == ["officer", "seal"]
        assert info.signing_cert.dump() == tpki.officer.cert.public_bytes(Encoding.DER)
        assert info.max_batch_size == 4 and info.hash_pinning_required and len(info.chain) >= 1
        time.sleep(0.3)
        assert f"OTP cho officer: {otp}" in out.read_text()
        assert secret.read_text().strip() not in out.read_text().replace(str(secret), "")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_service_failing_or_gone_before_the_batch(csc, csc_officer, make_settings, sign_db, put_doc, scan_pdf):
    """Every call answered 500 (``fail_rate`` 1), then the service gone: refused when the key is
    opened (credentials/info), before any number or hash."""
    from signing import Certifier, SigningFailed

    oid = csc_officer()
    put_doc(sign_db, scan_pdf)
    csc.set(fail_rate=1.0)
    with pytest.raises(SigningFailed) as err:
        Certifier(make_settings(), sign_db, oid, secret=csc.current_otp("officer"))
    assert "đang gặp lỗi (HTTP 500)" in err.value.message
    csc.set(fail_rate=0.0)
    assert csc_officer(timeout=1) == oid  # the same certificate: its key reference now waits 1 s at most
    csc.set(hang_on=["credentials/info"])
    with pytest.raises(SigningFailed) as err:
        Certifier(make_settings(), sign_db, oid, secret="123456")
    assert "không trả lời sau 1 giây" in err.value.message
    csc.stop()
    with pytest.raises(SigningFailed) as err:
        Certifier(make_settings(), sign_db, oid, secret="123456")
    assert "không kết nối được dịch vụ ký số từ xa" in err.value.message and csc.url in err.value.message
    assert _register_state(sign_db) == ([], [], 0)
    assert csc.stats()["hashes_signed"] == 0
