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


def _code_cells(lab: str) -> list[str]:
    from course_tools.labspec import read_lab

    return [cell.source for cell in read_lab(ROOT / "solutions" / lab / f"{lab}_lab.ipynb").cells]


def master_functions(lab: str) -> dict:
    """:func:`solution_functions` plus the imports and helper functions of the lab's first code
    cell (``torch``, ``F``, lab 7's ``sigmoid`` ...), so the master's solutions run in tests as
    they do in the lab. Nothing else of the first cell runs (no seeding, no plotting style)."""
    import ast

    namespace = solution_functions(lab)
    tree = ast.parse(_code_cells(lab)[0])
    keep = [node for node in tree.body
            if isinstance(node, ast.Import | ast.ImportFrom | ast.FunctionDef)]
    exec(compile(ast.Module(keep, []), f"<{lab} first cell>", "exec"), namespace)  # noqa: S102
    return namespace


def master_variant(lab: str, name: str, edits: dict[str, str], namespace: dict | None = None):
    """The master lab's function ``name`` with each text ``old`` of ``edits`` (found exactly once)
    replaced by its ``new``: a typical mistake written as a small edit of the correct code, not
    as a second copy of it. Compiled in a copy of ``namespace`` (by default the lab's
    :func:`master_functions`)."""
    import ast

    ns = dict(master_functions(lab) if namespace is None else namespace)
    for src in (src for src in _code_cells(lab) if "### BEGIN SOLUTION" in src):
        for node in ast.parse(src).body:
            if isinstance(node, ast.FunctionDef) and node.name == name:
                text = ast.get_source_segment(src, node)
                for old, new in edits.items():
                    assert text.count(old) == 1, f"{old!r} is not once in the master's {name}"
                    text = text.replace(old, new)
                exec(compile(text, f"<{lab}:{name} variant>", "exec"), ns)  # noqa: S102
                return ns[name]
    raise KeyError(f"{lab} has no solution function {name}")
