"""course_tools.labspec: the one grammar of the lab markers, and every master lab parsed by it."""

from __future__ import annotations

from pathlib import Path

import pytest

from course_tools import labspec
from course_tools.labspec import CheckCell, GradeMarker, LabSpecError, SolutionCell

ROOT = Path(__file__).resolve().parent.parent
MASTERS = sorted((ROOT / "solutions").glob("*/*.ipynb"))

CHECK = ("# grade: f (3 points)\nprint(f(1))\n### BEGIN HIDDEN TESTS\nassert f(2) == 2\n"
         "### END HIDDEN TESTS")
SOLUTION = "def f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION"


def _cells(*sources: str) -> list[dict]:
    return [{"cell_type": "code", "source": s} for s in sources]


@pytest.mark.parametrize("line, marker", [
    ("# grade: f (3 points)", GradeMarker("f", 3.0)),
    ("# grade: f (1 point)", GradeMarker("f", 1.0)),
    ("#grade:rnn-step(2.5 points)", GradeMarker("rnn-step", 2.5)),
    ("# grade: rnn_forward (3 points, numpy only)", GradeMarker("rnn_forward", 3.0, "numpy only")),
    ("# grade: rnn_forward (3 points,no loops )", GradeMarker("rnn_forward", 3.0, "no loops")),
    ("# grade: f (3 points, )", GradeMarker("f", 3.0)),
    ("\n\n# grade: f (2 points)\nx = 1", GradeMarker("f", 2.0)),
    ("# grade: f", None),
    ("# grade: f (three points)", None),
    ("x = 1\n# grade: f (2 points)", None),  # only the first line counts
])
def test_grade_marker_grammar_with_an_optional_rule(line, marker):
    assert labspec.grade_marker(line) == marker


def test_a_lab_is_its_solution_check_and_given_cells():
    nb = {"cells": [{"cell_type": "markdown", "source": "# Lab"}, *_cells(
        "import numpy as np", SOLUTION, CHECK.replace("(3 points)", "(3 points, numpy only)"))]}
    lab = labspec.parse_cells(nb["cells"])
    assert [type(c).__name__ for c in lab.cells] == ["CodeCell", "SolutionCell", "CheckCell"]
    assert [c.index for c in lab.cells] == [1, 2, 3]  # positions among all cells
    (sol,), (check,) = lab.solutions, lab.checks
    assert isinstance(sol, SolutionCell) and sol.grade_id == "f_code"
    assert sol.answer_lines == ["    return x"]
    assert isinstance(check, CheckCell)
    assert (check.qid, check.points, check.rule) == ("f", 3.0, "numpy only")
    assert check.public == "print(f(1))\n"
    assert check.hidden == "assert f(2) == 2\n"
    assert lab.exercise_ids == {"f_code", "f"} and lab.max_scores == {"f": 3.0}


PARTED = ("# grade: f (3 points)\nprint(f(1))\n### BEGIN HIDDEN TESTS\nimport math\n"
          "# part: other inputs (2 points)\nassert f(2) == 2\n"
          "# part: a negative input (1 point)\nassert f(-1) == -1\n### END HIDDEN TESTS")


def test_hidden_tests_split_into_named_parts_with_the_shared_preamble():
    (check,) = labspec.parse_cells(_cells(SOLUTION, PARTED)).checks
    assert [(p.name, p.points) for p in check.parts] == [("other inputs", 2.0),
                                                          ("a negative input", 1.0)]
    assert check.parts[0].code == "import math\nassert f(2) == 2\n"
    assert check.parts[1].code == "import math\nassert f(-1) == -1\n"
    (plain,) = labspec.parse_cells(_cells(SOLUTION, CHECK)).checks
    assert [(p.name, p.points, p.code) for p in plain.parts] == [
        ("hidden tests", 3.0, "assert f(2) == 2\n")]


@pytest.mark.parametrize("sources, message", [
    ((PARTED.replace("(1 point)", "(2 points)"),), "add up to 4, the question has 3"),
    ((PARTED.replace("a negative input", "other inputs"),), "share a name"),
    ((PARTED.replace("(1 point)", "(one point)"),), "a part line must read"),
    (("def f():\n    ### BEGIN SOLUTION\n    pass",), "without END SOLUTION"),
    (("### BEGIN SOLUTION\nx = 1\n### END SOLUTION",), "must define a function"),
    (("# grade: f (1 points)\nassert True",), "needs hidden tests"),
    (("# grade: f (1 points)\n" + SOLUTION,), "either a solution or a check"),
    (("x = 1\n### BEGIN HIDDEN TESTS\nassert x\n### END HIDDEN TESTS",), "markers outside"),
    ((CHECK, CHECK), "used twice"),
])
def test_broken_markers_name_the_cell(sources, message):
    with pytest.raises(LabSpecError, match=message):
        labspec.parse_cells(_cells(*sources))


def test_submissions_check_cells_are_known_by_marker_or_metadata():
    assert labspec.is_check_cell(CHECK)
    assert labspec.is_check_cell("print(1)", {"nbgrader": {"grade": True, "solution": False}})
    assert not labspec.is_check_cell("print(1)", {"nbgrader": {"grade": True, "solution": True}})
    assert not labspec.is_check_cell(SOLUTION, {})


@pytest.mark.parametrize("path", MASTERS, ids=lambda p: p.parent.name)
def test_every_master_lab_parses_with_exercises_and_points(path):
    lab = labspec.read_lab(path)
    assert lab.solutions and lab.checks
    assert all(c.hidden.strip() for c in lab.checks), "a check without hidden tests"
    assert all(c.points > 0 for c in lab.checks)
    assert all(c.answer_lines for c in lab.solutions)


def _md(text):
    return {"cell_type": "markdown", "source": text}


def test_effort_lines_are_read_from_the_exercise_headings():
    from course_tools.labspec import read_effort

    cells = [_md("# Lab\n\n**Time:** about 60 minutes, with the experiments."),
             _md("## Exercise 1: a step (2 points)\n\n*About 10 minutes · easy*\n\nText."),
             {"cell_type": "code", "source": "x = 1"},
             _md("## Exercise 2: its gradient (3 points)\n*Derivation · about 25 minutes · hard*"),
             _md("## An experiment\nno effort line needed")]
    effort = read_effort(cells, "lab")
    assert effort.minutes == 60
    assert [(e.number, e.minutes, e.level, e.derivation) for e in effort.exercises] == [
        (1, 10, "easy", False), (2, 25, "hard", True)]
    assert effort.exercises[1].index == 3 and effort.exercises[1].title.startswith("its grad")


@pytest.mark.parametrize("cells, fragment", [
    ([_md("# Lab without a time")], "first cell"),
    ([_md("# Lab\n**Time:** about 5 minutes"), _md("## Exercise 1: x\n*About ten minutes · easy*")],
     "exercise 1 has no line"),
    ([_md("# Lab\n**Time:** about 5 minutes"), _md("## Exercise 1: x\n*About 5 minutes · tricky*")],
     "cell 1"),
])
def test_a_missing_or_malformed_effort_line_is_refused_with_its_cell(cells, fragment):
    from course_tools.labspec import LabSpecError, read_effort

    with pytest.raises(LabSpecError, match=fragment):
        read_effort(cells, "lab")


def test_an_exercise_heading_anywhere_in_a_cell_needs_its_own_effort_line():
    from course_tools.labspec import LabSpecError, read_effort

    first = _md("# Lab\n**Time:** about 50 minutes")
    cells = [first, _md("Some text first.\n\n## Exercise 1: a (1 point)\n*About 5 minutes · easy*\n"
                        "\n## Exercise 2: b (1 point)\n*About 9 minutes · hard*")]
    assert [(e.number, e.minutes) for e in read_effort(cells).exercises] == [(1, 5), (2, 9)]
    # the line under the next heading (of any level) is not this exercise's
    stolen = [first, _md("## Exercise 1: a (1 point)\n\n### Notes\n*About 5 minutes · easy*")]
    with pytest.raises(LabSpecError, match="exercise 1 has no line"):
        read_effort(stolen)
