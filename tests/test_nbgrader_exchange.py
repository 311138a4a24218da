"""nbgrader's exchange: the folders ``nbgrader collect`` leaves (``submitted/<student>/<assignment>/``
with ``timestamp.txt`` and ``submission_secret.txt`` beside the notebook) grade as they are, and the
grader's feedback goes back to the students through ``nbgrader release_feedback``.

The layouts in the first tests are made by hand as nbgrader 0.9.6 makes them (its
``exchange/default/submit.py`` writes the two text files, ``collect.py`` copies the submission to
``submitted/<student>/<assignment>/``); the last test makes them with nbgrader's own commands.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from course_tools import grading

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "labs"
TINY = FIXTURES / "tiny" / "tiny.ipynb"
FULL = {"double": 1, "square": 2, "masked_softmax": 2}


def _collected(submitted: Path, student: str, assignment: str, *notebooks: str) -> Path:
    """``submitted/<student>/<assignment>/`` as nbgrader collect leaves it, with ``notebooks``
    (copies of the tiny lab)."""
    folder = submitted / student / assignment
    folder.mkdir(parents=True)
    (folder / "timestamp.txt").write_text("2026-12-01 10:00:00.000000 UTC")
    (folder / "submission_secret.txt").write_text("0" * 128)
    for name in notebooks:
        (folder / name).write_bytes(TINY.read_bytes())
    return folder


def test_the_assignment_folder_of_the_lab_is_graded_and_the_others_ignored(tmp_path):
    sub = tmp_path / "submitted"
    _collected(sub, "ann", "ch02", "ch02_lab.ipynb")
    _collected(sub, "ann", "ch03", "ch03_lab.ipynb")
    _collected(sub, "bob", "ch02", "ch02_lab.ipynb")  # nothing handed in for ch03
    _collected(sub, "cy", "ch03", "ch03_lab.ipynb", "scratch.ipynb", "ch03_lab-Copy1.ipynb")
    _collected(sub, "dan", "ch03", "mine.ipynb")  # one notebook, renamed: still the one
    _collected(sub, "eve", "ch03", "a.ipynb", "b.ipynb")  # two, neither has the lab's name
    ckpt = _collected(sub, "fay", "ch03", "ch03_lab.ipynb") / ".ipynb_checkpoints"
    ckpt.mkdir()
    (ckpt / "ch03_lab-checkpoint.ipynb").write_bytes(TINY.read_bytes())
    notes: dict[str, str] = {}
    found = grading.find_submissions(sub, "ch03", "ch03_lab.ipynb", notes)
    assert found == {"ann": sub / "ann/ch03/ch03_lab.ipynb", "bob": None,
                     "cy": sub / "cy/ch03/ch03_lab.ipynb", "dan": sub / "dan/ch03/mine.ipynb",
                     "eve": None, "fay": sub / "fay/ch03/ch03_lab.ipynb"}
    assert set(notes) == {"bob", "cy", "eve"}
    assert notes["bob"] == ("nothing handed in for ch03: the nbgrader folder bob/ holds ch02 "
                            "only")
    assert notes["cy"] == ("graded cy/ch03/ch03_lab.ipynb; not graded: "
                           "cy/ch03/ch03_lab-Copy1.ipynb, cy/ch03/scratch.ipynb")
    assert notes["eve"].startswith("nothing graded: 2 notebooks and none is named ch03_lab.ipynb")
    assert "eve/ch03/a.ipynb, eve/ch03/b.ipynb" in notes["eve"]


def test_the_layouts_accepted_before_still_are(tmp_path):
    sub = tmp_path / "subs"
    sub.mkdir()
    (sub / "ann.ipynb").write_bytes(TINY.read_bytes())
    (sub / "bob" / "work").mkdir(parents=True)  # <student>/.../<any>.ipynb, no nbgrader stamp
    (sub / "bob" / "work" / "lab.ipynb").write_bytes(TINY.read_bytes())
    (sub / "cy").mkdir()
    (sub / "notes.txt").write_text("not a submission")
    expected = {"ann": sub / "ann.ipynb", "bob": sub / "bob/work/lab.ipynb", "cy": None}
    assert grading.find_submissions(sub) == expected
    assert grading.find_submissions(sub, "ch03", "ch03_lab.ipynb") == expected


def test_no_folder_of_the_lab_anywhere_is_a_clear_error(tmp_path):
    """The nbgrader assignment is named otherwise (lab3 for --lab ch03): no row would be graded."""
    sub = tmp_path / "submitted"
    _collected(sub, "ann", "lab3", "ch03_lab.ipynb")
    _collected(sub, "bob", "ch02", "ch02_lab.ipynb")
    with pytest.raises(ValueError, match=r"no student has a folder ch03/ \(assignments found: "
                                         r"ch02, lab3\)"):
        grading.find_submissions(sub, "ch03", "ch03_lab.ipynb")


def _nbgrader(*args: str, cwd: Path, env: dict) -> None:
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]


def _feedback_block(lab: str, notebook: str) -> str:
    """The instructors' page's feedback commands (its bash block that ends in
    ``nbgrader release_feedback``), for ``lab`` instead of ch03."""
    text = (ROOT / "book" / "instructors.md").read_text()
    blocks = [b.split("```", 1)[0] for b in text.split("```bash\n")[1:]]
    (block,) = [b for b in blocks if "nbgrader release_feedback" in b]
    block = "\n".join(line.removeprefix("   ") for line in block.splitlines())
    assert block.startswith("LAB=ch03 NB=ch03_lab\n"), block
    return block.replace("LAB=ch03 NB=ch03_lab", f"LAB={lab} NB={notebook}", 1)


@pytest.mark.slow
def test_release_collect_grade_feedback_with_nbgrader_itself(tmp_path):
    """The instructors' page's walkthrough, with nbgrader's commands (the tiny lab as the
    assignment): release, two students submit (one with a scratch notebook beside), collect,
    grade the collected folder, run the page's feedback commands (copy the grader's pages where
    release_feedback reads them, release), and a student fetches his own page."""
    course, exchange = tmp_path / "course", tmp_path / "exchange"
    (course / "release" / "tiny").mkdir(parents=True)
    shutil.copy(TINY, course / "release" / "tiny" / "tiny.ipynb")
    exchange.mkdir()
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        "c.CourseDirectory.course_id = 'rnn-course'\n"
        f"c.Exchange.root = {str(exchange)!r}\n")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    _nbgrader("release_assignment", "tiny", cwd=course, env=env)
    for student in ("ann", "bob"):
        home = tmp_path / f"home_{student}"
        (home / "tiny").mkdir(parents=True)
        shutil.copy(TINY, home / "tiny" / "tiny.ipynb")
        if student == "bob":
            nb = nbformat.read(TINY, as_version=4)
            nb.cells[3].source = nb.cells[3].source.replace("return x * x", "return x + x")
            nbformat.write(nb, home / "tiny" / "scratch.ipynb")  # wrong, and not graded
        _nbgrader("submit", "tiny", f"--student={student}", "--course=rnn-course",
                  f"--Exchange.root={exchange}", f"--Exchange.cache={home / 'cache'}",
                  cwd=home, env=env)
    _nbgrader("collect", "tiny", cwd=course, env=env)
    assert sorted(p.relative_to(course).as_posix() for p in (course / "submitted").rglob("*")
                  if p.is_file()) == [
        f"submitted/{s}/tiny/{f}" for s, files in
        (("ann", ["submission_secret.txt", "timestamp.txt", "tiny.ipynb"]),
         ("bob", ["scratch.ipynb", "submission_secret.txt", "timestamp.txt", "tiny.ipynb"]))
        for f in files]

    grades = course / "grades" / "tiny"  # where make grade puts them, beside submitted/
    batch = grading.grade_folder(course / "submitted", "tiny", grades, cell_timeout=10,
                                 workers=2, solutions=FIXTURES, show_progress=False)
    results = {r.student: r for r in batch.results}
    assert {s: (r.status, r.scores) for s, r in results.items()} == {
        "ann": ("graded", FULL), "bob": ("graded", FULL)}
    assert results["bob"].message == "graded bob/tiny/tiny.ipynb; not graded: bob/tiny/scratch.ipynb"
    rows = {row["student"]: row for row in csv.DictReader(open(grades / "grades.csv"))}
    assert rows["bob"]["total"] == "5" and "scratch.ipynb" in rows["bob"]["message"]

    done = subprocess.run(["bash", "-e", "-c", _feedback_block("tiny", "tiny")], cwd=course,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert sorted(p.relative_to(course).as_posix() for p in (course / "feedback").rglob("*")
                  if p.is_file()) == [f"feedback/{s}/tiny/{f}" for s in ("ann", "bob") for f in
                                      ("submission_secret.txt", "timestamp.txt", "tiny.html")]
    assert len(list((exchange / "rnn-course" / "feedback").glob("*.html"))) == 2  # ann's, bob's
    home = tmp_path / "home_bob"  # bob fetches: his page only, under his submission's time
    _nbgrader("fetch_feedback", "tiny", "--student=bob", "--course=rnn-course",
              f"--Exchange.root={exchange}", f"--Exchange.cache={home / 'cache'}",
              cwd=home, env=env)
    stamp = (course / "submitted" / "bob" / "tiny" / "timestamp.txt").read_text()
    assert [p.relative_to(home).as_posix() for p in home.glob("tiny/feedback/*/*")] == [
        f"tiny/feedback/{stamp}/tiny.html"]
    fetched = (home / "tiny" / "feedback" / stamp / "tiny.html").read_text()
    assert fetched == (grades / "feedback" / "bob.html").read_text()
    assert "feedback for bob" in fetched
