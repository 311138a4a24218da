"""The course on the students' other Pythons: install it from nothing, run one lab, tabulate.

For each Python named (an executable such as ``python3.12``, or a path), this makes a fresh
virtual environment in a temporary folder, downloads what ``pip install .[dev]`` needs with the
course's constraints (and measures how much pip fetched), installs it from the downloaded files,
then runs strict nbval of one master lab and lax nbval of its student version. It writes
``benchmarks/results/pythons.md``, shown on the Benchmarks page.

    .venv/bin/python benchmarks/pythons.py python3.12 python3.13 [--lab ch03]

On Linux x86-64 the registry's torch for Pythons other than the one whose CPU build the
machines here keep on disk is the CUDA build: several GB, though the course runs on the CPU.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"


def _size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20


def _run(cmd: list[str], log: Path, **kw) -> int:
    with open(log, "a") as f:
        f.write("$ " + " ".join(cmd) + "\n")
        f.flush()
        return subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, **kw).returncode


def try_python(python: str, lab: str, keep: Path | None) -> dict:
    """Install the course on ``python`` and run ``lab``; a row of the table."""
    exe = shutil.which(python) or python
    row = {"python": Path(python).name, "version": "?", "fetched": "", "venv": "", "install s": "",
           "lab": "not run"}
    probe = subprocess.run([exe, "-c", "import platform; print(platform.python_version())"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        row["lab"] = f"{python} not found"
        return row
    row["version"] = probe.stdout.strip()
    work = Path(tempfile.mkdtemp(prefix=f"course-{python.replace('/', '_')}-"))
    venv, wheels, log = work / "venv", work / "wheels", work / "log.txt"
    bin_ = venv / "bin"
    start = time.monotonic()
    steps = [
        [exe, "-m", "venv", str(venv)],
        [str(bin_ / "python"), "-m", "pip", "install", "-q", "--upgrade", "pip>=24"],
        [str(bin_ / "python"), "-m", "pip", "download", "-q", "-d", str(wheels),
         "-c", str(ROOT / "constraints.txt"), f"{ROOT}[dev]"],
    ]
    for step in steps:
        if _run(step, log) != 0:
            row["lab"] = f"failed: {' '.join(step[2:5])} (log {log})"
            return row
    row["fetched"] = f"{_size_mb(wheels):,.0f} MB"
    install = [str(bin_ / "python"), "-m", "pip", "install", "-q", "--no-index",
               "--find-links", str(wheels), "-c", str(ROOT / "constraints.txt"), f"{ROOT}[dev]"]
    if _run(install, log) != 0:
        row["lab"] = f"install failed (log {log})"
        return row
    row["install s"] = f"{time.monotonic() - start:.0f}"
    row["venv"] = f"{_size_mb(venv):,.0f} MB"
    # the installed (not editable) course: run the lab from a copy so nothing of this checkout's
    # .venv is used; the kernel is the new venv's own Python
    _run([str(bin_ / "python"), "-m", "ipykernel", "install", "--sys-prefix", "--name",
          "python3"], log)
    strict = _run([str(bin_ / "pytest"), "-q", "-p", "no:randomly", "-p", "no:cacheprovider",
                   "--nbval", "--nbval-current-env", "--nbval-sanitize-with",
                   str(ROOT / "tests" / "nbval_sanitize.cfg"),
                   str(ROOT / "solutions" / lab)], log, cwd=work)
    lax = _run([str(bin_ / "pytest"), "-q", "-p", "no:randomly", "-p", "no:cacheprovider",
                "--nbval-lax", "--nbval-current-env", str(ROOT / "notebooks" / lab)], log,
               cwd=work)
    row["lab"] = (f"{lab}: strict nbval {'passed' if strict == 0 else 'FAILED'}, student lab "
                  f"{'ran' if lax == 0 else 'FAILED'}")
    if keep is None:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"kept {work} (log {log})")
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pythons", nargs="+")
    parser.add_argument("--lab", default="ch03")
    parser.add_argument("--keep", action="store_true", help="keep the environments and logs")
    args = parser.parse_args(argv)
    rows = []
    for python in args.pythons:
        rows.append(try_python(python, args.lab, Path() if args.keep else None))
        print(rows[-1], flush=True)
    cols = ["python", "version", "fetched", "venv", "install s", "lab"]
    text = "\n".join([f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()}; `fetched` "
                      "is what pip downloaded for `.[dev]` with the course's constraints, "
                      "`install s` includes that download.", "",
                      "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)] +
                     ["| " + " | ".join(str(r[c]) for c in cols) + " |" for r in rows]) + "\n"
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "pythons.md").write_text(text)
    print(text)
    return 0 if all("FAILED" not in r["lab"] and "fail" not in r["lab"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
