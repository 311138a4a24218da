"""Load the functions a master lab defines, so the benchmarks time exactly its code."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np

from course_tools.labspec import read_lab

ROOT = Path(__file__).resolve().parent.parent


def lab_functions(lab: str) -> dict:
    """The functions (and imports) defined at the top level of every code cell of
    ``solutions/<lab>/<lab>_lab.ipynb``, in notebook order, and nothing else: the given helpers
    (e.g. ``sigmoid``) and the reference solutions, without running the lab's experiments."""
    path = ROOT / "solutions" / lab / f"{lab}_lab.ipynb"
    namespace: dict = {"np": np}
    for cell in read_lab(path).cells:  # every code cell, classified by its markers
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:  # IPython magics: such cells define nothing we time
            continue
        keep = [node for node in tree.body
                if isinstance(node, ast.FunctionDef | ast.Import | ast.ImportFrom)]
        if keep:
            module = ast.Module(body=keep, type_ignores=[])
            exec(compile(module, str(path), "exec"), namespace)  # noqa: S102 - our own notebook
    return namespace
