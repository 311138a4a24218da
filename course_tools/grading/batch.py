"""A batch: grade every submission of a folder (in worker processes), resume from stored
results, write the CSV, the feedback and the gradebook."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path

from course_tools.grading.gradebook import prepare_gradebook, record_gradebook
from course_tools.grading.reports import feedback_html, feedback_text, summary, write_csv
from course_tools.grading.results import Result, find_submissions, student_id
from course_tools.grading.rules import POLICIES
from course_tools.grading.run import _worker_init, grade_one, preflight
from course_tools.grading.spec import LabSpec
from course_tools.paths import find_root
from course_tools.sandbox import bwrap_path


@dataclass
class Batch:
    """What :func:`grade_folder` returns."""

    results: list[Result]   # one per student, sorted by student id
    graded: list[str]       # the students graded in this run (the others were reused)
    summary: str            # counts by status, graded/reused, time


def _digest(path: Path | None) -> str:
    if path is None:
        return "missing"
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "unreadable"


MIN_BUDGET = 120.0      # seconds: the smallest default budget of one submission
BUDGET_FACTOR = 3.0     # the default budget is this many times the master's own time


def result_key(spec: LabSpec, cell_timeout: float, budget: float | None, policy: str,
               limits) -> str:
    """The key a stored result must carry to be reused: the lab's fingerprint (the master,
    course_lib, the grader, the environment) and the grading settings."""
    settings = json.dumps({"timeout": cell_timeout, "budget": budget, "policy": policy,
                           "limits": asdict(limits) if limits is not None else None},
                          sort_keys=True)
    return hashlib.sha256(f"{spec.fingerprint}\0{settings}".encode()).hexdigest()[:16]


def grade_folder(submissions: Path, lab: str, out: Path, roster: list[str] | None = None,
                 cell_timeout: float = 60, workers: int = 1, db_url: str | None = None,
                 show_progress: bool = True, solutions: Path | None = None,
                 regrade: bool = False, limits=None, budget: float | None = None,
                 policy: str = "zero") -> Batch:
    """Grade every submission in ``submissions`` (``workers`` at a time) and write
    ``out/grades.csv``, ``out/feedback/<student>.txt`` and ``.html``, ``out/results/`` (for
    resuming) and the gradebook (``out/gradebook.db`` unless ``db_url`` is given).
    Submissions whose stored result is for the same file and grader are not graded again
    (unless ``regrade``; "same grader" is :func:`result_key`: the master, course_lib, the
    grader, the environment and these settings). ``solutions`` defaults to the course's
    (:func:`~course_tools.paths.find_root`).

    Before anything is graded, :func:`~course_tools.grading.run.preflight` grades the master
    itself in the sandbox: when it does not earn full marks the batch stops with
    :class:`~course_tools.grading.run.PreflightFailed` and stores nothing. ``budget`` is each
    submission's wall-clock limit in seconds (default: ``BUDGET_FACTOR`` times the master's
    time, at least ``MIN_BUDGET``); ``policy`` what a broken from-scratch rule costs
    (``"zero"`` or ``"flag"``, :mod:`~course_tools.grading.rules`). Returns a :class:`Batch`."""
    if policy not in POLICIES:
        raise ValueError(f"policy: expected one of {POLICIES}, got {policy!r}")
    if budget is not None and not budget > 0:
        raise ValueError(f"budget: expected a positive number of seconds, got {budget!r}")
    submissions = Path(submissions).resolve()
    out = Path(out).resolve()
    if out == submissions or submissions in out.parents:
        raise ValueError("out: must not be inside the submissions folder")
    solutions = (find_root() / "solutions" if solutions is None else Path(solutions)).resolve()
    spec = LabSpec(lab, solutions)
    notes: dict[str, str] = {}  # what was graded where a student's folder held a choice
    found = find_submissions(submissions, lab, f"{spec.notebook_name}.ipynb", notes)
    for name in roster or []:
        found.setdefault(student_id(name), None)
    bwrap_path()  # fail early, with the fix, when bubblewrap is missing
    for sub in ("feedback", "results"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    results: dict[str, Result] = {}
    key = result_key(spec, cell_timeout, budget, policy, limits)
    todo = []
    for student, path in sorted(found.items()):
        digest = _digest(path)
        stored = out / "results" / f"{student}.json"
        if not regrade and stored.exists():
            try:
                old = Result.from_json(json.loads(stored.read_text()))
                if old.digest == digest and old.fingerprint == key and old.status != "error":
                    results[student] = old
                    continue
            except (ValueError, TypeError, KeyError):
                pass
        todo.append((student, path, digest))
    qids = [q.qid for q in spec.questions]

    def save(r: Result) -> None:  # as results arrive: an interrupted batch loses nothing
        note = notes.get(r.student, "")
        if note and note not in r.message:
            r.message = f"{r.message}; {note}" if r.message else note
        results[r.student] = r
        (out / "results" / f"{r.student}.json").write_text(json.dumps(r.to_json()))
        (out / "feedback" / f"{r.student}.txt").write_text(feedback_text(lab, r))
        (out / "feedback" / f"{r.student}.html").write_text(feedback_html(lab, r))
        write_csv(out / "grades.csv", list(results.values()), qids)

    if db_url is None:
        db_path = out / "gradebook.db"
        db_path.unlink(missing_ok=True)
        db_url = f"sqlite:///{db_path}"
    background = ThreadPoolExecutor(max_workers=1)  # the gradebook is made while we grade
    prepared = background.submit(prepare_gradebook, db_url, spec)
    background.shutdown(wait=False)
    start = time.monotonic()
    if todo:
        master_seconds = preflight(spec, cell_timeout, limits, policy)
        if budget is None:
            budget = max(MIN_BUDGET, BUDGET_FACTOR * master_seconds)
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=max(1, min(workers, len(todo))), mp_context=ctx,
                                 initializer=_worker_init) as pool:
            futures = {pool.submit(grade_one, s, str(p) if p else None, lab, str(solutions),
                                   cell_timeout, limits, budget, policy, str(submissions),
                                   key): (s, d) for s, p, d in todo}
            done = as_completed(futures)
            if show_progress:
                from course_lib.train import progress

                done = progress(done, total=len(futures), desc=f"grading {lab}")
            for fut in done:
                student, digest = futures[fut]
                try:
                    r = fut.result()
                except Exception as exc:  # a worker process died
                    r = Result(student, "error", message=f"grader error: {type(exc).__name__}",
                               fingerprint=key)
                r.digest = digest
                save(r)
    write_csv(out / "grades.csv", list(results.values()), qids)
    prepared.result()  # its error, if any, now that the grades are safe on disk
    record_gradebook(db_url, spec, list(results.values()))
    ordered = [results[s] for s in sorted(results)]
    return Batch(ordered, sorted(s for s, _, _ in todo),
                 summary(ordered, len(todo), time.monotonic() - start, workers))
