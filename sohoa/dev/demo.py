"""``python -m sohoa.dev.demo``: opens two dossiers and drops sample scans for them into the inbox.

Dossier 1 is scanned as one PDF: receipt (QR) + two-page birth certificate + ID card.
Dossier 2 is scanned as loose JPEGs into an inbox sub-folder named after its code.
"""
from __future__ import annotations

import json
import subprocess
import sys

from sohoa.dev import samples
from sohoa.config import load_settings


def sohoa(*args: str) -> dict:
    out = subprocess.run([sys.executable, "-m", "sohoa", "--json", *args], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.splitlines()[-1]) if out.strip() else {}


def main() -> None:
    st = load_settings()
    st.ensure_dirs()
    parent, child = samples.demo_people()
    d1 = sohoa("dossier", "create", "--procedure", "1.001193", "--subject", parent.pid, "--name", parent.name)["code"]
    d2 = sohoa("dossier", "create", "--procedure", "1.004873", "--subject", "079190" + parent.pid[-6:],
               "--name", "Lê Thị Lan")["code"]
    receipt_pdf = st.home / f"receipt-{d1}.pdf"
    sohoa("receipt", d1, "--out", str(receipt_pdf))
    receipt = samples.rasterize_pdf(receipt_pdf.read_bytes(), dpi=200)
    birth = [samples.degrade(samples.render_page(p), angle=0.8, seed=i)
             for i, p in enumerate(samples.birth_certificate(child))]
    card = samples.degrade(samples.render_page(samples.id_card(parent), card=True), angle=-1.2, seed=7)
    batch = st.inbox / f"scan-{d1}.pdf"
    samples.write_slowly(samples.images_to_pdf(receipt + birth + [card]), batch, chunks=3, pause=0.1)
    print(f"dossier {d1}: scanned receipt + birth certificate (2 p.) + ID card → {batch.name}")

    lan = samples.Person("Lê Thị Lan", "079190" + parent.pid[-6:], "11/09/1990", "Nữ")
    folder = st.inbox / d2
    folder.mkdir(exist_ok=True)
    samples.save_jpeg(samples.degrade(samples.render_page(samples.id_card(lan), card=True), angle=0.5, seed=3),
                      folder / "page-001.jpg")
    print(f"dossier {d2}: scanned an ID card as a JPEG into inbox/{d2}/")


if __name__ == "__main__":
    main()
