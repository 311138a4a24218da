"""Course benchmarks: how long things take on this machine, as a Markdown table and a CSV.

    make bench                                   # every item except maketest (about 45 min)
    .venv/bin/python benchmarks/run.py --only attacks class   # grading under attack (long)
    .venv/bin/python benchmarks/run.py --only layers loops --repeat 3
    .venv/bin/python benchmarks/run.py --only maketest   # make test in a clean clone (long)

Each item is the median of ``--repeat`` runs (the layer and loop comparisons always take at
least 7 and 5 runs, alternating with their reference). Budgets from the design are shown beside
the measurements, with a verdict; nothing here fails a build. ``--lock PATH`` takes an exclusive
``flock`` on PATH around each measurement (machines shared with other jobs). Results go to
benchmarks/results/latest.md and latest.csv; with ``--only`` the other rows of the previous
table are kept.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import grading_attacks  # noqa: E402
import grading_throughput  # noqa: E402
import layers  # noqa: E402
import similarity  # noqa: E402
import table  # noqa: E402
import training  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
PY = sys.executable
JB = str(Path(PY).parent / "jupyter-book")
LOCK: str | None = None


@contextlib.contextmanager
def locked():
    """Hold the exclusive lock given by ``--lock`` (if any) for one measurement."""
    if LOCK is None:
        yield
        return
    with open(LOCK, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _run(cmd: list[str], cwd: Path = ROOT, env: dict | None = None) -> tuple[float, float, str]:
    """Run a command under the lock; return (wall seconds, CPU seconds of the command and its
    children, its stdout)."""
    with locked():
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.stdout


LAB_CODE = "import sys, nbformat; nb = nbformat.read(sys.argv[1], as_version=4)"
PAGE_CODE = ("import sys; from myst_nb.core.read import read_myst_markdown_notebook; "
             "nb = read_myst_markdown_notebook(open(sys.argv[1]).read())")
# execute in a fresh kernel, then print the kernel's peak resident memory (KiB; the kernel is
# this interpreter's child, waited for at shutdown)
EXECUTE = ("; from nbclient import NotebookClient; NotebookClient(nb, timeout=600, "
           "kernel_name='python3', resources={'metadata': {'path': sys.argv[2]}}).execute()"
           "; import resource; print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


def _bench_notebooks(paths: list[Path], load: str, label: str, repeat: int) -> list[dict]:
    """Execute each notebook (``load`` reads it into ``nb``) in a fresh kernel, ``repeat``
    times; median wall and CPU seconds, and the kernel's peak memory."""
    rows = []
    for path in paths:
        try:
            runs = [_run([PY, "-c", load + EXECUTE, str(path), str(path.parent)])
                    for _ in range(repeat)]
        except RuntimeError as err:  # report it and go on with the other notebooks
            rows.append(table.row(label.format(path=path), limit=("seconds", 60),
                                  note="FAILED: " + str(err).splitlines()[-1][:200], mib=0))
            continue
        mib = max(int(r[2].split()[-1]) for r in runs) / 1024
        rows.append(table.row(label.format(path=path), table.median(r[0] for r in runs),
                              cpu_seconds=table.median(r[1] for r in runs),
                              limit=("seconds", 60), note=f"peak memory {mib:.0f} MiB",
                              mib=mib))
    return rows


def _tracked(pattern: str) -> list[Path]:
    """Committed files matching ``pattern`` (work in progress of others is not measured)."""
    names = subprocess.run(["git", "ls-files", pattern], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.split()
    return sorted(ROOT / name for name in names)


def bench_labs(repeat: int) -> list[dict]:
    rows = _bench_notebooks(_tracked("solutions/*/*.ipynb"), LAB_CODE,
                            "lab {path.parent.name} (solution, executed)", repeat)
    largest = max(rows, key=lambda r: r["mib"])
    rows.append(table.row("peak memory of the largest lab", note=f"{largest['mib']:.0f} MiB "
                          f"({largest['item'].split()[1]}; kernel resident set)"))
    return rows


def bench_pages(repeat: int) -> list[dict]:
    """Execute each book page the way the build does (MyST read into a notebook)."""
    return _bench_notebooks(_tracked("book/ch*.md"), PAGE_CODE,
                            "page {path.stem} (executed)", repeat)


def _copy_repository(tmp: Path) -> None:
    """The committed files (and the vendored site assets) copied to ``tmp``."""
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    for name in files:
        if (ROOT / name).is_file():
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, tmp / name)
    for vendored in ("_vendor", "_vendor_extra"):  # made by make install, not committed
        shutil.copytree(ROOT / vendored, tmp / vendored, dirs_exist_ok=True)


def bench_book(repeat: int) -> list[dict]:
    """Cold build of a copy of the repository (fresh execution cache), then a cached rebuild."""
    cold, cached = [], []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="bench-book-") as tmp:
            tmp = Path(tmp)
            _copy_repository(tmp)
            # as make book does: the pages executed two at a time, then the Sphinx build
            cmd = ["bash", "-c", f"{PY} -m course_tools.prebuild && {JB} build -W -n --keep-going ."]
            cold.append(_run(cmd, cwd=tmp))
            cached.append(_run(cmd, cwd=tmp))
    return [
        table.row("site build, cold (every page and lab executed)",
                  table.median(r[0] for r in cold), cpu_seconds=table.median(r[1] for r in cold),
                  limit=("seconds", 300)),
        table.row("site build, cached rebuild (nothing changed)",
                  table.median(r[0] for r in cached),
                  cpu_seconds=table.median(r[1] for r in cached)),
    ]


def bench_layers(repeat: int) -> list[dict]:
    with locked():
        results = layers.run(max(repeat, 7))
    return [table.row(f"{r['item']}, {r['what']}", r["numpy"], reference=r["torch"],
                      limit=("ratio", 1.0),
                      note="NumPy vs torch float64, N=32 T=50 D=H=64, 1 thread each")
            for r in results]


def bench_loops(repeat: int) -> list[dict]:
    with locked():
        r = training.run(f"loops(repeat={max(repeat, 5)})")
    return [table.row(f"train.fit + torch_step vs a bare torch loop ({r['updates']} updates)",
                      r["course"], reference=r["bare"], limit=("overhead", 0.10),
                      note="LSTM H=32 on the adding problem T=100, batches of 64, 1 thread")]


TARGETS = {
    "adding": ("LSTM to test MSE < 0.01, adding problem T=100", ("seconds", 90),
               "updates", "test MSE {:.4f}"),
    "seq2seq": ("attention seq2seq to >= 99% exact match (data.toy_translation)",
                ("seconds", 120), "epochs", "test exact match {:.3f}"),
    "charlm": ("char LSTM (ch09) to < 0.5 bits per character", None, "epochs",
               "test {:.3f} bpc (the page says well under half a bit)"),
}


def bench_targets(repeat: int) -> list[dict]:
    rows = []
    for name, (label, limit, unit, what) in TARGETS.items():
        runs = []
        for _ in range(repeat):
            with locked():
                runs.append(training.run(f"{name}()"))
        r = sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]
        note = f"after {r[unit]} {unit}, {what.format(r['value'])}, 1 thread"
        if not r["reached"]:
            note = "TARGET NOT REACHED: " + note
        rows.append(table.row(f"training to target: {label}",
                              r["seconds"] if r["reached"] else None, limit=limit, note=note))
    return rows


def bench_grading(repeat: int, lab: str = "ch01", n: int = 4,
                  lab_seconds: float | None = None) -> list[dict]:
    """Grade ``n`` copies of the solution of ``lab`` with 1 and with 2 workers. The design's
    budget for a class is the lab's execution time x class size / cores x 1.5, i.e. per
    submission with 2 workers 0.75 x the lab's own time (when the labs were measured too)."""
    rows, times = [], {}
    with tempfile.TemporaryDirectory(prefix="bench-grade-") as tmp:
        subs = Path(tmp) / "subs"
        subs.mkdir()
        solution = next((ROOT / "solutions" / lab).glob("*.ipynb"))
        for i in range(n):
            shutil.copy(solution, subs / f"student{i:02d}.ipynb")
        for workers in (1, 2):
            runs = [_run([PY, "-m", "course_tools.grading", str(subs), "--lab", lab, "--out",
                          str(Path(tmp) / f"out{workers}-{k}"), "--workers", str(workers)])
                    for k in range(repeat)]
            times[workers] = table.median(r[0] for r in runs)
            limit = None
            if workers == 2 and lab_seconds:
                limit = ("seconds", round(0.75 * lab_seconds, 1))
            rows.append(table.row(f"grading {lab}: per submission, {workers} worker(s), "
                                  f"{n} submissions", times[workers] / n,
                                  cpu_seconds=table.median(r[1] for r in runs) / n, limit=limit))
    rows.append(table.row(f"grading {lab}: speedup of 2 workers over 1", None,
                          ratio=times[1] / times[2], note="wall time of 1 worker / 2 workers"))
    return rows


def bench_attacks(repeat: int) -> list[dict]:
    """The three attacks that once earned full marks, on every lab (benchmarks/grading_attacks)."""
    rows = grading_attacks.attacks(grading_attacks.LABS)
    stolen = [f"{r['lab']} {r['attack']}" for r in rows if not r["ok"]]
    return [table.row(f"grading attacks: rebind to the reference, look-up through the library, "
                      f"link to the master, on {len({r['lab'] for r in rows})} labs",
                      sum(r["seconds"] for r in {r["lab"]: r for r in rows}.values()),
                      note=(f"{len(rows)} attacks, {len(rows) - len(stolen)} earned nothing; "
                            "the honest copies kept full marks" if not stolen else
                            "POINTS STOLEN: " + ", ".join(stolen)))]


def bench_class(repeat: int) -> list[dict]:
    """30 submissions of lab 3, 5 of them looping forever, graded on every core."""
    r = grading_attacks.grade_class()
    return [table.row(f"grading a class: 30 submissions of {r['lab']}, 5 whose functions loop "
                      "forever", r["seconds"], limit=("seconds", round(r["limit"], 0)),
                      note=f"master {r['master_seconds']:.0f} s in the sandbox, budget "
                           f"{r['per_budget']:.0f} s per submission, {r['full_marks']} full "
                           f"marks, {r['timed_out']} timed out (the slowest looping one "
                           f"{r['loops_max_seconds']:.0f} s); limit = 30 x master / cores x 1.5 "
                           "+ 5 x budget")]


def bench_throughput(repeat: int) -> list[dict]:
    """Submissions per minute, 10 of lab 3: 2 local processes, 2 Dask workers on 127.0.0.1."""
    with locked():
        r = grading_throughput.measure()
    (RESULTS / "grading-throughput.md").write_text(grading_throughput.table(r))
    return [table.row(f"grading throughput, {r['n']} of {r['lab']}: {row['how']}",
                      row["seconds"], note=f"{row['per_minute']:.1f} submissions per minute")
            for row in r["rows"]]


def bench_similarity(repeat: int) -> list[dict]:
    """The similarity report on 300 generated lab 3 submissions (benchmarks/similarity.py)."""
    with locked():
        return similarity.rows(repeat)


def bench_install(repeat: int) -> list[dict]:
    stamp = ROOT / ".venv" / "install-seconds"
    if stamp.exists():
        return [table.row("install (.venv from nothing: pip + ipykernel)",
                          float(stamp.read_text().strip()),
                          note="recorded by the Makefile at install time")]
    return []


def bench_maketest(repeat: int) -> list[dict]:
    """``make test`` (install included) in a fresh clone of the committed tree. Long; only run
    when asked (``--only maketest``), on an otherwise idle machine."""
    with tempfile.TemporaryDirectory(prefix="bench-maketest-") as tmp:
        clone = Path(tmp) / "clone"
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
        shutil.copytree(ROOT / "_vendor", clone / "_vendor", dirs_exist_ok=True)
        wall, cpu, _ = _run(["make", "test"], cwd=clone)
    return [table.row("make test in a clean clone (install included)", wall, cpu_seconds=cpu,
                      limit=("seconds", 900))]


STEPS = {"install": bench_install, "labs": bench_labs, "pages": bench_pages,
         "book": bench_book, "layers": bench_layers, "loops": bench_loops,
         "targets": bench_targets, "grading": bench_grading, "class": bench_class,
         "attacks": bench_attacks, "throughput": bench_throughput,
         "similarity": bench_similarity, "maketest": bench_maketest}
DEFAULT = [name for name in STEPS if name != "maketest"]


def preamble(repeat: int) -> list[str]:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return [f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {cpu}, "
            f"{os.cpu_count()} cores, Python {platform.python_version()}; notebook and "
            f"build items: median of {repeat} run(s).",
            "",
            "Ratio = median seconds / median seconds of the reference measured alternately in "
            "the same run (for the loop: overhead = ratio - 1)."]


def main(argv: list[str] | None = None) -> int:
    global LOCK
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", default=DEFAULT, choices=list(STEPS))
    parser.add_argument("--repeat", type=int, default=1, help="runs per item (median reported)")
    parser.add_argument("--lock", default=os.environ.get("BENCH_LOCK"),
                        help="file to flock around each measurement (default: $BENCH_LOCK)")
    args = parser.parse_args(argv)
    LOCK = args.lock
    rows: list[dict] = []
    old = table.read_csv(RESULTS / "latest.csv") if set(args.only) != set(DEFAULT) else []
    failed = []
    for name in args.only:
        print(f"benchmarking {name} ...", file=sys.stderr, flush=True)
        try:
            if name == "grading":  # its budget needs the lab's own time (this run's or the table's)
                lab = next((r["seconds"] for r in rows + old
                            if r["item"].startswith("lab ch01 ")), None)
                rows += bench_grading(args.repeat, lab_seconds=lab)
            else:
                rows += STEPS[name](args.repeat)
        except Exception as exc:  # the other steps' results are still written
            failed.append(name)
            print(f"benchmark step {name} FAILED: {exc}", file=sys.stderr, flush=True)
        for r in rows:
            r.setdefault("step", name)
    done = [name for name in args.only if name not in failed]
    head = preamble(args.repeat)
    if old:  # a partial run: say which rows are new, so a reader does not date the others by it
        head[0] += (f" This run measured only: {', '.join(done) or 'nothing'}; the other rows "
                    "are kept from the previous table.")
    print(table.write(table.merge(old, rows, done), head, RESULTS))
    if failed:
        print(f"failed steps (their old rows are kept): {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
