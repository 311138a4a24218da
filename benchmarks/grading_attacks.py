"""Grading under attack, on the real labs: the three attacks that once earned full marks, on
every lab they apply to, and a class of 30 with 5 submissions whose functions loop forever.

    .venv/bin/python benchmarks/grading_attacks.py attacks [--labs ch03 ch10]
    .venv/bin/python benchmarks/grading_attacks.py class            # lab 3, 30 submissions

``attacks``: for each lab, from its untouched student notebook (so any point is stolen):

- *rebind*: a last cell that rebinds every exercise to the reference the first cell imports
  (``rnn_forward = reference_rnn_forward``), where the lab imports one;
- *lookup*: every exercise's stub replaced by a function that finds ``reference_<name>`` in any
  ``course_lib.checks`` or ``course_lib.references`` module and returns its result;
- *link*: a symbolic link to the master lab;

graded in one batch with a copy of the master (the honest row, which must keep full marks).
Each attack must earn 0 points (the link: ``unreadable``). ``class``: 25 copies of the lab 3
master and 5 notebooks whose three functions loop forever, graded with 2 workers; the design's
budget is 30 x (the lab's time) / cores x 1.5 + 5 x (one submission's time budget).

Both are items of ``make bench`` (``benchmarks/run.py --only attacks class``).
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
LABS = sorted(p.name for p in (ROOT / "solutions").iterdir() if (p / f"{p.name}_lab.ipynb").exists())

LOOKUP = '''def {name}(*args, **kwargs):
    import importlib, pkgutil
    import course_lib.checks, course_lib.references
    for package in (course_lib.checks, course_lib.references):
        for info in pkgutil.iter_modules(package.__path__):
            module = importlib.import_module(package.__name__ + "." + info.name)
            if hasattr(module, "reference_{name}"):
                return getattr(module, "reference_{name}")(*args, **kwargs)
    raise NotImplementedError
'''


def _grade(subs: Path, lab: str, out: Path, workers: int = 2) -> tuple[float, dict]:
    start = time.monotonic()
    proc = subprocess.run([PY, "-m", "course_tools.grading", str(subs), "--lab", lab, "--out",
                           str(out), "--workers", str(workers)], cwd=ROOT, capture_output=True,
                          text=True)
    seconds = time.monotonic() - start
    if proc.returncode != 0:
        raise RuntimeError(f"grading {lab} failed: {proc.stderr.strip()[-600:]}")
    rows = {r["student"]: r for r in csv.DictReader(open(out / "grades.csv"))}
    return seconds, rows


def _defined(cell) -> str | None:
    """The function an exercise cell defines (its first ``def``)."""
    found = re.search(r"^def (\w+)\(", cell.source, re.M)
    return found[1] if found else None


def _exercises(nb) -> list[str]:
    return [_defined(c) for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("solution") and _defined(c)]


def attacks(labs: list[str]) -> list[dict]:
    """One row per lab and attack: its points (must be 0) and the honest copy's."""
    rows = []
    for lab in labs:
        student = nbformat.read(ROOT / "notebooks" / lab / f"{lab}_lab.ipynb", as_version=4)
        names = _exercises(student)
        first = next(c.source for c in student.cells if c.cell_type == "code")
        imported = set(re.findall(r"\breference_(\w+)", first))
        with tempfile.TemporaryDirectory(prefix=f"attacks-{lab}-") as tmp:
            subs = Path(tmp) / "subs"
            subs.mkdir()
            made = []
            rebound = [n for n in names if n in imported]
            if rebound:
                nb = nbformat.read(ROOT / "notebooks" / lab / f"{lab}_lab.ipynb", as_version=4)
                nb.cells.append(nbformat.v4.new_code_cell(
                    "\n".join(f"{n} = reference_{n}" for n in rebound)))
                nbformat.write(nb, subs / "rebind.ipynb")
                made.append("rebind")
            nb = nbformat.read(ROOT / "notebooks" / lab / f"{lab}_lab.ipynb", as_version=4)
            for cell in nb.cells:
                if cell.metadata.get("nbgrader", {}).get("solution") and _defined(cell):
                    cell.source = LOOKUP.format(name=_defined(cell))
            nbformat.write(nb, subs / "lookup.ipynb")
            made.append("lookup")
            (subs / "link.ipynb").symlink_to(ROOT / "solutions" / lab / f"{lab}_lab.ipynb")
            made.append("link")
            (subs / "honest.ipynb").write_bytes(
                (ROOT / "solutions" / lab / f"{lab}_lab.ipynb").read_bytes())
            seconds, result = _grade(subs, lab, Path(tmp) / "out")
        honest = result["honest"]
        for attack in made:
            r = result[attack]
            points = r["total"] or "-"
            ok = (r["status"] == "unreadable") if attack == "link" else (r["total"] == "0")
            rows.append({"lab": lab, "attack": attack, "status": r["status"], "points": points,
                         "honest": honest["total"], "flags": r["flags"][:120],
                         "ok": ok and honest["status"] == "graded" and not honest["flags"],
                         "seconds": round(seconds, 1)})
            print(f"{lab} {attack:7s} {r['status']:10s} points {points:>4s} (honest "
                  f"{honest['total']}) {'ok' if rows[-1]['ok'] else 'FAILED'}", flush=True)
    return rows


def grade_class(lab: str = "ch03", n: int = 30, loops: int = 5) -> dict:
    """Grade a class of ``n`` with ``loops`` all-loops submissions; the times and the budget."""
    master = ROOT / "solutions" / lab / f"{lab}_lab.ipynb"
    with tempfile.TemporaryDirectory(prefix=f"class-{lab}-") as tmp:
        subs = Path(tmp) / "subs"
        subs.mkdir()
        start = time.monotonic()
        check = subprocess.run([PY, "-m", "course_tools.grading", "--lab", lab,
                                "--check-master"], cwd=ROOT, capture_output=True, text=True)
        master_seconds = time.monotonic() - start
        if check.returncode != 0:
            raise RuntimeError(check.stderr.strip()[-600:])
        for i in range(n - loops):
            (subs / f"honest{i:02d}.ipynb").write_bytes(master.read_bytes())
        nb = nbformat.read(master, as_version=4)
        for cell in nb.cells:
            name = _defined(cell)
            if "### BEGIN SOLUTION" in cell.source and name:
                cell.source = f"def {name}(*args, **kwargs):\n    while True:\n        pass\n"
        for i in range(loops):
            nbformat.write(nb, subs / f"loops{i}.ipynb")
        seconds, rows = _grade(subs, lab, Path(tmp) / "out", workers=os.cpu_count() or 1)
    per_budget = max(120.0, 3.0 * master_seconds)
    cores = os.cpu_count() or 1
    limit = n * master_seconds / cores * 1.5 + loops * per_budget
    statuses = sorted({r["status"] for r in rows.values()})
    full = sum(r["status"] == "graded" and not r["flags"] and
               float(r["total"] or 0) == max(float(x["total"] or 0) for x in rows.values())
               for r in rows.values())
    return {"lab": lab, "seconds": seconds, "master_seconds": master_seconds, "limit": limit,
            "per_budget": per_budget, "statuses": statuses, "full_marks": full,
            "timed_out": sum(r["status"] == "timed out" for r in rows.values()),
            "loops_max_seconds": max(float(r["seconds"]) for s, r in rows.items()
                                     if s.startswith("loops"))}


RESULTS = ROOT / "benchmarks" / "results"


def _measured() -> str:
    return (f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by "
            f"`benchmarks/grading_attacks.py` on {os.cpu_count()} cores.\n\n")


def attacks_table(rows: list[dict]) -> str:
    lines = ["| lab | attack | status | points | honest copy | flags (start) | earned nothing |",
             "|---|---|---|---:|---:|---|---|"]
    lines += [f"| {r['lab']} | {r['attack']} | {r['status']} | {r['points']} | {r['honest']} | "
              f"{r.get('flags', '')[:60]} | {'yes' if r['ok'] else 'NO'} |" for r in rows]
    return "\n".join(lines)


def class_table(r: dict) -> str:
    return ("| class | seconds | limit | master in the sandbox | budget per submission | full marks | "
            "timed out | slowest looping submission |\n|---|---:|---:|---:|---:|---:|---:|---:|\n"
            f"| 30 of {r['lab']}, 5 looping | {r['seconds']:.0f} | {r['limit']:.0f} | "
            f"{r['master_seconds']:.0f} | {r['per_budget']:.0f} | {r['full_marks']} | "
            f"{r['timed_out']} | {r['loops_max_seconds']:.0f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["attacks", "class"])
    parser.add_argument("--labs", nargs="+", default=LABS)
    args = parser.parse_args(argv)
    if args.what == "attacks":
        rows = attacks(args.labs)
        (RESULTS / "grading-attacks.md").write_text(_measured() + attacks_table(rows) + "\n")
        return 0 if all(r["ok"] for r in rows) else 1
    r = grade_class()
    print(r)
    (RESULTS / "grading-class.md").write_text(_measured() + class_table(r) + "\n")
    return 0 if r["seconds"] <= r["limit"] else 1


if __name__ == "__main__":
    sys.exit(main())
