"""Identity check at intake: the pluggable verifier is asked when a dossier is opened, its answer
is stored with the dossier and every call audited — the stub (dev/tests) and the HTTP gateway
client against a real HTTP server on loopback (the population database itself cannot exist here)."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from registry.models import IdentityCheck
from registry.population import IdentityQuery, StubVerifier
from sohoa.jobs.population import HttpVerifier
from tests.once_helpers import Cli, audits, person

AN = person("Nguyễn Văn An", 1988)
HOA = person("Trần Thị Hoa", 1992, "Nữ")


def _create(home, *extra, env=None):
    cli = Cli(home)
    cli.env.update(env or {})
    return cli.ok("dossier", "create", "--procedure", "1.001193", *extra)[0]


def test_stub_verifier_answers_are_stored_and_every_call_audited(home, db, tmp_path):
    people = tmp_path / "people.json"
    people.write_text(json.dumps({"people": {AN.pid: {"ho_ten": AN.name, "ngay_sinh": AN.dob},
                                             HOA.pid: {"ho_ten": HOA.name, "ngay_sinh": HOA.dob}},
                                  "unavailable": [HOA.pid]}, ensure_ascii=False))
    env = {"SOHOA_IDENTITY_VERIFIER": "stub", "SOHOA_IDENTITY_STUB_FILE": str(people)}
    match = _create(home, "--subject", AN.pid, "--name", "nguyễn văn an", "--birth-date", AN.dob, env=env)
    wrong_dob = _create(home, "--subject", AN.pid, "--name", AN.name, "--birth-date", f"01/01/{AN.dob[-4:]}",
                        env=env)
    down = _create(home, "--subject", HOA.pid, "--name", HOA.name, env=env)
    stranger = _create(home, "--subject", person("Lê Văn Tám", 1980).pid, env=env)
    unconfigured = _create(home, "--subject", AN.pid, "--name", AN.name)
    assert [d["identity_status"] for d in (match, wrong_dob, down, stranger, unconfigured)] == [
        "match", "no_match", "unavailable", "no_match", "unavailable"]
    assert Cli(home).ok("dossier", "show", match["code"])[0]["identity_status"] == "match"

    with db.session() as s:
        rows = list(s.scalars(select(IdentityCheck).order_by(IdentityCheck.id)))
        assert [(r.verifier, r.status) for r in rows] == [("stub", "match"), ("stub", "no_match"),
                                                          ("stub", "unavailable"), ("stub", "no_match"),
                                                          ("none", "unavailable")]
        assert rows[1].detail["mismatched"] == ["ngay_sinh"] and AN.pid not in json.dumps(rows[0].detail)
        ev = audits(s, "identity.verify")
        assert len(ev) == 5 and all(e.actor == "staff:cli" for e in ev)
        assert (ev[0].detail["identifier"], ev[0].detail["birth_date"], ev[0].detail["procedure"]) == (
            AN.pid, AN.dob, "1.001193")
        assert ev[0].object_id == match["code"]


def test_dossier_create_checks_the_birth_date_it_is_given(home, db):
    cli = Cli(home)
    assert "dd/mm/yyyy" in cli.refused("dossier", "create", "--procedure", "1.001193", "--subject", AN.pid,
                                       "--birth-date", "1988-05-07", code=2)
    assert "năm sinh" in cli.refused("dossier", "create", "--procedure", "1.001193", "--subject", AN.pid,
                                     "--birth-date", "07/05/1999", code=2)


class _Gateway(BaseHTTPRequestHandler):
    """A population-database gateway as the HTTP verifier expects one (see registry.population)."""

    token = ""
    seen: list[dict] = []

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Gateway.seen.append({"auth": self.headers.get("Authorization"), **body})
        if self.headers.get("Authorization") != f"Bearer {_Gateway.token}":
            return self._send(401, {"loi": "sai token"})
        if body["so_dinh_danh"] == HOA.pid:
            time.sleep(1.5)  # slower than the client waits
        if body["ho_ten"] == "Lỗi Máy Chủ":
            return self._send(500, {"loi": "lỗi"})
        ok = body["so_dinh_danh"] == AN.pid and body["ngay_sinh"] == AN.dob
        return self._send(200, {"ket_qua": "khop" if ok else "khong_khop", "ma_tra_cuu": "TC-42",
                                **({} if ok else {"khong_khop": ["ngay_sinh"]})})

    def _send(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            self.wfile.write(data)
        except BrokenPipeError:  # the client gave up waiting (the timeout case)
            pass

    def log_message(self, *a):
        pass


@pytest.fixture
def gateway():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Gateway)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    _Gateway.seen.clear()
    yield f"http://127.0.0.1:{srv.server_address[1]}/tra-cuu"
    srv.shutdown()


def test_http_verifier_against_a_gateway(gateway, home, db):
    token = "token-cua-so"
    _Gateway.token = token
    q = IdentityQuery(AN.pid, AN.name, AN.dob, "staff:clerk1", "1.001193")
    assert HttpVerifier(gateway, token).verify(q).status == "match"
    assert HttpVerifier(gateway, token).verify(q).reference == "TC-42"
    no = HttpVerifier(gateway, token).verify(IdentityQuery(AN.pid, AN.name, "01/01/1988", "staff:x", "1.001193"))
    assert (no.status, no.mismatched) == ("no_match", ("ngay_sinh",))
    assert HttpVerifier(gateway, "wrong").verify(q).status == "unavailable"  # refused by the gateway: never a match
    assert HttpVerifier(gateway, token).verify(IdentityQuery(AN.pid, "Lỗi Máy Chủ", None, "s", "p")).status == \
        "unavailable"
    slow = HttpVerifier(gateway, token, timeout=0.5).verify(IdentityQuery(HOA.pid, HOA.name, None, "s", "p"))
    assert slow.status == "unavailable"
    assert HttpVerifier("http://127.0.0.1:9/none", token, timeout=0.5).verify(q).status == "unavailable"
    assert _Gateway.seen[0] == {"auth": f"Bearer {token}", "so_dinh_danh": AN.pid, "ho_ten": AN.name,
                                "ngay_sinh": AN.dob, "can_bo": "staff:clerk1", "ma_thu_tuc": "1.001193"}

    # configured by SOHOA_IDENTITY_URL / SOHOA_IDENTITY_TOKEN, called when a dossier is opened
    env = {"SOHOA_IDENTITY_URL": gateway, "SOHOA_IDENTITY_TOKEN": token}
    d = _create(home, "--subject", AN.pid, "--name", AN.name, "--birth-date", AN.dob, env=env)
    assert d["identity_status"] == "match"
    with db.session() as s:
        row = s.scalar(select(IdentityCheck))
        assert (row.verifier, row.status, row.detail["reference"]) == ("http", "match", "TC-42")
        assert audits(s, "identity.verify")[0].detail["verifier"] == "http"


def test_a_broken_verifier_plug_in_does_not_stop_the_counter(db):
    from registry import service

    class Broken(StubVerifier):
        name = "broken"

        def verify(self, query):
            raise RuntimeError("plug-in bug")

    with db.session() as s:
        d = service.open_dossier(s, procedure="1.001193", subject=AN.pid, name=AN.name, agency="000.00.01.H29",
                                 actor="staff:t", verifier=Broken())
        assert d.identity_status == "unavailable"
        assert s.scalar(select(IdentityCheck)).detail["detail"].startswith("Lỗi khi kiểm tra")
