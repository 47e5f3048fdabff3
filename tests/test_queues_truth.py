"""The clerk's queues tell the truth: the quarantine counter counts what the quarantine page lists,
and a quarantined file that was deleted or put back in the inbox leaves the inbox list (the file
taken again has its own row: one row per file)."""
from __future__ import annotations

from registry.models import IngestEntry
from registry.queues import inbox_counts, journal_rows, quarantined_entries
from vocab.kinds import EntryState


def test_counters_match_lists_and_handled_files_leave(settings, db, tmp_path):
    files = []
    with db.session() as s:
        for i in range(4):
            f = tmp_path / f"hong-{i}.pdf"
            f.write_bytes(b"not a pdf")
            files.append(f)
            s.add(IngestEntry(rel_path=f.name, name=f.name, sha256=f"{i:064d}", state=EntryState.QUARANTINED,
                              final_path=str(f), error="tệp hỏng"))
    files[0].unlink()  # deleted by staff
    files[1].unlink()  # put back in the inbox: taken again under a new row
    with db.session() as s:
        s.add(IngestEntry(rel_path="hong-1.pdf", name="hong-1.pdf", sha256=f"{1:064d}", state=EntryState.PENDING))
    with db.session() as s:
        listed = quarantined_entries(s)
        assert inbox_counts(s)["quarantined"] == len(listed) == 2
        names = [r["name"] for r in journal_rows(s)]
        assert names.count("hong-1.pdf") == 1 and "hong-0.pdf" not in names


def test_suggestions_find_a_dossier_through_its_persons_concerned(settings, db):
    from registry import persons, service
    from registry.models import Document
    from registry.queues import dossier_summaries, suggestions

    with db.session() as s:
        d = service.open_dossier(s, procedure="1.000894", subject="001085013579", name="Trịnh Văn Khôi",
                                 agency=settings.agency_code, actor="staff:x",
                                 persons=[persons.PersonIn("wife", "001187024680", "Vương Thị Lan Anh")])
        doc = Document(sha256="f" * 64, size=1, pages=1, doc_type="cccd", fields={"so_dinh_danh": "001187024680"})
        s.add(doc)
        s.flush()
        got = suggestions(s, [doc])
        assert got == {doc.id: [d.code]}
        assert dossier_summaries(s, set(got[doc.id]))[d.code] == {
            "code": d.code, "citizen": "Trịnh Văn Khôi", "procedure": "Đăng ký kết hôn"}
