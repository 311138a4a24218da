"""Grading throughput: submissions per minute for ``n`` copies of a lab's master, graded by two
local worker processes (``--workers 2``) and by two Dask workers on this machine (a scheduler
and two one-thread ``dask worker`` processes on 127.0.0.1, ``--scheduler``).

    .venv/bin/python benchmarks/grading_throughput.py [--lab ch03] [-n 10]

Each batch is the command an instructor runs (``python -m course_tools.grading``), timed end to
end: start-up, the preflight (the master graded in the sandbox), the submissions, grades.csv,
the feedback and the gradebook; the two batches run one after the other, never side by side.
The Dask workers are started (and have joined) before their batch is timed, as a cluster
serves many batches; the time they took to join is reported beside it. Before both, an untimed
``--check-master`` run warms the file cache, and the gradebook template of the lab is made, so
that neither batch pays for it. Every submission must be graded with full marks. An item of
``make bench`` (``benchmarks/run.py --only throughput``); writes
benchmarks/results/grading-throughput.md.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
RESULTS = ROOT / "benchmarks" / "results"


def _batch(subs: Path, lab: str, out: Path, *options: str) -> tuple[float, list[dict]]:
    """Grade ``subs`` with the command line; (wall seconds, the rows of grades.csv)."""
    start = time.monotonic()
    proc = subprocess.run([PY, "-m", "course_tools.grading", str(subs), "--lab", lab, "--out",
                           str(out), *options], cwd=ROOT, capture_output=True, text=True)
    seconds = time.monotonic() - start
    if proc.returncode != 0:
        raise RuntimeError(f"grading {lab} {' '.join(options)} failed: {proc.stderr[-800:]}")
    return seconds, list(csv.DictReader(open(out / "grades.csv", newline="")))


def _row(how: str, n: int, seconds: float, rows: list[dict], full: float) -> dict:
    graded = [r for r in rows if r["status"] == "graded" and float(r["total"]) == full]
    if len(graded) != n:
        raise RuntimeError(f"{how}: {len(graded)} of {n} submissions graded with full marks: "
                           f"{[(r['student'], r['status'], r['total']) for r in rows]}")
    each = sorted(float(r["seconds"]) for r in rows)
    return {"how": how, "n": n, "seconds": seconds, "per_minute": 60 * n / seconds,
            "median_submission": each[len(each) // 2]}


def measure(lab: str = "ch03", n: int = 10) -> dict:
    """Grade ``n`` copies of ``lab``'s master locally (2 processes) and on 2 Dask workers."""
    from course_tools.grading.cluster import local_cluster
    from course_tools.grading.gradebook import prepare_gradebook
    from course_tools.grading.spec import LabSpec

    load_before = _load()
    master = next((ROOT / "solutions" / lab).glob("*.ipynb"))
    spec = LabSpec(lab, ROOT / "solutions")
    full = sum(spec.max_scores.values())
    with tempfile.TemporaryDirectory(prefix=f"throughput-{lab}-") as tmp:
        tmp = Path(tmp)
        subs = tmp / "subs"
        subs.mkdir()
        for i in range(n):
            shutil.copy(master, subs / f"student{i:02d}.ipynb")
        subprocess.run([PY, "-m", "course_tools.grading", "--lab", lab, "--check-master"],
                       cwd=ROOT, capture_output=True, check=True)
        prepare_gradebook(f"sqlite:///{tmp / 'warm.db'}", spec)  # the template both copy
        rows = [_row("2 local worker processes (`--workers 2`)", n,
                     *_batch(subs, lab, tmp / "local", "--workers", "2"), full)]
        start = time.monotonic()
        with local_cluster(workers=2, folder=tmp / "dask") as cluster:
            joined = time.monotonic() - start
            rows.append(_row("2 Dask workers on 127.0.0.1 (`--scheduler`)", n,
                             *_batch(subs, lab, tmp / "dask-out", "--scheduler",
                                     cluster.address), full))
    rows[-1]["joined"] = joined
    return {"lab": lab, "n": n, "rows": rows, "load": (load_before, _load())}


def _load() -> str:
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def table(r: dict) -> str:
    load_before, load_after = r["load"]
    lines = [f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by "
             f"`benchmarks/grading_throughput.py` on {os.cpu_count()} cores, {r['n']} copies of "
             f"the {r['lab']} master, each batch timed end to end (start-up, preflight, "
             "grading, CSV, feedback, gradebook). Measured on a loaded machine (load average "
             f"{load_before} before, {load_after} after, on {os.cpu_count()} cores): other jobs "
             "shared the cores, so these are not a quiet machine's numbers.", "",
             "| how | submissions | seconds | submissions per minute | median seconds of one "
             "submission | note |", "|---|---:|---:|---:|---:|---|"]
    for row in r["rows"]:
        note = (f"the workers joined {row['joined']:.0f} s after their start (not in the time)"
                if "joined" in row else "")
        lines.append(f"| {row['how']} | {row['n']} | {row['seconds']:.0f} | "
                     f"{row['per_minute']:.1f} | {row['median_submission']:.1f} | {note} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lab", default="ch03")
    parser.add_argument("-n", type=int, default=10, help="submissions (copies of the master)")
    args = parser.parse_args(argv)
    text = table(measure(args.lab, args.n))
    (RESULTS / "grading-throughput.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
