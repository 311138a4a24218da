"""Slides (course_tools.slides): a chapter's and a lab's reveal.js decks build from their sources
and ask for nothing beyond their own folder. The browser check of a deck is in test_browser."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from course_tools import slides

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def decks(tmp_path_factory):
    if not (ROOT / "node_modules" / "reveal.js").exists():
        pytest.skip("reveal.js is not installed (make install runs npm ci)")
    out = tmp_path_factory.mktemp("slides")
    return out, {p.name: p for p in slides.build(["ch07"], out)}


def _loaded(html: str) -> list[str]:
    """Every URL the page itself loads: script src, link href, img src, CSS @import/url()."""
    urls = re.findall(r'<(?:script|img|iframe)[^>]*\ssrc="([^"]+)"', html)
    urls += re.findall(r'<link[^>]*\shref="([^"]+)"', html)
    urls += re.findall(r'@import\s+(?:url\()?["\']?([^"\')\s;]+)', html)
    for group in re.findall(r"require\(\s*\{[^}]*\},\s*\[([^\]]*)\]", html):
        urls += [u.strip().strip('"') for u in group.split(",")]
    return urls


def test_a_chapter_and_a_lab_deck(decks):
    out, built = decks
    assert set(built) == {"ch07_gru_lstm.slides.html", "ch07_lab.slides.html"}
    for deck in built.values():
        html = deck.read_text()
        loaded = [u for u in _loaded(html) if not u.startswith("data:")]
        assert loaded, "found no asset at all: the pattern is wrong"
        assert [u for u in loaded if re.match(r"[a-z]+:|//", u)] == []  # nothing off-machine
        for url in loaded:  # and every local one is there
            assert (out / url.split("?")[0]).exists(), url
        assert html.count('<section') > 10
        # MyST has been turned into what a plain notebook renders
        for myst in ("{eq}`", "{cite", "```{", ")=\n", "{doc}`"):
            assert myst not in html, myst


def test_equation_numbers_and_citations_in_the_chapter_deck(decks):
    html = decks[1]["ch07_gru_lstm.slides.html"].read_text()
    labels = re.findall(r"^\$\$\s*\(([\w:-]+)\)", (ROOT / "book/ch07_gru_lstm.md").read_text(), re.M)
    assert len(labels) >= 3
    for number in range(1, len(labels) + 1):
        assert f"\\tag{{{number}}}" in html
    assert "[hochreiter1997" in html  # {cite:p} as [key]


def test_slide_boundaries():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Title\nintro\n## First\ntext"),
        nbformat.v4.new_code_cell("x = 1\n" * 30),
        nbformat.v4.new_markdown_cell("### Detail\nmore"),
        nbformat.v4.new_code_cell("hidden", metadata={"tags": ["remove-cell"]}),
    ])
    kinds = [(c.cell_type, c.metadata["slideshow"]["slide_type"])
             for c in slides.to_slides(nb, myst=True).cells]
    # "# Title" and "## First" start slides; the 30-line cell overflows into a slide below;
    # "### Detail" starts a slide below; the removed cell is gone
    assert kinds == [("markdown", "slide"), ("markdown", "slide"), ("code", "subslide"),
                     ("markdown", "subslide")]


def test_myst_rewriting():
    text = ("(sec)=\nSee {eq}`a` and {cite:p}`x2000,y2001`, {cite:t}`z1999`, "
            "{doc}`the notation <notation>`.\n$$\nx\n$$ (a)\n```{note}\nKeep it.\n```\n")
    md = slides.myst_to_markdown(text, {"a": 3})
    assert md.startswith("See (3) and [x2000; y2001], z1999, the notation.")
    assert "\\tag{3}\n$$" in md and "> **Note**" in md and "> Keep it." in md
    assert "(sec)=" not in md


def test_widgets_are_live_in_jupyterlab():
    """The labs' widgets need JupyterLab's widget manager, installed with the course."""
    import json
    import sys

    import ipywidgets

    manager = Path(sys.prefix) / "share/jupyter/labextensions/@jupyter-widgets/jupyterlab-manager"
    assert (manager / "package.json").exists(), "jupyterlab_widgets is not installed"
    version = json.loads((manager / "package.json").read_text())["version"]
    # ipywidgets 8 speaks to jupyterlab-manager 5 (ipywidgets 7 to 3)
    assert (int(ipywidgets.__version__.split(".")[0]), int(version.split(".")[0])) == (8, 5)
