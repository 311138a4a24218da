"""Typical mistakes that the public checks let through, one module per lab (``chNN.py``).

Each module defines ``MISTAKES``: a list of ``(question, edits, part)``, where ``edits`` turns
the master's function into the mistake (``tests/labs.py: master_variant``) and ``part`` is the
name of the hidden part it must lose (and the only one). ``tests/test_hidden_parts.py`` runs them.
"""

from __future__ import annotations

import importlib
from pathlib import Path


def all_mistakes() -> dict[str, list[tuple[str, dict[str, str], str]]]:
    """lab -> its mistakes, for every ``chNN.py`` of this folder."""
    labs = sorted(p.stem for p in Path(__file__).parent.glob("ch[0-9][0-9].py"))
    return {lab: importlib.import_module(f"mistakes.{lab}").MISTAKES for lab in labs}
