"""Grades for a learning platform: ``canvas.csv`` (Canvas's gradebook import) and
``per-question.csv`` (one row per student and question, for any platform), from a batch's
results and a roster that maps the course's student ids to the platform's.

The roster is a CSV file with a header row (UTF-8; a spreadsheet's byte-order mark is fine)::

    student,platform_id,name,sis_user_id,sis_login_id,section
    ann,4711,"Lee, Ann",S-1001,alee,Monday
    bob,4712,"Ray, Bob",,bray,

``student`` is the course's id, the name the grader gives the submission (the file or folder
name, e.g. the JupyterHub user); ``platform_id`` the platform's id of the student (Canvas: the
``ID`` column of its gradebook export); ``name`` as the platform shows it; ``sis_user_id``,
``sis_login_id`` and ``section`` are optional. Every row needs ``student`` and at least one of
``platform_id``, ``sis_user_id``, ``sis_login_id``. Unknown columns are refused (a misspelt one
would be lost without a word). The older roster, one student id per line, still marks who
handed in nothing, but it maps no one to the platform, so it makes no export.

What Canvas reads (its ``lib/gradebook_importer.rb``): a header ``Student, ID, SIS User ID,
SIS Login ID, Section`` and then one column per assignment, the assignment matched by
``Title (id)``, else by its exact title, else created; a row whose first cell contains
``Points Possible`` gives the points of each assignment; each student row is matched by ``ID``,
then ``SIS User ID``, then ``SIS Login ID``, then by name. Any other column would be read as
one more assignment, so ``canvas.csv`` has these six columns and nothing else.

Cells: a ``graded`` or ``timed out`` row exports the points the grader gave; every other status
(``missing``, ``unreadable``, ``wrong lab``, ``kernel died``, ``error``) exports an empty cell,
never a zero (as in ``grades.csv``: a failed submission is not a plain zero). A submission whose
student is not on the roster is not in ``canvas.csv`` (Canvas could not match it); it keeps its
rows in ``per-question.csv`` with an empty ``platform_id``, and :func:`write_exports` returns
(and the command line prints) its id.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from course_tools.grading.results import WITH_POINTS, Result, student_id
from course_tools.grading.spec import LabSpec

ROSTER_COLUMNS = ("student", "platform_id", "name", "sis_user_id", "sis_login_id", "section")
PLATFORM_IDS = ("platform_id", "sis_user_id", "sis_login_id")
CANVAS_HEADER = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
CANVAS_POINTS_ROW = "    Points Possible"  # as Canvas's own export writes it
PER_QUESTION_HEADER = ("platform_id", "student", "name", "question", "points", "max_points",
                       "status", "flag")


@dataclass(frozen=True)
class RosterEntry:
    """One student of a CSV roster."""

    student: str
    platform_id: str = ""
    name: str = ""
    sis_user_id: str = ""
    sis_login_id: str = ""
    section: str = ""


@dataclass
class Roster:
    """A roster: the course's student ids in the file's order and, for a CSV roster, each
    one's platform ids (``entries`` is None for the one-id-per-line roster)."""

    students: list[str]
    entries: dict[str, RosterEntry] | None = None


@dataclass
class Exports:
    """What :func:`write_exports` wrote."""

    canvas: Path
    per_question: Path
    not_on_roster: list[str] = field(default_factory=list)  # submissions no roster row maps


def read_roster(path: Path) -> Roster:
    """Read a roster: a CSV file whose header row starts with ``student`` (see the module's
    docstring), or the older text file of one student id per line. Raises ValueError, naming
    the line, for anything it cannot read unambiguously."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"roster: cannot read {path}: {exc}") from None
    lines = text.splitlines()
    first = next((line for line in lines if line.strip()), "")
    header = next(csv.reader([first]), [])
    if header and header[0].strip().lower() == "student":
        return _read_csv_roster(path, text)
    students = []
    for number, line in enumerate(lines, 1):
        if "," in line:
            raise ValueError(f"roster: {path.name}, line {number} has a comma: a CSV roster "
                             f"needs the header row {','.join(ROSTER_COLUMNS)}; the plain "
                             "roster has one student id per line")
        if line.strip():
            students.append(student_id(line.strip()))
    return Roster(list(dict.fromkeys(students)))


def _read_csv_roster(path: Path, text: str) -> Roster:
    rows = csv.reader(io.StringIO(text))
    header = [h.strip().lower() for h in next(rows)]
    unknown = [h for h in header if h not in ROSTER_COLUMNS]
    if unknown or len(set(header)) < len(header):
        raise ValueError(f"roster: {path.name}: the header row has "
                         f"{'unknown' if unknown else 'repeated'} columns "
                         f"{unknown or header}; the columns are {', '.join(ROSTER_COLUMNS)}")
    if not set(PLATFORM_IDS) & set(header):
        raise ValueError(f"roster: {path.name} maps no student to the platform: add a column "
                         f"{', '.join(PLATFORM_IDS[:-1])} or {PLATFORM_IDS[-1]}")
    entries: dict[str, RosterEntry] = {}
    seen: dict[tuple[str, str], str] = {}
    for number, row in enumerate(rows, 2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header):
            raise ValueError(f"roster: {path.name}, line {number} has {len(row)} cells for "
                             f"{len(header)} columns (a name with a comma needs quotes)")
        values = {h: cell.strip() for h, cell in zip(header, row, strict=False)}
        raw = values.get("student", "")
        if not raw:
            raise ValueError(f"roster: {path.name}, line {number}: no student id")
        entry = RosterEntry(**{**values, "student": student_id(raw)})
        if entry.student in entries:
            raise ValueError(f"roster: {path.name}, line {number}: student {raw} is listed twice")
        ids = [(column, getattr(entry, column)) for column in PLATFORM_IDS
               if getattr(entry, column)]
        if not ids:
            raise ValueError(f"roster: {path.name}, line {number}: student {raw} has no "
                             f"{', '.join(PLATFORM_IDS)}")
        for key in ids:
            if key in seen:
                raise ValueError(f"roster: {path.name}, line {number}: {key[0]} {key[1]} is "
                                 f"also {seen[key]}'s")
            seen[key] = entry.student
        entries[entry.student] = entry
    return Roster(list(entries), entries)


def _number(x: float) -> str:
    """Points as Canvas's export writes them: at most two decimals, no trailing zeros."""
    text = f"{x:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _missing(student: str, max_scores: dict[str, float]) -> Result:
    return Result(student, "missing", max_scores=dict(max_scores),
                  message="no notebook handed in")


def write_exports(out: Path, lab: str, results: list[Result], max_scores: dict[str, float],
                  roster: Roster, assignment: str | None = None) -> Exports:
    """Write ``out/canvas.csv`` and ``out/per-question.csv`` for the CSV ``roster``.

    ``max_scores`` is the lab's question -> points (:attr:`LabSpec.max_scores`); ``assignment``
    the header of Canvas's assignment column (default ``lab``; ``"Lab 3 (12345)"`` names an
    existing Canvas assignment by its id). A roster student without a result is ``missing``."""
    if roster.entries is None:
        raise ValueError("roster: one id per line maps no student to the platform; exports "
                         f"need a CSV roster ({','.join(ROSTER_COLUMNS)})")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    by_student = {r.student: r for r in results}
    on_roster = [by_student.get(s) or _missing(s, max_scores) for s in roster.students]
    not_on_roster = sorted(s for s in by_student if s not in roster.entries)
    rows = [(roster.entries[r.student], r) for r in on_roster] + \
        [(RosterEntry(s), by_student[s]) for s in not_on_roster]

    canvas = out / "canvas.csv"
    with open(canvas.with_suffix(".csv.tmp"), "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow([*CANVAS_HEADER, assignment or lab])
        writer.writerow([CANVAS_POINTS_ROW, "", "", "", "", _number(sum(max_scores.values()))])
        for entry, r in rows[:len(on_roster)]:
            total = _number(sum(r.scores.get(q, 0.0) for q in max_scores)) \
                if r.status in WITH_POINTS else ""
            writer.writerow([entry.name, entry.platform_id, entry.sis_user_id,
                             entry.sis_login_id, entry.section, total])
    canvas.with_suffix(".csv.tmp").replace(canvas)

    per_question = out / "per-question.csv"
    with open(per_question.with_suffix(".csv.tmp"), "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(PER_QUESTION_HEADER)
        for entry, r in rows:
            for q, most in max_scores.items():
                points = _number(r.scores.get(q, 0.0)) if r.status in WITH_POINTS else ""
                writer.writerow([entry.platform_id, r.student, entry.name, q, points,
                                 _number(most), r.status, r.flags.get(q, "")])
    per_question.with_suffix(".csv.tmp").replace(per_question)
    return Exports(canvas, per_question, not_on_roster)


def export_batch(out: Path, lab: str, results: list[Result], solutions: Path, roster: Roster,
                 assignment: str | None = None) -> str:
    """The command line's last step with ``--roster``: the exports when the roster maps the
    students to the platform; returns what to print (a warning names the submissions no roster
    row maps)."""
    if roster.entries is None:
        return ("roster: one student id per line maps no one to the platform, so no "
                "canvas.csv or per-question.csv was written (a CSV roster with the header "
                f"{','.join(ROSTER_COLUMNS)} makes them)")
    done = write_exports(out, lab, results, LabSpec(lab, solutions).max_scores, roster,
                         assignment)
    lines = [f"wrote {done.canvas} (Canvas's gradebook import) and {done.per_question}"]
    if done.not_on_roster:
        n = len(done.not_on_roster)
        shown = ", ".join(done.not_on_roster[:10]) + (f" and {n - 10} more" if n > 10 else "")
        lines.append(f"warning: {n} submission(s) have no row in the roster, so they are not in "
                     f"canvas.csv: {shown} (in per-question.csv with an empty platform_id)")
    return "\n".join(lines)
