"""The lab markers, defined once: a master lab -> a typed :class:`Lab`.

A master lab (``solutions/<lab>/<lab>_lab.ipynb``) is a plain notebook with these markers and
no hand-written metadata:

* a **solution cell** holds ``### BEGIN SOLUTION`` / ``### END SOLUTION`` (nbgrader's markers)
  around the answer and defines a function; its id is that function's name plus ``_code``;
* a **check cell** starts with ``# grade: <id> (<n> points)``, optionally followed by a rule:
  ``# grade: rnn_forward (3 points, numpy only)`` (the rule is parsed into
  :attr:`GradeMarker.rule` and enforced by the grader: :mod:`course_tools.grading.rules`). Its public part calls a
  ``course_lib.checks`` function; ``### BEGIN HIDDEN TESTS`` / ``### END HIDDEN TESTS``
  surround the hidden tests, which the student version does not contain. The hidden tests
  may be split into named **parts**, each worth some of the question's points: a line
  ``# part: <what it tests> (<n> points)`` starts each (code before the first part is run
  before every part); the parts' points add up to the question's. Without part lines the
  hidden tests are one part worth all the points. A part's name is shown in the feedback (so
  it says what was tested, never the values);
* every other code cell is given code (helpers, experiments);
* an **exercise heading** is a markdown cell starting ``## Exercise <k>: <title>``; it holds an
  **effort line**, a line of its own ``*About <m> minutes · <easy|moderate|hard>*``, or
  ``*Derivation · about <m> minutes · <level>*`` for an exercise whose result the student
  derives (the lab gives the method, not the result). The lab's first cell says how long the
  whole lab takes in a line starting ``**Time:** about <m> minutes`` (:func:`read_effort`).

Everything that reads markers uses this module: authoring (nbgrader metadata), the grader
(questions, points, hidden tests), the tests (the masters' solutions) and the benchmarks.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"

GRADE_RE = re.compile(r"^#\s*grade:\s*(?P<id>[A-Za-z0-9_\-]+)\s*\((?P<points>\d+(?:\.\d+)?)"
                      r"\s*points?\s*(?:,\s*(?P<rule>[^)]*?)\s*)?\)")
HIDDEN_RE = re.compile(re.escape(BEGIN_HIDDEN) + r"\n?(?P<hidden>.*?)" + re.escape(END_HIDDEN),
                       re.S)
PART_RE = re.compile(r"^#\s*part:\s*(?P<name>.+?)\s*\((?P<points>\d+(?:\.\d+)?)\s*points?\)\s*$")
EXERCISE_RE = re.compile(r"^##\s+Exercise\s+(?P<number>\d+)\s*:\s*(?P<title>.+?)\s*$", re.M)
EFFORT_RE = re.compile(r"^\*(?:(?P<derivation>Derivation) · a|A)bout (?P<minutes>\d+) minutes · "
                       r"(?P<level>easy|moderate|hard)\*\s*$", re.M)
LAB_TIME_RE = re.compile(r"^\*\*Time:\*\* about (?P<minutes>\d+) minutes", re.M)
DEF_RE = re.compile(r"^\s*def\s+(?P<name>[A-Za-z_]\w*)\s*\(", re.M)


class LabSpecError(ValueError):
    """A master lab breaks the marker conventions; the message names the cell."""


@dataclass(frozen=True)
class GradeMarker:
    """``# grade: <qid> (<points> points[, <rule>])``."""

    qid: str
    points: float
    rule: str | None = None


def grade_marker(source: str) -> GradeMarker | None:
    """The grade marker on the first non-blank line of ``source``, if it has one."""
    first = source.lstrip().splitlines()[0] if source.strip() else ""
    match = GRADE_RE.match(first)
    if not match:
        return None
    return GradeMarker(match["id"], float(match["points"]), match["rule"] or None)


@dataclass(frozen=True)
class HiddenPart:
    """One named part of a question's hidden tests: its code runs after the shared preamble."""

    name: str
    points: float
    code: str


def hidden_parts(hidden: str, points: float, where: str = "") -> list[HiddenPart]:
    """Split hidden tests at their ``# part: <name> (<n> points)`` lines (see the module's
    docstring); raises :class:`LabSpecError` when the parts' points do not add up to
    ``points`` or two parts share a name."""
    preamble: list[str] = []
    parts: list[tuple[str, float, list[str]]] = []
    for line in hidden.splitlines(keepends=True):
        match = PART_RE.match(line.strip())
        if match:
            parts.append((match["name"], float(match["points"]), []))
        elif line.lstrip().startswith("# part:"):
            raise LabSpecError(f"{where}: a part line must read '# part: <what it tests> "
                               f"(<n> points)', got {line.strip()!r}")
        else:
            (parts[-1][2] if parts else preamble).append(line)
    if not parts:
        return [HiddenPart("hidden tests", points, hidden)]
    names = [name for name, _, _ in parts]
    if len(set(names)) != len(names):
        raise LabSpecError(f"{where}: two hidden parts share a name ({names})")
    total = sum(p for _, p, _ in parts)
    if abs(total - points) > 1e-9:
        raise LabSpecError(f"{where}: the hidden parts' points add up to {total:g}, the "
                           f"question has {points:g}")
    head = "".join(preamble)
    return [HiddenPart(name, p, head + "".join(code)) for name, p, code in parts]


@dataclass(frozen=True)
class CodeCell:
    """A code cell of given code (no markers)."""

    index: int
    source: str


@dataclass(frozen=True)
class SolutionCell(CodeCell):
    """A cell with the answer between the solution markers."""

    function: str  # the first function it defines

    @property
    def grade_id(self) -> str:
        return f"{self.function}_code"

    @property
    def answer_lines(self) -> list[str]:
        """The lines between the solution markers (the answer the student version lacks)."""
        lines, inside = [], False
        for line in self.source.splitlines():
            if BEGIN_SOLUTION in line:
                inside = True
            elif END_SOLUTION in line:
                inside = False
            elif inside:
                lines.append(line)
        return lines


@dataclass(frozen=True)
class CheckCell(CodeCell):
    """A graded check cell: its marker, its public part and its hidden tests."""

    marker: GradeMarker

    @property
    def qid(self) -> str:
        return self.marker.qid

    @property
    def grade_id(self) -> str:
        return self.marker.qid

    @property
    def points(self) -> float:
        return self.marker.points

    @property
    def rule(self) -> str | None:
        return self.marker.rule

    @property
    def public(self) -> str:
        """The cell without its first line and its hidden tests (what students see run)."""
        rest = HIDDEN_RE.sub("", self.source).split("\n", 1)
        return rest[1] if len(rest) > 1 else ""

    @property
    def hidden(self) -> str:
        match = HIDDEN_RE.search(self.source)
        return match["hidden"] if match else ""

    @property
    def parts(self) -> list[HiddenPart]:
        """The hidden tests as named parts with their points (:func:`hidden_parts`)."""
        return hidden_parts(self.hidden, self.points, f"cell {self.index} ({self.qid})")


def parse_cell(index: int, source: str) -> CodeCell:
    """Classify one code cell by its markers (raises :class:`LabSpecError` when they are off)."""
    graded = grade_marker(source)
    if BEGIN_SOLUTION in source:
        if graded:
            raise LabSpecError(f"cell {index}: a cell is either a solution or a check")
        if END_SOLUTION not in source:
            raise LabSpecError(f"cell {index}: BEGIN SOLUTION without END SOLUTION")
        match = DEF_RE.search(source)
        if not match:
            raise LabSpecError(f"cell {index}: a solution cell must define a function")
        return SolutionCell(index, source, match["name"])
    if graded:
        if BEGIN_HIDDEN not in source:
            raise LabSpecError(f"cell {index} ({graded.qid}): a graded check needs hidden tests")
        cell = CheckCell(index, source, graded)
        cell.parts  # noqa: B018 (raises LabSpecError when the parts are off)
        return cell
    if "BEGIN HIDDEN TESTS" in source or "BEGIN SOLUTION" in source:
        raise LabSpecError(f"cell {index}: markers outside a solution or graded cell")
    return CodeCell(index, source)


@dataclass(frozen=True)
class Lab:
    """A master lab: its code cells (index = position among all the notebook's cells)."""

    path: Path | None
    cells: tuple[CodeCell, ...]

    @property
    def solutions(self) -> list[SolutionCell]:
        return [c for c in self.cells if isinstance(c, SolutionCell)]

    @property
    def checks(self) -> list[CheckCell]:
        return [c for c in self.cells if isinstance(c, CheckCell)]

    @property
    def exercise_ids(self) -> set[str]:
        """The nbgrader ids of its solution and check cells."""
        return {c.grade_id for c in self.cells if isinstance(c, SolutionCell | CheckCell)}

    @property
    def max_scores(self) -> dict[str, float]:
        return {c.qid: c.points for c in self.checks}

    def by_index(self) -> dict[int, CodeCell]:
        return {c.index: c for c in self.cells}


def parse_cells(cells, path: Path | None = None) -> Lab:
    """A :class:`Lab` from notebook cells (``nbformat`` nodes or plain JSON dicts)."""
    parsed: list[CodeCell] = []
    seen: dict[str, int] = {}
    for index, cell in enumerate(cells):
        if cell["cell_type"] != "code":
            continue
        source = cell["source"]
        source = source if isinstance(source, str) else "".join(source)
        code = parse_cell(index, source)
        if isinstance(code, SolutionCell | CheckCell):
            if code.grade_id in seen:
                raise LabSpecError(f"cell {index}: id {code.grade_id!r} is used twice "
                                   f"(also in cell {seen[code.grade_id]})")
            seen[code.grade_id] = index
        parsed.append(code)
    return Lab(path, tuple(parsed))


def read_lab(path: Path | str) -> Lab:
    """Parse the master lab at ``path``."""
    path = Path(path)
    return parse_cells(json.loads(path.read_text(encoding="utf-8"))["cells"], path)


def is_check_cell(source: str, metadata: dict | None = None) -> bool:
    """Whether a cell of any notebook (a submission too) is a graded check cell: it has the
    grade marker, or nbgrader's metadata says it is graded and is not a solution."""
    meta = (metadata or {}).get("nbgrader", {})
    return grade_marker(source) is not None or (meta.get("grade") is True and
                                                not meta.get("solution"))


@dataclass(frozen=True)
class Exercise:
    """An exercise heading of a lab and its effort line."""

    index: int
    number: int
    title: str
    minutes: int
    level: str
    derivation: bool


@dataclass(frozen=True)
class Effort:
    """How long a lab says it takes (its first cell) and what each exercise says."""

    minutes: int
    exercises: tuple[Exercise, ...]


def read_effort(cells, where: str = "") -> Effort:
    """The effort lines of a lab's cells (``nbformat`` nodes or JSON dicts). Raises
    :class:`LabSpecError` naming the cell when the lab's time line or an exercise heading's
    effort line is missing or malformed."""
    def text(cell):
        source = cell["source"]
        return source if isinstance(source, str) else "".join(source)

    md = [(i, text(c)) for i, c in enumerate(cells) if c["cell_type"] == "markdown"]
    lab_time = LAB_TIME_RE.search(md[0][1]) if md else None
    if lab_time is None:
        raise LabSpecError(f"{where}: the first cell has no line '**Time:** about <m> minutes'")
    exercises = []
    for index, source in md:
        headings = list(EXERCISE_RE.finditer(source))
        ends = [h.start() for h in headings[1:]] + [len(source)] if headings else []
        for heading, end in zip(headings, ends, strict=True):
            # the effort line belongs to the heading above it, before the next heading of any level
            body = source[heading.end():end]
            body = re.split(r"^#{1,6}\s", body, maxsplit=1, flags=re.M)[0]
            exercises.append(_exercise(index, heading, EFFORT_RE.search(body), where))
    return Effort(int(lab_time["minutes"]), tuple(exercises))


def _exercise(index: int, heading: re.Match, effort: re.Match | None, where: str) -> Exercise:
    if effort is None:
        raise LabSpecError(f"{where} cell {index}: exercise {heading['number']} has no line "
                           "'*About <m> minutes · <easy|moderate|hard>*' under its heading")
    return Exercise(index, int(heading["number"]), heading["title"], int(effort["minutes"]),
                    effort["level"], bool(effort["derivation"]))
