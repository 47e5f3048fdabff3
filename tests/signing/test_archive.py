"""Long-term archive: `sohoa archive refresh` extends a certified copy whose timestamp chain is
about to expire (a TSA certificate valid for two more days), so that it still verifies after
that certificate has expired; a copy that is not due is left alone."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from click.testing import CliRunner


def test_archive_refresh_extends_expiring_copies(sign_home, sign_db, put_doc, add_off, tpki, scan_pdf, trust,
                                                 make_settings, tmp_path):
    from registry.models import AuditEvent, Document
    from registry.store import Store
    from signing import Certifier, verify_pdf
    from sohoa.cli import cli
    from sohoa.dev.scans import scanned_pdf
    from sohoa.dev.servers import DevServices

    now = dt.datetime.now(dt.timezone.utc)
    short = tpki.issue("tsa_short", "sohoa test TSA (sắp hết hạn)", kind="tsa", org="sohoa test CA",
                       not_after=now + dt.timedelta(days=2))
    with DevServices(tpki.directory) as old_tsa:
        old_tsa.set_tsa(short.cert, short.key, short.chain)
        oid = add_off(tpki.officer)
        s = make_settings(tsa_url=old_tsa.tsa_url, seal_key=str(tpki.seal.p12_path))
        with Certifier(s, sign_db, oid, workers=1) as c:
            (due,) = c.certify([put_doc(sign_db, scan_pdf)], out_dir=tmp_path / "due")
    with Certifier(make_settings(tsa_url=tpki.tsa_url, seal_key=str(tpki.seal.p12_path)), sign_db, oid,
                   workers=1) as c:
        (fine,) = c.certify([put_doc(sign_db, scanned_pdf(dpi=60, noise=False, seed=3))], out_dir=tmp_path / "fine")
    assert due.level == fine.level == "B-LTA"
    before = Path(due.copies[0].path).read_bytes()
    later = now + dt.timedelta(days=3)  # the short-lived TSA certificate has expired by then
    assert verify_pdf(before, trust).valid
    assert not verify_pdf(before, trust, moment=later).valid  # nothing would prove it any more

    # the TSA of today (a long-lived certificate) extends the chain, through the command
    (sign_home / "sohoa.toml").write_text(
        f'trust_roots_gov = "{",".join(tpki.roots)}"\ntsa_url = "{tpki.tsa_url}"\ndev_mode = true\n', encoding="utf-8")
    run = CliRunner().invoke(cli, ["archive", "refresh", "--within-days", "30", "--json"],
                             env={"SOHOA_HOME": str(sign_home)}, catch_exceptions=False)
    assert run.exit_code == 0, run.output
    rep = json.loads(run.output.strip().splitlines()[-1])
    assert (rep["checked"], rep["refreshed"], rep["not_due"], rep["failed"]) == (2, 1, 1, 0), rep
    (item,) = [i for i in rep["items"] if i["status"] == "refreshed"]
    assert item["document_id"] == due.copies[0].document_id and item["old_sha256"] == due.copies[0].sha256
    assert item["expires"] < item["new_expires"]

    with sign_db.session() as ses:
        doc = ses.get(Document, item["document_id"])
        assert doc.sha256 == item["new_sha256"]
        assert ses.query(AuditEvent).filter_by(action="archive.refresh").count() == 1
    after = Store(sign_home / "store").read(item["new_sha256"])
    assert after.startswith(before)  # an incremental update: the issued copy is still inside
    now_rep = verify_pdf(after, trust)
    assert now_rep.valid, now_rep.to_text()
    assert [x.kind for x in now_rep.signatures].count("timestamp") == 2
    future = verify_pdf(after, trust, moment=later)
    assert future.valid, future.to_text()
    assert future.signatures[0].proven_time and future.signatures[0].trusted

    again = CliRunner().invoke(cli, ["archive", "refresh", "--within-days", "30"], env={"SOHOA_HOME": str(sign_home)})
    assert again.exit_code == 0 and "gia hạn 0" in again.output, again.output
