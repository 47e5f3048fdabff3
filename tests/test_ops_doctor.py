"""`sohoa doctor` (issue 21): every check passes on a working office, and each one fails on its
own when its part is broken — named in Vietnamese, exit code non-zero when work is blocked.

Real parts: the dev PKI's TSA served on loopback (RFC 3161 tokens signed for real), the fake
portal checking its bearer token, a real backup with a real age key, Tesseract itself."""
from __future__ import annotations

import datetime as dt
import json
import unicodedata

import pytest

NAMES = {
    "tesseract": "Tesseract và dữ liệu tiếng Việt (vie)",
    "registry": "Sổ đăng ký (cơ sở dữ liệu) kết nối được và đã nâng cấp",
    "disk": "Dung lượng trống cho hộp thư đến và kho lưu trữ",
    "inbox": "Hộp thư đến ghi được (tài khoản máy quét)",
    "certificates": "Khóa và chứng thư số còn hạn",
    "tsa": "Máy chủ cấp dấu thời gian (TSA)",
    "public_url": "Địa chỉ xác minh công khai (mã QR)",
    "clock": "Đồng hồ máy chủ lệch dưới một phút so với TSA",
    "portal": "Cổng dịch vụ công chấp nhận mã truy cập",
    "backup": "Lần sao lưu tốt gần nhất",
}


@pytest.fixture(scope="module")
def office(tmp_path_factory):
    """A working office: registry, dev PKI (officer, seal, TSA), the TSA served, a portal that
    wants a token, a public URL, a backup key and one good backup."""
    from sohoa.dev.portal import FakePortal
    from sohoa.dev.servers import DevServices
    from tests.conftest import SohoaCLI

    root = tmp_path_factory.mktemp("doctor")
    home = root / "home"
    home.mkdir()
    cli = SohoaCLI(home)
    cli.run("init")
    cli.run("pki", "dev")
    svc = DevServices.for_pki_dir(home / "pki").start()
    portal = FakePortal(token="ma-dung")
    portal.start()
    cli.run("backup", "keygen", "--out", str(root / "backup.key"))
    cli.env.update({"SOHOA_TSA_URL": svc.tsa_url, "SOHOA_PORTAL_URL": portal.url, "SOHOA_PORTAL_TOKEN": "ma-dung",
                    "SOHOA_PUBLIC_BASE_URL": "https://dichvucong.example.gov.vn/xacminh",
                    "SOHOA_BACKUP_KEY": str(root / "backup.key")})
    cli.run("backup", str(root / "dest"))
    yield cli, svc, root
    svc.stop()
    portal.stop()


def doctor(cli, **env) -> tuple[int, dict[str, dict], str]:
    saved = dict(cli.env)
    try:
        for k, v in env.items():
            if v is None:
                cli.env.pop(k, None)
            else:
                cli.env[k] = v
        p = cli.run("--json", "doctor", check=False)
        human = cli.run("doctor", check=False).stdout
    finally:
        cli.env = saved
    rows = {r["check"]: r for r in map(json.loads, p.stdout.splitlines())}
    return p.returncode, rows, human


def test_working_office_is_all_green(office):
    cli, _svc, _root = office
    rc, rows, human = doctor(cli)
    assert list(rows) == list(NAMES), rows
    bad = {k: r for k, r in rows.items() if r["status"] != "ok"}
    assert not bad, bad
    assert rc == 0
    lines = human.splitlines()
    assert len(lines) == len(NAMES)  # one line each
    for line, name in zip(lines, NAMES.values()):
        assert line == unicodedata.normalize("NFC", line)
        assert line.startswith(f"[đạt] {name}: "), line
    assert rows["certificates"]["value"] > 300  # the dev certificates' days to expiry
    assert abs(rows["clock"]["value"]) < 60


def _expired_cert(path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CA cũ đã hết hạn")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=400))
            .not_valid_after(now - dt.timedelta(days=35))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return str(path)


@pytest.mark.parametrize("check,status,blocks", [
    ("tesseract", "fail", True), ("registry", "fail", True), ("disk", "fail", True), ("inbox", "fail", True),
    ("certificates", "fail", True), ("tsa", "fail", True), ("public_url", "fail", True), ("clock", "fail", True),
    ("portal", "fail", True), ("backup", "warn", False), ("backup_key", "warn", False),
])
def test_each_check_fails_on_its_own(office, check, status, blocks):
    cli, svc, root = office
    breakage = {
        "tesseract": lambda: {"SOHOA_OCR_LANG": "vie+khongco"},
        "registry": lambda: {"SOHOA_DATABASE_URL": f"sqlite:///{root / 'chua-khoi-tao.db'}"},
        "disk": lambda: {"SOHOA_MIN_FREE_MB": str(10 ** 12)},
        "inbox": lambda: {"SOHOA_SCANNER_USER": "nobody"},  # the inbox is root's, 0755
        "certificates": lambda: {"SOHOA_TRUST_ROOTS_PUBLIC": _expired_cert(root / "expired.pem")},
        "tsa": lambda: {"SOHOA_TSA_URL": "http://127.0.0.1:9/tsa"},
        "public_url": lambda: {"SOHOA_PUBLIC_BASE_URL": None, "SOHOA_DEV_MODE": "false"},
        "portal": lambda: {"SOHOA_PORTAL_TOKEN": "ma-sai"},
        "backup": lambda: {"SOHOA_BACKUP_MAX_AGE_HOURS": "0"},
        "backup_key": lambda: {"SOHOA_BACKUP_KEY": str(root / "khong-co-khoa")},
    }
    if check == "clock":  # a TSA whose clock is five minutes behind ours
        svc.timestamper.fixed_dt = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
        try:
            rc, rows, human = doctor(cli)
        finally:
            svc.timestamper.fixed_dt = None
    else:
        rc, rows, human = doctor(cli, **breakage[check]())
    if check == "backup_key":  # the key file is gone: the backup line says the next one will fail
        check = "backup"
        assert "khong-co-khoa" in rows[check]["detail"]
    assert rows[check]["status"] == status, rows[check]
    assert rows[check]["name"] == NAMES[check]
    others = {k: r["status"] for k, r in rows.items() if k != check and r["status"] != "ok"}
    if check == "tsa":  # no TSA answer, nothing to compare the clock with: said, not blocking
        assert others.pop("clock") == "warn"
    assert not others, others  # only the broken part is reported
    line = next(ln for ln in human.splitlines() if NAMES[check] in ln)
    assert line.startswith(f"[{'LỖI' if status == 'fail' else 'lưu ý'}] {NAMES[check]}: ")
    assert (rc != 0) is blocks


def test_inbox_check_follows_the_scanner_accounts_rights(office):
    cli, _svc, _root = office
    inbox = cli.home / "inbox"
    mode = inbox.stat().st_mode
    try:
        inbox.chmod(0o777)  # e.g. what a share's setup does for its scanner account
        _rc, rows, _ = doctor(cli, SOHOA_SCANNER_USER="nobody")
        assert rows["inbox"]["status"] == "ok" and "nobody" in rows["inbox"]["detail"], rows["inbox"]
        inbox.chmod(0o775)
        _rc, rows, _ = doctor(cli, SOHOA_SCANNER_USER="nobody")
        assert rows["inbox"]["status"] == "fail"
        _rc, rows, _ = doctor(cli, SOHOA_SCANNER_USER="khong-co-tai-khoan-nay")
        assert rows["inbox"]["status"] == "fail"
    finally:
        inbox.chmod(mode & 0o7777)
