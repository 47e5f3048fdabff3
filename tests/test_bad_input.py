"""Bad input gets a clear reason in quarantine/ and loses nothing; the watcher keeps going."""
from __future__ import annotations

import os

import pikepdf
import pytest

from sohoa.dev import samples
from tests.scanning import Watcher, card_page, dump, journal, wait_for

pytestmark = pytest.mark.slow


def test_bad_files_are_quarantined_with_reasons(sohoa, tmp_path):
    inbox = sohoa.home / "inbox"
    parent, _ = samples.demo_people(seed=8)
    good = tmp_path / "good.pdf"
    good.write_bytes(samples.images_to_pdf([card_page(parent, seed=1)]))
    enc = tmp_path / "enc.pdf"
    with pikepdf.open(good) as pdf:
        pdf.save(enc, encryption=pikepdf.Encryption(owner="o", user="secret"))
    outside = tmp_path / "outside.pdf"
    outside.write_bytes(good.read_bytes())

    w = Watcher(sohoa)
    try:
        (inbox / "empty.pdf").touch()
        (inbox / "truncated.pdf").write_bytes(good.read_bytes()[: good.stat().st_size // 2])
        (inbox / "encrypted.pdf").write_bytes(enc.read_bytes())
        (inbox / "letter.pdf").write_text("Kính gửi: Ủy ban nhân dân xã — this is a text file\n", encoding="utf-8")
        (inbox / "link.pdf").symlink_to(outside)
        with open(os.path.join(os.fsencode(inbox), b"scan-\xff\xfe.jpg"), "wb") as fh:
            fh.write(good.read_bytes())
        (inbox / "after.pdf").write_bytes(good.read_bytes())  # the watcher must keep going
        wait_for(lambda: len([e for e in journal(sohoa.home) if e["state"] in ("done", "quarantined")]) >= 6,
                 180, "all six non-empty files to be handled")
        # an empty file is waited for (scanners create it, then fill it), not refused
        assert (inbox / "empty.pdf").exists() and "empty.pdf" not in {e["name"] for e in journal(sohoa.home)}
        (inbox / "empty.pdf").write_bytes(good.read_bytes() + b"\n% filled in\n")  # now the scan lands in it
        wait_for(lambda: {e["name"]: e["state"] for e in journal(sohoa.home)}.get("empty.pdf") == "done",
                 180, "the filled-in file to be done")
    finally:
        w.stop()
    q = sohoa.home / "quarantine"
    reasons = {p.name[: -len(".reason.txt")]: p.read_text(encoding="utf-8") for p in q.glob("*.reason.txt")}
    assert set(reasons) == {"truncated.pdf", "encrypted.pdf", "letter.pdf", "link.pdf",
                            "scan-_xff_xfe.jpg"}, dump(reasons)
    assert reasons["encrypted.pdf"].startswith("PDF có mật khẩu: mở khóa rồi quét lại.")
    assert "encrypt" in reasons["encrypted.pdf"].lower()  # the technical detail follows
    assert "symbolic link" in reasons["link.pdf"]
    assert "UTF-8" in reasons["scan-_xff_xfe.jpg"]
    for name in ("truncated.pdf", "letter.pdf"):
        assert "pdf" in reasons[name].lower(), reasons[name]
    for name in reasons:  # the file itself is kept next to its reason
        assert (q / name).exists() or (q / name).is_symlink(), name
    assert outside.exists()
    states = {e["name"]: e["state"] for e in journal(sohoa.home)}
    assert states["after.pdf"] == "done" and states["empty.pdf"] == "done", dump(states)
    assert (sohoa.home / "done" / "after.pdf").exists()
    assert [p for p in inbox.rglob("*") if p.is_file() or p.is_symlink()] == []
