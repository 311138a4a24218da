"""Classroom slides: reveal.js decks of the chapters and labs, from the same sources, offline.

``python -m course_tools.slides [ch07 ...] [--out _build/slides] [--root DIR]`` (``make slides``) writes
``<out>/<name>.slides.html`` for each chapter page (``book/chNN_*.md``) and each student lab
(``notebooks/chNN/chNN_lab.ipynb``), and copies next to them, into ``<out>/_vendor``, every file
a deck loads: reveal.js (npm), MathJax 3 (the sphinx-mathjax-offline package, as on the site),
require.js and the widget embedder (npm); the embedder's icon fonts go to ``<out>/@jupyter-widgets``. No deck asks for anything beyond its own folder.

A chapter page is MyST markdown; it is read into a notebook the way the book build reads it,
and gets its outputs (figures, widgets) from the book build's execution cache
(``_build/.jupyter_cache``) when the page has been built and not changed since; otherwise its
code cells have no output (run ``make book`` first). MyST that plain notebook markdown does not
know is rewritten: numbered equations keep their numbers within the deck, citations become
``[key]``, cross-references their text, admonitions block quotes, figure captions a line under
the figure. Slides start at every heading (``#`` and ``##`` a new slide, ``###`` a slide below
it) and below the current one when it is full; a slide that is still too long scrolls.

Widgets stay interactive where it matters, in JupyterLab (``make lab``); in a deck, a chapter's
widgets show the state stored by the book build.
"""

from __future__ import annotations

import argparse
import re
import shutil
from pathlib import Path

import nbformat

from course_tools.paths import add_root_option, find_root

TEMPLATES = Path(__file__).resolve().parent / "templates"  # package data, installed with us
CACHE = Path("_build") / ".jupyter_cache"  # below the course root
NODE = "node_modules"  # below the course root (npm ci)
VENDOR = "_vendor"

_HEADING = re.compile(r"^(#{1,3})\s+\S")


# --- MyST markdown -> notebook markdown ----------------------------------------------------
def _roles(text: str, numbers: dict[str, int]) -> str:
    def cite(m):
        keys = [k.strip() for k in m.group(2).split(",")]
        return ", ".join(keys) if m.group(1) == ":t" else "[" + "; ".join(keys) + "]"

    def eq(m):
        label = m.group(1)
        return f"({numbers[label]})" if label in numbers else f"(equation {label})"

    text = re.sub(r"\{cite(:[pt])?\}`([^`]+)`", cite, text)
    text = re.sub(r"\{eq\}`([^`]+)`", eq, text)
    # {doc}`text <target>`, {ref}`text <target>`, {numref}`...`: the text
    text = re.sub(r"\{(?:doc|ref|numref|term)\}`([^`<]+?)\s*<[^>]*>`", r"\1", text)
    text = re.sub(r"\{(?:doc|ref|numref|term)\}`([^`]+)`",
                  lambda m: m.group(1).rsplit("/", 1)[-1].replace("-", " ").replace("_", " "), text)
    # [](label) and [text](label) to places in the book: the text, or the label in words
    text = re.sub(r"\[\]\(([^)\s]+)\)", lambda m: m.group(1).replace("-", " "), text)
    text = re.sub(r"\[([^\]]+)\]\((?!https?:|mailto:)[^)\s]*\)", r"\1", text)
    return text


def _directives(text: str) -> str:
    """Admonitions (```{note} or :::{note}) as block quotes; other directives dropped."""
    def admonition(m):
        kind, title, body = m.group(2), m.group(3).strip(), m.group(4)
        body = "\n".join(line for line in body.splitlines() if not line.startswith(":"))
        head = title if kind == "admonition" else kind.capitalize() + (f": {title}" if title else "")
        return "\n".join(["> **" + head + "**", ">"] + ["> " + line for line in body.strip().splitlines()])

    pattern = r"^(```+|:::+)\{(\w[\w-]*)\}([^\n]*)\n(.*?)^\1\s*$"
    text = re.sub(pattern, lambda m: admonition(m) if m.group(2) in (
        "note", "tip", "warning", "important", "caution", "admonition", "hint", "attention",
        "seealso") else "", text, flags=re.M | re.S)
    return text


def myst_to_markdown(text: str, numbers: dict[str, int]) -> str:
    text = re.sub(r"^\(([\w:-]+)\)=\s*$\n?", "", text, flags=re.M)   # targets
    text = re.sub(r"^%.*$\n?", "", text, flags=re.M)                 # comments
    text = re.sub(r"^\$\$\s*\(([\w:-]+)\)\s*$",                      # $$ (label): numbered
                  lambda m: f"\\tag{{{numbers.get(m.group(1), '?')}}}\n$$", text, flags=re.M)
    return _roles(_directives(text), numbers)


def _equation_numbers(cells) -> dict[str, int]:
    labels = [m.group(1) for c in cells if c.cell_type == "markdown"
              for m in re.finditer(r"^\$\$\s*\(([\w:-]+)\)\s*$", c.source, flags=re.M)]
    return {label: i for i, label in enumerate(labels, start=1)}


# --- notebooks ---------------------------------------------------------------------------
def chapter_notebook(md: Path, cache_path: Path | None = None):
    """The chapter page as a notebook, with the outputs of the book build when cached (by
    default the cache of the course holding ``md``)."""
    from myst_nb.core.read import read_myst_markdown_notebook

    if cache_path is None:
        cache_path = find_root(md.resolve().parent) / CACHE
    nb = read_myst_markdown_notebook(md.read_text(), path=md)
    if cache_path.exists():
        from jupyter_cache import get_cache

        try:
            _, nb = get_cache(str(cache_path)).merge_match_into_notebook(nb)
        except KeyError:  # page changed since the last build: slides without outputs
            pass
    return nb


def _split_at_headings(source: str) -> list[str]:
    parts, current, fence = [], [], False
    for line in source.splitlines():
        if line.lstrip().startswith("```"):
            fence = not fence
        if _HEADING.match(line) and not fence and any(s.strip() for s in current):
            parts.append("\n".join(current))
            current = []
        current.append(line)
    parts.append("\n".join(current))
    return [p for p in parts if p.strip()]


#: lines of text that fit on one slide; a figure counts as FIGURE_LINES
SLIDE_LINES, FIGURE_LINES = 24, 14


def _size(cell) -> int:
    if cell.cell_type == "markdown":
        return len(cell.source.splitlines()) + cell.source.count("$$")
    shown = 0 if "slides-remove-input" in cell.metadata.get("tags", []) else len(
        cell.source.splitlines())
    for out in cell.get("outputs", []):
        data = out.get("data", {})
        shown += FIGURE_LINES if "image/png" in data or (
            "application/vnd.jupyter.widget-view+json" in data) else len(
            str(out.get("text", data.get("text/plain", ""))).splitlines())
    return shown


def _mark(cells) -> None:
    """Headings start slides (# and ##) and slides below them (###); so does a full slide."""
    used = 0
    for cell in cells:
        heading = _HEADING.match(cell.source) if cell.cell_type == "markdown" else None
        size = _size(cell)
        if heading:
            kind, used = ("subslide" if len(heading.group(1)) == 3 else "slide"), size
        elif used and used + size > SLIDE_LINES:
            kind, used = "subslide", size
        else:
            kind, used = "-", used + size
        cell.metadata["slideshow"] = {"slide_type": kind}
    if cells:
        cells[0].metadata["slideshow"] = {"slide_type": "slide"}


def to_slides(nb, myst: bool):
    """Slides at headings and where a slide is full; MyST rewritten; captions under figures."""
    numbers = _equation_numbers(nb.cells) if myst else {}
    cells = []
    for cell in nb.cells:
        tags = set(cell.metadata.get("tags", []))
        if "remove-cell" in tags:
            continue
        if cell.cell_type == "markdown":
            text = myst_to_markdown(cell.source, numbers) if myst else cell.source
            cells += [nbformat.v4.new_markdown_cell(part) for part in _split_at_headings(text)]
            continue
        if tags & {"remove-input", "hide-input"}:
            cell.metadata.setdefault("tags", []).append("slides-remove-input")
        if "remove-output" in tags:
            cell.outputs = []
        cells.append(cell)
        caption = cell.metadata.get("mystnb", {}).get("figure", {}).get("caption")
        if caption and cell.get("outputs"):
            cells.append(nbformat.v4.new_markdown_cell(
                "*" + " ".join(myst_to_markdown(caption, numbers).split()) + "*"))
    _mark(cells)
    nb.cells = cells
    return nb


# --- the decks -----------------------------------------------------------------------------
def vendor(out: Path, root: Path | None = None) -> None:
    """Copy what the decks load (from the course at ``root``) into ``out/_vendor``
    (idempotent)."""
    import importlib.util

    root = find_root(root)
    node = root / NODE
    spec = importlib.util.find_spec("sphinx-mathjax-offline")
    if spec is None or not spec.origin:
        raise FileNotFoundError("sphinx-mathjax-offline is not installed (make install)")
    mathjax = Path(spec.origin).parent / "static" / "mathjax"
    reveal = node / "reveal.js"
    sources = {
        "reveal.js/dist": reveal / "dist",
        "reveal.js/plugin/notes": reveal / "plugin" / "notes",
        "mathjax/tex-chtml-full.js": mathjax / "tex-chtml-full.js",
        "mathjax/output": mathjax / "output",
        "require.min.js": node / "requirejs" / "require.js",
        "embed-amd.js": node / "@jupyter-widgets" / "html-manager" / "dist" / "embed-amd.js",
        "favicon.svg": root / "book" / "_assets" / "favicon.svg",
        "course.js": root / "book" / "_assets" / "course.js",
    }
    missing = [str(s) for s in sources.values() if not s.exists()]
    if missing:
        raise FileNotFoundError(f"missing (run `make install`, which runs npm ci): {missing}")
    # the widget embedder asks for its icon fonts relative to the page (as on the site, Makefile)
    fonts = node / "@jupyter-widgets" / "html-manager" / "dist"
    for font in [f for ext in ("woff", "woff2", "ttf", "eot", "svg") for f in fonts.glob(f"*.{ext}")]:
        for folder in ("@jupyter-widgets", "@jupyter-widgets/html-manager/dist"):
            sources[f"../{folder}/{font.name}"] = font
    for name, src in sources.items():
        dest = out / VENDOR / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dest, dirs_exist_ok=True)
        elif not dest.exists() or dest.stat().st_mtime < src.stat().st_mtime:
            shutil.copy2(src, dest)


def _exporter():
    from nbconvert import SlidesExporter
    from traitlets.config import Config

    c = Config()
    c.SlidesExporter.extra_template_basedirs = [str(TEMPLATES)]
    c.SlidesExporter.template_name = "course_slides"
    c.SlidesExporter.reveal_url_prefix = f"{VENDOR}/reveal.js"
    c.SlidesExporter.reveal_theme = "white"  # its font is in the package (some themes load web fonts)
    c.SlidesExporter.reveal_scroll = True
    c.SlidesExporter.reveal_transition = "none"
    c.SlidesExporter.reveal_number = "c/t"
    c.SlidesExporter.mathjax_url = f"{VENDOR}/mathjax/tex-chtml-full.js"
    c.SlidesExporter.require_js_url = f"{VENDOR}/require.min.js"
    c.SlidesExporter.widget_renderer_url = f"{VENDOR}/embed-amd.js"
    c.SlidesExporter.exclude_input_prompt = True
    c.SlidesExporter.exclude_output_prompt = True
    c.TagRemovePreprocessor.enabled = True
    c.TagRemovePreprocessor.remove_input_tags = {"slides-remove-input"}
    return SlidesExporter(config=c)


def sources(names: list[str] | None = None, labs: bool = True, chapters: bool = True,
            root: Path | None = None):
    """(deck name, path, is MyST) of the chapters and labs, all or those named ``chNN``."""
    root = find_root(root)
    found = []
    if chapters:
        found += [(p.stem, p, True) for p in sorted(root.glob("book/ch[0-9][0-9]_*.md"))]
    if labs:
        found += [(p.stem, p, False) for p in sorted(root.glob("notebooks/ch*/ch*_lab.ipynb"))]
    if names:
        found = [s for s in found if s[0][:4] in names or s[0] in names]
    return found


def build(names: list[str] | None = None, out: Path | str | None = None,
          labs: bool = True, chapters: bool = True, root: Path | None = None) -> list[Path]:
    """Write the decks of the course at ``root`` (default ``<root>/_build/slides``); return
    their paths."""
    root = find_root(root)
    out = root / "_build" / "slides" if out is None else Path(out)
    out.mkdir(parents=True, exist_ok=True)
    vendor(out, root)
    exporter = _exporter()
    written = []
    for name, path, myst in sources(names, labs=labs, chapters=chapters, root=root):
        nb = chapter_notebook(path) if myst else nbformat.read(path, as_version=4)
        nb.metadata["title"] = name
        body, _ = exporter.from_notebook_node(to_slides(nb, myst),
                                              resources={"metadata": {"name": name}})
        deck = out / f"{name}.slides.html"
        # nbconvert fills in a placeholder for images without alt text (the cell outputs)
        body = body.replace('alt="No description has been provided for this image"',
                            'alt="Figure computed by the code on this slide"')
        deck.write_text(body, encoding="utf-8")
        written.append(deck)
    if names and not written:
        raise SystemExit(f"no chapter or lab matches {names}")
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="chapters/labs to build (chNN); all by default")
    parser.add_argument("--out", default=None, help="default: <root>/_build/slides")
    parser.add_argument("--no-labs", action="store_true")
    parser.add_argument("--no-chapters", action="store_true")
    add_root_option(parser)
    args = parser.parse_args(argv)
    for deck in build(args.names or None, args.out, labs=not args.no_labs,
                      chapters=not args.no_chapters, root=args.root):
        print(deck)


if __name__ == "__main__":
    main()
