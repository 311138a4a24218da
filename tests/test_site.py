"""The built site (run after `make book`): no solution code unless released, every lab shown."""

from __future__ import annotations

import html
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "_build" / "html"

pytestmark = pytest.mark.browser  # needs the built site, like the browser tests


def _solution_lines() -> dict[str, list[str]]:
    """Distinctive lines of code between the solution markers of every master lab."""
    found = {}
    for path in sorted(ROOT.glob("solutions/*/*.ipynb")):
        lines = []
        for cell in nbformat.read(path, as_version=4).cells:
            inside = False
            for line in cell.source.splitlines():
                if "### BEGIN SOLUTION" in line:
                    inside = True
                elif "### END SOLUTION" in line:
                    inside = False
                elif inside and len(line.strip()) >= 25 and not line.strip().startswith("#"):
                    lines.append(line.strip())
        found[path.parent.name] = lines
    return found


def _chapter(page: Path) -> int:
    """Chapter number of a page (0 for pages outside the chapters: intro, notation, ...)."""
    match = re.search(r"ch(\d\d)", page.relative_to(SITE).as_posix())
    return int(match.group(1)) if match else 0


def _page_text(path: Path) -> str:
    text = re.sub(r"<[^>]+>", "", path.read_text(errors="ignore"))
    return html.unescape(text)


@pytest.fixture(scope="module")
def pages():
    if not (SITE / "index.html").exists():
        pytest.fail("the site is not built: run `make book` first")
    return {p: _page_text(p) for p in SITE.rglob("*.html") if "_static" not in p.parts}


def test_default_site_contains_no_solution_code(pages):
    if (ROOT / "_build" / "_toc_with_solutions.yml").exists() and any(
            "solutions" in p.parts for p in pages):
        pytest.skip("this build publishes the solutions (SOLUTIONS_ON_SITE=1)")
    solutions = _solution_lines()
    assert sum(map(len, solutions.values())) > 5, "found too few solution lines to test with"
    # A later lab may hand out an earlier lab's answer as given code (lab 4 gives the forward
    # pass of lab 3); no page up to and including a lab's own chapter may show it.
    leaks = [(lab, line, page.relative_to(SITE).as_posix())
             for lab, lines in solutions.items() for line in lines
             for page, text in pages.items()
             if _chapter(page) <= int(lab[2:]) and line in text]
    assert leaks == []
    assert not any("solutions" in p.relative_to(SITE).parts for p in pages)


def test_every_student_lab_is_on_the_site(pages):
    for nb in sorted(ROOT.glob("notebooks/*/*.ipynb")):
        page = SITE / "notebooks" / nb.parent.name / f"{nb.stem}.html"
        assert page.exists(), f"{nb.relative_to(ROOT)} is not on the site (missing from _toc.yml?)"
        assert "raise NotImplementedError()" in pages[page]
