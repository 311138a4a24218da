"""Grading one submission: read and check the notebook, run its code cells in a sandboxed
kernel, then run each question's public check and hidden tests in the grader with the
student's functions replaced by proxies into the kernel (see :mod:`course_tools.grading`)."""

from __future__ import annotations

import ast
import os
import stat
import time
from pathlib import Path

import nbformat

from course_tools import sandbox
from course_tools.grading import rules
from course_tools.grading.results import WITH_POINTS, PartResult, QuestionResult, Result
from course_tools.grading.rules import POLICIES
from course_tools.grading.spec import LabSpec
from course_tools.labspec import is_check_cell

MAX_NOTEBOOK_BYTES = 20_000_000


def _refused(path: Path, root: Path | None) -> str | None:
    """Why ``path`` must not be read (a link, or a file outside ``root``), or None."""
    if path.is_symlink():
        return "the submission is a symbolic link; links are never followed"
    if root is not None:
        root = Path(root).absolute()
        for parent in Path(path).absolute().parents:
            if parent == root:
                break
            if parent.is_symlink():
                return "the submission is inside a symbolically linked folder; links are " \
                       "never followed"
        if root.resolve() not in Path(path).resolve().parents:
            return "the submission resolves to a file outside the submissions folder"
    return None


def _read_no_follow(path: Path) -> bytes:
    """The bytes of the regular file ``path``, opened without following a link (no race
    between the checks above and the read)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError("not a regular file")
        if info.st_nlink > 1:
            raise ValueError("a hard link to another file; hand in a copy")
        if info.st_size > MAX_NOTEBOOK_BYTES:
            raise ValueError("notebook larger than 20 MB")
        with os.fdopen(fd, "rb") as f:
            fd = -1
            return f.read(MAX_NOTEBOOK_BYTES + 1)
    finally:
        if fd >= 0:
            os.close(fd)


def read_submission(student: str, path: Path | None, spec: LabSpec,
                    root: Path | None = None) -> tuple[object, Result | None]:
    """The submitted notebook, or a finished Result (missing, unreadable, wrong lab).

    ``root`` is the submissions folder: a symbolic link, a file in a linked folder, a hard
    link or a file that resolves outside ``root`` is ``unreadable`` with that reason."""
    if path is None:
        return None, Result(student, "missing", message="no notebook handed in")
    why = _refused(Path(path), root)
    if why:
        return None, Result(student, "unreadable", message=why)
    try:
        data = _read_no_follow(Path(path))
    except OSError as exc:
        return None, Result(student, "unreadable", message=f"cannot be read: {exc.strerror}")
    except ValueError as exc:
        return None, Result(student, "unreadable", message=str(exc))
    try:
        nb = nbformat.reads(data.decode("utf-8"), as_version=4)
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


def _run_parts(q, ns: dict, parts: list[PartResult]) -> str:
    """Run each named part of ``q``'s hidden tests in its own copy of ``ns`` and append a
    :class:`PartResult` per part to ``parts`` as it finishes (so a submission stopped by the
    sandbox keeps the parts it passed). A failed assertion fails its part only; the sandbox's
    own exceptions (a call past its time, the kernel died, the budget) stop the question.
    Returns the message of a ``NameError`` (a deleted or renamed function), or ""."""
    missing = ""
    for part in q.parts:
        passed = False
        try:
            exec(compile(part.code, f"<hidden tests of {q.qid}: {part.name}>", "exec"),  # noqa: S102
                 dict(ns))
            passed = True
        except (sandbox.BudgetExhausted, sandbox.KernelDied, sandbox.CallTimeout):
            raise
        except NameError as exc:
            missing = missing or str(exc)
        except Exception:  # a failed assertion or check: no detail (hidden values)
            pass
        parts.append(PartResult(part.name, part.points if passed else 0.0, part.points, passed))
    return missing


def _run_public(code: str, ns: dict, verdicts: list | None = None) -> str:
    """Run a check cell's public part in the grader and return its diagnosis (check calls get
    ``quiet=True``; what ``print`` prints is collected). ``verdicts`` collects whether each
    check call passed (``False`` for a statement that raised)."""
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
                if verdicts is not None:
                    verdicts.append(bool(result))
            else:
                exec(compile(ast.Module([node], []), "<check>", "exec"), ns)  # noqa: S102
        except (sandbox.KernelDied, sandbox.CallTimeout):
            raise
        except Exception as exc:
            messages.append(f"{type(exc).__name__}: {str(exc)[:300]}")
            if verdicts is not None:
                verdicts.append(False)
    return " | ".join(messages + printed)[:800]


def _code_sources(nb) -> list[str]:
    """The submission's code cells that run in the kernel (not its check cells)."""
    return [c.source for c in nb.cells if c.cell_type == "code" and c.source.strip() and
            not is_check_cell(c.source, c.get("metadata"))]


def grade_notebook(student: str, nb, spec: LabSpec, slot: int, cell_timeout: float = 60,
                   limits=None, budget: float | None = None, policy: str = "zero",
                   public_only: bool = False, kernel_class=None) -> Result:
    """Run a (read and validated) notebook in a sandboxed kernel and grade each question.

    ``budget`` is the whole submission's wall-clock limit in seconds (its cells and every call
    of its functions; by default ``cell_timeout`` times the number of cells and calls): when it
    runs out the kernel is stopped, the status is ``timed out`` and the questions graded
    before keep their points. A question whose marker states a rule (``numpy only``) and whose
    function breaks it (:mod:`course_tools.grading.rules`) is zeroed (``policy="zero"``) or
    keeps its points with a flag (``"flag"``); the reason is in ``Result.flags``.

    ``public_only=True`` is ``make check`` (:mod:`course_tools.grading.check`): no hidden test
    runs, and a question passes when it calls public checks and all of them pass.
    ``kernel_class`` replaces :class:`~course_tools.sandbox.SandboxKernel` (``make check`` on a
    machine without bubblewrap)."""
    if policy not in POLICIES:
        raise ValueError(f"policy: expected one of {POLICIES}, got {policy!r}")
    result = Result(student, "graded", max_scores=dict(spec.max_scores))
    ns = spec.namespace()
    sources = _code_sources(nb)
    if budget is None:
        budget = cell_timeout * (len(nb.cells) + 2 * len(spec.questions)) + 60
    start = time.monotonic()
    deadline = start + budget
    timed_out: list[str] = []
    out_of_time = False
    try:
        kernel = (kernel_class or sandbox.SandboxKernel)(slot=slot, limits=limits)
        kernel.start()
    except sandbox.SandboxError as exc:
        return Result(student, "error", message=str(exc)[:600])
    with kernel:
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or not cell.source.strip() or \
                    is_check_cell(cell.source, cell.get("metadata")):
                continue
            left = deadline - time.monotonic()
            if left <= 0:
                out_of_time = True
                break
            out = kernel.execute(cell.source, timeout=min(cell_timeout, left),
                                 grace=10 if left > cell_timeout else 1)
            if out.status == "died":
                return Result(student, "kernel died", max_scores=result.max_scores,
                              message=f"the notebook's Python process died in cell {index + 1} "
                                      "(os._exit, a crash, out of memory or CPU time)",
                              cell_errors=result.cell_errors)
            if out.status in ("timed out", "output too large"):
                if out.status == "timed out" and left <= cell_timeout:
                    result.cell_errors.append(f"cell {index + 1}: stopped when the "
                                              "submission's time budget ran out")
                    out_of_time = True
                    break
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
        functions.deadline = deadline
        died = False
        for q in spec.questions:
            checked = spec.described(q, ns)
            qns = dict(ns)
            names = spec.student_names(q.hidden + "\n" + q.public, ns)
            for name in names:
                qns[name] = functions.proxy(name)
            functions.trace, functions.used = bool(q.rule), []
            diagnostic, passed, parts = "", False, []
            if out_of_time:
                diagnostic = "not run: the submission's time budget ran out"
            elif died:
                diagnostic = "not run: the kernel had died"
            else:
                verdicts: list[bool] = []
                try:
                    diagnostic = _run_public(q.public, qns, verdicts)
                    if public_only:  # make check: the public checks' verdict, no hidden test
                        passed = bool(verdicts) and all(verdicts)
                    else:
                        missing = _run_parts(q, qns, parts)
                        passed = all(p.passed for p in parts)
                        diagnostic = diagnostic or missing
                except sandbox.BudgetExhausted:
                    out_of_time = True
                    diagnostic = "stopped: the submission's time budget ran out"
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
                if functions.exhausted:  # a check may have caught the error as the student's
                    out_of_time, passed = True, False
                    diagnostic = "stopped: the submission's time budget ran out"
            points = sum(p.points for p in parts if p.passed)
            done = {p.name for p in parts}  # parts not reached (stopped) did not pass
            parts += [PartResult(p.name, 0.0, p.points, False) for p in q.parts
                      if p.name not in done]
            if q.rule and not out_of_time and not died:
                reasons = [r for name in sorted(names)
                           for r in rules.static_uses(sources, name, q.rule)]
                reasons += [r for r in rules.traced_uses(functions.used, q.rule)
                            if r not in reasons]
                if reasons:
                    result.flags[q.qid] = (f"breaks the rule '{q.rule}': " +
                                           "; ".join(reasons))[:600]
                    if policy == "zero":
                        points = 0.0
                        parts = [PartResult(p.name, 0.0, p.max_points, p.passed) for p in parts]
                    diagnostic = (f"{'zeroed' if policy == 'zero' else 'flagged for review'}: "
                                  f"{result.flags[q.qid]}" + (f" | {diagnostic}" if diagnostic
                                                               else ""))[:800]
            result.scores[q.qid] = points
            result.questions[q.qid] = QuestionResult(points, q.points, checked, passed,
                                                     diagnostic,
                                                     parts if len(q.parts) > 1 else [])
        if died and not timed_out and not out_of_time:
            return Result(student, "kernel died", max_scores=result.max_scores,
                          questions=result.questions, cell_errors=result.cell_errors,
                          message="the notebook's Python process died while its functions "
                                  "were tested")
    if out_of_time:
        result.status = "timed out"
        result.message = (f"stopped when the submission's time budget of {budget:.0f} s ran out;"
                          " the questions graded before keep their points")
    elif timed_out:
        result.status = "timed out"
        result.message = f"stopped at the time limit ({cell_timeout:g} s per cell or call): " + \
            ", ".join(timed_out)
    return result


_SLOT: int | None = None
_SPECS: dict[tuple[str, str], LabSpec] = {}


def _worker_init() -> None:
    global _SLOT
    import torch

    torch.set_num_threads(1)
    _SLOT = sandbox.acquire_slot()


def grade_one(student: str, path: str | None, lab: str, solutions: str, cell_timeout: float,
              limits=None, budget: float | None = None, policy: str = "zero",
              root: str | None = None, key: str = "") -> Result:
    """Grade one submission (in a worker process); ``root`` is the submissions folder (links
    and files outside it are refused), ``key`` the batch's result key."""
    global _SLOT
    if _SLOT is None:
        _worker_init()
    spec_key = (lab, solutions)
    if spec_key not in _SPECS:
        _SPECS[spec_key] = LabSpec(lab, Path(solutions))
    spec = _SPECS[spec_key]
    start = time.monotonic()
    nb, done = read_submission(student, Path(path) if path else None, spec,
                               Path(root) if root else None)
    if done is None:
        try:
            done = grade_notebook(student, nb, spec, _SLOT, cell_timeout, limits, budget, policy)
        except Exception as exc:  # a grader bug must cost one row, not the batch
            done = Result(student, "error", message=f"grader error: {type(exc).__name__}: "
                                                    f"{str(exc)[:400]}")
    done.seconds = round(time.monotonic() - start, 3)
    done.fingerprint = key or spec.fingerprint
    if done.status not in WITH_POINTS:
        done.scores = {}
    done.max_scores = dict(spec.max_scores)
    return done


class PreflightFailed(RuntimeError):
    """The master lab does not earn full marks in the sandbox: grading would be wrong for
    everyone (a broken install, a ``course_lib`` the sandbox cannot see, a wrong rule)."""


def preflight(spec: LabSpec, cell_timeout: float = 60, limits=None,
              policy: str = "zero") -> float:
    """Grade the master lab itself in the sandbox, as a submission; return its seconds.

    It must earn every point with no rule broken and no cell error; otherwise this raises
    :class:`PreflightFailed` saying what went wrong, and nothing is graded or stored."""
    slot = sandbox.acquire_slot()
    try:
        start = time.monotonic()
        try:
            r = grade_notebook("the master lab", spec.nb, spec, slot, cell_timeout, limits,
                               None, policy)
        except Exception as exc:
            raise PreflightFailed(f"the master of {spec.lab} could not be graded: "
                                  f"{type(exc).__name__}: {exc}") from exc
        seconds = time.monotonic() - start
    finally:
        sandbox.release_slot(slot)
    problems = []
    if r.status != "graded":
        problems.append(f"status {r.status}: {r.message}")
    problems += [f"{qid}: {r.flags[qid]}" for qid in r.flags]
    problems += [f"{qid}: {q.points:g} / {q.max_points:g} ({q.diagnostic or 'hidden tests failed'})"
                 for qid, q in r.questions.items() if q.points < q.max_points and qid not in r.flags]
    # a cell that cannot import is a broken installation; other cell errors of the master
    # (an experiment that calls a reference directly, which the sandbox refuses) cost nothing
    problems += [e for e in r.cell_errors if "ImportError" in e or "ModuleNotFoundError" in e][:5]
    if problems:
        raise PreflightFailed(
            f"the master of {spec.lab} does not earn full marks in the grading sandbox, so "
            "nothing was graded: " + "; ".join(problems)[:1500] +
            ". Check the installation (make install), that course_lib imports in the sandbox, "
            "and the rules in the grade markers.")
    return seconds
