"""Lifecycle that tells the truth: an apology slip only for a dossier that is late or declared late
with a reason; on time counts against the original due date; certification dossiers are due the
same day, or the next working day when received after 15:00 Vietnam time."""
from __future__ import annotations

import datetime as dt

import pytest

from registry import indicators, lifecycle, service
from registry.models import Dossier
from sohoa.papers.slips import apology_pdf
from tests.once_helpers import Cli, audits, person
from vocab.clock import VN_TZ

UTC = dt.timezone.utc


def vn(y, m, d, hh, mm):
    return dt.datetime(y, m, d, hh, mm, tzinfo=VN_TZ)


@pytest.mark.parametrize("received, due", [
    (vn(2026, 11, 24, 9, 0), vn(2026, 11, 24, 17, 0)),  # Tuesday morning: the same day
    (vn(2026, 11, 24, 15, 0), vn(2026, 11, 24, 17, 0)),  # 15:00 sharp is not after 15:00
    (vn(2026, 11, 24, 15, 1), vn(2026, 11, 25, 17, 0)),  # after 15:00: the next working day
    (vn(2026, 11, 27, 16, 30), vn(2026, 11, 30, 17, 0)),  # Friday afternoon: Monday
    (vn(2026, 11, 28, 9, 0), vn(2026, 11, 30, 17, 0)),  # Saturday (online): Monday
    (dt.datetime(2026, 11, 24, 8, 30, tzinfo=UTC), vn(2026, 11, 25, 17, 0)),  # 15:30 in Vietnam
])
def test_certification_dossiers_are_due_the_same_or_next_working_day(db, received, due):
    with db.session() as s:
        d = service.create_dossier(s, procedure="2.000908", subject=person("Lò Văn Sơn", 1970).pid,
                                   agency="000.00.01.H29", now=received)
        assert d.procedure.certification is True
        assert d.due_at.astimezone(VN_TZ) == due and d.original_due_at == d.due_at
        # an ordinary procedure keeps its time limit in working days
        other = service.create_dossier(s, procedure="1.004873", subject=person("Lò Văn Sơn", 1970).pid,
                                       agency="000.00.01.H29", now=received)
        assert other.due_at == service.add_working_days(received, 3)


def test_procedure_add_marks_certification_procedures(home, db):
    cli = Cli(home)
    p = cli.ok("procedure", "add", "2.000815", "--name", "Chứng thực chữ ký trong các giấy tờ, văn bản",
               "--requires", "cccd", "--days", "1")[0]
    assert p["certification"] is True
    p = cli.ok("procedure", "add", "1.000656", "--name", "Đăng ký khai tử", "--requires", "to_khai,cccd",
               "--days", "1")[0]
    assert p["certification"] is False
    assert cli.ok("procedure", "add", "2.000884", "--name", "Thủ tục khác", "--requires", "cccd",
                  "--certification")[0]["certification"] is True


def test_apology_only_for_a_late_or_declared_late_dossier(home, db, tmp_path):
    cli = Cli(home)
    now = dt.datetime.now(UTC)
    p = person("Phạm Thị Dung", 1987, "Nữ")
    with db.session() as s:
        late = service.create_dossier(s, procedure="1.004873", subject=p.pid, agency="000.00.01.H29",
                                      now=now - dt.timedelta(days=10)).code
        fresh = service.create_dossier(s, procedure="1.004873", subject=p.pid, agency="000.00.01.H29").code
    new_date = (dt.date.today() + dt.timedelta(days=7)).isoformat()
    out = cli.refused("dossier", "apology", fresh, "--reason", "chờ xác minh", "--new-date", new_date,
                      "--out", str(tmp_path / "a.pdf"))
    assert "chưa trễ hạn" in out and not (tmp_path / "a.pdf").exists()
    with db.session() as s:
        assert service.get_dossier(s, fresh).apology_ref is None

    # the officer declares it will be late, with the reason
    reason = "Chờ kết quả xác minh của Công an xã"
    declared = cli.ok("dossier", "apology", fresh, "--declare-late", "--reason", reason, "--new-date", new_date,
                      "--out", str(tmp_path / "b.pdf"))[0]
    assert declared["apology_ref"] and (tmp_path / "b.pdf").read_bytes().startswith(b"%PDF")
    # a late dossier gets its slip without a declaration
    cli.ok("dossier", "apology", late, "--reason", "hồ sơ phải xin ý kiến cấp trên", "--new-date", new_date,
           "--out", str(tmp_path / "c.pdf"))
    with db.session() as s:
        d = service.get_dossier(s, fresh)
        assert d.declared_late_reason == reason
        assert [a.object_id for a in audits(s, "dossier.declare_late")] == [fresh]
        assert [a.object_id for a in audits(s, "dossier.apology")] == [fresh, late]
        # the promised date moved, the original due date did not
        assert d.due_at.astimezone(VN_TZ).date().isoformat() == new_date
        assert d.original_due_at < d.due_at
    # a second slip before the promised date is refused (not late against the promised date)
    out = cli.refused("dossier", "apology", late, "--reason", "lần hai", "--new-date", new_date,
                      "--out", str(tmp_path / "d.pdf"))
    assert "chưa trễ hạn" in out


def test_on_time_counts_against_the_original_due_date(db, tmp_path):
    """Two dossiers received 10 days ago (3 working days each): one completed late after an apology
    promised a new date (and before that date), one completed on time. On time: 1 of 2."""
    p = person("Vũ Văn Hải", 1979)
    unit = "99.777.H29"
    received = dt.datetime.now(UTC) - dt.timedelta(days=10)
    with db.session() as s:
        late = service.create_dossier(s, procedure="1.004873", subject=p.pid, agency=unit, now=received)
        punctual = service.create_dossier(s, procedure="1.004873", subject=p.pid, agency=unit, now=received)
        original = late.due_at
        lifecycle.apology(s, late, reason="chờ xác minh", new_date=dt.date.today() + dt.timedelta(days=3),
                          out=tmp_path / "slip.pdf", actor="test",
                          render=lambda d, r, nd, now: apology_pdf(d, r, nd, now, unit_name="UBND xã"))
        assert late.due_at > dt.datetime.now(UTC) and late.original_due_at == original
        lifecycle.complete(s, late, actor="test", override_reason="kiểm thử")  # before the promised date
        lifecycle.complete(s, punctual, actor="test", override_reason="kiểm thử",
                           now=punctual.due_at - dt.timedelta(hours=1))
        assert late.late is True and punctual.late is False
        ind = indicators.compute(s, unit=unit)
        assert (ind["resolved"], ind["completed_on_time"], ind["on_time_rate"]) == (2, 1, 0.5)
        # pausing (time not counted against the unit) moves both the due date and the original
        paused = service.create_dossier(s, procedure="1.004873", subject=p.pid, agency=unit)
        before = paused.original_due_at
        t0 = dt.datetime.now(UTC)
        lifecycle.pause(s, paused, "chờ công dân bổ sung", actor="test", now=t0)
        lifecycle.resume(s, paused, actor="test", now=t0 + dt.timedelta(days=2))
        assert paused.original_due_at - before == dt.timedelta(days=2) == paused.due_at - before
        assert s.get(Dossier, paused.id).late is False
