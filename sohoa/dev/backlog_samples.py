"""A generated backlog for tests, the demo and bench/backlog: a folder of scanned results (real
rendered text, degraded like a 300 dpi office scan, one- and two-page PDFs) and its manifest.

Half are one-page marital-status certificates (xác nhận tình trạng hôn nhân), half two-page birth
certificates; every person holds two results. ``wrong`` rows of the manifest name another
person's ID number than the one printed on the page: an importer must send those to review.
"""
from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from pathlib import Path

from sohoa.dev import samples

__all__ = ["BacklogScan", "make_backlog", "person"]

HEADER = ["file", "subject_id", "doc_type", "result_code", "number", "issued_on", "issuer", "valid_until"]
GIVEN = ["An", "Bình", "Chi", "Dũng", "Giang", "Hà", "Hải", "Hoa", "Hùng", "Lan", "Linh", "Mai", "Minh", "Nam",
         "Ngọc", "Phúc", "Quang", "Sơn", "Thảo", "Trang", "Tuấn", "Vân"]
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Lò"]
PROVINCES = ["001", "012", "031", "038", "079"]


@dataclass(frozen=True)
class BacklogScan:
    file: str
    person: samples.Person
    doc_type: str
    number: str
    pages: int
    manifest_subject: str  # what the manifest says (differs from person.pid on a wrong row)

    @property
    def wrong(self) -> bool:
        return self.manifest_subject != self.person.pid


def person(i: int, rnd: random.Random) -> samples.Person:
    female = i % 2 == 1
    year = 1960 + rnd.randrange(40)
    pid = f"{rnd.choice(PROVINCES)}{int(female)}{year % 100:02d}{rnd.randrange(10 ** 6):06d}"
    name = f"{rnd.choice(FAMILY)} {'Thị' if female else 'Văn'} {rnd.choice(GIVEN)}"
    return samples.Person(name, pid, f"{1 + rnd.randrange(28):02d}/{1 + rnd.randrange(12):02d}/{year}",
                          "Nữ" if female else "Nam")


def make_backlog(folder: Path, n: int, *, seed: int = 0, wrong: int = 0, dpi: int = 200,
                 manifest: str | None = "manifest.csv") -> list[BacklogScan]:
    """Write ``n`` scanned results into ``folder`` (and the manifest, unless ``manifest`` is None)."""
    rnd = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    people = [person(i, rnd) for i in range((n + 1) // 2)]
    wrong_at = set(rnd.sample(range(n), wrong))
    out = []
    for i in range(n):
        p = people[i // 2]
        number = f"{100 + i}/{2015 + i % 10}"
        if i % 2 == 0:
            doc_type, pages = "xac_nhan_hon_nhan", [samples.marital_status(p, so=f"{number}/XNTTHN")]
        else:
            doc_type, pages = "khai_sinh", samples.birth_certificate(p, so=number)
        images = [samples.degrade(samples.render_page(lines, dpi=dpi, font_index=i), angle=rnd.uniform(-1, 1),
                                  seed=seed * 1000 + i * 10 + k) for k, lines in enumerate(pages)]
        name = f"hop-{i // 20:02d}/kq-{i:05d}.pdf"
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(samples.images_to_pdf(images))
        claimed = p.pid
        if i in wrong_at:  # another person's number, or a made-up one
            other = people[(i // 2 + 1) % len(people)] if i % 3 else person(10_000 + i, rnd)
            claimed = other.pid
        out.append(BacklogScan(name, p, doc_type, number if doc_type == "khai_sinh" else f"{number}/XNTTHN",
                               len(images), claimed))
    if manifest:
        with open(folder / manifest, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(HEADER)
            for s in out:
                w.writerow([s.file, s.manifest_subject, s.doc_type, "KQ.G15.000031" if s.doc_type == "khai_sinh" else "",
                            s.number, "12/03/2019", "UBND xã Bản Bo", ""])
    return out
