"""How a batch of pages is cut into documents (pure logic, no OCR)."""
from __future__ import annotations

from pathlib import Path

from ocr.types import PageResult
from sohoa.jobs.inbox import PageRef, split_documents

CODE = "000.00.01.H29-261123-0007"


def ref(entry, index, *, src="scan.pdf", title=False, qr=()):
    return PageRef(entry, Path(src), PageResult(index=index, text="", confidence=0.9, qr=list(qr),
                                                starts_document=title))


def shape(segs):
    return [(s.qr_target, [(r.entry_id, r.page.index) for r in s.pages]) for s in segs]


def test_receipt_then_documents_in_one_pdf():
    refs = [ref(1, 0, qr=[CODE]), ref(1, 1, title=True), ref(1, 2), ref(1, 3, title=True)]
    assert shape(split_documents(refs)) == [(CODE, [(1, 1), (1, 2)]), (CODE, [(1, 3)])]


def test_loose_image_pages_continue_the_document_before_them():
    refs = [ref(1, 0, src="a.jpg", qr=[CODE]), ref(2, 0, src="b.jpg", title=True), ref(3, 0, src="c.jpg"),
            ref(4, 0, src="d.jpg", title=True)]
    assert shape(split_documents(refs)) == [(CODE, [(2, 0), (3, 0)]), (CODE, [(4, 0)])]


def test_separate_pdfs_stay_separate_and_a_second_receipt_switches_dossier():
    other = "000.00.01.H29-261123-0008"
    refs = [ref(1, 0), ref(2, 0, src="b.pdf"), ref(3, 0, qr=[other]), ref(3, 1)]
    assert shape(split_documents(refs)) == [(None, [(1, 0)]), (None, [(2, 0)]), (other, [(3, 1)])]


def test_qr_that_is_not_a_dossier_code_is_just_content():
    refs = [ref(1, 0, qr=["https://example.org/not-a-code"], title=True)]
    assert shape(split_documents(refs)) == [(None, [(1, 0)])]
