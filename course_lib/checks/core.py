"""The machinery shared by every chapter's checks: comparison with diagnosis, the decorator that
turns exceptions in student code into short messages, and fallbacks to torch references."""

from __future__ import annotations

import functools
import os
import sys
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from course_lib.references import is_reference


class CheckFailed(Exception):
    """Raised inside a check to stop at the first problem; the message is shown to the student."""


@dataclass
class CheckResult:
    """Outcome of a public check: truthy when passed; ``messages`` holds the diagnosis."""

    name: str
    passed: bool
    implemented: bool = True
    messages: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:  # shown if a check is the last expression of a cell
        state = "passed" if self.passed else ("not implemented" if not self.implemented else "failed")
        return f"<check {self.name}: {state}>"


def _describe(x) -> str:
    if x is None:
        return "None"
    if isinstance(x, np.ndarray):
        return f"array of shape {x.shape} and dtype {x.dtype}"
    return type(x).__name__


def compare(
    what: str,
    actual,
    expected,
    atol: float = 1e-8,
    rtol: float = 1e-6,
    alternatives: Mapping[str, np.ndarray] | None = None,
) -> None:
    """Compare an array produced by student code with the expected one; raise
    :class:`CheckFailed` with a diagnosis if they differ.

    Args:
        what: what is compared, e.g. ``"scores"`` or ``"dW1"``.
        actual: the student's value.
        expected: the reference value (from torch, numerical differentiation or maths).
        atol, rtol: tolerances as in ``numpy.allclose``.
        alternatives: hint -> the value a typical mistake would produce; when ``actual``
            matches one of them, the hint is part of the message (e.g. ``{"the bias b1 is
            missing": value_without_bias}``).
    """
    expected = np.asarray(expected)
    if actual is None:
        raise CheckFailed(f"{what}: your function returned None (a missing `return`?)")
    if isinstance(actual, tuple | list) and expected.ndim > 0 and len(actual) != expected.shape[0]:
        raise CheckFailed(f"{what}: expected {_describe(expected)}, got a {type(actual).__name__} "
                          f"of length {len(actual)}")
    try:
        actual = np.asarray(actual, dtype=np.float64)
    except (TypeError, ValueError):
        raise CheckFailed(f"{what}: expected {_describe(expected)}, got {_describe(actual)}") from None
    if actual.shape != expected.shape:
        hint = ""
        if actual.shape == expected.shape[::-1] and actual.ndim == 2:
            hint = " (transposed: check the order of a matrix product or a missing .T)"
        elif actual.size == expected.size:
            hint = " (same number of elements: a reshape or a wrong axis?)"
        raise CheckFailed(f"{what}: shape {actual.shape}, expected {expected.shape}{hint}")
    if not np.all(np.isfinite(actual)):
        raise CheckFailed(f"{what}: contains NaN or infinity")
    if np.allclose(actual, expected, atol=atol, rtol=rtol):
        return
    err = np.abs(actual - expected)
    worst = np.unravel_index(int(np.argmax(err)), err.shape) if err.ndim else ()
    n_bad = int(np.sum(err > atol + rtol * np.abs(expected)))
    msg = (f"{what}: {n_bad} of {err.size} values differ; the worst is at index "
           f"{tuple(int(i) for i in worst)}: yours {actual[worst]:.6g}, expected "
           f"{expected[worst]:.6g}")
    for hint, alt in (alternatives or {}).items():
        alt = np.asarray(alt, dtype=np.float64)
        if alt.shape == actual.shape and np.allclose(actual, alt, atol=atol, rtol=rtol):
            msg += f". Hint: your values match what you get when {hint}"
            break
    else:
        if np.allclose(actual, -expected, atol=atol, rtol=rtol):
            msg += ". Hint: the sign is flipped"
        elif np.allclose(actual, 2 * expected, atol=atol, rtol=rtol) or np.allclose(
            2 * actual, expected, atol=atol, rtol=rtol
        ):
            msg += ". Hint: off by a factor of 2"
    raise CheckFailed(msg)


def unpack(out, n: int, what: str):
    """Return ``out`` if it is a tuple (or list) of ``n`` items, else raise :class:`CheckFailed`
    saying what was expected, e.g. ``unpack(out, 3, "(h, c, cache)")``."""
    if not isinstance(out, tuple | list) or len(out) != n:
        got = f"a tuple of length {len(out)}" if isinstance(out, tuple | list) else \
            type(out).__name__
        raise CheckFailed(f"return a tuple {what}, got {got}")
    return out


def forward_beside(fn: Callable, forward: Callable | None, name: str) -> Callable:
    """The forward pass whose cache a backward check feeds to ``fn``: ``forward`` if given, else
    the function ``name`` of ``fn``'s own namespace (the notebook that defines both), so a
    backward check can be called with the student's function alone."""
    if forward is None:
        forward = getattr(fn, "__globals__", {}).get(name)
    if not callable(forward):
        raise CheckFailed(f"pass your {name} as the second argument: the backward pass needs its "
                          "cache")
    return forward


def call_on_copies(fn, inputs: Mapping[str, np.ndarray], call=None):
    """Call ``fn`` on copies of the named ``inputs`` (in order), raise :class:`CheckFailed` if
    it changed any of them in place, and return its output. ``call(fn, *args)`` replaces the
    plain call (e.g. to turn shape errors into hints)."""
    args = [np.array(a, copy=True) for a in inputs.values()]
    out = fn(*args) if call is None else call(fn, *args)
    for (name, original), arg in zip(inputs.items(), args, strict=True):
        if not np.array_equal(arg, original):
            raise CheckFailed(f"your function changed its input {name} in place")
    return out


def _student_frame(exc: BaseException) -> str:
    """Where in the student's code an exception came from (the last frame outside the library)."""
    frames = traceback.extract_tb(exc.__traceback__)
    for fr in reversed(frames):
        if "course_lib" not in fr.filename and "site-packages" not in fr.filename:
            where = "your cell" if fr.filename.startswith("<") or "ipykernel" in fr.filename \
                else fr.filename
            return f" (line {fr.lineno} of {where}: `{(fr.line or '').strip()}`)"
    return ""


def _in_kernel() -> bool:
    """Whether this runs in a Jupyter kernel (a notebook, nbgrader's Validate, nbval)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return getattr(shell, "kernel", None) is not None


def public_check(name: str) -> Callable:
    """Decorator for ``check_*(fn, seed=0, quiet=False)`` functions.

    The wrapped body raises :class:`CheckFailed` on a wrong answer. The wrapper never raises,
    whatever the student's code does (``NotImplementedError`` means "not implemented yet"):
    it prints one short report and returns ``None``, or with ``quiet=True`` prints nothing and
    returns a :class:`CheckResult` (truthy when passed).

    In a Jupyter kernel the report of a check that does not pass (failed or not implemented
    yet) goes to stderr: the cell still runs without error, so Run All goes on, but nbgrader's
    Validate (the JupyterLab button and ``nbgrader validate``) counts a graded cell with stderr
    output as failed (``nbgrader.utils.determine_grade``) and lists it with this message;
    JupyterLab shows it on a red background. (An error output would do the same for nbgrader,
    but nbval fails every cell with one.) Outside a kernel every report goes to stdout.
    """

    def decorate(body: Callable) -> Callable:
        @functools.wraps(body)
        def wrapper(fn, *args, quiet: bool = False, **kwargs) -> CheckResult | None:
            result = CheckResult(name=name, passed=False)
            try:
                if not callable(fn):
                    raise CheckFailed(f"expected a function, got {_describe(fn)}")
                if is_reference(fn):
                    raise CheckFailed(f"this is the course's reference "
                                      f"({getattr(fn, '__name__', fn)}), not your code: pass "
                                      "your own function")
                body(fn, *args, **kwargs)
                result.passed = True
                result.messages.append(f"{name}: all checks passed.")
            except NotImplementedError:
                result.implemented = False
                result.messages.append(f"{name}: not implemented yet (fill in the exercise cell "
                                       "above, run it, then run this check again).")
            except CheckFailed as exc:
                result.messages.append(f"{name}: not yet right. {exc}")
            except Exception as exc:  # student code raised: a short message, no traceback wall
                result.messages.append(
                    f"{name}: your code raised {type(exc).__name__}: {exc}{_student_frame(exc)}"
                )
            if quiet:
                return result
            mark = "\u2714" if result.passed else ("\u2026" if not result.implemented else "\u2718")
            stream = sys.stderr if not result.passed and _in_kernel() else sys.stdout
            print(mark, "\n  ".join(result.messages), file=stream)
            return None  # printed; nothing to echo in the notebook

        return wrapper

    return decorate


def use_or_reference(student: Callable, check: Callable, reference: Callable, what: str,
                     source: str = "torch"):
    """Return ``student`` if its public check passes (quietly), else ``reference`` with a note
    (``source`` names what the reference is built on).

    Later cells of a lab call this so that a student stuck on one exercise can still run the
    experiments that use it. While grading (``COURSE_GRADING=1``, set in the grader's sandbox,
    where the references are stand-ins that refuse to run) it returns ``student`` unchecked.
    """
    if os.environ.get("COURSE_GRADING") == "1":
        print(f"Grading: the experiments use your {what}.")
        return student
    if check(student, quiet=True):
        print(f"Using your {what}.")
        return student
    print(f"Note: your {what} does not pass its check yet, so this part uses the course's "
          f"{source}-based reference instead.")
    return reference
