"""The rule for what strict nbval compares (CONTRIBUTING.md, "Portable results").

A stored output that nbval compares must hold on every machine. A cell whose output depends on
floating-point rounding (trained numbers, samples) is tagged ``nbval-ignore-output`` and either
asserts the text's claim with ``course_lib.claims.claim`` or says why it is shown uncompared.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LABS = sorted(ROOT.glob("solutions/ch*/ch*_lab.ipynb"))
IGNORE = "nbval-ignore-output"
REASON = "# shown, not compared:"
CLAIM = re.compile(r"\bclaim\(")


def _code_cells(path: Path):
    for index, cell in enumerate(json.loads(path.read_text())["cells"]):
        if cell["cell_type"] == "code":
            yield index, "".join(cell["source"]), cell.get("metadata", {}).get("tags", [])


@pytest.mark.parametrize("lab", LABS, ids=lambda p: p.parent.name)
def test_a_cell_that_claims_is_not_compared(lab):
    wrong = [i for i, src, tags in _code_cells(lab) if CLAIM.search(src) and IGNORE not in tags]
    assert not wrong, f"{lab.name}: cells {wrong} call claim() but lack the tag {IGNORE}"


@pytest.mark.parametrize("lab", LABS, ids=lambda p: p.parent.name)
def test_a_cell_not_compared_claims_or_says_why(lab):
    wrong = [i for i, src, tags in _code_cells(lab)
             if IGNORE in tags and not CLAIM.search(src) and REASON not in src]
    assert not wrong, (f"{lab.name}: cells {wrong} are tagged {IGNORE} but neither call claim() "
                       f"nor carry a line '{REASON} <why>'")


def test_the_rule_is_written_where_contributors_read():
    text = (ROOT / "CONTRIBUTING.md").read_text()
    assert IGNORE in text and "claim(" in text and REASON in text
