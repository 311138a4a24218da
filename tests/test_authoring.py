"""Authoring: markers -> nbgrader metadata, and notebooks/ in sync with solutions/."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from course_tools import authoring
from course_tools.labspec import read_lab

ROOT = Path(__file__).resolve().parent.parent


def _nb(*sources: str):
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])


def test_markers_become_nbgrader_metadata():
    nb = _nb(
        "import numpy as np",
        "def f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION",
        "# grade: f (3 points)\nprint(f(1))\n### BEGIN HIDDEN TESTS\nassert f(2) == 2\n"
        "### END HIDDEN TESTS",
    )
    assert authoring.annotate(nb) is True
    plain, sol, test = (c.metadata.get("nbgrader") for c in nb.cells)
    assert plain is None
    assert sol == {"grade": False, "solution": True, "locked": False, "grade_id": "f_code",
                   "schema_version": 3}
    assert test["grade"] is True and test["points"] == 3 and test["grade_id"] == "f"
    assert test["locked"] is True
    assert authoring.annotate(nb) is False  # idempotent


@pytest.mark.parametrize("sources, message", [
    (("def f():\n    ### BEGIN SOLUTION\n    pass",), "without END SOLUTION"),
    (("### BEGIN SOLUTION\nx = 1\n### END SOLUTION",), "must define a function"),
    (("# grade: f (1 points)\nassert True",), "needs hidden tests"),
    (("x = 1\n### BEGIN HIDDEN TESTS\nassert x\n### END HIDDEN TESTS",), "markers outside"),
    (("# grade: a (1 points)\n### BEGIN HIDDEN TESTS\n### END HIDDEN TESTS",
      "# grade: a (2 points)\n### BEGIN HIDDEN TESTS\n### END HIDDEN TESTS"), "used twice"),
])
def test_broken_markers_are_reported_with_the_cell(sources, message):
    with pytest.raises(authoring.AuthoringError, match=message):
        authoring.annotate(_nb(*sources))


def test_notebooks_folder_is_what_solutions_generate():
    problems = authoring.stale()
    assert problems == [], "\n".join(problems) + "\nRun `make student`."


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("*/*.ipynb")),
                         ids=lambda p: p.parent.name)
def test_student_notebooks_hold_no_solutions_hidden_tests_or_outputs(path):
    text = path.read_text()
    assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
    nb = json.loads(text)
    assert all(not c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code")
    master = nbformat.read(ROOT / "solutions" / path.parent.name / path.name, as_version=4)
    # each graded check and each solution survives as a cell of the student notebook
    ids = {c["metadata"].get("nbgrader", {}).get("grade_id") for c in nb["cells"]}
    for cell in master.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid:
            assert gid in ids


@pytest.mark.parametrize("path", sorted((ROOT / "solutions").glob("*/*.ipynb")),
                         ids=lambda p: p.parent.name)
def test_solutions_are_stored_executed_and_small(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    assert all(c.execution_count for c in code), "execute it: make solutions"
    assert path.stat().st_size < 1_000_000
    graded = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert len(graded) >= 2


@pytest.mark.parametrize("path", sorted((ROOT / "solutions").glob("*/*_lab.ipynb")),
                         ids=lambda p: p.parent.name)
def test_each_lab_has_three_graded_exercises_a_derivation_and_says_how_long_it_takes(path):
    """Issue 20: >= 3 graded questions, >= 1 derivation exercise, an effort line on every
    exercise heading (course_tools.labspec.read_effort) and a lab time that covers them."""
    from course_tools.labspec import read_effort

    nb = nbformat.read(path, as_version=4)
    assert len(read_lab(path).checks) >= 3
    effort = read_effort(nb.cells, path.name)
    assert effort.exercises, "no '## Exercise <k>: ...' heading"
    assert [e.number for e in effort.exercises] == list(range(1, len(effort.exercises) + 1))
    assert len(effort.exercises) == len(read_lab(path).checks), "one heading per graded exercise"
    assert any(e.derivation for e in effort.exercises), "no '*Derivation · ...*' exercise"
    assert effort.minutes >= sum(e.minutes for e in effort.exercises)
