"""course_tools.prebuild: the pages executed in parallel land where the site build finds them."""

import subprocess
import sys
from pathlib import Path

import pytest

from course_tools import prebuild

ROOT = Path(__file__).resolve().parent.parent
PAGE = """---
jupytext:
  text_representation:
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# Page {name}

```{{code-cell}} ipython3
import os
print("{name}", 6 * 7, os.environ.get("COURSE_MAX_THREADS"))
{extra}
```
"""


def _book(tmp_path: Path, pages: dict[str, str]) -> Path:
    (tmp_path / "intro.md").write_text("# A tiny book\n\nNo code here.\n")
    for name, extra in pages.items():
        (tmp_path / f"{name}.md").write_text(PAGE.format(name=name, extra=extra))
    (tmp_path / "_config.yml").write_text(
        "title: tiny\nexecute:\n  execute_notebooks: cache\n  cache: _build/.jupyter_cache\n"
        "sphinx:\n  config:\n    nb_execution_raise_on_error: true\n")
    toc = tmp_path / "_toc.yml"
    toc.write_text("format: jb-book\nroot: intro\nchapters:\n" +
                   "".join(f"  - file: {name}\n" for name in pages))
    return toc


def test_the_course_toc_lists_every_chapter_page_and_nothing_else():
    """The executable pages are exactly the chapter pages book/chNN_*.md, numbered 1, 2, ...
    without a gap (a new chapter needs no edit here: it needs its page in _toc.yml)."""
    pages = prebuild.executable_pages(ROOT / "_toc.yml")
    chapters = sorted(p.name for p in (ROOT / "book").glob("ch[0-9][0-9]_*.md"))
    assert sorted(p.name for p in pages) == chapters, "a chapter page missing from _toc.yml?"
    assert [p.name[:4] for p in pages] == [f"ch{i:02d}" for i in range(1, len(chapters) + 1)]
    assert len(chapters) >= 12
    assert all(p.parent.name == "book" and p.suffix == ".md" for p in pages)


def test_last_seconds_reads_page_rows_of_a_benchmark_table(tmp_path):
    table = tmp_path / "latest.csv"
    table.write_text("item,seconds,note\npage ch03_x (executed),12.5,\nlab ch03 (solution),9,\n")
    assert prebuild.last_seconds(table) == {"ch03_x": 12.5}
    assert prebuild.last_seconds(tmp_path / "missing.csv") == {}


def test_pages_run_in_parallel_are_cached_failures_are_not(tmp_path):
    toc = _book(tmp_path, {"good": "", "other": "", "bad": "raise RuntimeError('broken page')"})
    report = prebuild.prebuild(toc, workers=2, log=lambda m: None)
    assert sorted(report["executed"]) == ["good.md", "other.md"]
    assert list(report["failed"]) == ["bad.md"] and "broken page" in report["failed"]["bad.md"]

    from jupyter_cache import get_cache

    cache = get_cache(str(tmp_path / "_build" / ".jupyter_cache"))
    record = cache.match_cache_notebook(prebuild.read_page(tmp_path / "good.md"))
    nb = cache.get_cache_bundle(record.pk).nb
    # one thread per page when two run at once
    assert nb.cells[0].outputs[0]["text"] == "good 42 1\n"
    with pytest.raises(KeyError):
        cache.match_cache_notebook(prebuild.read_page(tmp_path / "bad.md"))
    again = prebuild.prebuild(toc, workers=2, log=lambda m: None)
    assert sorted(again["cached"]) == ["good.md", "other.md"]
    assert list(again["executed"]) == [] and list(again["failed"]) == ["bad.md"]


def test_the_site_build_uses_what_prebuild_cached(tmp_path):
    toc = _book(tmp_path, {"good": "", "other": ""})
    report = prebuild.prebuild(toc, workers=2, log=lambda m: None)
    assert sorted(report["executed"]) == ["good.md", "other.md"]
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    out = subprocess.run([str(jupyter_book), "build", "-W", "-n", "."], cwd=tmp_path,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    log = out.stdout + out.stderr
    assert log.count("Using cached notebook") == 2 and "Executing notebook" not in log
    html = (tmp_path / "_build" / "html" / "good.html").read_text()
    assert "good 42 1" in html
