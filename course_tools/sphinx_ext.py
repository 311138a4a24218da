"""Sphinx extension of the course site: lab links on chapter pages, alt text, our CSS.

Pages stay plain MyST: what every chapter page shares is added here at build time.

* Each chapter page ``book/chNN_*`` gets a box under its title linking to its lab (the page on
  the site, the ``.ipynb`` download, and the same notebook in a local JupyterLab started with
  ``make lab``), and a box at its end linking to the lab and the next chapter. When the
  solutions are published (``make book SOLUTIONS_ON_SITE=1``) the boxes link to them too.
* Images without alt text (cell outputs) get one: the figure's caption when there is one,
  else the first sentence of the paragraph that follows the image, which by the course's rule
  says what to see in the figure.
* ``book/_assets/course.css`` (dark mode, print) and ``course.js`` (MathJax 2 calls of the
  widget embedder, accessible names for widgets and theme buttons) are added to every page.
* Fixes of what the browser tests found in the theme's pages: the theme's colour mode starts
  as "auto" (not an empty, invalid mode); sphinx-thebe's scripts, declared twice (a JavaScript
  error) and pointing at a CDN although Thebe is off, are dropped; the bibliography uses list
  roles instead of the deprecated DPUB roles doc-biblioentry/doc-bibliography; the widget
  embedder's icon fonts are copied where it looks for them, next to every page with a widget
  (it asks for ``@jupyter-widgets/html-manager/dist/<font>`` relative to the page).
"""

from __future__ import annotations

import posixpath
import re
import shutil
from pathlib import Path

from docutils import nodes

#: where ``make lab`` serves notebooks/ (jupyter lab's default port); set course_jupyter_url
#: in _config.yml's sphinx.config to point at a JupyterHub instead.
DEFAULT_JUPYTER_URL = "http://localhost:8888/lab/tree/"

_CHAPTER = re.compile(r"^book/ch(\d\d)_")


def _chapters(env) -> dict[int, str]:
    """Chapter number -> docname of every chapter page in this build."""
    found = {}
    for doc in env.found_docs:
        match = _CHAPTER.match(doc)
        if match:
            found[int(match.group(1))] = doc
    return dict(sorted(found.items()))


def _link(text: str, uri: str, *classes: str) -> nodes.reference:
    return nodes.reference("", text, refuri=uri, internal=not uri.startswith("http"),
                           classes=list(classes))


def _sentence(parts: list[nodes.Node]) -> nodes.paragraph:
    para = nodes.paragraph()
    for part in parts:
        para += part if isinstance(part, nodes.Node) else nodes.Text(part)
    return para


def _lab_parts(app, docname: str, number: int) -> list | None:
    env = app.builder.env
    lab = f"notebooks/ch{number:02d}/ch{number:02d}_lab"
    if lab not in env.found_docs:
        return None
    here = posixpath.dirname(docname)
    ipynb = posixpath.relpath(f"_sources/{lab}.ipynb", here or ".")
    jupyter = app.config.course_jupyter_url.rstrip("/") + f"/ch{number:02d}/ch{number:02d}_lab.ipynb"
    parts = [_link(f"Lab {number}: read it here", app.builder.get_relative_uri(docname, lab)),
             " · ", _link("download the notebook (.ipynb)", ipynb, "course-download"),
             " · ", _link("open it in your JupyterLab", jupyter), " (after ", nodes.literal(
                 "", "make lab"), ")"]
    solution = f"solutions/ch{number:02d}/ch{number:02d}_lab"
    if solution in env.found_docs:
        parts += [" · ", _link("its solution", app.builder.get_relative_uri(docname, solution))]
    return parts


def _box(title: str, body: list[nodes.Node], kind: str) -> nodes.admonition:
    box = nodes.admonition(classes=["tip", "course-links", kind])
    box += nodes.title("", title)
    box += _sentence(body)
    return box


def add_chapter_links(app, doctree, docname: str) -> None:
    """The lab box under the title and the lab + next-chapter box at the end of a chapter."""
    match = _CHAPTER.match(docname)
    if app.builder.format != "html" or not match:
        return
    number = int(match.group(1))
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is None:
        return
    lab = _lab_parts(app, docname, number)
    if lab:
        section.insert(1, _box("The lab of this chapter", lab, "course-lab-top"))
    chapters = _chapters(app.builder.env)
    later = [n for n in chapters if n > number]
    end: list = []
    if lab:
        end += ["First do ", _link(f"lab {number}", lab[0]["refuri"]), " (", lab[2], "). "]
    if later:
        nxt = chapters[later[0]]
        title = app.builder.env.titles[nxt].astext()
        end += ["Next chapter: ", _link(title, app.builder.get_relative_uri(docname, nxt),
                                        "course-next-chapter"), "."]
    if end:
        section += _box("Next", end, "course-next")


def _needs_alt(image: nodes.image) -> bool:
    alt = image.get("alt", "").strip()
    return not alt or alt == image.get("uri") or re.fullmatch(r"[\w./-]+\.(png|jpe?g|svg|gif)", alt)


def _following_text(node: nodes.Node) -> str:
    """Text of the first paragraph after ``node`` in document order (outside any cell)."""
    for later in node.findall(include_self=False, descend=True, siblings=True, ascend=True):
        if isinstance(later, nodes.paragraph) and not any(
                "cell" in " ".join(p.get("classes", [])) for p in _ancestors(later)):
            return later.astext()
    return ""


def _ancestors(node: nodes.Node):
    while node.parent is not None:
        node = node.parent
        yield node


def add_alt_text(app, doctree, docname: str) -> None:
    for image in list(doctree.findall(nodes.image)):
        if not _needs_alt(image):
            continue
        figure = next((a for a in _ancestors(image) if isinstance(a, nodes.figure)), None)
        caption = next(iter(figure.findall(nodes.caption)), None) if figure else None
        text = caption.astext() if caption else _following_text(image)
        text = " ".join(text.split())
        first = re.match(r"(.{20,300}?[.:;])(\s|$)", text)
        image["alt"] = (first.group(1) if first else text[:300]) or "Figure computed by the code above."


def default_colour_mode(app, config) -> None:
    config.html_context.setdefault("default_mode", "auto")


def clean_page(app, pagename, templatename, context, doctree) -> None:
    """Drop the (duplicated, unused) Thebe scripts; list roles in the bibliography."""
    scripts = context.get("script_files")
    if scripts is not None:
        context["script_files"] = [
            js for js in scripts if "thebe" not in str(getattr(js, "filename", "") or "")
            and "THEBE_JS_URL" not in getattr(js, "attributes", {}).get("body", "")]
    if "body" in context:
        context["body"] = (context["body"]
                           .replace('role="doc-bibliography"', 'role="list"')
                           .replace('role="doc-biblioentry"', 'role="listitem"'))


# A code cell of a MyST page: the fence line, its options (``:key: value`` lines or a YAML block
# between ``---`` lines), its code, the closing fence.
_CODE_CELL = re.compile(r"^(```\{code-cell\}[^\n]*\n)(---\n.*?\n---\n|(?::[^\n]*\n)*)(.*?)^```[ \t]*$",
                        re.M | re.S)
_EXERCISE_TAG = re.compile(r"tags:\s*\[[^\]]*\blab-exercise\b")
UNPUBLISHED = ("# The code of this cell is not published: writing it is an exercise of the lab.\n"
               "# Its output is on the page.\n")


def unpublish_exercise_cells(text: str) -> str:
    """``text`` (a MyST page) with the code of every cell tagged ``lab-exercise`` replaced by a
    note: such a cell computes, on the page, what a lab asks the student to write; the page
    hides its input (``remove-input``) and the copy of the source the site offers for download
    must not hold it either."""
    def replace(cell: re.Match) -> str:
        if not _EXERCISE_TAG.search(cell.group(2)):
            return cell.group(0)
        return cell.group(1) + cell.group(2) + "\n" + UNPUBLISHED + "```"
    return _CODE_CELL.sub(replace, text)


def unpublish_sources(app, exception) -> None:
    """Apply :func:`unpublish_exercise_cells` to the page sources copied into the site."""
    if exception is not None or app.builder.format != "html":
        return
    for source in (Path(app.outdir) / "_sources").rglob("*.md"):
        text = source.read_text(encoding="utf-8")
        cleaned = unpublish_exercise_cells(text)
        if cleaned != text:
            source.write_text(cleaned, encoding="utf-8")


_FONT = re.compile(r"^[0-9a-f]{20}\.(woff2?|ttf|eot|svg)$")


def copy_widget_fonts(app, exception) -> None:
    """Icon fonts of the widget embedder (served from _static by html_static_path) next to
    each page that embeds a widget, at the page-relative path the embedder requests."""
    if exception is not None or app.builder.format != "html":
        return
    out = Path(app.outdir)
    fonts = [f for f in (out / "_static").iterdir() if _FONT.match(f.name)]
    folders = {page.parent for page in out.rglob("*.html") if "_static" not in page.parts
               and "application/vnd.jupyter.widget-view+json" in page.read_text(errors="ignore")}
    for folder in folders:
        for sub in ("@jupyter-widgets", "@jupyter-widgets/html-manager/dist"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
            for font in fonts:
                if not (folder / sub / font.name).exists():
                    shutil.copy2(font, folder / sub / font.name)


def setup(app):
    app.add_config_value("course_jupyter_url", DEFAULT_JUPYTER_URL, "html")
    app.connect("config-inited", default_colour_mode)
    app.connect("doctree-resolved", add_chapter_links)
    app.connect("doctree-resolved", add_alt_text)
    app.connect("html-page-context", clean_page, priority=900)
    app.connect("build-finished", copy_widget_fonts)
    app.connect("build-finished", unpublish_sources)
    app.add_css_file("course.css")
    # after the MathJax configuration, which Sphinx adds to each page with priority 500
    app.add_js_file("course.js", priority=501)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
