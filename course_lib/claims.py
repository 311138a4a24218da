"""Claims: a trained number is shown, and the statement drawn from it is asserted with its margin.

Trained results (losses, accuracies, counts of mistakes, perplexities) are chaotic functions of
floating-point rounding: another CPU, another BLAS or another thread count gives other digits.
So the course never lets strict nbval compare them. A cell that prints one

- calls :func:`claim` for each statement the text makes from it (``bits per character < 0.7``),
  which prints the value beside its bound and raises :class:`ClaimFailed` when the bound breaks,
  so a lab's or a page's execution fails when the claim does, on any machine;
- carries the cell tag ``nbval-ignore-output`` (nbval still runs the cell and fails on an error,
  but does not compare what it prints).

On a book page, ``glue=`` hands the value to MyST-NB's ``glue`` so the prose quotes the number
the cell produced (``{glue:text}`name:.2f```) instead of a copy that drifts; :func:`glue` does
the same for a number that is shown but claims nothing.

When ``$COURSE_CLAIMS_LOG`` names a file, every claim appends one JSON line to it (where it ran,
its name, value, bound and verdict): the portability matrix (``benchmarks/portability.py``)
collects the values of every claim over configurations and seeds from there.
"""

from __future__ import annotations

import json
import math
import os
from numbers import Real
from pathlib import Path

__all__ = ["ClaimFailed", "claim", "glue"]

_BOUNDS = {"below": "<", "at_most": "<=", "above": ">", "at_least": ">="}


class ClaimFailed(AssertionError):
    """A claim of the text does not hold for the value this run produced."""


def _holds(value: float, op: str, bound: float) -> bool:
    return {"<": value < bound, "<=": value <= bound, ">": value > bound,
            ">=": value >= bound}[op]


def _where() -> str:
    """Which notebook runs: ``$COURSE_NOTEBOOK`` if set, else the kernel's working folder."""
    return os.environ.get("COURSE_NOTEBOOK") or Path.cwd().name


def claim(name: str, value, *, below: float | None = None, at_most: float | None = None,
          above: float | None = None, at_least: float | None = None, fmt: str = ".3g",
          glue: str | None = None, quiet: bool = False) -> float:
    """Show ``value`` and assert the text's claim about it.

    Args:
        name: what the value is, as the text says it (``"bits per character"``).
        value: a real number (a Python or NumPy scalar, or a one-element array or tensor).
        below, at_most, above, at_least: the bounds the text states (at least one; two make an
            interval, e.g. ``above=0.1, below=0.2``).
        fmt: format of the printed value (``"d"`` prints an integral value as an integer).
        glue: on a book page, a MyST-NB glue name under which the value is stored for the prose.
        quiet: do not print (the value is still checked, glued and logged).

    Returns:
        The value as a float.

    Raises:
        ValueError: no bound, a bound that is not a finite real, or a value that is not a
            finite real number.
        ClaimFailed: the value breaks a bound; the message names the claim and both numbers.
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"name: expected a non-empty string, got {name!r}")
    bounds = {op: b for key, op in _BOUNDS.items()
              if (b := {"below": below, "at_most": at_most, "above": above,
                        "at_least": at_least}[key]) is not None}
    if not bounds:
        raise ValueError(f"claim {name!r}: give at least one of below, at_most, above, at_least")
    for op, b in bounds.items():
        if isinstance(b, bool) or not isinstance(b, Real) or not math.isfinite(b):
            raise ValueError(f"claim {name!r}: bound {op} {b!r} is not a finite real number")
    if isinstance(value, str | bytes):
        raise ValueError(f"claim {name!r}: value {value!r} is not a real number")
    try:
        number = float(value.item() if hasattr(value, "item") else value)
    except (TypeError, ValueError):
        raise ValueError(f"claim {name!r}: value {value!r} is not a real number") from None
    if isinstance(value, bool) or not math.isfinite(number):
        raise ValueError(f"claim {name!r}: value {value!r} is not a finite real number")
    shown = int(number) if fmt.endswith("d") and number.is_integer() else number  # counts
    text = " and ".join(f"{op} {b:g}" for op, b in bounds.items())
    ok = all(_holds(number, op, b) for op, b in bounds.items())
    log = os.environ.get("COURSE_CLAIMS_LOG")
    if log:
        record = {"where": _where(), "name": name, "value": number, "bound": text, "holds": ok}
        with open(log, "a") as f:
            f.write(json.dumps(record) + "\n")
    if glue is not None:
        _glue_number(glue, number)
    if not ok:
        raise ClaimFailed(f"claim {name!r} does not hold: {shown:{fmt}} is not {text} "
                          f"(the text says it is; see the cell's output above)")
    if not quiet:
        print(f"{name}: {shown:{fmt}}  (claim {text}: holds)")
    return number


def _plain(value):
    """A NumPy or torch scalar (or one-element array) as a Python int or float."""
    item = value.item() if hasattr(value, "item") else value  # np.float64 is a float: .item()
    if type(item) in (bool, int, float):
        return item
    raise ValueError(f"glue: value {value!r} is not a real number")


def _glue_number(name: str, value) -> None:
    from myst_nb import glue as myst_glue  # book pages only: MyST-NB is a [book] dependency

    myst_glue(name, _plain(value), display=False)


def glue(name: str, value, display: bool = False) -> None:
    """Store a run-dependent number under ``name`` for a page's prose
    (``{glue:text}`name:.3f```), without a claim. NumPy and torch scalars become Python numbers
    first: MyST-NB formats a glued value from its text, and NumPy 2 writes ``np.float64(0.93)``,
    which no format spec reads. ``display`` must stay False (the number belongs to the prose)."""
    if display:
        raise ValueError("glue: display=True would print the value in the cell; use print")
    _glue_number(name, value)
