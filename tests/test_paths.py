"""course_tools.paths: the tools find the course from where they run, not from where they are
installed."""

from __future__ import annotations

from pathlib import Path

import pytest

from course_tools import paths

ROOT = Path(__file__).resolve().parent.parent


def _course(folder: Path) -> Path:
    (folder / "solutions").mkdir(parents=True)
    (folder / "_toc.yml").write_text("format: jb-book\nroot: intro\n")
    return folder


def test_the_root_is_found_from_any_folder_below_it(tmp_path, monkeypatch):
    course = _course(tmp_path / "course")
    deep = course / "book" / "_assets"
    deep.mkdir(parents=True)
    monkeypatch.delenv("COURSE_ROOT", raising=False)
    monkeypatch.chdir(deep)
    assert paths.find_root() == course.resolve()
    assert paths.find_root(course / "solutions") == course.resolve()


def test_course_root_variable_and_a_clear_error(tmp_path, monkeypatch):
    course = _course(tmp_path / "elsewhere")
    monkeypatch.setenv("COURSE_ROOT", str(course))
    monkeypatch.chdir(tmp_path)
    assert paths.find_root() == course.resolve()
    monkeypatch.delenv("COURSE_ROOT")
    with pytest.raises(paths.CourseRootNotFound, match="--root"):
        paths.find_root(tmp_path)


def test_this_checkout_is_a_course_root():
    assert paths.find_root(ROOT / "course_tools") == ROOT
