"""README.md and docs/*.md: every relative link opens a file of the repo, every `#anchor`
names a heading of its page (GitHub's slugs), and every file of the repo a page names in
backticks (`tests/test_x.py`, `benchmarks/x.py`, `labeling/x.py`) is there (h115).

Pages are edited over many sessions while files move; a reader following a dead link or
looking for a renamed test finds nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```.*?^```", re.S | re.M)


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as '-'."""
    text = re.sub(r"[`*]", "", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    found, seen = set(), {}
    for line in FENCE.sub("", page.read_text(encoding="utf-8")).splitlines():
        heading = re.match(r"#{1,6}\s+(.*)", line)
        if heading:
            base = slug(heading.group(1))
            found.add(base if base not in seen else f"{base}-{seen[base]}")
            seen[base] = seen.get(base, 0) + 1
        found |= set(re.findall(r'<a (?:name|id)="([^"]+)"', line))
    return found


def links(page: Path) -> list[str]:
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    return [t for t in re.findall(r"\]\(([^)\s]+)\)", text)
            if not t.startswith(("http://", "https://", "mailto:"))]


def test_the_slug_is_githubs():
    assert slug("What the search costs (#14 item 7)") == "what-the-search-costs-14-item-7"
    assert slug("Reading `metrics.json` from a script") == "reading-metricsjson-from-a-script"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_relative_link_and_anchor_resolves(page):
    assert PAGES and links(ROOT / "README.md")  # not an empty walk
    broken = []
    for target in links(page):
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            broken.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{target}: no heading '#{anchor}' in {dest.name}")
    assert not broken, f"{page.name}: " + "; ".join(broken)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_repo_file_named_in_backticks_exists(page):
    named = re.findall(r"`((?:tests|benchmarks|labeling|app)/[\w./-]+\.py)`",
                       page.read_text(encoding="utf-8"))
    missing = sorted({p for p in named if not (ROOT / p).exists()})
    assert not missing, f"{page.name} names files the repo does not have: {missing}"
