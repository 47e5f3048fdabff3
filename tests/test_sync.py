"""Portal sync: the transactional outbox, the sync worker against a failing fake portal, SIGKILLs.

The fake portal (``sohoa.dev.portal``) is a real HTTP server on the loopback; it stands in for the
national portal, which cannot be reached from here."""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

from scanning import wait_for

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "portal-test-token"


def _sync_env(sohoa, portal, **extra) -> dict:
    return {**sohoa.env, "SOHOA_PORTAL_URL": portal.url, "SOHOA_PORTAL_TOKEN": TOKEN, "SOHOA_PORTAL_TIMEOUT": "1",
            "SOHOA_SYNC_BACKOFF": "0.05", "SOHOA_SYNC_BACKOFF_MAX": "1", **{k: str(v) for k, v in extra.items()}}


class SyncProc:
    """`sohoa sync run` in its own process group, killable with SIGKILL."""

    def __init__(self, sohoa, env: dict, *args: str) -> None:
        self.log = open(sohoa.home / f"sync-{time.monotonic_ns()}.log", "w")
        self.proc = subprocess.Popen([sys.executable, "-m", "sohoa", "sync", "run", *args], env=env, cwd=ROOT,
                                     stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=60)
        self.log.close()


def _open_db(home: Path):
    from registry.db import Database
    from sohoa.config import load_settings

    return Database(load_settings(home, env={}).db_url)


def _drained(db) -> bool:
    from registry import outbox

    with db.session() as s:
        return outbox.status(s)["pending"] == 0


def _document(s, subject_id: int, doc_type: str, tag: str):
    from registry.models import Document

    doc = Document(sha256=hashlib.sha256(tag.encode()).hexdigest(), doc_type=doc_type, subject_id=subject_id,
                   pages=1, sealed=True, created_by="test")
    s.add(doc)
    s.flush()
    return doc


def _pid(i: int) -> str:
    return f"001{(i % 2):d}{88 + i % 10:02d}{i:06d}"[:12]


def drive_dossier(db, i: int, tmp: Path, results: dict[int, int], scans: dict[int, int]) -> None:
    """One dossier through a lifecycle chosen by i % 5; five dossiers share a subject."""
    from registry import lifecycle, outbox, service
    from registry.reuse import reuse_into_dossier
    from sohoa.papers.slips import apology_pdf

    with db.session() as s:
        d = service.create_dossier(s, procedure="1.001193", subject=_pid(i // 5), name="Nguyễn Văn An",
                                   agency="000.00.01.H29", created_by="staff:test")
        code = d.code
        doc = _document(s, d.subject_id, "to_khai", f"scan-{i}")
        service.attach(s, d, doc, routed_by="qr")
        doc.digitization_code = f"{code}.01.{doc.id}"
        scans[i] = doc.id
        outbox.step(s, d, "Thẩm định hồ sơ", actor="staff:test", officer="Lò Văn Sơn", title="Công chức tư pháp")
    kind = i % 5
    with db.session() as s:
        d = service.get_dossier(s, code)
        if kind == 0:
            lifecycle.pause(s, d, "Thiếu bản sao giấy khai sinh", actor="staff:test")
            lifecycle.resume(s, d, actor="staff:test")
        elif kind == 1:
            lifecycle.apology(s, d, reason="Chờ xác minh", new_date=dt.date.today() + dt.timedelta(days=5),
                              out=tmp / f"apology-{i}.pdf", actor="staff:test", render=functools.partial(apology_pdf, unit_name="UBND xã Bản Bo"),
                              declare_late=True)  # not late yet: the officer declares it will be
        elif kind == 2:  # once-only: the result of dossier i-2, the scanned component of dossier i-1
            reuse_into_dossier(s, d, results[i - 2], actor="staff:test", purpose="kết quả trước",
                               override_reason="giấy khai sinh kèm theo hồ sơ")  # a type 1.001193 does not ask for
            reuse_into_dossier(s, d, scans[i - 1], actor="staff:test", purpose="thành phần trước")
        elif kind == 3:
            lifecycle.return_dossier(s, d, "Không thuộc thẩm quyền", actor="staff:test")
        else:
            lifecycle.pause(s, d, "Chờ công dân bổ sung", actor="staff:test")
        if kind in (0, 1, 2):
            service.exempt_component(s, d, "cccd", "comparison", actor="staff:test")  # the ID card shown, not scanned
            res = _document(s, d.subject_id, "khai_sinh", f"result-{i}")
            lifecycle.complete(s, d, actor="staff:test", result_document_id=res.id)
            res.digitization_code = f"{code}.KQ.{res.id}"
            results[i] = res.id


def test_200_dossiers_sync_exactly_once_in_order_through_failures_and_kills(sohoa, tmp_path):
    from registry.models import OutboxEvent
    from sohoa.dev.portal import FakePortal, MODES

    portal = FakePortal(fail_rate=0.3, delay=1.5, token=TOKEN, seed=12).start()
    env = _sync_env(sohoa, portal, SOHOA_SYNC_MAX_ATTEMPTS=40, SOHOA_SYNC_BATCH=4)
    db = _open_db(sohoa.home)
    rng = random.Random(1212)
    kill_at = sorted(rng.sample(range(30, 190), 2))
    worker = SyncProc(sohoa, env)
    kills = []
    results: dict[int, int] = {}
    scans: dict[int, int] = {}
    try:
        for i in range(200):
            drive_dossier(db, i, tmp_path, results, scans)
            if i in kill_at:
                target = portal.received()["requests"] + rng.randint(1, 6)
                wait_for(lambda: portal.received()["requests"] > target or _drained(db), 120,
                         "the sync worker to be sending")  # (a worker that caught up is killed idle)
                worker.kill()
                kills.append(portal.received()["requests"])
                worker.stop()
                worker = SyncProc(sohoa, env)
        assert len(kills) == 2

        def settled():
            st = sohoa.json("sync", "status")[0]
            return st if st["pending"] == 0 else None

        st = wait_for(settled, 600, "the outbox to drain", every=2)
    finally:
        worker.stop()
        portal.stop()
    assert set(st) == {"events", "acknowledged", "pending", "failed", "rate"}
    assert st["rate"] == 100.0 and st["failed"] == 0 and st["acknowledged"] == st["events"]
    assert "100.00%" in sohoa.run("sync", "status").stdout

    with db.session() as s:
        rows = s.query(OutboxEvent.key, OutboxEvent.dossier_code, OutboxEvent.seq, OutboxEvent.kind,
                       OutboxEvent.payload).all()
    assert len(rows) == st["events"] == 200 * 4 + 40 * (3 + 2 + 3 + 1 + 1)
    got = portal.received()
    keys = [e["IdempotencyKey"] for e in got["events"]]
    assert len(keys) == len(set(keys)), "an idempotency key was recorded twice"
    assert set(keys) == {r.key for r in rows}, "the portal misses events or got unknown ones"
    print(f"\nportal: {len(keys)} events, {got['deliveries']} deliveries in {got['requests']} requests, "
          f"failures {got['failures']}; sync worker SIGKILLed after request #{kills[0]} and #{kills[1]}")
    assert got["deliveries"] > len(keys)  # retried deliveries happened and were deduplicated by key
    assert all(got["failures"][m] > 0 for m in MODES), got["failures"]
    per_dossier = defaultdict(list)
    for e in got["events"]:
        per_dossier[e["MaHoSo"]].append(e["ThuTu"])
    assert len(per_dossier) == 200
    for code, seqs in per_dossier.items():
        assert seqs == list(range(1, len(seqs) + 1)), f"{code} reached the portal out of order: {seqs}"
    # every kind of change reached the portal, reuse with both of its local origins
    kinds = {e["LoaiSuKien"] for e in got["events"]}
    assert kinds == {"dossier.received", "dossier.step", "dossier.paused", "dossier.resumed", "dossier.completed",
                     "dossier.returned", "dossier.apology", "component.digitized", "component.reused"}
    sources = {e["TaiLieu"]["NguonTaiSuDung"] for e in got["events"] if e["LoaiSuKien"] == "component.reused"}
    assert sources == {1, 2}
    done = [e for e in got["events"] if e["LoaiSuKien"] == "dossier.completed"]
    assert len(done) == 120 and all(e["TrangThaiHoSo"] == 9 and e["KetQua"]["MaSoHoa"] for e in done)
    steps = [e for e in got["events"] if e["LoaiSuKien"] == "dossier.step" and "Thẩm định" in
             e["QuaTrinhXuLy"]["NoiDungXuLy"]]
    assert len(steps) == 200 and all(e["QuaTrinhXuLy"]["NguoiXuLy"] == "Lò Văn Sơn" for e in steps)


def test_dead_letter_blocks_the_dossier_until_retry(sohoa, tmp_path):
    from registry import outbox
    from sohoa.dev.portal import FakePortal

    db = _open_db(sohoa.home)
    for i in range(3):
        drive_dossier(db, i * 5 + 3, tmp_path, {}, {})  # received, processing, scanned, step, returned
    portal = FakePortal(fail_rate=1.0, modes=("500",), token=TOKEN, seed=3).start()
    try:
        env = _sync_env(sohoa, portal, SOHOA_SYNC_MAX_ATTEMPTS=3)
        p = subprocess.run([sys.executable, "-m", "sohoa", "--json", "sync", "run", "--until-idle"], env=env,
                           cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        st = sohoa.json("sync", "status")[0]
        assert st["failed"] == 3 and st["acknowledged"] == 0 and st["pending"] == st["events"] - 3
        assert st["rate"] == 0.0
        # the first event of each dossier is dead-lettered; nothing after it was ever sent
        assert {e["ThuTu"] for e in portal.received()["events"]} <= {1}
        with db.session() as s:
            msgs = outbox.alerts(s)
        assert msgs and "sohoa sync retry" in msgs[0]["message"] and "Cổng Dịch vụ công" in msgs[0]["message"]
        human = sohoa.run("sync", "status").stdout
        assert "0.00%" in human and "sohoa sync retry" in human

        portal.fail_rate = 0.0
        assert sohoa.json("sync", "retry")[0]["retried"] == 3
        p = subprocess.run([sys.executable, "-m", "sohoa", "sync", "run", "--until-idle"], env=env, cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        st = sohoa.json("sync", "status")[0]
        assert st == {"events": st["events"], "acknowledged": st["events"], "pending": 0, "failed": 0, "rate": 100.0}
        got = portal.received()["events"]
        assert len(got) == st["events"]
        with db.session() as s:
            assert outbox.alerts(s) == []
    finally:
        portal.stop()


def test_outbox_rows_live_and_die_with_their_change(db):
    from registry import lifecycle, outbox, service
    from registry.models import OutboxEvent
    from vocab.errors import Invalid

    with db.session() as s:
        d = service.create_dossier(s, procedure="1.001193", subject="001088000001", agency="000.00.01.H29")
        code = d.code
    with pytest.raises(RuntimeError):
        with db.session() as s:
            lifecycle.pause(s, service.get_dossier(s, code), "Thiếu giấy tờ", actor="staff:a")
            raise RuntimeError("the request failed after the change")
    with pytest.raises(Invalid):
        with db.session() as s:
            lifecycle.pause(s, service.get_dossier(s, code), "   ", actor="staff:a")
    with db.session() as s:
        evs = s.query(OutboxEvent).order_by(OutboxEvent.seq).all()
        assert [(e.kind, e.seq, e.key) for e in evs] == [("dossier.received", 1, f"{code}/1")]
        assert service.get_dossier(s, code).status == "received"
        assert evs[0].payload["subject"] == "001088000001"
        assert outbox.status(s) == {"events": 1, "acknowledged": 0, "pending": 1, "failed": 0, "rate": 0.0}
        # a dossier from before the outbox: reconciled by a backfilled 'received' event
        s.query(OutboxEvent).delete()
        assert outbox.details(s)["dossiers_without_events"] == 1
        assert outbox.backfill(s) == 1 and outbox.backfill(s) == 0
        ev = s.query(OutboxEvent).one()
        assert (ev.kind, ev.payload["status"], ev.payload["backfilled"]) == ("dossier.received", "received", True)


def test_portal_field_mapping():
    from registry.outbox import Pending
    from sohoa.jobs.portal import STATUS_CODES, portal_time, to_portal

    assert portal_time("2026-11-24T17:05:09+00:00") == "20261125000509"  # Vietnam time, yyyyMMddHHmmss
    assert portal_time("2026-11-24") == "20261124000000"
    ev = Pending(1, "X-261124-0001/1", "X-261124-0001", 1, "dossier.received",
                 {"dossier": "X-261124-0001", "status": "received", "procedure": "1.001193", "subject": "001088000001",
                  "subject_kind": "citizen", "channel": "online", "received_at": "2026-11-24T09:00:00+07:00",
                  "step": {"officer": "A", "title": "T", "unit": "U", "at": "2026-11-24T09:00:00+07:00",
                           "due_at": "2026-11-26T09:00:00+07:00"}}, 0)
    out = to_portal(ev)
    assert out["TrangThaiHoSo"] == 2 and out["KenhThucHien"] == 2 and out["NgayTiepNhan"] == "20261124090000"
    assert out["QuaTrinhXuLy"]["HanXuLy"] == "20261126090000" and out["IdempotencyKey"] == ev.key
    assert all(1 <= c <= 10 for c in STATUS_CODES.values())


def test_dev_portal_command_records_and_requires_the_token(sohoa):
    import httpx

    port = 18000 + os.getpid() % 1000
    p = sohoa.popen("dev", "portal", "--port", str(port), "--token", TOKEN, stderr=subprocess.PIPE)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: _up(url), 30, "the fake portal")
        ev = {"IdempotencyKey": "A/1", "MaHoSo": "A", "ThuTu": 1}
        assert httpx.post(url + "/events", json={"events": [ev]}).status_code == 401
        r = httpx.post(url + "/events", json={"events": [ev, ev]}, headers={"Authorization": f"Bearer {TOKEN}"})
        assert r.json()["acks"] == [{"key": "A/1", "status": "accepted"}, {"key": "A/1", "status": "duplicate"}]
        got = httpx.get(url + "/received").json()
        assert [e["IdempotencyKey"] for e in got["events"]] == ["A/1"] and got["deliveries"] == 2
    finally:
        p.terminate()
        p.wait(timeout=30)


def _up(url: str) -> bool:
    import httpx

    try:
        return httpx.get(url + "/received", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_a_wrong_portal_token_is_said_plainly(sohoa, tmp_path):
    """HTTP 401 from the portal: the events wait (dead-lettered after N tries, nothing lost) and staff
    are told to check SOHOA_PORTAL_TOKEN rather than a bare status code."""
    from sohoa.dev.portal import FakePortal

    db = _open_db(sohoa.home)
    drive_dossier(db, 3, tmp_path, {}, {})  # received, processing, scanned, step, returned
    portal = FakePortal(fail_rate=0.0, token=TOKEN, seed=1).start()
    try:
        env = _sync_env(sohoa, portal, SOHOA_SYNC_MAX_ATTEMPTS=2) | {"SOHOA_PORTAL_TOKEN": "not-the-token"}
        p = subprocess.run([sys.executable, "-m", "sohoa", "sync", "run", "--until-idle"], env=env, cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        assert portal.received()["events"] == []
        st = sohoa.json("sync", "status")[0]
        assert st["acknowledged"] == 0 and st["failed"] == 1 and st["pending"] == st["events"] - 1
        human = sohoa.run("sync", "status").stdout
        assert "HTTP 401" in human and "SOHOA_PORTAL_TOKEN" in human, human
    finally:
        portal.stop()
