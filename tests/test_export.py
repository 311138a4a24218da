"""Exports for a learning platform (course_tools.grading.export): the roster, Canvas's gradebook
import file and the per-question CSV.

Every expected cell is written here from how the case is built (the points each made-up
result holds, the roster's rows) and from Canvas's import format (the header ``Student, ID,
SIS User ID, SIS Login ID, Section``, then the assignment; the row whose first cell is
``    Points Possible``), not read back from an earlier output.
"""

from __future__ import annotations

import csv
from pathlib import Path

import nbformat
import pytest

from course_tools import grading
from course_tools.grading.export import Roster, export_batch, read_roster, write_exports
from course_tools.grading.results import Result

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "labs"
TINY = FIXTURES / "tiny" / "tiny.ipynb"
MAX = {"double": 1.0, "square": 2.0, "masked_softmax": 2.0}  # the tiny lab's points

ROSTER = """student,platform_id,name,sis_user_id,sis_login_id,section
ann,4711,"Lee, Ann",S-1001,alee,Monday
bob,4712,"Ray, Bob",,bray,
cy,4713,Cy Po,,,
dan,,Dan Vo,S-1004,,Tuesday
eve,4715,"Ng, Eve",,,
fay,4716,Fay Li,,,
gus,4717,Gus Ek,,,
"""


def _result(student: str, status: str, scores: dict | None = None, **kw) -> Result:
    return Result(student, status, scores=scores or {}, max_scores=dict(MAX), **kw)


RESULTS = [
    _result("ann", "graded", {"double": 1.0, "square": 2.0, "masked_softmax": 2.0}),
    _result("bob", "timed out", {"double": 1.0, "square": 0.0, "masked_softmax": 2.0}),
    _result("cy", "unreadable", message="not a valid notebook"),
    _result("dan", "kernel died"),
    _result("fay", "missing", message="no notebook handed in"),
    _result("gus", "graded", {"double": 0.5, "square": 2.0, "masked_softmax": 0.0},
            flags={"square": "breaks the rule 'numpy only': torch.square"}),
    _result("zed", "graded", {"double": 1.0, "square": 0.0, "masked_softmax": 0.0}),
]  # eve (on the roster) has no result at all; zed is on no roster


@pytest.fixture
def exported(tmp_path):
    (tmp_path / "roster.csv").write_text(ROSTER)
    roster = read_roster(tmp_path / "roster.csv")
    return write_exports(tmp_path / "out", "ch03", RESULTS, MAX, roster), tmp_path / "out"


def test_canvas_csv_is_canvas_import_format_cell_by_cell(exported):
    done, out = exported
    raw = (out / "canvas.csv").read_bytes()
    assert raw.startswith(b"Student,ID,SIS User ID,SIS Login ID,Section,ch03\r\n"
                          b"    Points Possible,,,,,5\r\n")
    rows = list(csv.reader(open(out / "canvas.csv", newline="", encoding="utf-8")))
    assert rows == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "ch03"],
        ["    Points Possible", "", "", "", "", "5"],      # 1 + 2 + 2
        ["Lee, Ann", "4711", "S-1001", "alee", "Monday", "5"],
        ["Ray, Bob", "4712", "", "bray", "", "3"],         # timed out: the points it was given
        ["Cy Po", "4713", "", "", "", ""],                 # unreadable: empty, not 0
        ["Dan Vo", "", "S-1004", "", "Tuesday", ""],       # kernel died: empty
        ["Ng, Eve", "4715", "", "", "", ""],               # on the roster, no result: missing
        ["Fay Li", "4716", "", "", "", ""],                # missing
        ["Gus Ek", "4717", "", "", "", "2.5"],             # 0.5 + 2 + 0, flagged: points kept
    ]                                                      # zed: on no roster, not here
    assert done.not_on_roster == ["zed"]


def test_per_question_csv_has_every_student_and_question(exported):
    _, out = exported
    rows = list(csv.reader(open(out / "per-question.csv", newline="", encoding="utf-8")))
    assert rows[0] == ["platform_id", "student", "name", "question", "points", "max_points",
                       "status", "flag"]
    by = {(r[1], r[3]): r for r in rows[1:]}
    assert len(rows) - 1 == len(by) == 8 * 3  # 7 roster students and zed, 3 questions each
    assert [r[1] for r in rows[1::3]] == ["ann", "bob", "cy", "dan", "eve", "fay", "gus", "zed"]
    assert [r[3] for r in rows[1:4]] == ["double", "square", "masked_softmax"]
    assert by["ann", "square"] == ["4711", "ann", "Lee, Ann", "square", "2", "2", "graded", ""]
    assert [by["bob", q][4] for q in MAX] == ["1", "0", "2"]
    assert by["bob", "masked_softmax"][6] == "timed out"
    for student, status in (("cy", "unreadable"), ("dan", "kernel died"), ("eve", "missing"),
                            ("fay", "missing")):
        for q, most in (("double", "1"), ("square", "2"), ("masked_softmax", "2")):
            assert by[student, q][4:7] == ["", most, status], (student, q)
    assert by["dan", "double"][0] == "" and by["eve", "double"][:3] == ["4715", "eve", "Ng, Eve"]
    assert by["gus", "double"][4] == "0.5"
    assert by["gus", "square"][7] == "breaks the rule 'numpy only': torch.square"
    assert by["gus", "double"][7] == ""
    assert [by["zed", q][:2] + by["zed", q][4:7] for q in MAX] == [
        ["", "zed", "1", "1", "graded"], ["", "zed", "0", "2", "graded"],
        ["", "zed", "0", "2", "graded"]]  # not on the roster: kept, with no platform id


def test_the_one_id_per_line_roster_still_reads_and_makes_no_export(tmp_path):
    (tmp_path / "roster.txt").write_text("ann\nbob\n\n  Ann Lee  \nann\n")
    roster = read_roster(tmp_path / "roster.txt")
    assert roster == Roster(["ann", "bob", "Ann_Lee"])
    message = export_batch(tmp_path / "out", "tiny", RESULTS, FIXTURES, roster)
    assert "no canvas.csv or per-question.csv was written" in message
    assert not (tmp_path / "out").exists()
    with pytest.raises(ValueError, match="CSV roster"):
        write_exports(tmp_path / "out", "tiny", RESULTS, MAX, roster)


def test_a_spreadsheet_roster_with_a_byte_order_mark_and_capitals_reads(tmp_path):
    (tmp_path / "r.csv").write_bytes("\ufeffStudent,Platform_ID,Name\nann,1,Ann Lee\n\n"
                                     "bob,2,Bob Ray\n".encode())
    roster = read_roster(tmp_path / "r.csv")
    assert roster.students == ["ann", "bob"]
    assert roster.entries["bob"].platform_id == "2" and roster.entries["ann"].name == "Ann Lee"


@pytest.mark.parametrize(("text", "error"), [
    ("student,platform_id,email\nann,1,a@b\n", r"unknown columns \['email'\]"),
    ("student,name\nann,Ann\n", "maps no student to the platform"),
    ("student,platform_id,sis_login_id\nann,,\n", "line 2: student ann has no platform_id"),
    ("student,platform_id\nann,1\nann,2\n", "line 3: student ann is listed twice"),
    ("student,platform_id\nann,1\nbob,1\n", "line 3: platform_id 1 is also ann's"),
    ("student,platform_id,name\nann,1,Lee, Ann\n", "line 2 has 4 cells for 3 columns"),
    ("student,platform_id\n,1\n", "line 2: no student id"),
    ("ann\nbob,4712\n", "line 2 has a comma"),
])
def test_a_roster_that_cannot_be_read_unambiguously_is_refused_with_its_line(tmp_path, text,
                                                                             error):
    (tmp_path / "roster.csv").write_text(text)
    with pytest.raises(ValueError, match=error):
        read_roster(tmp_path / "roster.csv")


@pytest.mark.slow
def test_grading_with_a_csv_roster_writes_the_exports(tmp_path, capsys):
    """The command line, on the tiny lab: ann is right everywhere (5 points); bob's square is
    wrong and its cell then loops until the 5 s limit (timed out: double 1 + masked_softmax 2);
    eve is on the roster and handed nothing in; zed handed in but is on no roster."""
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "ann.ipynb").write_bytes(TINY.read_bytes())
    (subs / "zed.ipynb").write_bytes(TINY.read_bytes())
    nb = nbformat.read(TINY, as_version=4)
    nb.cells[3].source = nb.cells[3].source.replace("return x * x", "return x + x") + \
        "\nwhile True:\n    pass\n"
    nbformat.write(nb, subs / "bob.ipynb")
    (tmp_path / "roster.csv").write_text("student,platform_id,name\nann,11,Ann\nbob,12,Bob\n"
                                         "eve,13,Eve\n")
    out = tmp_path / "out"
    code = grading.main([str(subs), "--lab", "tiny", "--out", str(out), "--workers", "2",
                         "--timeout", "5", "--solutions", str(FIXTURES),
                         "--roster", str(tmp_path / "roster.csv"),
                         "--canvas-assignment", "Lab tiny (99)"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "canvas.csv (Canvas's gradebook import)" in printed
    assert "warning: 1 submission(s) have no row in the roster" in printed and "zed" in printed
    rows = list(csv.reader(open(out / "canvas.csv", newline="", encoding="utf-8")))
    assert rows == [["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Lab tiny (99)"],
                    ["    Points Possible", "", "", "", "", "5"],
                    ["Ann", "11", "", "", "", "5"],
                    ["Bob", "12", "", "", "", "3"],
                    ["Eve", "13", "", "", "", ""]]
    per = {(r["student"], r["question"]): r for r in csv.DictReader(open(out / "per-question.csv"))}
    assert [(per["bob", q]["points"], per["bob", q]["status"]) for q in MAX] == [
        ("1", "timed out"), ("0", "timed out"), ("2", "timed out")]
    assert [per["eve", q]["points"] + per["eve", q]["status"] for q in MAX] == ["missing"] * 3
    assert [per["zed", q]["platform_id"] + per["zed", q]["points"] for q in MAX] == [
        "1", "2", "2"]
