"""``make check NB=notebooks/ch03/ch03_lab.ipynb``: will my notebook be graded, and how far am I?

``python -m course_tools.grading.check NOTEBOOK [--lab chNN] [--timeout S] [--budget S]
[--no-sandbox]`` runs the student's notebook exactly as the grader will
(:func:`course_tools.grading.run.grade_notebook`: the same checks of the file, a clean kernel
in the same bubblewrap sandbox, the same time limit per cell and call and the same budget per
submission, which a batch takes from the master's own time: :func:`~course_tools.grading.run.preflight`),
but with the public checks only (``public_only=True``: no hidden test runs, and nothing of
them is printed). It prints the status the grader would give, for each graded exercise whether
its public check passes, fails (with the check's own message) or is not implemented yet, any
from-scratch rule (``numpy only``) the code breaks, and what in the notebook would cost points
when graded (a cell that needs a file that is not there, a function renamed or deleted, an
import that fails). Exit status 0 when the notebook would be graded, 1 when not, 2 for bad
arguments.

Without bubblewrap (a student's macOS laptop) the notebook runs unsandboxed in a fresh kernel
(:class:`LocalKernel`: an empty working folder, the grading view of ``course_lib``, the time
and resource limits the system allows), and the output says so at its top and bottom.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from course_tools import sandbox
from course_tools.grading.batch import BUDGET_FACTOR, MIN_BUDGET
from course_tools.grading.results import Result
from course_tools.grading.run import PreflightFailed, grade_notebook, preflight, read_submission
from course_tools.grading.spec import LabSpec, master_notebook
from course_tools.labspec import read_lab
from course_tools.paths import add_root_option, find_root
from course_tools.sandbox.bwrap import kernel_env

# The kernel of LocalKernel: limits (where the system has them), an empty working folder,
# then the same ipykernel the sandbox starts.
_LAUNCH = """\
import os, resource, sys
home, limits, argv = sys.argv[1], sys.argv[2:5], sys.argv[5:]
os.chdir(home)
for name, value in zip(("RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_AS"), limits):
    try:
        resource.setrlimit(getattr(resource, name), (int(value), int(value)))
    except (AttributeError, ValueError, OSError):
        pass
os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", *argv])
"""


class LocalKernel(sandbox.SandboxKernel):
    """A fresh kernel like the sandbox's, without bubblewrap: it runs as you, with your files
    in reach (no isolation), in an empty working folder, with the grader's environment and
    the grading view of ``course_lib`` (the references are stand-ins) first on its path."""

    def __init__(self, slot: int = 0, limits=None, workdir: Path | None = None):
        super().__init__(slot, limits, workdir)
        self.uid = None  # never another user: nothing to chown or kill
        self.home = self.sockdir / "home"
        self.home.mkdir()

    def command(self, connection_file: Path) -> list[str]:
        lim = self.limits
        return [sys.executable, "-c", _LAUNCH, str(self.home), str(lim.cpu_seconds),
                str(lim.file_bytes), str(lim.memory_bytes), "-f", str(connection_file),
                "--HistoryManager.enabled=False", "--IPKernelApp.parent_handle=0"]

    def env(self) -> dict[str, str]:
        from course_tools.sandbox.view import grading_library

        return dict(kernel_env(), HOME=str(self.home), TMPDIR=str(self.home),
                    PYTHONPATH=str(grading_library().parent))


def guess_lab(nb, path: Path, solutions: Path) -> str:
    """The lab of a notebook: the one whose exercise ids its cells carry most (nbgrader's
    metadata, kept in every released notebook), else a ``chNN`` in its file name."""
    ids = {c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in nb.cells} - {None}
    labs = sorted(p.name for p in solutions.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))
    best, overlap = None, 0
    for lab in labs:
        shared = len(ids & read_lab(master_notebook(lab, solutions)).exercise_ids)
        if shared > overlap:
            best, overlap = lab, shared
    if best is None:
        named = re.search(r"ch\d\d", path.name)
        best = named.group(0) if named and named.group(0) in labs else None
    if best is None:
        raise ValueError(f"cannot tell which lab {path.name} is (no exercise cell of any lab "
                         f"and no chNN in its name): pass --lab (one of {', '.join(labs)})")
    return best


_MISSING_RE = re.compile(r"name '(\w+)' is not defined")
_ERROR_RE = re.compile(r"^cell (\d+): (\w+)(?:: (.*))?$", re.S)
_WHY = {
    "FileNotFoundError": "it needs a file that is not there: the grader runs your notebook in an "
                         "empty folder with only the course's packages, so a file must be made by "
                         "the notebook itself",
    "ModuleNotFoundError": "an import fails: the grader has the course's packages only (nothing "
                           "you installed yourself)",
    "ImportError": "an import fails: the grader has the course's packages only (nothing you "
                   "installed yourself), and names must exist where you import them from",
    "NameError": "it uses a name no earlier cell defines (renamed or deleted, or defined in a "
                 "cell further down: the grader runs the cells top to bottom, once)",
    "SyntaxError": "it is not valid Python",
    "IndentationError": "it is not valid Python (indentation)",
}
# cell errors that are no fault of the notebook's: given code stopped at an unfinished exercise,
# or an experiment that calls a course reference (the grader has stand-ins that refuse to run)
_NOTES = {"NotImplementedError": "stopped at an exercise that is not implemented yet (fine "
                                 "while you work: graded, they use your functions)",
          "ReferenceUnavailable": "given code of the lab (nothing for you to fix) called a course "
                                  "reference, which the grader does not have (the grade measures "
                                  "your own code); graded, such a cell stops at that call, which "
                                  "costs nothing unless your exercises need what it computes"}


def _cell_problems(result: Result) -> tuple[list[str], dict[str, list[str]]]:
    """The cell errors in plain words: (problems, {kind of :data:`_NOTES`: cells})."""
    problems: list[str] = []
    notes: dict[str, list[str]] = {}
    for error in result.cell_errors:
        match = _ERROR_RE.match(error)
        if not match:  # a cell stopped at a time or output limit
            problems.append(error)
            continue
        cell, ename, message = match.group(1), match.group(2), (match.group(3) or "").strip()
        if ename in _NOTES:
            notes.setdefault(ename, []).append(cell)
            continue
        why = _WHY.get(ename, "it raises an error")
        problems.append(f"cell {cell}: {why}. ({ename}: {message})" if message else
                        f"cell {cell}: {why}. ({ename})")
    return problems, notes


def _state(q, result: Result) -> tuple[str, str]:
    """(passes | fails | not implemented yet | no public check, the check's own message)."""
    qr = result.questions[q.qid]
    message = qr.diagnostic
    flag = result.flags.get(q.qid)
    if flag and message.startswith(("zeroed: ", "flagged for review: ")):
        message = message.split(" | ", 1)[1] if " | " in message else ""
    if qr.passed:
        return "passes", message
    if "not implemented yet" in message or "NotImplementedError" in message:
        return "not implemented yet", message
    if message.startswith("not run") or message.startswith("stopped"):
        return "not checked", message
    if "check_" not in q.public and not _MISSING_RE.search(message) and \
            not re.match(r"\w+(Error|Exception)\b", message):
        return "no public check", message  # an example that printed, without a check
    return "fails", message


def report(result: Result, spec: LabSpec, notebook: Path, unsandboxed: str,
           cell_timeout: float, budget: float) -> str:
    """What ``make check`` prints for the outcome ``result`` of ``notebook``; ``unsandboxed``
    says why it did not run in the sandbox ("" when it did)."""
    lines = []
    if unsandboxed:
        lines.append(f"UNSANDBOXED: {unsandboxed}, so your notebook ran in a fresh kernel on "
                     "this machine, NOT in the grader's sandbox.")
    where = "a fresh kernel" if unsandboxed else "the grader's sandbox (bubblewrap), a clean kernel"
    lines += [f"make check: {notebook} as lab {spec.lab}",
              f"  run in {where}; limits {cell_timeout:g} s per cell or call, {budget:.0f} s "
              "for the whole notebook; public checks only (the grader's hidden tests use other "
              "inputs)", ""]
    lines.append(f"The grader would give: {result.status}" +
                 (f" ({result.message})" if result.message else ""))
    states = {}
    if result.questions:
        lines += ["", "Exercises:"]
        for q in spec.questions:
            state, message = _state(q, result)
            states[q.qid] = state
            lines.append(f"  {q.qid} ({q.points:g} points): {state}" +
                         (f": {message}" if message and state in ("fails", "no public check",
                                                                   "not checked") else ""))
    if result.flags:
        lines += ["", "From-scratch rules (the grader gives these exercises 0 points):"]
        lines += [f"  {qid}: {flag}" for qid, flag in result.flags.items()]
    problems, notes = _cell_problems(result)
    missing = sorted({m for qr in result.questions.values()
                      for m in _MISSING_RE.findall(qr.diagnostic)})
    problems += [f"function {name} is missing: the grader calls it by this name (was it "
                 "renamed, deleted, or its cell not run?)" for name in missing]
    if problems:
        lines += ["", "What may cost points when graded (cells counted from the top, text "
                      "cells included):"]
        lines += [f"  {p}" for p in problems]
    for ename, cells in notes.items():
        lines += ["", f"Note: cell{'s' if len(cells) > 1 else ''} {', '.join(cells)} (counting "
                      f"every cell from the top, text cells included): {_NOTES[ename]}."]
    lines.append("")
    if result.status == "graded":
        counts = {s: sum(v == s for v in states.values()) for s in dict.fromkeys(states.values())}
        unchecked = [qid for qid, s in states.items() if s == "no public check"]
        if counts.get("passes") and counts["passes"] + len(unchecked) == len(states) and \
                not result.flags and not problems:
            lines.append("Result: graded, all public checks pass." +
                         (f" ({', '.join(unchecked)}: no public check; the example ran.)"
                          if unchecked else ""))
        else:
            lines.append("Result: graded; " + ", ".join(f"{n} {s}" for s, n in counts.items()) +
                         (f"; {len(result.flags)} breaking a rule" if result.flags else "") +
                         (f"; {len(problems)} problem(s) above" if problems else "") + ".")
    elif result.status == "error":
        lines.append("Result: error: the check could not run here (not a verdict on your "
                     "notebook); if the sandbox cannot start on this machine, run "
                     "`make check NB=... CHECK_ARGS=--no-sandbox`.")
    else:
        lines.append(f"Result: {result.status}: the grader would not grade this notebook as it "
                     "is" + (" (the exercises graded before it stopped keep their points)"
                             if result.status == "timed out" else "") + ".")
    if unsandboxed:
        lines.append(f"UNSANDBOXED ({unsandboxed}): in the grader's sandbox the notebook cannot "
                     "see your files or the network, and memory limits hold; install "
                     "bubblewrap (Linux) for the grader's exact run.")
    return "\n".join(lines)


def check_notebook(notebook: Path, lab: str | None = None, solutions: Path | None = None,
                   cell_timeout: float = 60, budget: float | None = None,
                   sandboxed: bool | None = None) -> tuple[Result, str]:
    """Run ``notebook`` as the grader would, public checks only; return the Result and the
    report. ``sandboxed=None`` uses the sandbox when bubblewrap is installed; ``budget=None``
    takes a batch's budget (from the master's time in the same kernel)."""
    solutions = find_root() / "solutions" if solutions is None else Path(solutions)
    notebook = Path(notebook)
    if not notebook.is_file():
        raise ValueError(f"notebook: {notebook} is not a file")
    unsandboxed = "you asked for --no-sandbox" if sandboxed is False else ""
    if sandboxed is None:
        try:
            sandbox.bwrap_path()
        except sandbox.SandboxError:
            unsandboxed = "bubblewrap is not installed here"
    kernel_class = LocalKernel if unsandboxed else None
    import nbformat

    try:
        nb_any = nbformat.read(notebook, as_version=4)
    except Exception:
        nb_any = nbformat.v4.new_notebook()
    spec = LabSpec(lab or guess_lab(nb_any, notebook, solutions), solutions)
    nb, done = read_submission("you", notebook, spec)
    if budget is None:
        budget = max(MIN_BUDGET, BUDGET_FACTOR * _master_seconds(spec, cell_timeout, kernel_class))
    if done is None:
        slot = sandbox.acquire_slot()
        try:
            done = grade_notebook("you", nb, spec, slot, cell_timeout, budget=budget,
                                  public_only=True, kernel_class=kernel_class)
        finally:
            sandbox.release_slot(slot)
    return done, report(done, spec, notebook, unsandboxed, cell_timeout, budget)


def _master_seconds(spec: LabSpec, cell_timeout: float, kernel_class) -> float:
    """The master's own time, which a batch's budget is made from: the grader's preflight in
    the sandbox, or the same grading of the master in a :class:`LocalKernel`."""
    if kernel_class is None:
        return preflight(spec, cell_timeout)
    import time

    slot = sandbox.acquire_slot()
    try:
        start = time.monotonic()
        grade_notebook("the master lab", spec.nb, spec, slot, cell_timeout,
                       kernel_class=kernel_class)
        return time.monotonic() - start
    finally:
        sandbox.release_slot(slot)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_tools.grading.check",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("notebook", type=Path, help="your lab notebook")
    parser.add_argument("--lab", help="lab id, e.g. ch03 (default: guessed from the notebook)")
    parser.add_argument("--timeout", type=float, default=60,
                        help="time limit of each cell and each call in seconds (the grader's)")
    parser.add_argument("--budget", type=float, default=None,
                        help="limit of the whole notebook in seconds (default: the grader's, "
                             f"{BUDGET_FACTOR:g} times the master's time, at least "
                             f"{MIN_BUDGET:.0f})")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="run in a fresh kernel without bubblewrap (the default where "
                             "bubblewrap is not installed)")
    parser.add_argument("--solutions", type=Path, default=None, help=argparse.SUPPRESS)
    add_root_option(parser)
    args = parser.parse_args(argv)
    try:
        solutions = args.solutions or find_root(args.root) / "solutions"
        result, text = check_notebook(args.notebook, args.lab, solutions, args.timeout,
                                      args.budget, False if args.no_sandbox else None)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except PreflightFailed as exc:
        print(f"error: the course's installation cannot grade this lab, so checking your "
              f"notebook would say nothing (if the sandbox cannot start on this machine, try "
              f"CHECK_ARGS=--no-sandbox): {exc}", file=sys.stderr)
        return 2
    print(text)
    return 0 if result.status == "graded" else 1


if __name__ == "__main__":
    sys.exit(main())
