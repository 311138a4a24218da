"""What grading gives: one :class:`Result` per student (stored as JSON to resume a batch), the
statuses a row can have, and the students' ids and notebooks in a submissions folder."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

STATUSES = ("graded", "timed out", "kernel died", "unreadable", "wrong lab", "missing", "error")
WITH_POINTS = ("graded", "timed out")
NAME_RE = re.compile(r"[^A-Za-z0-9_.\-]+")


@dataclass
class PartResult:
    """One named part of a question's hidden tests (its name says what it tested)."""

    name: str
    points: float
    max_points: float
    passed: bool


@dataclass
class QuestionResult:
    """Feedback for one graded question."""

    points: float
    max_points: float
    checked: str      # what was checked (the check's description)
    passed: bool
    diagnostic: str   # the public check's message (public seed only) or why it could not run
    parts: list[PartResult] = field(default_factory=list)  # when the hidden tests have parts


@dataclass
class Result:
    """One student's outcome."""

    student: str
    status: str
    scores: dict[str, float] = field(default_factory=dict)
    max_scores: dict[str, float] = field(default_factory=dict)
    message: str = ""
    seconds: float = 0.0
    questions: dict[str, QuestionResult] = field(default_factory=dict)
    cell_errors: list[str] = field(default_factory=list)
    digest: str = ""
    fingerprint: str = ""
    flags: dict[str, str] = field(default_factory=dict)  # question -> why its rule is broken

    @property
    def total(self) -> float | None:
        return sum(self.scores.values()) if self.status in WITH_POINTS else None

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> Result:
        data = dict(data)
        data["questions"] = {k: QuestionResult(**{**v, "parts": [PartResult(**p) for p in
                                                                   v.get("parts", [])]})
                             for k, v in data.get("questions", {}).items()}
        return cls(**data)


def student_id(name: str) -> str:
    """A safe student id from a file or folder name (letters, digits, ``_ . -``)."""
    cleaned = NAME_RE.sub("_", name).strip("._") or "student"
    return cleaned[:64]


NBGRADER_STAMP = "timestamp.txt"  # nbgrader's submit writes it into each submission; collect keeps it


def _notebooks(folder: Path, skip: tuple[Path, ...] = ()) -> list[Path]:
    """The notebooks under ``folder`` (not in Jupyter's checkpoints, not under ``skip``)."""
    return sorted(p for p in folder.rglob("*.ipynb")
                  if ".ipynb_checkpoints" not in p.relative_to(folder).parts
                  and not any(s in p.parents for s in skip))


def _choose(student: Path, lab: str | None, notebook: str | None) -> tuple[Path | None, str]:
    """The notebook of ``lab`` in the folder ``student`` and a note on what else was there.

    nbgrader's ``submitted/<student>/<assignment>/`` holds every assignment collected so far:
    the folder named ``lab`` is graded and the others are ignored; a student whose folder holds
    only other assignments handed in nothing for this lab. Of several notebooks, the one named
    like the released lab (``notebook``) is graded, as nbgrader does; with none so named nothing
    is guessed."""
    base, skip = student, ()
    if lab is not None:
        mine = student / lab
        if mine.is_dir() and not mine.is_symlink():
            base = mine
        else:
            skip = tuple(d for d in student.iterdir()
                         if d.is_dir() and (d / NBGRADER_STAMP).is_file())
    found = _notebooks(base, skip)
    where = student.name

    def rel(p: Path) -> str:
        return f"{where}/{p.relative_to(student).as_posix()}"

    if not found:
        if skip:
            return None, (f"nothing handed in for {lab}: the nbgrader folder {where}/ holds "
                          f"{', '.join(sorted(d.name for d in skip))} only")
        return None, ""
    if len(found) == 1:
        return found[0], ""
    if notebook is None:  # no name to go by: the first (by path), and say so
        return found[0], (f"graded {rel(found[0])}, the first of {len(found)} notebooks; "
                          f"not graded: {', '.join(rel(p) for p in found[1:])}")
    named = sorted((p for p in found if p.name == notebook), key=lambda p: (len(p.parts), p))
    if not named:
        return None, (f"nothing graded: {len(found)} notebooks and none is named {notebook} "
                      f"({', '.join(rel(p) for p in found)}); hand in the lab as {notebook}")
    return named[0], (f"graded {rel(named[0])}; not graded: "
                      f"{', '.join(rel(p) for p in found if p != named[0])}")


def find_submissions(folder: Path, lab: str | None = None, notebook: str | None = None,
                     notes: dict[str, str] | None = None) -> dict[str, Path | None]:
    """Map student id -> submitted notebook (``None``: nothing handed in).

    Accepted layouts: ``folder/<student>.ipynb``; ``folder/<student>/.../<any>.ipynb``; and
    nbgrader's ``submitted/<student>/<assignment>/<notebook>.ipynb`` as ``nbgrader collect``
    leaves it (with its ``timestamp.txt`` beside), where the folder named ``lab`` is this lab's
    and folders of other assignments are ignored. The student id is the first name under
    ``folder``. Of several notebooks in a student's folder, the one named ``notebook`` (the
    released lab's file name) is graded; with none so named, none is (see :func:`_choose`).
    ``notes``, when given, receives for each student a sentence on what was graded and what was
    not when there was a choice. A folder of nbgrader assignments where no student has one
    named ``lab`` is an error (the assignment is probably named otherwise)."""
    if not folder.is_dir():
        raise ValueError(f"submissions: expected a folder, got {folder}")
    found: dict[str, Path | None] = {}
    assignments: set[str] = set()   # nbgrader's assignment folders seen
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_symlink():
            if entry.suffix == ".ipynb" or entry.is_dir():
                found[student_id(entry.stem if entry.suffix == ".ipynb" else entry.name)] = entry
            continue
        if entry.is_file() and entry.suffix == ".ipynb":
            found[student_id(entry.stem)] = entry
        elif entry.is_dir():
            student = student_id(entry.name)
            found[student], note = _choose(entry, lab, notebook)
            if note and notes is not None:
                notes[student] = note
            assignments |= {d.name for d in entry.iterdir()
                            if d.is_dir() and (d / NBGRADER_STAMP).is_file()}
            if lab is not None and (entry / lab).is_dir():
                assignments.add(lab)
    if lab is not None and assignments and lab not in assignments:
        raise ValueError(f"submissions: {folder} has nbgrader's layout <student>/<assignment>/ "
                         f"but no student has a folder {lab}/ (assignments found: "
                         f"{', '.join(sorted(assignments))}); --lab {lab} grades "
                         f"<student>/{lab}/, so release the lab as the nbgrader assignment "
                         f"{lab}")
    return found
