"""The built site (run after `make book`; ``$COURSE_SITE`` points at another build): no solution
code unless released, every lab shown, chapter pages linked to their lab and the next chapter,
every cited paper in the bibliography, every figure captioned and every image described."""

from __future__ import annotations

import html
import os
import re
from pathlib import Path

import pytest

from course_tools.labspec import read_lab

ROOT = Path(__file__).resolve().parent.parent
SITE = Path(os.environ.get("COURSE_SITE", ROOT / "_build" / "html")).resolve()

pytestmark = pytest.mark.browser  # needs the built site, like the browser tests


def _solution_lines() -> dict[str, list[str]]:
    """Distinctive lines of code between the solution markers of every master lab."""
    found = {}
    for path in sorted(ROOT.glob("solutions/*/*.ipynb")):
        answers = [line.strip() for cell in read_lab(path).solutions for line in cell.answer_lines]
        found[path.parent.name] = [line for line in answers
                                   if len(line) >= 25 and not line.startswith("#")]
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
    if any("solutions" in p.relative_to(SITE).parts for p in pages):
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


def test_solutions_switch_puts_each_master_lab_after_its_student_lab(tmp_path):
    """What ``make book SOLUTIONS_ON_SITE=1`` builds with; the default _toc.yml has none."""
    import yaml

    from course_tools.authoring import toc_with_solutions

    default = (ROOT / "_toc.yml").read_text()
    assert "solutions/" not in default
    files = re.findall(r"file:\s*(\S+)", yaml.safe_dump(yaml.safe_load(
        toc_with_solutions(ROOT / "_toc.yml", tmp_path / "toc.yml").read_text())))
    labs = [f for f in files if f.startswith("notebooks/")]
    assert labs
    for lab in labs:
        solution = "solutions/" + lab[len("notebooks/"):]
        assert files[files.index(lab) + 1] == solution


def _chapters() -> list[Path]:
    return sorted(SITE.glob("book/ch[0-9][0-9]_*.html"))


def _hrefs(page: Path) -> list[str]:
    return [html.unescape(h) for h in re.findall(r'href="([^"#]*)(?:#[^"]*)?"', page.read_text())]


def test_every_chapter_links_to_its_lab_and_the_next_chapter(pages):
    chapters = _chapters()
    assert len(chapters) >= 10
    for i, page in enumerate(chapters):
        number = page.name[2:4]
        links = {(page.parent / h).resolve() for h in _hrefs(page) if h and "://" not in h}
        lab = SITE / "notebooks" / f"ch{number}" / f"ch{number}_lab.html"
        if lab.exists():
            assert lab in links, f"{page.name} does not link to its lab"
            notebook = SITE / "_sources" / "notebooks" / f"ch{number}" / f"ch{number}_lab.ipynb"
            assert notebook.exists() and notebook in links, f"{page.name}: no .ipynb download"
            assert f"/lab/tree/ch{number}/ch{number}_lab.ipynb" in page.read_text()
        if i + 1 < len(chapters):
            assert chapters[i + 1].resolve() in links, f"{page.name}: no link to the next chapter"


def test_bibliography_lists_every_cited_paper(pages):
    sources = "\n".join(p.read_text() for p in ROOT.glob("book/*.md")  # the pages on the site
                         if (SITE / "book" / f"{p.stem}.html").exists())
    cited = {key.strip() for group in re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", sources)
             for key in group.split(",")}
    bib = set(re.findall(r"@\w+\{([^,\s]+),", (ROOT / "book" / "references.bib").read_text()))
    assert len(cited) >= 10
    assert cited - bib == set(), "cited but not in references.bib"
    references = (SITE / "book" / "references.html").read_text()
    entries = set(re.findall(r'<div class="citation" id="([^"]+)"', references))
    assert len(entries) >= len(cited)
    for page in _chapters():  # every citation on a chapter page leads to its entry
        for anchor in re.findall(r'href="references\.html#([^"]+)"', page.read_text()):
            assert anchor in entries, f"{page.name}: citation #{anchor} has no entry"


def test_figures_have_captions_and_images_alt_text(pages):
    figures = 0
    for page in _chapters():
        text = page.read_text()
        for figure in re.findall(r"<figure\b.*?</figure>", text, flags=re.S):
            figures += 1
            assert "<figcaption" in figure, f"{page.name}: figure without caption"
        for img in re.findall(r"<img\b[^>]*>", text):
            alt = html.unescape(re.search(r'alt="([^"]*)"', img).group(1)) if "alt=" in img else ""
            assert len(alt) > 10 and not re.search(r"\.(png|svg|jpe?g)$", alt), (page.name, img[:120])
    assert figures >= 10


def test_the_downloadable_page_sources_hold_no_code_of_a_lab_exercise_cell():
    """The download button serves _sources/book/<page>.md: it is the page's source with the code
    of the cells tagged lab-exercise (what a lab asks the student to write) replaced by a note."""
    from course_tools.sphinx_ext import UNPUBLISHED, unpublish_exercise_cells

    changed = 0
    for page in sorted(ROOT.glob("book/*.md")):
        source = SITE / "_sources" / "book" / page.name
        assert source.exists(), f"{page.name} has no downloadable source"
        original = page.read_text(encoding="utf-8")
        published = source.read_text(encoding="utf-8")
        assert published == unpublish_exercise_cells(original), page.name
        changed += published != original
    ch04 = (SITE / "_sources" / "book" / "ch04_bptt.md").read_text(encoding="utf-8")
    assert changed >= 1 and ch04.count(UNPUBLISHED) == 3
    assert "def literal_gradients" not in ch04 and "def contribution_norms" not in ch04
