"""Verification says what changed after a signature, in Vietnamese: a page added, a page's content
changed, an annotation added, a form field filled, the signature's appearance moved — each made
here by an incremental update of a real certified copy. No traceback reaches stderr."""
from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def _form_original() -> bytes:
    """A one-page original with a text form field (a fillable 'Ghi chú' box)."""
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(595.28, 841.89))
    c.drawString(60, 780, "GIAY XAC NHAN")
    c.acroForm.textfield(name="ghi_chu", x=60, y=700, width=200, height=20, value="")
    c.showPage()
    c.save()
    return buf.getvalue()


def _update(data: bytes, change) -> bytes:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    w = IncrementalPdfFileWriter(io.BytesIO(data))
    change(w)
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def _add_page(w):
    from pyhanko.pdf_utils import generic

    w.insert_page(generic.DictionaryObject({
        generic.pdf_name("/Type"): generic.pdf_name("/Page"),
        generic.pdf_name("/MediaBox"): generic.ArrayObject([generic.NumberObject(v) for v in (0, 0, 595, 842)]),
        generic.pdf_name("/Resources"): generic.DictionaryObject()}))


def _rewrite_content(w):
    from pyhanko.pdf_utils import generic

    w.add_stream_to_page(0, w.add_object(generic.StreamObject(stream_data=b"0 g 100 100 200 50 re f")))


def _add_note(w):
    from pyhanko.pdf_utils import generic

    page_ref, _ = w.find_page_for_modification(0)
    page = page_ref.get_object()
    note = w.add_object(generic.DictionaryObject({
        generic.pdf_name("/Type"): generic.pdf_name("/Annot"), generic.pdf_name("/Subtype"): generic.pdf_name("/Text"),
        generic.pdf_name("/Rect"): generic.ArrayObject([generic.NumberObject(v) for v in (50, 50, 70, 70)]),
        generic.pdf_name("/Contents"): generic.TextStringObject("sửa lại ngày sinh")}))
    annots = page.get("/Annots")
    if annots is None:
        page[generic.pdf_name("/Annots")] = generic.ArrayObject([note])
    else:
        annots.get_object().append(note)
        if isinstance(page.raw_get("/Annots"), generic.IndirectObject):
            w.update_container(annots)
    w.update_container(page)


def _fill_field(w):
    from pyhanko.pdf_utils import generic

    for ref in w.root["/AcroForm"]["/Fields"]:
        f = ref.get_object()
        if f.get("/T") == "ghi_chu":
            f[generic.pdf_name("/V")] = generic.TextStringObject("đã đối chiếu")
            w.update_container(f)


def _move_stamp(w):
    from pyhanko.pdf_utils import generic

    for ref in w.root["/AcroForm"]["/Fields"]:
        f = ref.get_object()
        if str(f.get("/T", "")).startswith("ChungThuc_"):
            x0, y0, x1, y1 = (float(v) for v in f["/Rect"])
            f[generic.pdf_name("/Rect")] = generic.ArrayObject(
                [generic.FloatObject(v) for v in (x0, y0 + 300, x1, y1 + 300)])
            w.update_container(f)


CHANGES = {  # change, the kind reported, whether the certification (DocMDP level 2) allows it
    "page_added": (_add_page, "page_added", False),
    "page_content_changed": (_rewrite_content, "page_content_changed", False),
    "annotation_added": (_add_note, "annotation_added", False),
    "form_field_changed": (_fill_field, "form_field_changed", True),
    "signature_appearance_moved": (_move_stamp, "signature_appearance_moved", False),
}


@pytest.fixture(scope="module")
def certified(tmp_path_factory, tpki):
    """One certified copy (officer's certification signature only) of an original with a form field."""
    from registry.db import Database
    from registry.models import Document
    from registry.store import Store
    from signing import Certifier, Trust, add_officer
    from sohoa.config import load_settings

    home = tmp_path_factory.mktemp("changes")
    (home / "sohoa.toml").write_text(f'trust_roots_gov = "{",".join(tpki.roots)}"\ndev_mode = true\n', encoding="utf-8")
    s = load_settings(home, env={}, workers=1)
    db = Database(s.db_url)
    db.migrate()
    data = _form_original()
    sha, _ = Store(s.store_dir).put_bytes(data)
    with db.session() as ses:
        doc = Document(sha256=sha, size=len(data), pages=1, text="GIẤY XÁC NHẬN")
        ses.add(doc)
        ses.flush()
        doc_id = doc.id
    oid = add_officer(db, str(tpki.officer.p12_path), title="Phó Chủ tịch UBND xã", trust=Trust.build(gov=tpki.roots))["id"]
    with Certifier(s, db, oid, workers=1, seal=False) as c:
        (res,) = c.certify([doc_id])
    db.dispose()
    return Path(res.copies[0].path).read_bytes(), home


@pytest.mark.parametrize("name", list(CHANGES))
def test_verify_says_what_changed(name, certified, trust, tmp_path):
    from signing import verify_pdf

    data, home = certified
    assert verify_pdf(data, trust).valid
    change, kind, allowed = CHANGES[name]
    changed = _update(data, change)
    rep = verify_pdf(changed, trust)
    sig = rep.signatures[0]
    kinds = {c.kind: c for c in sig.changes}
    assert kind in kinds, [c.text for c in sig.changes]
    assert kinds[kind].allowed is allowed and rep.valid is allowed, rep.to_text()
    assert rep.intact  # the signed bytes are untouched: the change is in a later revision
    if not allowed:
        assert sig.modified_after and rep.modified_after_signing
        assert kinds[kind].text in rep.to_text() and "CẢNH BÁO" in rep.to_text()
        assert any(kinds[kind].text in line for line in rep.summary_lines())
    # `sohoa verify` as a person runs it: the verdict on stdout, nothing (no traceback) on stderr
    f = tmp_path / "changed.pdf"
    f.write_bytes(changed)
    env = {**os.environ, "SOHOA_HOME": str(home)}
    p = subprocess.run([sys.executable, "-m", "sohoa", "verify", str(f)], capture_output=True, text=True, env=env)
    assert p.returncode == (0 if allowed else 1), p.stdout + p.stderr
    assert kinds[kind].text in p.stdout
    assert p.stderr.strip() == "", p.stderr
