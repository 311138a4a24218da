"""Page cells that compute what a lab asks the student to write (tag ``lab-exercise``): the page
hides their input, and the copy of the page's source that the site offers for download
(``_sources/``, the download button) holds a note instead of their code."""

from __future__ import annotations

import re
from pathlib import Path

from course_tools.sphinx_ext import UNPUBLISHED, unpublish_exercise_cells

ROOT = Path(__file__).resolve().parent.parent

PAGE = """\
```{code-cell} ipython3
:tags: [remove-input]

import numpy as np
```

Text.

```{code-cell} ipython3
:tags: [remove-input, lab-exercise]

def answer(x):
    return x @ x.T
```

```{code-cell} ipython3
---
tags: [remove-input, lab-exercise]
mystnb:
  figure:
    caption: |
      A figure.
---

plot(answer(1))
```

```{code-cell} ipython3
print(answer(2))
```
"""


def test_the_code_of_lab_exercise_cells_is_replaced_by_a_note_and_nothing_else_changes():
    out = unpublish_exercise_cells(PAGE)
    assert "return x @ x.T" not in out and "plot(answer(1))" not in out
    assert out.count(UNPUBLISHED) == 2
    assert "import numpy as np" in out and "print(answer(2))" in out  # other cells kept
    assert "caption: |\n      A figure." in out  # the options stay
    assert unpublish_exercise_cells(out) == out
    assert unpublish_exercise_cells(PAGE.replace("lab-exercise", "x")) == PAGE.replace(
        "lab-exercise", "x")


def test_every_page_cell_that_shows_a_lab_answer_hides_its_input():
    """A cell tagged lab-exercise must also be remove-input (or its code is on the page)."""
    for page in sorted(ROOT.glob("book/*.md")):
        for options in re.findall(r"^```\{code-cell\}[^\n]*\n(---\n.*?\n---\n|(?::[^\n]*\n)*)",
                                  page.read_text(encoding="utf-8"), flags=re.M | re.S):
            if "lab-exercise" in options:
                assert "remove-input" in options, page.name
