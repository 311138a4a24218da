"""Grading one submission: read and check the notebook, run its code cells in a sandboxed
kernel, then run each question's public check and hidden tests in the grader with the
student's functions replaced by proxies into the kernel (see :mod:`course_tools.grading`)."""

from __future__ import annotations

import ast
import time
from pathlib import Path

import nbformat

from course_tools import sandbox
from course_tools.grading.results import WITH_POINTS, QuestionResult, Result
from course_tools.grading.spec import LabSpec
from course_tools.labspec import is_check_cell

MAX_NOTEBOOK_BYTES = 20_000_000


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
            if cell.cell_type != "code" or not cell.source.strip() or is_check_cell(cell.source, cell.get("metadata")):
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

    torch.set_num_threads(1)
    _SLOT = sandbox.acquire_slot()


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
