"""nbgrader's gradebook of a lab: created (or updated) with ``nbgrader generate_assignment``,
then filled with the scores of a batch. SQLite by default, PostgreSQL or any SQLAlchemy URL."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

from course_tools.authoring import _tool_env
from course_tools.grading.results import WITH_POINTS, Result
from course_tools.grading.spec import LabSpec


def tool_env(**extra: str) -> dict[str, str]:
    """Environment for nbgrader subprocesses (see ``authoring._tool_env``) plus ``extra``."""
    env = _tool_env()
    env.update(extra)
    return env


def _gradebook_template(spec: LabSpec) -> Path:
    """Where a fresh SQLite gradebook of this lab, grader and nbgrader version is kept."""
    from importlib.metadata import version

    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "rnn-course" / "gradebooks" / \
        f"{spec.lab}-{spec.fingerprint}-nbgrader{version('nbgrader')}.db"


def prepare_gradebook(db_url: str, spec: LabSpec) -> None:
    """Create (or update) the lab's assignment, notebook and cells in the nbgrader gradebook at
    ``db_url`` with ``nbgrader generate_assignment``. It takes about ten seconds (nbgrader's
    imports, alembic), so :func:`grade_folder` runs it in the background while it grades; and a
    new SQLite gradebook is copied from the one made last time for the same lab and grader."""
    new_file = None
    if db_url.startswith("sqlite:///"):
        new_file = Path(db_url[len("sqlite:///"):])
        if new_file.exists():
            new_file = None  # an existing gradebook (other labs in it?) is updated, not replaced
    template = _gradebook_template(spec)
    if new_file is not None and template.exists():
        shutil.copyfile(template, new_file)
        return
    with tempfile.TemporaryDirectory(prefix=f"gradebook-{spec.lab}-") as course:
        source = Path(course) / "source" / spec.lab
        source.mkdir(parents=True)
        nbformat.write(spec.nb, source / spec.source.name)
        (Path(course) / "nbgrader_config.json").write_text(json.dumps({"CourseDirectory": {
            "course_id": "rnn-course", "source_directory": "source",
            "release_directory": "release"}}))
        proc = subprocess.run(
            [sys.executable, "-m", "nbgrader", "generate_assignment", spec.lab, "--force",
             f"--db={db_url}", "--log-level=WARN"],
            cwd=course, capture_output=True, text=True, env=tool_env(HOME=course),
        )
    if proc.returncode != 0:
        raise RuntimeError(f"could not create the gradebook at {db_url}:\n{proc.stderr[-2000:]}")
    if new_file is not None and new_file.exists():  # keep a copy for the next batch
        template.parent.mkdir(parents=True, exist_ok=True)
        partial = template.with_suffix(f".{os.getpid()}.partial")
        shutil.copyfile(new_file, partial)
        os.replace(partial, template)  # atomic: a parallel batch sees all of it or nothing
    import nbgrader.api  # noqa: F401 (warm the import for record_gradebook, in the background)


def record_gradebook(db_url: str, spec: LabSpec, results: list[Result]) -> None:
    """Write the scores of graded submissions into the nbgrader gradebook at ``db_url``, made
    by :func:`prepare_gradebook`."""
    import warnings

    from nbgrader.api import Gradebook

    warnings.filterwarnings("ignore", message=".*not in session.*")
    with Gradebook(db_url) as gb:
        for r in results:
            if r.status not in WITH_POINTS:
                continue
            gb.update_or_create_student(r.student)
            gb.update_or_create_submission(spec.lab, r.student)
            for qid, score in r.scores.items():
                grade = gb.find_grade(qid, spec.notebook_name, spec.lab, r.student)
                grade.auto_score = score
            gb.db.commit()
