"""Grading: a batch of honest, unfinished, broken and hostile submissions.

The many edge cases use a tiny fixture lab (pure Python, a second per run); one end-to-end test
grades the real chapter 1 lab. Expected scores come from the lab's points: the solution earns
every point, the untouched student notebook none.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import nbformat
import pytest

from course_lib import authoring, grading

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "labs"
TINY = FIXTURES / "tiny" / "tiny.ipynb"

pytestmark = pytest.mark.slow


def _tree_digest(*folders: Path) -> dict[str, str]:
    out = {}
    for folder in folders:
        for p in sorted(folder.rglob("*")):
            if p.is_file() and "__pycache__" not in p.parts:
                out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _variant(src: Path, dest: Path, cell: int, extra: str) -> None:
    nb = nbformat.read(src, as_version=4)
    nb.cells[cell].source += "\n" + extra
    nbformat.write(nb, dest)


@pytest.fixture(scope="module")
def tiny_batch(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tiny")
    subs = tmp / "submissions"
    subs.mkdir()
    released = authoring.release(tmp / "release", solutions=FIXTURES)[0]
    (subs / "honest.ipynb").write_bytes(TINY.read_bytes())
    (subs / "unfinished.ipynb").write_bytes(released.read_bytes())
    # double right, square wrong: 1 of 3 points
    nb = nbformat.read(TINY, as_version=4)
    nb.cells[3].source = nb.cells[3].source.replace("return x * x", "return x + x")
    nbformat.write(nb, subs / "partial.ipynb")
    _variant(TINY, subs / "looper.ipynb", 1, "while True:\n    pass")
    _variant(TINY, subs / "exiter.ipynb", 1, "import os\nos._exit(3)")
    _variant(TINY, subs / "deleter.ipynb", 1,
             "import os, shutil\n"
             "for p in os.listdir('.'):\n"
             "    shutil.rmtree(p) if os.path.isdir(p) else os.remove(p)\n"
             "for p in os.listdir('../../..'):\n"
             "    q = os.path.join('../../..', p)\n"
             "    shutil.rmtree(q, ignore_errors=True) if os.path.isdir(q) else os.remove(q)")
    (subs / "garbled.ipynb").write_text('{"cells": [ this is not json')
    (subs / "nested").mkdir()  # nbgrader-style folder layout: <student>/<lab>/<notebook>
    (subs / "nested" / "tiny").mkdir()
    (subs / "nested" / "tiny" / "tiny.ipynb").write_bytes(TINY.read_bytes())
    (subs / "empty_folder").mkdir()
    before = _tree_digest(subs, FIXTURES)
    out = tmp / "grades"
    results = grading.grade_folder(
        subs, "tiny", out, roster=["absent"], cell_timeout=5, workers=2,
        solutions=FIXTURES, feedback_html=False, show_progress=False,
    )
    after = _tree_digest(subs, FIXTURES)
    return {r.student: r for r in results}, out, before, after


EXPECTED = {
    # student: (status, {question: points} or None)
    "honest": ("graded", {"double": 1, "square": 2}),
    "nested": ("graded", {"double": 1, "square": 2}),
    "unfinished": ("graded", {"double": 0, "square": 0}),
    "partial": ("graded", {"double": 1, "square": 0}),
    # the loop is interrupted; the function was defined before it, so its tests still pass
    "looper": ("timed out", {"double": 1, "square": 2}),
    "exiter": ("kernel died", None),
    "garbled": ("unreadable", None),
    "empty_folder": ("missing", None),
    "absent": ("missing", None),
}


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_each_submission_gets_its_status_and_score(tiny_batch, student):
    results, *_ = tiny_batch
    status, scores = EXPECTED[student]
    r = results[student]
    assert r.status == status, r.message
    if scores is not None:
        assert r.scores == pytest.approx(scores)


def test_deleting_files_costs_only_its_own_points(tiny_batch):
    results, *_ = tiny_batch
    r = results["deleter"]
    # it deleted its own (copied) working folder and more; whatever it earned, the others are
    # unaffected (checked above) and the grader reports it without crashing
    assert r.status in grading.STATUSES
    assert results["honest"].scores == pytest.approx({"double": 1, "square": 2})


def test_submissions_and_course_files_are_never_modified(tiny_batch):
    _, _, before, after = tiny_batch
    assert before == after


def test_csv_has_one_row_per_student_and_blank_points_for_failures(tiny_batch):
    results, out, *_ = tiny_batch
    rows = {row["student"]: row for row in csv.DictReader(open(out / "grades.csv"))}
    assert set(rows) == set(results)
    assert list(rows["honest"])[:4] == ["student", "status", "double", "square"]
    assert rows["honest"]["total"] == "3"
    assert rows["unfinished"]["total"] == "0"  # a real zero
    for student in ("exiter", "garbled", "absent"):
        assert rows[student]["total"] == "" and rows[student]["double"] == ""
        assert rows[student]["message"]


def test_feedback_for_every_student_and_gradebook_has_scores(tiny_batch):
    from nbgrader.api import Gradebook

    results, out, *_ = tiny_batch
    for student in results:
        assert (out / "feedback" / f"{student}.txt").read_text().startswith("Lab tiny")
    assert "square: 0 / 2" in (out / "feedback" / "partial.txt").read_text()
    with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gb:
        assert gb.find_submission("tiny", "honest").score == pytest.approx(3)
        assert gb.find_submission("tiny", "partial").score == pytest.approx(1)
        assert gb.find_submission("tiny", "unfinished").score == pytest.approx(0)


def test_bad_arguments_raise_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="submissions"):
        grading.grade_folder(tmp_path / "nope", "tiny", tmp_path / "out", solutions=FIXTURES)
    (tmp_path / "subs").mkdir()
    with pytest.raises(ValueError, match="lab"):
        grading.grade_folder(tmp_path / "subs", "no_such_lab", tmp_path / "out",
                             solutions=FIXTURES)
    with pytest.raises(ValueError, match="out"):
        grading.grade_folder(tmp_path / "subs", "tiny", tmp_path / "subs" / "out",
                             solutions=FIXTURES)


def test_student_ids_are_sanitised():
    assert grading.student_id("Ann Lee (final)") == "Ann_Lee_final"
    assert grading.student_id("../../etc") == "etc"
    assert grading.student_id("...") == "student"


def test_real_lab_end_to_end(tmp_path):
    """Chapter 1: the solution earns full marks, the untouched student notebook zero."""
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "solution.ipynb").write_bytes((ROOT / "solutions/ch01/ch01_lab.ipynb").read_bytes())
    (subs / "student.ipynb").write_bytes((ROOT / "notebooks/ch01/ch01_lab.ipynb").read_bytes())
    results = {r.student: r for r in grading.grade_folder(
        subs, "ch01", tmp_path / "out", workers=2, feedback_html=True, show_progress=False)}
    nb = nbformat.read(ROOT / "solutions/ch01/ch01_lab.ipynb", as_version=4)
    points = {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"]
              for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")}
    assert len(points) >= 3
    assert results["solution"].status == "graded"
    assert results["solution"].scores == pytest.approx(points)
    assert results["student"].status == "graded"
    assert sum(results["student"].scores.values()) == 0
    assert "not implemented yet" in (tmp_path / "out/feedback/student.txt").read_text()
    assert (tmp_path / "out/feedback/solution.html").stat().st_size > 1000
