"""Same-machine determinism: every master lab executed several times gives the same outputs.

Strict nbval compares only the outputs that hold on every machine; the trained numbers of the
cells tagged ``nbval-ignore-output`` it does not look at. On one machine they must not move
either: a lab run again, with the same seed, prints the same losses, samples and figures. This
executes every master lab ``--runs`` times (fresh kernel each time, in the lab's folder, two
labs at a time like nbval) and compares every output of every code cell between the runs,
those nbval ignores included: streams, ``text/plain``, HTML and images (by content). It prints
and writes ``benchmarks/results/determinism.md``: per lab, the cells and how many were identical
in all runs, and the first cell that differed.

    .venv/bin/python benchmarks/determinism.py               # 3 runs of every lab
    .venv/bin/python benchmarks/determinism.py --only ch04 --runs 2 --no-write

Exit status 1 when any output differs between runs or a run fails.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from portability import cpu_model

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
COMPARED = ("text/plain", "text/html", "text/markdown", "text/latex", "image/png",
            "image/svg+xml", "application/json")


def fingerprint(output: dict) -> str:
    """One output as text: its kind, stream name or MIME bundle (large values hashed)."""
    kind = output.get("output_type")
    if kind == "stream":
        return f"stream:{output.get('name')}:{output.get('text', '')}"
    if kind == "error":
        return f"error:{output.get('ename')}:{output.get('evalue')}"
    data = output.get("data", {})
    parts = []
    for mime in COMPARED:
        if mime in data:
            value = data[mime]
            value = "".join(value) if isinstance(value, list) else json.dumps(value)
            parts.append(f"{mime}:" + (value if len(value) < 400 else
                                       hashlib.sha256(value.encode()).hexdigest()))
    return f"{kind}:" + "|".join(parts)


def coalesce(outputs: list[dict]) -> list[dict]:
    """Consecutive stream outputs of one stream joined: how the kernel cuts what a cell prints
    into messages depends on timing, not on the numbers (nbval joins them too)."""
    joined: list[dict] = []
    for o in outputs:
        if (o.get("output_type") == "stream" and joined
                and joined[-1].get("output_type") == "stream"
                and joined[-1].get("name") == o.get("name")):
            joined[-1] = {**joined[-1], "text": joined[-1]["text"] + o.get("text", "")}
        else:
            joined.append(dict(o))
    return joined


def cell_outputs(nb) -> list[list[str]]:
    """Fingerprints of the outputs of each code cell, in order."""
    return [[fingerprint(o) for o in coalesce(cell.get("outputs", []))]
            for cell in nb.cells if cell.cell_type == "code"]


def execute(path: str) -> tuple[list[list[str]] | None, float, str | None]:
    """Execute one lab in a fresh kernel in its folder, as nbval does (the lab's ``set_seed``
    sets its seeds and thread count); the stored notebook is not touched."""
    import nbformat

    from course_tools.authoring import run_notebook

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:  # nothing stored can be mistaken for this run's output
        if cell.cell_type == "code":
            cell.outputs = []
    start = time.monotonic()
    try:
        run_notebook(nb, Path(path).parent, timeout=600)
    except Exception as exc:  # noqa: BLE001 - reported in the table
        return None, time.monotonic() - start, f"{type(exc).__name__}: {str(exc)[:200]}"
    return cell_outputs(nb), time.monotonic() - start, None


def compare(runs: list[list[list[str]]]) -> tuple[int, int, int | None]:
    """(code cells, cells identical in every run, index of the first code cell that differed)."""
    first = runs[0]
    same = [all(r[i] == first[i] for r in runs[1:]) if all(len(r) == len(first) for r in runs)
            else False for i in range(len(first))]
    differ = next((i for i, ok in enumerate(same) if not ok), None)
    return len(first), sum(same), differ


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", nargs="+", help="chapters, e.g. ch04 ch11 (default: all)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    if args.runs < 2:
        parser.error("--runs must be at least 2 (one run has nothing to compare)")
    labs = [p for p in sorted(ROOT.glob("solutions/ch*/ch*_lab.ipynb"))
            if not args.only or p.parent.name in args.only]
    if not labs:
        parser.error(f"no lab matches {args.only}")
    start = time.monotonic()
    jobs = [str(p) for _ in range(args.runs) for p in labs]  # run 1 of every lab, then run 2...
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        done = list(pool.map(execute, jobs))
    seconds = time.monotonic() - start
    lines = [f"Measured {time.strftime('%Y-%m-%d')} on {cpu_model()}, {os.cpu_count()} cores, "
             f"Python {platform.python_version()}: every master "
             f"lab executed {args.runs} times in a fresh kernel, {args.workers} at a time, "
             f"{seconds:.0f} s in all; every output of every code cell compared between the "
             "runs, including those strict nbval ignores.", "",
             "| lab | code cells | identical in every run | first cell that differed | "
             "seconds per run |", "|---|---:|---:|---|---|"]
    bad = False
    for i, lab in enumerate(labs):
        mine = done[i::len(labs)]
        times = " / ".join(f"{t:.1f}" for _, t, _ in mine)
        errors = [e for _, _, e in mine if e]
        if errors:
            bad = True
            lines.append(f"| {lab.parent.name} | | | run failed: {errors[0]} | {times} |")
            continue
        cells, same, differ = compare([outs for outs, _, _ in mine])
        bad |= differ is not None
        where = "—" if differ is None else f"code cell {differ}"
        lines.append(f"| {lab.parent.name} | {cells} | {same} | {where} | {times} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_write:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "determinism.md").write_text(text)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
