"""Batch grading: a folder of submitted notebooks -> grades.csv, per-student feedback and
nbgrader's gradebook (SQLite by default, PostgreSQL or any SQLAlchemy URL with ``--db``).

How one submission is graded (the grader is trusted, the submission is not):

1. The notebook is read once into memory (the original is never opened for writing) and
   checked: valid JSON and nbformat, not larger than 20 MB, and from this lab.
2. Its code cells run, one by one, in a fresh IPython kernel in a sandbox
   (:mod:`course_lib.sandbox`: bubblewrap, no network, an unprivileged uid, no view of the
   course's files, the gradebook or other submissions; limits on memory, CPU time, file size,
   processes, output and wall-clock time per cell). The check cells (``# grade:``) are not run
   there: their hidden tests never enter the student's kernel.
3. For each graded question the grader runs, in its own process, the master's hidden tests
   (``assert check_x(fn, seed=s, quiet=True)``, or plain asserts) and the public check (for
   the feedback), with the student's functions replaced by proxies: each call sends copies of
   the arguments to the kernel and takes back plain arrays and numbers (validated; never
   pickle), so all comparisons use the grader's pristine numpy, torch and ``course_lib``.
   Monkeypatching in the kernel, printing fake results or faking ``CheckResult`` earn nothing.

Status of each row of ``grades.csv``:

==============  ==========================================================================
``graded``      ran to the end; per-question points are in the row
``timed out``   a cell or a call ran past its time limit and was stopped; the points of the
                questions that passed are kept
``kernel died`` the notebook's Python process died (``os._exit``, a crash, out of memory or
                CPU time); no points
``unreadable``  not a valid notebook (bad JSON, wrong format, too large)
``wrong lab``   a notebook of another lab (none of this lab's exercise cells)
``missing``     a student of the roster (or an empty folder) handed in nothing
``error``       the grader could not grade it (e.g. the sandbox did not start); see the message
==============  ==========================================================================

Only ``graded`` and ``timed out`` rows have points: a failed submission is never a plain zero.
A second run reuses the results of unchanged submissions (``out/results/``); ``--regrade``
grades everything again.

Usage: ``python -m course_lib.grading SUBMISSIONS --lab ch01 [--out grades/ch01] [--workers N]
[--roster FILE] [--db URL] [--timeout S] [--regrade]`` (``make grade SUBMISSIONS=dir LAB=ch01``).
"""

from __future__ import annotations

import argparse
import ast
import builtins
import csv
import hashlib
import html
import json
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from course_lib import sandbox
from course_lib.authoring import GRADE_RE, ROOT, SOLUTIONS, _tool_env, annotate

STATUSES = ("graded", "timed out", "kernel died", "unreadable", "wrong lab", "missing", "error")
WITH_POINTS = ("graded", "timed out")
NAME_RE = re.compile(r"[^A-Za-z0-9_.\-]+")
MAX_NOTEBOOK_BYTES = 20_000_000
HIDDEN_RE = re.compile(r"### BEGIN HIDDEN TESTS\n?(?P<hidden>.*?)### END HIDDEN TESTS", re.S)
GRADER_VERSION = "2"  # bump when a change of the grader must regrade stored results


@dataclass
class QuestionResult:
    """Feedback for one graded question."""

    points: float
    max_points: float
    checked: str      # what was checked (the check's description)
    passed: bool
    diagnostic: str   # the public check's message (public seed only) or why it could not run


@dataclass
class Result:
    """One student's outcome."""

    student: str
    status: str
    scores: dict[str, float] = field(default_factory=dict)
    max_scores: dict[str, float] = field(default_factory=dict)
    message: str = ""
    seconds: float = 0.0
    questions: dict[str, QuestionResult] = field(default_factory=dict)
    cell_errors: list[str] = field(default_factory=list)
    digest: str = ""
    fingerprint: str = ""

    @property
    def total(self) -> float | None:
        return sum(self.scores.values()) if self.status in WITH_POINTS else None

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> Result:
        data = dict(data)
        data["questions"] = {k: QuestionResult(**v) for k, v in data.get("questions", {}).items()}
        return cls(**data)


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


# --- the lab: what is graded and how (read from the master, trusted) ----------------------------

@dataclass
class Question:
    qid: str
    points: float
    public: str      # the check cell without its first line and hidden tests
    hidden: str      # the hidden tests


def _is_check_cell(cell) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    first = cell.source.lstrip().splitlines()[0] if cell.source.strip() else ""
    return bool(GRADE_RE.match(first)) or (meta.get("grade") is True and not meta.get("solution"))


class LabSpec:
    """The graded questions of a lab and the trusted namespace its tests run in."""

    def __init__(self, lab: str, solutions: Path = SOLUTIONS):
        self.lab = lab
        self.source = master_notebook(lab, Path(solutions))
        self.notebook_name = self.source.stem
        nb = nbformat.read(self.source, as_version=4)
        annotate(nb)
        self.nb = nb
        self.questions: list[Question] = []
        self.cell_ids: set[str] = set()
        imports = []
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade_id"):
                self.cell_ids.add(meta["grade_id"])
            if meta.get("grade"):
                match = HIDDEN_RE.search(cell.source)
                public = HIDDEN_RE.sub("", cell.source).split("\n", 1)
                self.questions.append(Question(meta["grade_id"], float(meta["points"]),
                                               public[1] if len(public) > 1 else "",
                                               match["hidden"] if match else ""))
            try:
                tree = ast.parse(cell.source)
            except SyntaxError:
                continue
            imports += [ast.unparse(n) for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
        self.imports = "\n".join(dict.fromkeys(imports))
        self.max_scores = {q.qid: q.points for q in self.questions}
        digest = hashlib.sha256(self.source.read_bytes())
        for name in ("grading.py", "sandbox.py", "checks/core.py", f"checks/{lab}.py"):
            path = Path(__file__).resolve().parent / name
            if path.exists():
                digest.update(path.read_bytes())
        digest.update(GRADER_VERSION.encode())
        self.fingerprint = digest.hexdigest()[:16]

    def namespace(self) -> dict:
        """The master's imports, executed in the grader (course_lib's checks, numpy, torch)."""
        ns: dict = {"__name__": "__grader__"}
        exec(compile(self.imports, f"<imports of {self.lab}>", "exec"), ns)  # noqa: S102 (trusted)
        return ns

    def student_names(self, code: str, ns: dict) -> set[str]:
        """Names a test reads that neither it, the master's imports nor builtins define: the
        student's functions."""
        tree = ast.parse(code)
        stored = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and
                  isinstance(n.ctx, ast.Store | ast.Del)}
        loaded = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and
                  isinstance(n.ctx, ast.Load)}
        return {n for n in loaded - stored if n not in ns and not hasattr(builtins, n)}

    def described(self, q: Question, ns: dict) -> str:
        """What a question checks: the first paragraph of its check's docstring."""
        names = {n.id for n in ast.walk(ast.parse(q.hidden)) if isinstance(n, ast.Name)}
        for name in sorted(names):
            fn = ns.get(name)
            if callable(fn) and hasattr(fn, "__wrapped__") and fn.__doc__:
                return " ".join(fn.__doc__.strip().split("\n\n")[0].split())
        n_asserts = sum(isinstance(n, ast.Assert) for n in ast.walk(ast.parse(q.hidden)))
        targets = ", ".join(sorted(self.student_names(q.hidden, ns))) or "your code"
        return f"hidden tests of {targets} ({n_asserts} assertions)"


# --- grading one submission ----------------------------------------------------------------

def read_submission(student: str, path: Path | None, spec: LabSpec) -> tuple[object, Result | None]:
    """The submitted notebook, or a finished Result (missing, unreadable, wrong lab)."""
    if path is None:
        return None, Result(student, "missing", message="no notebook handed in")
    try:
        if path.stat().st_size > MAX_NOTEBOOK_BYTES:
            return None, Result(student, "unreadable", message="notebook larger than 20 MB")
        nb = nbformat.reads(path.read_bytes().decode("utf-8"), as_version=4)
        nbformat.validate(nb)
    except Exception as exc:
        return None, Result(student, "unreadable",
                            message=f"not a valid notebook: {type(exc).__name__}: {str(exc)[:200]}")
    ids = {c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in nb.cells} - {None}
    if ids and not ids & spec.cell_ids:
        return None, Result(student, "wrong lab",
                            message=f"this notebook is not lab {spec.lab}: none of its exercise "
                                    f"cells ({', '.join(sorted(spec.cell_ids))}) is in it")
    return nb, None


def _run_public(code: str, ns: dict) -> str:
    """Run a check cell's public part in the grader and return its diagnosis (check calls get
    ``quiet=True``; what ``print`` prints is collected)."""
    printed: list[str] = []
    ns = dict(ns, print=lambda *a, **k: printed.append(" ".join(str(x) for x in a)))
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return ""
    messages: list[str] = []
    for node in tree.body:
        call = node.value if isinstance(node, ast.Expr) else None
        fn = ns.get(call.func.id) if isinstance(call, ast.Call) and \
            isinstance(call.func, ast.Name) else None
        try:
            if fn is not None and hasattr(fn, "__wrapped__"):
                call.keywords.append(ast.keyword("quiet", ast.Constant(True)))
                expr = ast.fix_missing_locations(ast.Expression(call))
                result = eval(compile(expr, "<check>", "eval"), ns)  # noqa: S307
                messages += list(getattr(result, "messages", []))
            else:
                exec(compile(ast.Module([node], []), "<check>", "exec"), ns)  # noqa: S102
        except (sandbox.KernelDied, sandbox.CallTimeout):
            raise
        except Exception as exc:
            messages.append(f"{type(exc).__name__}: {str(exc)[:300]}")
    return " | ".join(messages + printed)[:800]


def grade_notebook(student: str, nb, spec: LabSpec, slot: int, cell_timeout: float = 60,
                   limits=None) -> Result:
    """Run a (read and validated) notebook in a sandboxed kernel and grade each question."""
    result = Result(student, "graded", max_scores=dict(spec.max_scores))
    ns = spec.namespace()
    wall = cell_timeout * (len(nb.cells) + 2 * len(spec.questions)) + 60
    start = time.monotonic()
    timed_out: list[str] = []
    try:
        kernel = sandbox.SandboxKernel(slot=slot, limits=limits)
        kernel.start()
    except sandbox.SandboxError as exc:
        return Result(student, "error", message=str(exc)[:600])
    with kernel:
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or not cell.source.strip() or _is_check_cell(cell):
                continue
            left = wall - (time.monotonic() - start)
            if left <= 0:
                timed_out.append("the notebook as a whole")
                break
            out = kernel.execute(cell.source, timeout=min(cell_timeout, left))
            if out.status == "died":
                return Result(student, "kernel died", max_scores=result.max_scores,
                              message=f"the notebook's Python process died in cell {index + 1} "
                                      "(os._exit, a crash, out of memory or CPU time)",
                              cell_errors=result.cell_errors)
            if out.status in ("timed out", "output too large"):
                timed_out.append(f"cell {index + 1}" + (" (it printed more than the output "
                                                        "limit)" if out.status != "timed out"
                                                        else ""))
                result.cell_errors.append(f"cell {index + 1}: {out.status}, stopped")
                if not kernel.alive():
                    return Result(student, "timed out", max_scores=result.max_scores,
                                  scores={q: 0.0 for q in spec.max_scores},
                                  message=f"cell {index + 1} ran longer than {cell_timeout:g} s "
                                          "and could not be interrupted",
                                  cell_errors=result.cell_errors)
            elif out.status == "error":
                result.cell_errors.append(f"cell {index + 1}: {out.error}")
        functions = sandbox.KernelFunctions(kernel, call_timeout=cell_timeout)
        died = False
        for q in spec.questions:
            checked = spec.described(q, ns)
            qns = dict(ns)
            for name in spec.student_names(q.hidden + "\n" + q.public, ns):
                qns[name] = functions.proxy(name)
            diagnostic, passed = "", False
            if died:
                diagnostic = "not run: the kernel had died"
            else:
                try:
                    diagnostic = _run_public(q.public, qns)
                    exec(compile(q.hidden, f"<hidden tests of {q.qid}>", "exec"), qns)  # noqa: S102
                    passed = True
                except sandbox.KernelDied:
                    died = True
                    diagnostic = "the kernel died while running your function"
                except sandbox.CallTimeout as exc:
                    timed_out.append(q.qid)
                    diagnostic = str(exc)
                except NameError as exc:  # a deleted or renamed exercise
                    diagnostic = diagnostic or str(exc)
                except Exception:  # a failed assertion or check: no detail (hidden values)
                    pass
            result.scores[q.qid] = q.points if passed else 0.0
            result.questions[q.qid] = QuestionResult(result.scores[q.qid], q.points, checked,
                                                     passed, diagnostic)
        if died and not timed_out:
            return Result(student, "kernel died", max_scores=result.max_scores,
                          questions=result.questions, cell_errors=result.cell_errors,
                          message="the notebook's Python process died while its functions "
                                  "were tested")
    if timed_out:
        result.status = "timed out"
        result.message = f"stopped at the time limit ({cell_timeout:g} s per cell or call): " + \
            ", ".join(timed_out)
    return result


_SLOT: int | None = None
_SPECS: dict[tuple[str, str], LabSpec] = {}


def _worker_init() -> None:
    global _SLOT
    import torch

    from course_lib.sandbox import acquire_slot

    torch.set_num_threads(1)
    _SLOT = acquire_slot()


def grade_one(student: str, path: str | None, lab: str, solutions: str, cell_timeout: float,
              limits=None) -> Result:
    """Grade one submission (in a worker process)."""
    global _SLOT
    if _SLOT is None:
        _worker_init()
    key = (lab, solutions)
    if key not in _SPECS:
        _SPECS[key] = LabSpec(lab, Path(solutions))
    spec = _SPECS[key]
    start = time.monotonic()
    nb, done = read_submission(student, Path(path) if path else None, spec)
    if done is None:
        try:
            done = grade_notebook(student, nb, spec, _SLOT, cell_timeout, limits)
        except Exception as exc:  # a grader bug must cost one row, not the batch
            done = Result(student, "error", message=f"grader error: {type(exc).__name__}: "
                                                    f"{str(exc)[:400]}")
    done.seconds = round(time.monotonic() - start, 3)
    done.fingerprint = spec.fingerprint
    if done.status not in WITH_POINTS:
        done.scores = {}
    done.max_scores = dict(spec.max_scores)
    return done


# --- outputs ---------------------------------------------------------------------------------

def feedback_text(lab: str, r: Result) -> str:
    lines = [f"Lab {lab}, student {r.student}: {r.status}"]
    if r.message:
        lines.append(r.message)
    if r.status in WITH_POINTS:
        for qid, q in r.questions.items():
            mark = "passed" if q.passed else "not passed"
            lines.append(f"  {qid}: {q.points:g} / {q.max_points:g}  ({mark})")
            lines.append(f"      checked: {q.checked}")
            if q.diagnostic:
                lines.append(f"      your check says: {q.diagnostic}")
        lines.append(f"  total: {sum(r.scores.values()):g} / {sum(r.max_scores.values()):g}")
    if r.cell_errors:
        lines.append("Cells that raised an error or were stopped:")
        lines += [f"  {e}" for e in r.cell_errors[:20]]
    return "\n".join(lines) + "\n"


def feedback_html(lab: str, r: Result) -> str:
    esc = html.escape
    rows = "".join(
        f"<tr class='{'pass' if q.passed else 'fail'}'><td>{esc(qid)}</td>"
        f"<td>{'passed' if q.passed else 'not passed'}</td><td>{q.points:g} / {q.max_points:g}"
        f"</td><td>{esc(q.checked)}</td><td>{esc(q.diagnostic)}</td></tr>"
        for qid, q in r.questions.items()) if r.status in WITH_POINTS else ""
    total = (f"<p>Total: {sum(r.scores.values()):g} / {sum(r.max_scores.values()):g}</p>"
             if r.status in WITH_POINTS else "")
    errors = "".join(f"<li>{esc(e)}</li>" for e in r.cell_errors[:20])
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{esc(lab)}: "
            f"{esc(r.student)}</title><style>body{{font-family:sans-serif;max-width:60em}}"
            "td,th{border:1px solid #ccc;padding:4px;vertical-align:top}"
            ".pass td:nth-child(2){color:#060}.fail td:nth-child(2){color:#a00}</style></head>"
            f"<body><h1>Lab {esc(lab)}: feedback for {esc(r.student)}</h1>"
            f"<p>Status: <b>{esc(r.status)}</b>. {esc(r.message)}</p>"
            + (f"<table><tr><th>question</th><th>result</th><th>points</th><th>what was checked"
               f"</th><th>your check's message (public example)</th></tr>{rows}</table>"
               if rows else "")
            + total + (f"<h2>Cells with errors</h2><ul>{errors}</ul>" if errors else "")
            + "</body></html>\n")


def write_csv(path: Path, results: list[Result], questions: list[str]) -> None:
    """One row per student: status, one column per question, total, seconds, message."""
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "status", *questions, "total", "seconds", "message"])
        for r in sorted(results, key=lambda r: r.student):
            has_points = r.status in WITH_POINTS
            cells = [f"{r.scores.get(q, 0.0):g}" if has_points else "" for q in questions]
            total = f"{sum(r.scores.values()):g}" if has_points else ""
            writer.writerow([r.student, r.status, *cells, total, f"{r.seconds:.2f}", r.message])
    tmp.replace(path)


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


def _digest(path: Path | None) -> str:
    if path is None:
        return "missing"
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "unreadable"


def grade_folder(submissions: Path, lab: str, out: Path, roster: list[str] | None = None,
                 cell_timeout: float = 60, workers: int = 1, db_url: str | None = None,
                 show_progress: bool = True, solutions: Path = SOLUTIONS,
                 regrade: bool = False, limits=None) -> list[Result]:
    """Grade every submission in ``submissions`` (``workers`` at a time) and write
    ``out/grades.csv``, ``out/feedback/<student>.txt`` and ``.html``, ``out/results/`` (for
    resuming) and the gradebook (``out/gradebook.db`` unless ``db_url`` is given).
    Submissions whose stored result is for the same file and grader are not graded again
    (unless ``regrade``). Returns one :class:`Result` per student."""
    submissions = Path(submissions).resolve()
    out = Path(out).resolve()
    if out == submissions or submissions in out.parents:
        raise ValueError("out: must not be inside the submissions folder")
    found = find_submissions(submissions)
    for name in roster or []:
        found.setdefault(student_id(name), None)
    spec = LabSpec(lab, Path(solutions))
    from course_lib.sandbox import bwrap_path

    bwrap_path()  # fail early, with the fix, when bubblewrap is missing
    for sub in ("feedback", "results"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    results: dict[str, Result] = {}
    todo = []
    for student, path in sorted(found.items()):
        digest = _digest(path)
        stored = out / "results" / f"{student}.json"
        if not regrade and stored.exists():
            try:
                old = Result.from_json(json.loads(stored.read_text()))
                if old.digest == digest and old.fingerprint == spec.fingerprint:
                    results[student] = old
                    continue
            except (ValueError, TypeError, KeyError):
                pass
        todo.append((student, path, digest))
    qids = [q.qid for q in spec.questions]

    def save(r: Result) -> None:  # as results arrive: an interrupted batch loses nothing
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
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=max(1, min(workers, len(todo))), mp_context=ctx,
                                 initializer=_worker_init) as pool:
            futures = {pool.submit(grade_one, s, str(p) if p else None, lab, str(solutions),
                                   cell_timeout, limits): (s, d) for s, p, d in todo}
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
                               fingerprint=spec.fingerprint)
                r.digest = digest
                save(r)
    write_csv(out / "grades.csv", list(results.values()), qids)
    prepared.result()  # its error, if any, now that the grades are safe on disk
    record_gradebook(db_url, spec, list(results.values()))
    ordered = [results[s] for s in sorted(results)]
    grade_folder.last_graded = sorted(s for s, _, _ in todo)
    grade_folder.last_summary = summary(ordered, len(todo), time.monotonic() - start, workers)
    return ordered


def summary(results: list[Result], n_graded_now: int, seconds: float, workers: int) -> str:
    counts = {s: sum(r.status == s for r in results) for s in STATUSES}
    line = ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "no submissions found"
    now = [r for r in results if r.seconds]
    per = sum(r.seconds for r in now) / len(now) if now else 0.0
    return (f"{line}\n{n_graded_now} graded in this run, {len(results) - n_graded_now} reused; "
            f"{seconds:.1f} s with {workers} worker(s), {per:.1f} s per submission")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Grade a folder of submitted notebooks.")
    parser.add_argument("submissions", type=Path, help="folder of submissions")
    parser.add_argument("--lab", required=True, help="lab id, e.g. ch01 (a folder of solutions/)")
    parser.add_argument("--out", type=Path, default=ROOT / "grades", help="output folder")
    parser.add_argument("--roster", type=Path, help="text file, one student id per line")
    parser.add_argument("--timeout", type=float, default=60,
                        help="time limit of each cell and each call in seconds")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--db", help="SQLAlchemy URL of the gradebook (default: out/gradebook.db)")
    parser.add_argument("--regrade", action="store_true", help="ignore stored results")
    parser.add_argument("--solutions", type=Path, default=SOLUTIONS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    roster = None
    if args.roster:
        roster = [line.strip() for line in args.roster.read_text().splitlines() if line.strip()]
    try:
        grade_folder(args.submissions, args.lab, args.out, roster=roster,
                     cell_timeout=args.timeout, workers=args.workers, db_url=args.db,
                     solutions=args.solutions, regrade=args.regrade)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(grade_folder.last_summary)
    print(f"wrote {args.out / 'grades.csv'} and {args.out / 'feedback'}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
