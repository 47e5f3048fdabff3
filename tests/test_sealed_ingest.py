"""With an organisation seal configured (`sohoa pki dev`), every document the pipeline stores is
sealed, marked sealed, still searchable, and passes pyHanko's validator against the test root."""
from __future__ import annotations

import io
import subprocess

import pytest

from sohoa.dev import samples
from tests.scanning import card_page

pytestmark = pytest.mark.slow


def test_stored_documents_are_sealed_and_validate(sohoa):
    from pyhanko.keys import load_cert_from_pemder
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    sohoa.run("pki", "dev")
    parent, _ = samples.demo_people(seed=12)
    code = sohoa.json("dossier", "create", "--procedure", "1.001193", "--subject", parent.pid)[0]["code"]
    samples.save_jpeg(card_page(parent, seed=1), sohoa.home / "inbox" / "card.jpg")
    out = sohoa.json("watch", "--once")[-1]
    assert out["documents"] == 1 and out["quarantined"] == 0, out
    comp = sohoa.json("dossier", "show", code)[0]["components"][0]
    doc = comp["document"]
    assert doc["sealed"] is True
    data = (sohoa.home / "store" / doc["sha256"][:2] / doc["sha256"][2:4] / f"{doc['sha256']}.pdf").read_bytes()
    root = load_cert_from_pemder(str(sohoa.home / "pki" / "ca.pem"))
    vc = ValidationContext(trust_roots=[root], allow_fetching=False, revocation_mode="soft-fail")
    sigs = PdfFileReader(io.BytesIO(data)).embedded_signatures
    assert len(sigs) == 1
    status = validate_pdf_signature(sigs[0], vc)
    assert status.intact and status.valid and status.trusted, status.pretty_print_details()
    text = subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True).stdout.decode()
    assert parent.pid in text.replace(" ", "")  # the OCR text layer survives the seal
