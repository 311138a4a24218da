"""nbgrader's Validate (the JupyterLab button, ``nbgrader validate``) tells the same truth as the
checks: an unfinished or failing exercise is a failed cell, the master passes, and the
student's Run All still runs to the end (course_lib.checks.core: in a kernel, the report of a
check that does not pass goes to stderr, which nbgrader counts as a failure; no exception)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from course_tools.labspec import read_lab

ROOT = Path(__file__).resolve().parent.parent
LAB = "ch03"
STUDENT = ROOT / "notebooks" / LAB / f"{LAB}_lab.ipynb"
MASTER = ROOT / "solutions" / LAB / f"{LAB}_lab.ipynb"
QIDS = [c.qid for c in read_lab(MASTER).checks]

pytestmark = pytest.mark.slow


def _validate(path: Path) -> str:
    proc = subprocess.run([str(Path(sys.executable).parent / "nbgrader"), "validate", str(path)],
                          cwd=path.parent, capture_output=True, text=True, timeout=600)
    return proc.stdout


def test_validate_lists_every_unfinished_exercise_as_failed(tmp_path):
    shutil.copy(STUDENT, tmp_path)
    out = _validate(tmp_path / STUDENT.name)
    assert "Success" not in out
    assert f"VALIDATION FAILED ON {len(QIDS)} CELL(S)" in out
    for qid in QIDS:  # each failed check cell, with the check's own message as the error
        assert f"# grade: {qid} (" in out and f"{qid}: not implemented yet" in out


def test_validate_passes_the_master(tmp_path):
    shutil.copy(MASTER, tmp_path)
    assert "Success! Your notebook passes all the tests." in _validate(tmp_path / MASTER.name)


def test_run_all_of_the_unfinished_notebook_runs_to_the_end_and_fails_on_stderr_only():
    nb = nbformat.read(STUDENT, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(STUDENT.parent)}}).execute()  # raises on error
    checks = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert len(checks) == len(QIDS)
    for cell in checks:
        assert not any(o.output_type == "error" for o in cell.outputs)
        streams = {o.name: o.text for o in cell.outputs if o.output_type == "stream"}
        assert "not implemented yet" in streams.get("stderr", "") and "stdout" not in streams
