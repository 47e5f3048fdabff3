"""Docs by audience (issue 21): a short README with the two commands and a map, docs/ pages whose
links all lead somewhere, and a configuration reference generated from ``Settings`` that lists
every field and is current."""
from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

from sohoa.config import EXTRA_DOCS, FIELD_DOCS, Settings, docs_markdown
from tests.conftest import ROOT

DOCS = ROOT / "docs"
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", text))


def _anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", path.read_text("utf-8"), flags=re.S)
    return {_slug(m.group(1)) for m in re.finditer(r"^#+ (.+)$", text, re.M)}


def test_readme_is_short_and_keeps_the_two_commands():
    text = (ROOT / "README.md").read_text("utf-8")
    assert "`bash scripts/demo.sh`" in text and "`bash scripts/test.sh`" in text
    assert len(text.splitlines()) <= 120
    for page in ("getting-started", "operations", "clerk", "officer", "manager", "admin", "api", "design"):
        assert f"(docs/{page}.md" in text, page


def test_every_link_between_the_pages_leads_somewhere():
    pages = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
    broken = []
    for page in pages:
        for target in LINK.findall(page.read_text("utf-8")):
            if re.match(r"[a-z]+:", target):
                continue  # http(s), mailto: not checked here
            file, _, anchor = target.partition("#")
            dest = (page.parent / file).resolve() if file else page
            if not dest.exists():
                if dest.name == "operations-backup.md":
                    continue  # written by the backup work of the same issue
                broken.append(f"{page.name}: {target}")
            elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
                broken.append(f"{page.name}: {target} (no such heading)")
    assert broken == []


def test_every_setting_is_documented_and_the_reference_is_current():
    names = [f.name for f in fields(Settings) if f.name != "extra"]
    assert sorted(FIELD_DOCS) == sorted(names), "describe every Settings field in sohoa.config.FIELD_DOCS"
    ops = (DOCS / "operations.md").read_text("utf-8")
    section = ops.split("<!-- config:begin -->\n", 1)[1].split("<!-- config:end -->", 1)[0]
    assert section == docs_markdown(), ("docs/operations.md's configuration is stale: replace the part between "
                                        "the config markers with `python -m sohoa.config --docs`")
    for name in names:
        assert f"`SOHOA_{name.upper()}`" in section
    for key in EXTRA_DOCS:
        assert f"`{key}`" in section
    p = subprocess.run([sys.executable, "-m", "sohoa.config", "--docs"], capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 0 and p.stdout == docs_markdown()
    bad = subprocess.run([sys.executable, "-m", "sohoa.config"], capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode != 0 and "usage" in bad.stderr


def test_the_quarantine_reasons_are_all_in_the_troubleshooting_table():
    from ingest.reasons import CATALOGUE

    ops = (DOCS / "operations.md").read_text("utf-8")
    table = ops.split("## Troubleshooting", 1)[1].split("\n## ", 1)[0]
    missing = [code for code in CATALOGUE if f"`{code}`" not in table]
    assert missing == []
