"""A batch: grade every submission of a folder (in local worker processes, or as one task per
submission on a Dask distributed cluster), resume from stored results, write the CSV, the
feedback and the gradebook."""

from __future__ import annotations

import contextlib
import hashlib
import json
import multiprocessing
import socket
import time
import uuid
from collections.abc import Iterator
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
from course_tools.sandbox import SandboxError, bwrap_path


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
    # numbers as floats: --timeout 10 on the command line and cell_timeout=10 are one setting
    settings = json.dumps({"timeout": float(cell_timeout),
                           "budget": None if budget is None else float(budget), "policy": policy,
                           "limits": asdict(limits) if limits is not None else None},
                          sort_keys=True)
    return hashlib.sha256(f"{spec.fingerprint}\0{settings}".encode()).hexdigest()[:16]


RETRIES = 2             # Dask: more tries of a task that raised (see _on_dask)
CONNECT_TIMEOUT = 30    # seconds to reach the Dask scheduler
WORKER_TIMEOUT = 120    # seconds for the first Dask worker to join
CHECK_TIMEOUT = 600     # seconds for each worker's check (a cold worker imports the grader)


@dataclass
class _Job:
    """What every submission of a batch is graded with: :func:`grade_one`'s arguments after
    the student and the notebook, and what the client knows of the lab. Sent to Dask workers
    with each task (so it is plain data)."""

    lab: str
    solutions: str
    cell_timeout: float
    limits: object
    budget: float | None    # as given; None: from the master's time (after the preflight)
    policy: str
    root: str               # the submissions folder
    key: str                # the result key
    fingerprint: str        # the lab's fingerprint here (a Dask worker's must be the same)
    show_progress: bool
    workers: int            # how many submissions are graded at once

    def args(self, student: str, path: str | None, budget: float) -> tuple:
        return (student, path, self.lab, self.solutions, self.cell_timeout, self.limits,
                budget, self.policy, self.root, self.key)

    def budget_after(self, master_seconds: float) -> float:
        if self.budget is not None:
            return self.budget
        return max(MIN_BUDGET, BUDGET_FACTOR * master_seconds)

    def arrivals(self, futures: dict, done) -> Iterator[Result]:
        """The Result of each future of ``futures`` (future -> (student, digest)) in the order
        ``done`` yields them (as they complete), behind the progress bar; a future that failed
        for good is an ``error`` row."""
        if self.show_progress:
            from course_lib.train import progress

            done = progress(done, total=len(futures), desc=f"grading {self.lab}")
        for fut in done:
            student, digest = futures[fut]
            try:
                r = fut.result()
            except Exception as exc:  # a worker process died (every try), or the cluster went
                r = Result(student, "error", fingerprint=self.key,
                           message=f"grader error: {type(exc).__name__}: {str(exc)[:300]}")
            r.digest = digest
            yield r


def _on_processes(job: _Job, spec: LabSpec, todo: list) -> Iterator[Result]:
    """Grade ``todo`` in ``job.workers`` local processes (spawned, each with its sandbox slot),
    after the preflight here."""
    budget = job.budget_after(preflight(spec, job.cell_timeout, job.limits, job.policy))
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=max(1, min(job.workers, len(todo))), mp_context=ctx,
                             initializer=_worker_init) as pool:
        futures = {pool.submit(grade_one, *job.args(s, str(p) if p else None, budget)): (s, d)
                   for s, p, d in todo}
        yield from job.arrivals(futures, as_completed(futures))


_CHECKED: dict[tuple, str | None] = {}


def _worker_problem(job: _Job) -> str | None:
    """Why the Dask worker this runs on cannot grade as the client would, or None (checked
    once per worker process): one thread per process (one sandbox slot, so one uid, each),
    bubblewrap, the submissions and the solutions at the client's paths, and the same lab
    fingerprint (the master, course_lib, the grader, the Python's path and every installed
    distribution's version: what the result key is made of)."""
    cached = (job.lab, job.solutions, job.root, job.fingerprint)
    if cached not in _CHECKED:
        _CHECKED[cached] = _find_problem(job)
    return _CHECKED[cached]


def _find_problem(job: _Job) -> str | None:
    from distributed import get_worker

    threads = get_worker().state.nthreads
    if threads > 1:
        return (f"it runs {threads} threads; start Dask workers with --nthreads 1 (one "
                "submission at a time per process, each with its own sandbox uid)")
    try:
        bwrap_path()
    except SandboxError as exc:
        return str(exc)
    if not Path(job.root).is_dir():
        return (f"the submissions folder {job.root} is not on this machine (every worker needs "
                "it at the client's path, e.g. on a shared file system)")
    try:
        here = LabSpec(job.lab, Path(job.solutions)).fingerprint
    except (OSError, ValueError) as exc:
        return f"lab {job.lab} cannot be read from {job.solutions} here: {exc}"
    if here != job.fingerprint:
        return (f"its lab fingerprint is {here}, the client's {job.fingerprint}: the master, "
                "course_lib, the grader, where Python is installed or an installed package's "
                "version differ; install the same environment at the same path")
    return None


def _where() -> str:
    from distributed import get_worker

    return f"{get_worker().address} ({socket.gethostname()})"


def _check_task(job: _Job) -> str | None:
    why = _worker_problem(job)
    return f"worker {_where()}: {why}" if why else None


def _preflight_task(job: _Job) -> float:
    why = _worker_problem(job)
    if why:
        raise ValueError(f"worker {_where()}: {why}")
    return preflight(LabSpec(job.lab, Path(job.solutions)), job.cell_timeout, job.limits,
                     job.policy)


def _grade_task(job: _Job, student: str, path: str | None, budget: float) -> Result:
    """One Dask task: :func:`grade_one` of one submission on the worker (in its sandbox), once
    the worker is known to grade as the client would."""
    why = _worker_problem(job)
    if why:
        return Result(student, "error", fingerprint=job.key,
                      message=f"not graded on Dask worker {_where()}: {why}")
    return grade_one(*job.args(student, path, budget))


def _on_dask(job: _Job, todo: list, scheduler: str) -> Iterator[Result]:
    """Grade ``todo`` on the Dask cluster of ``scheduler``: every worker is checked first (a
    task pinned to each), then the preflight runs as a task (it tests the machines that
    grade, and times the master there for the budget), then one task per submission. A task
    whose worker dies is rescheduled by the scheduler (up to its
    ``distributed.scheduler.allowed-failures``, 3 by default, then ``KilledWorker``); a task
    that raised is tried ``RETRIES`` more times (:func:`grade_one` turns the submission's own
    failures into rows, so what raises is the worker's: an import, a full disk)."""
    try:
        from distributed import Client, wait
        from distributed import as_completed as dask_completed
    except ImportError as exc:
        raise ValueError("scheduler: grading on Dask needs the distributed package "
                         "(pip install -e '.[grading]')") from exc
    try:
        client = Client(scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except OSError as exc:
        raise ValueError(f"scheduler: no Dask scheduler answered at {scheduler} ({exc}); start "
                         "one with `dask scheduler` and workers with `dask worker "
                         f"{scheduler} --nthreads 1`") from exc
    with client, client.as_current():  # as_completed and wait find it
        try:
            client.wait_for_workers(1, timeout=WORKER_TIMEOUT)
        except TimeoutError as exc:
            raise ValueError(f"scheduler: no Dask worker joined {scheduler} within "
                             f"{WORKER_TIMEOUT} s (start them with `dask worker {scheduler} "
                             "--nthreads 1`)") from exc
        tag = uuid.uuid4().hex[:8]
        workers = client.scheduler_info(n_workers=-1)["workers"]
        checks = [client.submit(_check_task, job, key=f"check-{job.lab}-{i}-{tag}",
                                workers=[address], allow_other_workers=False)
                  for i, address in enumerate(workers)]
        with contextlib.suppress(TimeoutError):
            wait(checks, timeout=CHECK_TIMEOUT)
        problems = [check.result() if check.status == "finished" else
                    f"worker {address}: did not answer within {CHECK_TIMEOUT} s"
                    if check.status == "pending" else
                    f"worker {address}: its check failed: {check.exception()!r}"[:400]
                    for address, check in zip(workers, checks, strict=True)]
        problems = [why for why in problems if why]
        if problems:
            raise ValueError("scheduler: these Dask workers cannot grade as this machine "
                             "would: " + "; ".join(problems)[:2000])
        job.workers = sum(w["nthreads"] for w in workers.values())
        master = client.submit(_preflight_task, job, key=f"preflight-{job.lab}-{tag}")
        budget = job.budget_after(master.result())
        futures = {client.submit(_grade_task, job, s, str(p) if p else None, budget,
                                 key=f"grade-{job.lab}-{s}-{tag}", retries=RETRIES): (s, d)
                   for s, p, d in todo}
        yield from job.arrivals(futures, dask_completed(futures))


def grade_folder(submissions: Path, lab: str, out: Path, roster: list[str] | None = None,
                 cell_timeout: float = 60, workers: int = 1, db_url: str | None = None,
                 show_progress: bool = True, solutions: Path | None = None,
                 regrade: bool = False, limits=None, budget: float | None = None,
                 policy: str = "zero", scheduler: str | None = None) -> Batch:
    """Grade every submission in ``submissions`` (``workers`` at a time) and write
    ``out/grades.csv``, ``out/feedback/<student>.txt`` and ``.html``, ``out/results/`` (for
    resuming) and the gradebook (``out/gradebook.db`` unless ``db_url`` is given).
    Submissions whose stored result is for the same file and grader are not graded again
    (unless ``regrade``; "same grader" is :func:`result_key`: the master, course_lib, the
    grader, the environment and these settings). ``solutions`` defaults to the course's
    (:func:`~course_tools.paths.find_root`).

    With ``scheduler`` (a Dask scheduler's address, ``tcp://host:8786``) the submissions are
    graded on that Dask distributed cluster instead of ``workers`` local processes, one task
    (:func:`~course_tools.grading.run.grade_one`, in the worker's sandbox) per submission;
    this process still writes every output as the results arrive (:func:`_on_dask` says what
    each worker must have and how lost workers are handled).

    Before anything is graded, :func:`~course_tools.grading.run.preflight` grades the master
    itself in the sandbox (here, or on a Dask worker): when it does not earn full marks the
    batch stops with :class:`~course_tools.grading.run.PreflightFailed` and stores nothing.
    ``budget`` is each submission's wall-clock limit in seconds (default: ``BUDGET_FACTOR``
    times the master's time, at least ``MIN_BUDGET``); ``policy`` what a broken from-scratch
    rule costs (``"zero"`` or ``"flag"``, :mod:`~course_tools.grading.rules`). Returns a
    :class:`Batch`."""
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
    if scheduler is None:
        bwrap_path()  # fail early, with the fix, when bubblewrap is missing (Dask: each worker)
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
    job = _Job(lab, str(solutions), cell_timeout, limits, budget, policy, str(submissions), key,
               spec.fingerprint, show_progress, workers)
    if todo:
        graded = _on_processes(job, spec, todo) if scheduler is None else \
            _on_dask(job, todo, scheduler)
        for r in graded:
            save(r)
    write_csv(out / "grades.csv", list(results.values()), qids)
    prepared.result()  # its error, if any, now that the grades are safe on disk
    record_gradebook(db_url, spec, list(results.values()))
    ordered = [results[s] for s in sorted(results)]
    return Batch(ordered, sorted(s for s, _, _ in todo),
                 summary(ordered, len(todo), time.monotonic() - start, job.workers))
