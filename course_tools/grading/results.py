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


def find_submissions(folder: Path) -> dict[str, Path | None]:
    """Map student id -> submitted notebook.

    Accepted layouts: ``folder/<student>.ipynb``, or ``folder/<student>/.../<any>.ipynb``
    (one notebook per student folder; nbgrader's ``submitted/<student>/<lab>/`` fits). A student
    folder without a notebook maps to ``None`` (missing).
    """
    if not folder.is_dir():
        raise ValueError(f"submissions: expected a folder, got {folder}")
    found: dict[str, Path | None] = {}
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
            nbs = sorted(p for p in entry.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
            found[student_id(entry.name)] = nbs[0] if nbs else None
    return found
