"""Batch grading: a folder of submitted notebooks -> nbgrader gradebook, a per-question CSV and
per-student feedback.

Each submission is graded by ``nbgrader autograde`` in a throw-away course folder of its own
(a copy of the master lab, a copy of the empty gradebook, its own HOME), in its own process
group, with a per-cell timeout and a wall-clock limit. The submitted files and the course files
are never written to, and whatever one submission does (loop forever, kill its kernel, delete
its folder) costs only its own points. The results are then collected into one nbgrader
gradebook (SQLite by default; any SQLAlchemy URL with ``--db``).

Status of each row of ``grades.csv``:

==============  ==========================================================================
``graded``      ran to the end; per-question points are in the row
``timed out``   a cell ran past the per-cell timeout (or the whole run past its limit)
``kernel died`` the Python process of the submission died (``os._exit``, a crash, the OOM)
``unreadable``  not a valid notebook (bad JSON, wrong format)
``missing``     a student of the roster handed in nothing
``error``       nbgrader could not grade it (e.g. graded cells deleted); see the feedback
==============  ==========================================================================

Only ``graded`` rows have points: a failed submission is never shown as a plain zero.

Usage: ``python -m course_lib.grading SUBMISSIONS --lab ch01 [--out grades/] [--roster FILE]``
(``make grade SUBMISSIONS=dir LAB=ch01``).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from course_lib.authoring import ROOT, SOLUTIONS, _tool_env, annotate

STATUSES = ("graded", "timed out", "kernel died", "unreadable", "missing", "error")
NAME_RE = re.compile(r"[^A-Za-z0-9_.\-]+")
MAX_NOTEBOOK_BYTES = 20_000_000


@dataclass
class Result:
    """One student's outcome."""

    student: str
    status: str
    scores: dict[str, float] = field(default_factory=dict)
    max_scores: dict[str, float] = field(default_factory=dict)
    message: str = ""
    seconds: float = 0.0
    notes: dict[str, str] = field(default_factory=dict)  # question -> what its check printed
    feedback_html: str = ""

    @property
    def total(self) -> float | None:
        return sum(self.scores.values()) if self.status == "graded" else None


def student_id(name: str) -> str:
    """A safe student id from a file or folder name (letters, digits, ``_ . -``)."""
    cleaned = NAME_RE.sub("_", name).strip("._") or "student"
    return cleaned[:64]


def find_submissions(folder: Path) -> dict[str, Path | None]:
    """Map student id -> submitted notebook.

    Accepted layouts: ``folder/<student>.ipynb``, or ``folder/<student>/.../<any>.ipynb``
    (one notebook per student folder; nbgrader's ``submitted/<student>/<lab>/`` fits). A student
    folder without a notebook maps to ``None`` (missing).
    """
    if not folder.is_dir():
        raise ValueError(f"submissions: expected a folder, got {folder}")
    found: dict[str, Path | None] = {}
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_file() and entry.suffix == ".ipynb":
            found[student_id(entry.stem)] = entry
        elif entry.is_dir():
            nbs = sorted(p for p in entry.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
            found[student_id(entry.name)] = nbs[0] if nbs else None
    return found


def master_notebook(lab: str, solutions: Path = SOLUTIONS) -> Path:
    """The master (solution) notebook of ``lab``: ``solutions/<lab>/<name>.ipynb``."""
    nbs = sorted((solutions / lab).glob("*.ipynb"))
    if len(nbs) != 1:
        known = sorted(p.name for p in solutions.iterdir() if p.is_dir())
        raise ValueError(f"lab: expected one notebook in {solutions.name}/{lab}/ (labs: {known}), "
                         f"found {len(nbs)}")
    return nbs[0]


def tool_env(**extra: str) -> dict[str, str]:
    """Environment for nbgrader subprocesses (see ``authoring._tool_env``) plus ``extra``."""
    env = _tool_env()
    env.update(extra)
    return env


def _limits(cpu_seconds: int) -> None:  # runs in the child before exec
    os.setsid()
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (200_000_000, 200_000_000))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))


class Grader:
    """Grades submissions of one lab. Create once per batch; :meth:`grade` is thread-safe."""

    def __init__(self, lab: str, workdir: Path, cell_timeout: int = 60,
                 solutions: Path = SOLUTIONS, feedback_html: bool = True):
        self.lab = lab
        self.feedback_html = feedback_html
        self.cell_timeout = cell_timeout
        self.workdir = workdir
        self.master = workdir / "master"
        source = master_notebook(lab, solutions)
        self.notebook_name = source.stem
        nb = nbformat.read(source, as_version=4)
        annotate(nb)
        self.questions = [
            (c.metadata["nbgrader"]["grade_id"], float(c.metadata["nbgrader"]["points"]))
            for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")
        ]
        self.n_code_cells = sum(c.cell_type == "code" for c in nb.cells)
        (self.master / "source" / lab).mkdir(parents=True)
        nbformat.write(nb, self.master / "source" / lab / source.name)
        config = {
            "CourseDirectory": {"course_id": "rnn-course", "source_directory": "source",
                                "release_directory": "release"},
            "Execute": {"timeout": cell_timeout, "execute_retries": 0},
        }
        (self.master / "nbgrader_config.json").write_text(json.dumps(config))
        proc = subprocess.run(
            [sys.executable, "-m", "nbgrader", "generate_assignment", lab, "--force",
             "--log-level=WARN"],
            cwd=self.master, capture_output=True, text=True, env=tool_env(),
        )
        if proc.returncode != 0:
            raise RuntimeError(f"could not prepare lab {lab}:\n{proc.stderr[-2000:]}")

    def grade(self, student: str, submission: Path | None) -> Result:
        start = time.monotonic()
        result = self._grade(student, submission)
        if result.status in ("graded", "timed out"):
            result.notes = self._notes(student)
            if self.feedback_html:
                result.feedback_html = self.feedback(student)
        result.seconds = time.monotonic() - start
        return result

    def _grade(self, student: str, submission: Path | None) -> Result:
        if submission is None:
            return Result(student, "missing", message="no notebook handed in")
        try:
            if submission.stat().st_size > MAX_NOTEBOOK_BYTES:
                return Result(student, "unreadable", message="notebook larger than 20 MB")
            data = submission.read_bytes()
            nb = nbformat.reads(data.decode("utf-8"), as_version=4)
            nbformat.validate(nb)
        except Exception as exc:
            return Result(student, "unreadable",
                          message=f"not a valid notebook: {type(exc).__name__}: {str(exc)[:200]}")
        root = self.workdir / "students" / student
        shutil.copytree(self.master, root, ignore=shutil.ignore_patterns("release"))
        target = root / "submitted" / student / self.lab / f"{self.notebook_name}.ipynb"
        target.parent.mkdir(parents=True)
        target.write_bytes(data)  # a copy: the original is never touched
        home = root / "home"
        home.mkdir()
        env = tool_env(HOME=str(home), PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1",
                       MKL_NUM_THREADS="1")
        wall = self.cell_timeout * self.n_code_cells + 120
        cmd = [sys.executable, "-m", "nbgrader", "autograde", self.lab, "--student", student,
               "--force", "--log-level=INFO"]
        logfile = self.workdir / "logs" / f"{student}.log"  # outside the submission's reach
        logfile.parent.mkdir(exist_ok=True)
        with open(logfile, "w") as log:
            proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL,
                                    preexec_fn=lambda: _limits(wall))
            try:
                proc.wait(timeout=wall)
                wall_hit = False
            except subprocess.TimeoutExpired:
                wall_hit = True
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait()
        logtext = logfile.read_text(errors="replace")
        if wall_hit:
            return Result(student, "timed out", message=f"grading took longer than {wall} s")
        scores, max_scores = self._scores(root, student)
        timed_out = "Timeout waiting for execute reply" in logtext or "CellTimeoutError" in logtext
        died = any(s in logtext for s in ("DeadKernelError", "Kernel died", "kernel died",
                                          "UnresponsiveKernelError"))
        if died:
            return Result(student, "kernel died",
                          message="the notebook's Python process died during grading "
                                  "(os._exit, a crash or out of memory)")
        if scores is None:
            tail = "\n".join(line for line in logtext.splitlines() if "ERROR" in line)[-600:]
            return Result(student, "error", message=f"nbgrader could not grade it: {tail}")
        if timed_out:
            return Result(student, "timed out", scores, max_scores,
                          message=f"a cell ran longer than {self.cell_timeout} s and was stopped")
        return Result(student, "graded", scores, max_scores)

    def _scores(self, root: Path, student: str):
        from nbgrader.api import Gradebook, MissingEntry

        autograded = root / "autograded" / student / self.lab / f"{self.notebook_name}.ipynb"
        if not autograded.exists() or not (root / "gradebook.db").exists():
            return None, None
        try:
            with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
                nb = gb.find_submission_notebook(self.notebook_name, self.lab, student)
                scores = {g.name: float(g.score) for g in nb.grades}
                max_scores = {g.name: float(g.max_score) for g in nb.grades}
        except (MissingEntry, OSError, ValueError):
            return None, None
        return scores, max_scores

    def _notes(self, student: str) -> dict[str, str]:
        """What each graded cell printed (the public check's diagnosis) and the error it raised."""
        path = self.workdir / "students" / student / "autograded" / student / self.lab / \
            f"{self.notebook_name}.ipynb"
        notes: dict[str, str] = {}
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception:
            return notes
        for cell in nb.cells:
            gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if not gid or not cell.get("metadata", {}).get("nbgrader", {}).get("grade"):
                continue
            parts = []
            for out in cell.get("outputs", []):
                if out.get("output_type") == "stream" and out.get("name") == "stdout":
                    parts.append(out.get("text", "").strip())
                elif out.get("output_type") == "error":
                    parts.append(f"{out.get('ename')}: {out.get('evalue', '')}".strip())
            notes[gid] = " | ".join(p for p in parts if p)[:500]
        return notes

    def feedback(self, student: str) -> str:
        """HTML feedback made by ``nbgrader generate_feedback`` (empty string if none)."""
        root = self.workdir / "students" / student
        proc = subprocess.run(
            [sys.executable, "-m", "nbgrader", "generate_feedback", self.lab, "--student", student,
             "--force", "--log-level=WARN"],
            cwd=root, capture_output=True, text=True, timeout=300,
            env=tool_env(HOME=str(root / "home")),
        )
        html = root / "feedback" / student / self.lab / f"{self.notebook_name}.html"
        return html.read_text() if proc.returncode == 0 and html.exists() else ""


def _summary_text(lab: str, r: Result, questions: list[tuple[str, float]]) -> str:
    lines = [f"Lab {lab}, student {r.student}: {r.status}"]
    if r.message:
        lines.append(r.message)
    if r.status in ("graded", "timed out") and r.scores:
        for qid, points in questions:
            got = r.scores.get(qid)
            mark = "passed" if got is not None and got >= points else "not passed"
            lines.append(f"  {qid}: {got if got is not None else 0:g} / {points:g}  ({mark})")
            if r.notes.get(qid):
                lines.append(f"      {r.notes[qid]}")
        lines.append(f"  total: {sum(r.scores.values()):g} / {sum(p for _, p in questions):g}")
    return "\n".join(lines) + "\n"


def record_gradebook(db_url: str, master: Path, lab: str, notebook: str,
                     results: list[Result]) -> None:
    """Write the scores of graded submissions into the nbgrader gradebook at ``db_url``."""
    import warnings

    from nbgrader.api import Gradebook

    warnings.filterwarnings("ignore", message=".*not in session.*")
    proc = subprocess.run(
        [sys.executable, "-m", "nbgrader", "generate_assignment", lab, "--force",
         f"--db={db_url}", "--log-level=WARN"],
        cwd=master, capture_output=True, text=True, env=tool_env(),
    )
    if proc.returncode != 0:
        raise RuntimeError(f"could not create the gradebook at {db_url}:\n{proc.stderr[-2000:]}")
    with Gradebook(db_url) as gb:
        for r in results:
            if r.status not in ("graded", "timed out"):
                continue
            gb.update_or_create_student(r.student)
            gb.update_or_create_submission(lab, r.student)
            for qid, score in r.scores.items():
                grade = gb.find_grade(qid, notebook, lab, r.student)
                grade.auto_score = score
            gb.db.commit()


def grade_folder(submissions: Path, lab: str, out: Path, roster: list[str] | None = None,
                 cell_timeout: int = 60, workers: int = 1, db_url: str | None = None,
                 feedback_html: bool = True, show_progress: bool = True,
                 solutions: Path = SOLUTIONS) -> list[Result]:
    """Grade every submission in ``submissions`` and write ``out/grades.csv``,
    ``out/feedback/<student>.txt`` (and ``.html``) and the gradebook (``out/gradebook.db``
    unless ``db_url`` is given). Returns one :class:`Result` per student."""
    submissions = Path(submissions).resolve()
    out = Path(out).resolve()
    if out == submissions or submissions in out.parents:
        raise ValueError("out: must not be inside the submissions folder")
    found = find_submissions(submissions)
    for name in roster or []:
        found.setdefault(student_id(name), None)
    out.mkdir(parents=True, exist_ok=True)
    (out / "feedback").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"grade-{lab}-") as tmp:
        grader = Grader(lab, Path(tmp), cell_timeout=cell_timeout, solutions=Path(solutions),
                        feedback_html=feedback_html)
        results: list[Result] = []
        from course_lib.train import progress

        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            futures = [pool.submit(grader.grade, s, p) for s, p in sorted(found.items())]
            done = as_completed(futures)
            if show_progress:
                done = progress(done, total=len(futures), desc=f"grading {lab}")
            for fut in done:
                r = fut.result()
                results.append(r)
                # write as results arrive, so an interrupted batch loses nothing
                (out / "feedback" / f"{r.student}.txt").write_text(
                    _summary_text(lab, r, grader.questions))
                if r.feedback_html:
                    (out / "feedback" / f"{r.student}.html").write_text(r.feedback_html)
                write_csv(out / "grades.csv", results, [q for q, _ in grader.questions])
        if db_url is None:
            db_path = out / "gradebook.db"
            db_path.unlink(missing_ok=True)
            db_url = f"sqlite:///{db_path}"
        record_gradebook(db_url, grader.master, lab, grader.notebook_name, results)
    write_csv(out / "grades.csv", results, [q for q, _ in grader.questions])
    return results


def write_csv(path: Path, results: list[Result], questions: list[str]) -> None:
    """One row per student: status, one column per question, total, message."""
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "status", *questions, "total", "message"])
        for r in sorted(results, key=lambda r: r.student):
            has_points = r.status in ("graded", "timed out") and bool(r.scores)
            cells = [f"{r.scores.get(q, 0.0):g}" if has_points else "" for q in questions]
            total = f"{sum(r.scores.values()):g}" if has_points else ""
            writer.writerow([r.student, r.status, *cells, total, r.message])
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Grade a folder of submitted notebooks.")
    parser.add_argument("submissions", type=Path, help="folder of submissions")
    parser.add_argument("--lab", required=True, help="lab id, e.g. ch01 (a folder of solutions/)")
    parser.add_argument("--out", type=Path, default=ROOT / "grades", help="output folder")
    parser.add_argument("--roster", type=Path, help="text file, one student id per line")
    parser.add_argument("--timeout", type=int, default=60, help="per-cell timeout in seconds")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--db", help="SQLAlchemy URL of the gradebook (default: out/gradebook.db)")
    args = parser.parse_args(argv)
    roster = None
    if args.roster:
        roster = [line.strip() for line in args.roster.read_text().splitlines() if line.strip()]
    try:
        results = grade_folder(args.submissions, args.lab, args.out, roster=roster,
                               cell_timeout=args.timeout, workers=args.workers, db_url=args.db)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    counts = {s: sum(r.status == s for r in results) for s in STATUSES}
    print(", ".join(f"{n} {s}" for s, n in counts.items() if n) or "no submissions found")
    print(f"wrote {args.out / 'grades.csv'} and {args.out / 'feedback'}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())

