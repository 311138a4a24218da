"""``make check`` (course_tools.grading.check): a student's notebook run as the grader runs it,
public checks only. Expected verdicts come from what each notebook is made to be (the master
passes, the released stub is unfinished, a loop never ends, a function is renamed), not from
the tool's own output. Most use the tiny fixture lab (seconds per run); one the real lab 3.
"""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
import pytest

from course_tools import authoring, sandbox
from course_tools.grading import check
from course_tools.labspec import read_lab

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "labs"
TINY = FIXTURES / "tiny" / "tiny.ipynb"
HIDDEN = [part for c in read_lab(TINY).checks for part in c.hidden.strip().splitlines()]

pytestmark = pytest.mark.slow


def _variant(tmp_path: Path, name: str, edit) -> Path:
    nb = nbformat.read(TINY, as_version=4)
    edit(nb)
    path = tmp_path / name
    nbformat.write(nb, path)
    return path


def _run(path: Path, capsys, *options: str) -> tuple[int, str]:
    code = check.main([str(path), "--solutions", str(FIXTURES), *options])
    out = capsys.readouterr().out
    for line in HIDDEN:  # never a hidden test, nor what it asserts
        assert line.strip() not in out, line
    return code, out


def test_the_master_is_graded_and_passes_every_public_check(capsys):
    code, out = _run(TINY, capsys, "--budget", "60")
    assert code == 0
    assert "The grader would give: graded" in out
    assert "masked_softmax (2 points): passes" in out
    assert "Result: graded, all public checks pass." in out
    assert "UNSANDBOXED" not in out  # bubblewrap is installed here (make test installs it)


def test_the_untouched_student_notebook_is_graded_with_every_exercise_unfinished(
        tmp_path, capsys):
    released = authoring.release(tmp_path / "release", solutions=FIXTURES)[0]
    code, out = _run(released, capsys, "--budget", "60")
    assert code == 0 and "The grader would give: graded" in out
    for qid, points in (("double", 1), ("square", 2), ("masked_softmax", 2)):
        assert f"{qid} ({points} points): not implemented yet" in out
    assert "Result: graded; 3 not implemented yet." in out


def test_an_endless_loop_is_timed_out_within_the_budget(tmp_path, capsys):
    path = _variant(tmp_path, "loop.ipynb",
                    lambda nb: nb.cells.insert(5, nbformat.v4.new_code_cell("while True:\n"
                                                                            "    pass")))
    start = time.monotonic()
    result, text = check.check_notebook(path, "tiny", FIXTURES, cell_timeout=60, budget=8)
    seconds = time.monotonic() - start
    assert result.status == "timed out"
    assert "The grader would give: timed out" in text and "budget of 8 s ran out" in text
    assert "Result: timed out: the grader would not grade this notebook as it is" in text
    # stopped by the 8 s budget, not by the 60 s limit of a cell (the rest is the kernel's
    # start and the grader's imports, on a loaded machine)
    assert seconds < 45
    assert check.main([str(path), "--lab", "tiny", "--solutions", str(FIXTURES),
                       "--budget", "8"]) == 1


def test_a_renamed_function_is_named_as_missing(tmp_path, capsys):
    def rename(nb):
        nb.cells[6].source = nb.cells[6].source.replace("def masked_softmax(",
                                                        "def my_softmax(")

    code, out = _run(_variant(tmp_path, "renamed.ipynb", rename), capsys, "--budget", "60")
    assert code == 0  # still graded: the other exercises keep their points
    assert "masked_softmax (2 points): fails" in out
    assert "function masked_softmax is missing" in out
    assert "double (1 points): no public check" in out


def test_without_bubblewrap_it_runs_unsandboxed_and_says_so(tmp_path, capsys, monkeypatch):
    def broken(nb):
        nb.cells.insert(5, nbformat.v4.new_code_cell('rows = open("data.csv").read()'))
        nb.cells.insert(7, nbformat.v4.new_code_cell("reference_masked_softmax([[1.0, 2.0]])"))
        nb.cells[8].source = ('import torch\n\n\ndef masked_softmax(r, mask=None):\n'
                              '    return torch.softmax(torch.as_tensor(r), -1).numpy()\n')

    def no_bwrap():
        raise sandbox.SandboxError("no bubblewrap")

    monkeypatch.setattr(check.sandbox, "bwrap_path", no_bwrap)
    (tmp_path / "data.csv").write_text("1,2\n")  # beside the notebook, but not in the grader
    code, out = _run(_variant(tmp_path, "broken.ipynb", broken), capsys, "--budget", "90")
    lines = out.strip().splitlines()
    assert lines[0].startswith("UNSANDBOXED: bubblewrap is not installed here")
    assert lines[-1].startswith("UNSANDBOXED (bubblewrap is not installed here)")
    assert code == 0 and "The grader would give: graded" in out
    # an empty working folder and the grader's stand-ins for the references, as in the sandbox
    assert "cell 6: it needs a file that is not there" in out
    assert "cell 8 (counting every cell from the top, text cells included): given code" in out
    assert "called a course reference" in out
    assert "masked_softmax: breaks the rule 'numpy only'" in out and "torch" in out
    assert "all public checks pass" not in out


def test_the_lab_is_guessed_from_the_exercise_cells_then_the_name(tmp_path):
    nb = nbformat.read(TINY, as_version=4)
    assert check.guess_lab(nb, tmp_path / "whatever.ipynb", FIXTURES) == "tiny"
    solutions = ROOT / "solutions"
    assert check.guess_lab(nbformat.v4.new_notebook(), Path("my_ch03_lab.ipynb"),
                           solutions) == "ch03"
    with pytest.raises(ValueError, match="pass --lab"):
        check.guess_lab(nbformat.v4.new_notebook(), Path("lab.ipynb"), solutions)


def test_bad_input_is_a_clear_error(tmp_path, capsys):
    assert check.main([str(tmp_path / "nope.ipynb")]) == 2
    assert "is not a file" in capsys.readouterr().err


def test_lab_3_untouched_student_notebook(capsys):
    code = check.main([str(ROOT / "notebooks" / "ch03" / "ch03_lab.ipynb"), "--budget", "120"])
    out = capsys.readouterr().out
    assert code == 0 and "The grader would give: graded" in out
    for qid in ("rnn_step_forward", "rnn_forward", "masked_sequence_loss"):
        assert f"{qid} (" in out and f"{qid} ({read_points(qid)} points): not implemented yet" \
            in out
    assert "BEGIN HIDDEN" not in out and "seed=" not in out


def read_points(qid: str) -> str:
    lab = read_lab(ROOT / "solutions" / "ch03" / "ch03_lab.ipynb")
    return f"{lab.max_scores[qid]:g}"


def test_a_sandbox_that_cannot_start_is_not_blamed_on_the_notebook(monkeypatch):
    def refuse(self, timeout=60):
        raise sandbox.SandboxError("the sandboxed kernel did not start: no user namespaces")

    monkeypatch.setattr(sandbox.SandboxKernel, "start", refuse)
    result, text = check.check_notebook(TINY, "tiny", FIXTURES, budget=60, sandboxed=True)
    assert result.status == "error" and "no user namespaces" in text
    assert "not a verdict on your notebook" in text and "--no-sandbox" in text
