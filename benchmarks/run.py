"""Course benchmarks: how long things take on this machine, as a Markdown table and a CSV.

    make bench                      # labs, pages, book builds, grading
    .venv/bin/python benchmarks/run.py --only labs --repeat 3

Reported, never enforced: budgets from the design (each lab and page <= 60 s on 2 cores, cold
site build <= 5 min, make test <= 15 min) are shown beside the measurements.
Results go to benchmarks/results/latest.md and latest.csv.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
PY = sys.executable
JB = str(Path(PY).parent / "jupyter-book")


def _run(cmd: list[str], cwd: Path = ROOT, env: dict | None = None) -> tuple[float, float]:
    """Run a command; return (wall seconds, CPU seconds of the command and its children)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def _median(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


LAB_CODE = ("import sys, nbformat; nb = nbformat.read(sys.argv[1], as_version=4)")
PAGE_CODE = ("import sys; from myst_nb.core.read import read_myst_markdown_notebook; "
             "nb = read_myst_markdown_notebook(open(sys.argv[1]).read())")
EXECUTE = ("; from nbclient import NotebookClient; NotebookClient(nb, timeout=600, "
           "kernel_name='python3', resources={'metadata': {'path': sys.argv[2]}}).execute()")


def _bench_notebooks(paths: list[Path], load: str, label: str, repeat: int) -> list[dict]:
    """Execute each notebook (``load`` reads it into ``nb``) in a fresh kernel, ``repeat``
    times, and report the median wall and CPU seconds."""
    rows = []
    for path in paths:
        runs = [_run([PY, "-c", load + EXECUTE, str(path), str(path.parent)])
                for _ in range(repeat)]
        wall, cpu = _median(runs)
        rows.append({"item": label.format(path=path), "seconds": wall, "cpu_seconds": cpu,
                     "budget": "<= 60 s"})
    return rows


def bench_labs(repeat: int) -> list[dict]:
    return _bench_notebooks(sorted(ROOT.glob("solutions/*/*.ipynb")), LAB_CODE,
                            "lab {path.parent.name} (solution, executed)", repeat)


def bench_pages(repeat: int) -> list[dict]:
    """Execute each book page the way the build does (MyST read into a notebook)."""
    return _bench_notebooks(sorted(ROOT.glob("book/ch*.md")), PAGE_CODE,
                            "page {path.stem} (executed)", repeat)


def bench_book() -> list[dict]:
    """Cold build of a copy of the repository (fresh execution cache), then a cached rebuild."""
    with tempfile.TemporaryDirectory(prefix="bench-book-") as tmp:
        tmp = Path(tmp)
        files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                               check=True).stdout.split()
        for name in files:
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, tmp / name)
        shutil.copytree(ROOT / "_vendor", tmp / "_vendor")
        cmd = [JB, "build", "-W", "-n", "--keep-going", "."]
        cold = _run(cmd, cwd=tmp)
        cached = _run(cmd, cwd=tmp)
    return [
        {"item": "site build, cold (every page executed)", "seconds": cold[0],
         "cpu_seconds": cold[1], "budget": "<= 300 s"},
        {"item": "site build, cached rebuild", "seconds": cached[0], "cpu_seconds": cached[1],
         "budget": ""},
    ]


def bench_grading(lab: str = "ch01", n: int = 4) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-grade-") as tmp:
        subs = Path(tmp) / "subs"
        subs.mkdir()
        solution = next((ROOT / "solutions" / lab).glob("*.ipynb"))
        for i in range(n):
            shutil.copy(solution, subs / f"student{i:02d}.ipynb")
        times = {}
        for workers in (1, 2):
            wall, cpu = _run([PY, "-m", "course_lib.grading", str(subs), "--lab", lab, "--out",
                              str(Path(tmp) / f"out{workers}"), "--workers", str(workers)])
            times[workers] = wall
            rows.append({"item": f"grading {lab}: {n} submissions, {workers} worker(s), per "
                                 "submission", "seconds": wall / n, "cpu_seconds": cpu / n,
                         "budget": ""})
        rows.append({"item": f"grading {lab}: speedup with 2 workers", "seconds": "",
                     "cpu_seconds": "", "budget": "", "note": f"{times[1] / times[2]:.2f}x"})
    return rows


def bench_install() -> list[dict]:
    stamp = ROOT / ".venv" / "install-seconds"
    if stamp.exists():
        return [{"item": "install (.venv from nothing: pip + ipykernel)",
                 "seconds": float(stamp.read_text().strip()), "cpu_seconds": "",
                 "budget": "", "note": "recorded by the Makefile at install time"}]
    return []


def write(rows: list[dict]) -> str:
    RESULTS.mkdir(parents=True, exist_ok=True)

    def fmt(v):
        return f"{v:.1f}" if isinstance(v, float) else str(v)

    lines = [
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on "
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}.",
        "",
        "| item | wall s | CPU s | budget | note |",
        "|---|---:|---:|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['item']} | {fmt(r['seconds'])} | {fmt(r['cpu_seconds'])} | "
                     f"{r.get('budget', '')} | {r.get('note', '')} |")
    table = "\n".join(lines) + "\n"
    (RESULTS / "latest.md").write_text(table)
    with open(RESULTS / "latest.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["item", "seconds", "cpu_seconds", "budget", "note"])
        writer.writeheader()
        for r in rows:
            writer.writerow({k: r.get(k, "") for k in writer.fieldnames})
    return table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", default=["install", "labs", "pages", "book",
                                                      "grading"],
                        choices=["install", "labs", "pages", "book", "grading"])
    parser.add_argument("--repeat", type=int, default=1, help="runs per item (median reported)")
    args = parser.parse_args()
    rows: list[dict] = []
    steps = {"install": bench_install, "labs": lambda: bench_labs(args.repeat),
             "pages": lambda: bench_pages(args.repeat), "book": bench_book,
             "grading": bench_grading}
    for name in args.only:
        print(f"benchmarking {name} ...", file=sys.stderr, flush=True)
        rows += steps[name]()
    print(write(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())

