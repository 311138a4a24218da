"""What a batch writes for people: each student's feedback (text and HTML), ``grades.csv`` and
the one-paragraph summary of a run. The HTML page is ``templates/feedback/feedback.html``;
every value put into it is escaped here."""

from __future__ import annotations

import csv
import html
from pathlib import Path
from string import Template

from course_tools.grading.results import STATUSES, WITH_POINTS, Result

TEMPLATE = Path(__file__).resolve().parent.parent / "templates" / "feedback" / "feedback.html"
TABLE_HEAD = ("question", "result", "points", "what was checked",
              "your check's message (public example)")
MAX_ERRORS = 20


def _points(r: Result) -> str:
    return f"{sum(r.scores.values()):g} / {sum(r.max_scores.values()):g}"


def feedback_text(lab: str, r: Result) -> str:
    lines = [f"Lab {lab}, student {r.student}: {r.status}"]
    if r.message:
        lines.append(r.message)
    if r.status in WITH_POINTS:
        for qid, q in r.questions.items():
            mark = "passed" if q.passed else "not passed"
            lines.append(f"  {qid}: {q.points:g} / {q.max_points:g}  ({mark})")
            lines.append(f"      checked: {q.checked}")
            for part in q.parts:
                lines.append(f"      - {part.name}: {part.points:g} / {part.max_points:g} "
                             f"({'passed' if part.passed else 'not passed'})")
            if q.diagnostic:
                lines.append(f"      your check says: {q.diagnostic}")
            if qid in r.flags:
                lines.append(f"      from-scratch rule: {r.flags[qid]}")
        lines.append(f"  total: {_points(r)}")
    if r.cell_errors:
        lines.append("Cells that raised an error or were stopped:")
        lines += [f"  {e}" for e in r.cell_errors[:MAX_ERRORS]]
    return "\n".join(lines) + "\n"


def _element(tag: str, *children: str, cls: str = "") -> str:
    """``<tag>`` around ``children`` (already escaped or markup)."""
    attr = f" class='{cls}'" if cls else ""
    return f"<{tag}{attr}>{''.join(children)}</{tag}>"


def _table(r: Result) -> str:
    if r.status not in WITH_POINTS or not r.questions:
        return ""
    esc = html.escape
    rows = [_element("tr", *(_element("th", esc(h)) for h in TABLE_HEAD))]
    for qid, q in r.questions.items():
        cells = (qid, "passed" if q.passed else "not passed",
                 f"{q.points:g} / {q.max_points:g}", q.checked,
                 q.diagnostic if qid not in r.flags or r.flags[qid] in q.diagnostic
                 else f"{q.diagnostic} | from-scratch rule: {r.flags[qid]}")
        rows.append(_element("tr", *(_element("td", esc(c)) for c in cells),
                             cls="pass" if q.passed else "fail"))
        for part in q.parts:  # one row per named part of the hidden tests
            cells = (f"{qid}: {part.name}", "passed" if part.passed else "not passed",
                     f"{part.points:g} / {part.max_points:g}", "part of the hidden tests", "")
            rows.append(_element("tr", *(_element("td", esc(c)) for c in cells),
                                 cls="part pass" if part.passed else "part fail"))
    return _element("table", *rows)


def feedback_html(lab: str, r: Result) -> str:
    esc = html.escape
    errors = "".join(_element("li", esc(e)) for e in r.cell_errors[:MAX_ERRORS])
    page = Template(TEMPLATE.read_text(encoding="utf-8")).substitute(
        lab=esc(lab), student=esc(r.student), status=esc(r.status), message=esc(r.message),
        table=_table(r),
        total=_element("p", f"Total: {_points(r)}") if r.status in WITH_POINTS else "",
        errors=_element("h2", "Cells with errors") + _element("ul", errors) if errors else "")
    return page.rstrip("\n") + "\n"


def part_columns(results: list[Result], questions: list[str]) -> list[tuple[str, str]]:
    """(question, part) of every question graded in named parts, in the questions' order and
    each question's order of parts (as the results hold them)."""
    found: list[tuple[str, str]] = []
    for q in questions:
        names = next(([p.name for p in r.questions[q].parts] for r in results
                      if q in r.questions and r.questions[q].parts), [])
        found += [(q, name) for name in names]
    return found


def write_csv(path: Path, results: list[Result], questions: list[str]) -> None:
    """One row per student: status, one column per question, total, seconds, message, flags
    (the questions whose from-scratch rule was broken, each with its reason), then one column
    ``<question>: <part>`` per named part of a question's hidden tests (its share of the
    question's points, which the question's column adds up)."""
    tmp = path.with_suffix(".csv.tmp")
    parts = part_columns(results, questions)
    with open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "status", *questions, "total", "seconds", "message",
                         "flags", *(f"{q}: {name}" for q, name in parts)])
        for r in sorted(results, key=lambda r: r.student):
            has_points = r.status in WITH_POINTS
            cells = [f"{r.scores.get(q, 0.0):g}" if has_points else "" for q in questions]
            total = f"{sum(r.scores.values()):g}" if has_points else ""
            flags = " | ".join(f"{q}: {why}" for q, why in sorted(r.flags.items()))
            earned = {(q, p.name): p.points for q, qr in r.questions.items() for p in qr.parts}
            part_cells = [f"{earned.get(key, 0.0):g}" if has_points else "" for key in parts]
            writer.writerow([r.student, r.status, *cells, total, f"{r.seconds:.2f}", r.message,
                             flags, *part_cells])
    tmp.replace(path)


def summary(results: list[Result], n_graded_now: int, seconds: float, workers: int) -> str:
    counts = {s: sum(r.status == s for r in results) for s in STATUSES}
    line = ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "no submissions found"
    flagged = sum(bool(r.flags) for r in results)
    if flagged:
        line += f"; {flagged} with a from-scratch rule broken (column flags)"
    now = [r for r in results if r.seconds]
    per = sum(r.seconds for r in now) / len(now) if now else 0.0
    return (f"{line}\n{n_graded_now} graded in this run, {len(results) - n_graded_now} reused; "
            f"{seconds:.1f} s with {workers} worker(s), {per:.1f} s per submission")
