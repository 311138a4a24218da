"""Where the course is: the tooling works on a course checkout it is pointed at, not on the
folder it happens to be installed from.

The course root is the folder holding ``_toc.yml`` and ``solutions/``. Each command takes it
from ``--root`` when given, else from ``$COURSE_ROOT``, else by walking up from the current
directory (as git finds its repository), so ``python -m course_tools.grading ...`` works from
any folder of the checkout and with a non-editable install.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

MARKERS = ("_toc.yml", "solutions")


class CourseRootNotFound(FileNotFoundError):
    """No folder holding ``_toc.yml`` and ``solutions/`` at or above the start folder."""


def is_course_root(folder: Path) -> bool:
    return (folder / MARKERS[0]).is_file() and (folder / MARKERS[1]).is_dir()


def find_root(start: Path | str | None = None) -> Path:
    """The course root: ``start`` (or ``$COURSE_ROOT``, or the current directory) or the
    nearest folder above it that holds ``_toc.yml`` and ``solutions/``."""
    if start is None:
        start = os.environ.get("COURSE_ROOT") or Path.cwd()
    here = Path(start).resolve()
    for folder in (here, *here.parents):
        if is_course_root(folder):
            return folder
    raise CourseRootNotFound(f"no course here: neither {here} nor a folder above it holds "
                             "_toc.yml and solutions/ (run from the course or pass --root)")


def add_root_option(parser: argparse.ArgumentParser) -> None:
    """``--root DIR`` on a command's parser (default: discovered, see :func:`find_root`)."""
    parser.add_argument("--root", type=Path, default=None,
                        help="the course folder (default: the one holding the current folder)")
