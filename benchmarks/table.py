"""Rows of benchmark results, their budgets, and the Markdown table and CSV they are written to.

A row is a dict: ``item`` (what was measured), ``seconds`` (median wall time), optionally
``cpu_seconds``, ``reference`` (median seconds of the reference measured side by side),
``ratio`` (seconds / reference, or another dimensionless measure), ``limit`` (``("seconds", 60)``
or ``("ratio", 1.0)``: the budget) and ``note``.
"""

from __future__ import annotations

import csv
import statistics
from pathlib import Path

FIELDS = ("item", "seconds", "cpu_seconds", "reference", "ratio", "budget", "verdict", "note")


def median(values) -> float:
    """Median of a non-empty sequence of numbers."""
    values = list(values)
    if not values:
        raise ValueError("median of no values")
    return float(statistics.median(values))


def row(item: str, seconds=None, *, reference=None, ratio=None, limit=None, **extra) -> dict:
    """A result row; ``ratio`` defaults to seconds / reference when both are given."""
    if ratio is None and seconds is not None and reference:
        ratio = seconds / reference
    return {"item": item, "seconds": seconds, "reference": reference, "ratio": ratio,
            "limit": limit, **extra}


def budget_text(limit) -> str:
    if limit is None:
        return ""
    field, value = limit
    if field == "seconds":
        return f"≤ {value:g} s"
    if field == "overhead":
        return f"overhead ≤ {value:.0%}"
    return f"{field} ≤ {value:g}"


def meets(r: dict) -> bool | None:
    """True/False when the row has a budget and a value to compare, else None."""
    if r.get("limit") is None:
        return None
    field, value = r["limit"]
    if field == "overhead":
        measured = None if r.get("ratio") is None else r["ratio"] - 1.0
    else:
        measured = r.get(field)
    if measured is None or measured == "":
        return None
    return float(measured) <= value


def _fmt(value, digits: int = 1) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def cells(r: dict) -> dict:
    """The row as the strings of the table's columns."""
    ok = meets(r)
    return {
        "item": r["item"],
        "seconds": _fmt(r.get("seconds"), 3 if (r.get("seconds") or 1) < 1 else 1),
        "cpu_seconds": _fmt(r.get("cpu_seconds")),
        "reference": _fmt(r.get("reference"), 3 if (r.get("reference") or 1) < 1 else 1),
        "ratio": _fmt(r.get("ratio"), 2),
        "budget": budget_text(r.get("limit")),
        "verdict": "" if ok is None else ("ok" if ok else "MISSED"),
        "note": r.get("note", ""),
    }


HEADERS = ("item", "median s", "CPU s", "reference s", "ratio", "budget", "verdict", "note")


def markdown(rows: list[dict], preamble: list[str]) -> str:
    """A Markdown table of the rows, after the preamble lines."""
    lines = list(preamble) + ["", "| " + " | ".join(HEADERS) + " |",
                              "|---|---:|---:|---:|---:|---|---|---|"]
    for r in rows:
        c = cells(r)
        lines.append("| " + " | ".join(c[f].replace("|", "/") for f in FIELDS) + " |")
    return "\n".join(lines) + "\n"


def write(rows: list[dict], preamble: list[str], directory: Path) -> str:
    """Write ``latest.md`` and ``latest.csv`` into ``directory``; return the Markdown."""
    directory.mkdir(parents=True, exist_ok=True)
    text = markdown(rows, preamble)
    (directory / "latest.md").write_text(text)
    with open(directory / "latest.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=(*FIELDS, "step"))
        writer.writeheader()
        for r in rows:
            writer.writerow({**cells(r), "step": r.get("step", "")})
    return text


def merge(old: list[dict], new: list[dict], steps=()) -> list[dict]:
    """Rows of ``new`` replace the rows of ``old`` with the same item; other old rows stay,
    except those of a re-measured step (``steps``: an item renamed or removed since then);
    new items are appended (so ``--only`` updates part of the table)."""
    fresh = {r["item"]: r for r in new}
    out = [fresh.pop(r["item"], r) for r in old
           if r["item"] in fresh or r.get("step", "") not in steps or not r.get("step")]
    return out + [r for r in new if r["item"] in fresh]


def read_csv(path: Path) -> list[dict]:
    """Rows back from a ``latest.csv`` (numbers as floats, budgets as text)."""
    if not path.exists():
        return []
    rows = []
    with open(path, newline="") as f:
        for c in csv.DictReader(f):
            r = {"item": c["item"], "note": c.get("note", ""), "step": c.get("step") or ""}
            for field in ("seconds", "cpu_seconds", "reference", "ratio"):
                r[field] = float(c[field]) if c.get(field) else None
            r["limit"] = parse_budget(c.get("budget", ""))
            rows.append(r)
    return rows


def parse_budget(text: str):
    """Inverse of :func:`budget_text`."""
    text = text.replace("≤", "<=").replace(" ", " ").strip()
    if not text:
        return None
    if text.startswith("overhead <= "):
        return ("overhead", float(text.removeprefix("overhead <= ").rstrip("%")) / 100)
    if text.startswith("<= ") and text.endswith(" s"):
        return ("seconds", float(text[3:-2]))
    field, value = text.split(" <= ")
    return (field, float(value))
