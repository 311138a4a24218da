"""Helpers shared by the tests of the labs' checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def solution_functions(lab: str) -> dict:
    """Execute the solution cells (and nothing else) of ``solutions/<lab>/<lab>_lab.ipynb`` and
    return their namespace, so tests check the very code the master lab holds."""
    from course_tools.labspec import read_lab  # the one parser of the lab markers

    path = ROOT / "solutions" / lab / f"{lab}_lab.ipynb"
    namespace = {"np": np}
    for cell in read_lab(path).solutions:
        exec(compile(cell.source, str(path), "exec"), namespace)  # noqa: S102 - our own notebook
    return namespace


def stub(*args, **kwargs):
    """An exercise left at its stub."""
    raise NotImplementedError()


def fails_with(check, fn, *fragments) -> str:
    """Assert that ``check`` rejects ``fn`` (implemented, not passed) with a message holding every
    one of ``fragments``; return the message."""
    res = check(fn, quiet=True)
    assert not res and res.implemented, res.messages
    text = " ".join(res.messages)
    for frag in fragments:
        assert frag in text, text
    return text
