"""End to end with real Tesseract: dossier → receipt → scans written slowly into the inbox → the
watcher attaches typed components to the right dossier; nothing is quarantined."""
from __future__ import annotations

import io

import pytest

from sohoa.dev import samples
from tests.scanning import Watcher, birth_pages, card_page, components, dump, journal, receipt_images, wait_for

pytestmark = pytest.mark.slow


def _expect(home, code, what):
    got = wait_for(lambda: (c := components(home, code)) and len(c) >= 2 and c, 240, what)
    types = sorted(c["doc_type"] for c in got)
    assert types == ["cccd", "khai_sinh"], dump(got)
    pages = {c["doc_type"]: c["pages"] for c in got}
    assert pages == {"khai_sinh": 2, "cccd": 1}, dump(got)
    assert {c["routed_by"] for c in got} == {"qr"}, dump(got)


def test_scans_reach_their_dossier(sohoa, tmp_path):
    parent, child = samples.demo_people(seed=5)
    d1 = sohoa.json("dossier", "create", "--procedure", "1.001193", "--subject", parent.pid,
                    "--name", parent.name)[0]["code"]
    d2 = sohoa.json("dossier", "create", "--procedure", "1.001193", "--subject", parent.pid)[0]["code"]
    inbox = sohoa.home / "inbox"
    w = Watcher(sohoa)
    try:
        # 1) one PDF: receipt + two-page birth certificate + ID card, written slowly in chunks
        pdf = samples.images_to_pdf(receipt_images(sohoa, d1, tmp_path) + birth_pages(child) + [card_page(parent)])
        samples.write_slowly(pdf, inbox / "batch-scan.pdf", chunks=6, pause=0.4)
        _expect(sohoa.home, d1, f"components of {d1}")

        # 2) the same papers as loose JPEGs, one file per page, each written slowly
        pages = receipt_images(sohoa, d2, tmp_path) + birth_pages(child, seed=10) + [card_page(parent, seed=11)]
        for i, img in enumerate(pages, 1):
            buf = io.BytesIO()
            img.convert("L").save(buf, "JPEG", quality=85, dpi=(300, 300))
            samples.write_slowly(buf.getvalue(), inbox / f"scan_{i:04d}.jpg", chunks=4, pause=0.15)
        _expect(sohoa.home, d2, f"components of {d2}")
    finally:
        w.stop()
    entries = journal(sohoa.home)
    assert all(e["state"] == "done" for e in entries), dump(entries) + w.text()
    assert list((sohoa.home / "quarantine").iterdir()) == []
    assert [p for p in inbox.rglob("*") if p.is_file()] == []
    shown = sohoa.json("dossier", "show", d1)[0]
    kinds = {c["doc_type"]: c["document"] for c in shown["components"]}
    assert kinds["cccd"]["fields"].get("so_dinh_danh") == parent.pid
    assert kinds["khai_sinh"]["fields"].get("so_dinh_danh") == child.pid
    assert shown["status"] == "processing"


def test_sub_folder_and_personal_id_routes(sohoa, tmp_path):
    parent, _child = samples.demo_people(seed=6)
    other = samples.Person("Lê Thị Lan", "079190" + parent.pid[-6:], "11/09/1990", "Nữ")
    d_folder = sohoa.json("dossier", "create", "--procedure", "1.004873", "--subject", other.pid)[0]["code"]
    d_pid = sohoa.json("dossier", "create", "--procedure", "1.001193", "--subject", parent.pid)[0]["code"]
    inbox = sohoa.home / "inbox"
    (inbox / d_folder).mkdir()
    samples.save_jpeg(card_page(other, seed=2), inbox / d_folder / "the-card.jpg")
    samples.save_jpeg(card_page(parent, seed=3, angle=0.4), inbox / "loose-card.jpg")
    stranger = samples.Person("Phạm Văn Hùng", "040095123456", "01/01/1995")
    samples.save_jpeg(card_page(stranger, seed=4), inbox / "stranger.jpg")
    out = sohoa.json("watch", "--once")[-1]
    assert out["quarantined"] == 0, out
    assert [(c["doc_type"], c["routed_by"]) for c in components(sohoa.home, d_folder)] == [("cccd", "folder")]
    assert [(c["doc_type"], c["routed_by"]) for c in components(sohoa.home, d_pid)] == [("cccd", "pid")]
    left = sohoa.json("unassigned")
    assert [u["doc_type"] for u in left] == ["cccd"] and left[0]["source"] == "stranger.jpg"
    assert left[0]["fields"].get("so_dinh_danh") == stranger.pid


def test_same_bytes_twice_are_linked_not_processed_again(sohoa, tmp_path):
    parent, _ = samples.demo_people(seed=7)
    code = sohoa.json("dossier", "create", "--procedure", "1.001193", "--subject", parent.pid)[0]["code"]
    inbox = sohoa.home / "inbox"
    samples.save_jpeg(card_page(parent, seed=9), tmp_path / "card.jpg")
    data = (tmp_path / "card.jpg").read_bytes()
    (inbox / "first.jpg").write_bytes(data)
    sohoa.json("watch", "--once")
    (inbox / code).mkdir()
    (inbox / code / "again.jpg").write_bytes(data)
    sohoa.json("watch", "--once")
    entries = journal(sohoa.home)
    assert [e["state"] for e in entries] == ["done", "duplicate"], dump(entries)
    assert entries[1]["duplicate_of"] == entries[0]["id"]
    comps = components(sohoa.home, code)
    assert len(comps) == 1  # routed by PID the first time; the duplicate links, it adds nothing new


def test_twins_in_one_batch(sohoa, tmp_path):
    parent, _ = samples.demo_people(seed=13)
    samples.save_jpeg(card_page(parent, seed=2), tmp_path / "card.jpg")
    inbox = sohoa.home / "inbox"
    for name in ("a.jpg", "b.jpg"):
        (inbox / name).write_bytes((tmp_path / "card.jpg").read_bytes())
    for name in ("bad1.pdf", "bad2.pdf"):
        (inbox / name).write_text("not a pdf\n%%EOF\n")
    out = sohoa.json("watch", "--once")[-1]
    states = {e["name"]: e["state"] for e in journal(sohoa.home)}
    assert states == {"a.jpg": "done", "b.jpg": "duplicate", "bad1.pdf": "quarantined",
                      "bad2.pdf": "quarantined"}, dump(states)
    assert out["documents"] == 1 and out["duplicates"] == 1, out
