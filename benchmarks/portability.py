"""The portability matrix: the course's labs and pages under several numeric configurations.

Trained numbers depend on the CPU, its BLAS and the thread count. One machine can imitate
others: torch's ``ATEN_CPU_CAPABILITY`` picks another set of vectorised kernels, MKL's
``MKL_CBWR`` and OpenBLAS's ``OPENBLAS_CORETYPE`` other matrix-product code paths, and
``COURSE_THREADS`` (read by ``course_lib.set_seed``) another thread count. For each
configuration this runs

- strict nbval of every master lab (seed 0: every stored output must reappear; with another
  seed, ``COURSE_SEED=k``, nbval-lax: only errors, among them broken claims, fail),
- every book page executed as the site build executes it (``course_tools.prebuild`` into a
  throw-away cache; a broken claim is an error),

and collects every claim (``course_lib.claims.claim`` logs them) with its value. It prints and
writes ``benchmarks/results/portability.md`` and ``.csv``: configuration x labs and pages passed,
and each claim's smallest and largest value over configurations and seeds beside its bound.

    .venv/bin/python benchmarks/portability.py                       # 4 configurations, seed 0
    .venv/bin/python benchmarks/portability.py --seeds 1 2 3 4 --out portability-seeds  # long
    .venv/bin/python benchmarks/portability.py --only ch04 ch11 --configs native aten-default \\
        --no-write                                                   # while working on a chapter

Exit status 1 when any lab or page failed in any configuration.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
PY = sys.executable
SANITIZE = ROOT / "tests" / "nbval_sanitize.cfg"
ANSI = re.compile(r"\x1b\[[0-9;]*m|#x1B\[[0-9;]*m")


def _has_avx2() -> bool:
    try:
        return " avx2" in Path("/proc/cpuinfo").read_text()
    except OSError:  # not Linux: let torch decide
        return True


# name -> (environment, what it imitates)
CONFIGS: dict[str, tuple[dict[str, str], str]] = {
    "native": ({}, "this CPU as it is (torch picks its best kernels; one thread per notebook)"),
    "aten-default": ({"ATEN_CPU_CAPABILITY": "default"},
                     "a CPU without AVX: torch's plain, unvectorised kernels"),
    "aten-avx2": ({"ATEN_CPU_CAPABILITY": "avx2"}, "an AVX2 CPU without AVX-512"),
    "2threads-cbwr": ({"COURSE_THREADS": "2", "MKL_CBWR": "COMPATIBLE",
                       "OPENBLAS_CORETYPE": "Haswell", "OMP_WAIT_POLICY": "PASSIVE"},
                      "two threads, MKL's compatible code path, OpenBLAS's Haswell kernels"),
}


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def labs(only: set[str] | None) -> list[Path]:
    found = sorted(ROOT.glob("solutions/ch*/ch*_lab.ipynb"))
    return [p for p in found if only is None or p.parent.name in only]


def pages(only: set[str] | None) -> set[str]:
    found = {p.stem for p in ROOT.glob("book/ch*.md")}
    return {s for s in found if only is None or s.split("_")[0] in only}


def run_labs(paths: list[Path], env: dict, seed: int, xml: Path) -> dict[str, str]:
    """nbval of ``paths`` (strict for seed 0, lax otherwise); lab -> "ok" or the first failure."""
    if not paths:
        return {}
    mode = (["--nbval", "--nbval-sanitize-with", str(SANITIZE)] if seed == 0
            else ["--nbval-lax"])
    cmd = [PY, "-m", "pytest", "-n", str(min(2, len(paths))), "--dist", "loadfile",
           "-p", "no:randomly", "-q", "--nbval-current-env", *mode, f"--junitxml={xml}",
           *map(str, paths)]
    subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    result = {p.parent.name: "ok" for p in paths}
    if not xml.exists():
        return {lab: "pytest did not run" for lab in result}
    for case in ET.parse(xml).getroot().iter("testcase"):
        bad = case.find("failure")
        bad = bad if bad is not None else case.find("error")
        if bad is None:
            continue
        name = case.get("name", "")  # "Cell 11"
        lab = next((lab for lab in result if f"{lab}_lab" in (case.get("classname", "") +
                                                             case.get("file", ""))), None)
        if lab is None:
            lab = next(iter(result))
        text = ANSI.sub("", (bad.text or "") + (bad.get("message") or ""))
        if "outputs differ" in text:
            why = "outputs differ"
        else:
            lines = [x for x in text.splitlines() if x.strip()]
            why = "error: " + (next((x for x in reversed(lines) if "Error" in x), "")
                               or (lines[-1] if lines else "?")).strip()[:160]
        result[lab] = (f"{name} ({why})" if result[lab] == "ok"
                       else f"{result[lab]}; {name} ({why})")
    return result


def run_pages(stems: set[str], env: dict) -> dict[str, str]:
    """Execute the pages ``stems`` as the build does, two at a time; page -> "ok" or error."""
    if not stems:
        return {}
    code = ("import json, sys; from pathlib import Path; from course_tools.prebuild import prebuild;"
            "r = prebuild(Path('_toc.yml').resolve(), 2, Path(sys.argv[1]), log=lambda m: None,"
            " only=set(sys.argv[2:])); print(json.dumps(r['failed']))")
    with tempfile.TemporaryDirectory(prefix="portability-cache-") as cache:
        proc = subprocess.run([PY, "-c", code, cache, *sorted(stems)], cwd=ROOT, env=env,
                              capture_output=True, text=True)
    if proc.returncode != 0:
        return {s: "prebuild crashed: " + proc.stderr.strip().splitlines()[-1][:160]
                for s in stems}
    failed = json.loads(proc.stdout.strip().splitlines()[-1])
    return {s: ("ok" if f"{s}.md" not in failed else failed[f"{s}.md"].splitlines()[0][:160])
            for s in stems}


def where_label(where: str) -> str:
    """A claim's ``where`` (a lab's folder ``ch04`` or a page's stem) as ``ch04 lab``/``page``."""
    return f"{where} lab" if where.startswith("ch") and len(where) == 4 else f"{where[:4]} page"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", nargs="+", choices=list(CONFIGS), default=list(CONFIGS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--only", nargs="+", help="chapters, e.g. ch04 ch11 (default: all)")
    parser.add_argument("--no-pages", action="store_true", help="labs only")
    parser.add_argument("--no-labs", action="store_true", help="pages only")
    parser.add_argument("--no-write", action="store_true",
                        help="print the tables, do not write benchmarks/results/")
    parser.add_argument("--out", default="portability",
                        help="name of the tables in benchmarks/results/ (default: portability;"
                             " the seed sweep writes portability-seeds)")
    parser.add_argument("--append", action="store_true",
                        help="add to the runs stored in <out>.json: a lab or page run again in the "
                             "same configuration and seed replaces its stored result and claims;"
                             " its seconds are added")
    parser.add_argument("--note", help="a sentence under the machine line of the table (how "
                        "and when it was measured); kept by --append until replaced")
    args = parser.parse_args(argv)
    only = set(args.only) if args.only else None
    configs = [c for c in args.configs if c != "aten-avx2" or _has_avx2()]
    lab_paths = [] if args.no_labs else labs(only)
    page_stems = set() if args.no_pages else pages(only)

    runs, claims, note = [], [], args.note
    state = RESULTS / f"{args.out}.json"
    if args.append and state.exists():
        stored = json.loads(state.read_text())
        runs, claims = stored["runs"], stored["claims"]
        note = note or stored.get("note")
    work = Path(tempfile.mkdtemp(prefix="portability-"))
    for config in configs:
        for seed in args.seeds:
            env = {k: v for k, v in os.environ.items() if k not in ("COURSE_SEED",)}
            env.update(CONFIGS[config][0])
            env["COURSE_SEED"] = str(seed)
            log = work / f"claims-{config}-{seed}.jsonl"
            env["COURSE_CLAIMS_LOG"] = str(log)
            start = time.monotonic()
            lab_result = run_labs(lab_paths, env, seed, work / f"labs-{config}-{seed}.xml")
            page_result = run_pages(page_stems, env)
            seconds = time.monotonic() - start
            # a stored run of this configuration and seed keeps the labs and pages not run now
            fresh = {"config": config, "seed": seed, "labs": lab_result, "pages": page_result,
                     "seconds": seconds}
            redone = set(lab_result) | set(page_result)
            for r in runs:
                if (r["config"], r["seed"]) == (config, seed):
                    fresh = {**fresh, "labs": {**r["labs"], **lab_result},
                             "pages": {**r["pages"], **page_result},
                             "seconds": r["seconds"] + seconds}
            runs = [r for r in runs if (r["config"], r["seed"]) != (config, seed)] + [fresh]
            claims = [c for c in claims if (c["config"], c["seed"]) != (config, seed)
                      or c["where"] not in redone]
            if log.exists():
                for line in log.read_text().splitlines():
                    claims.append({**json.loads(line), "config": config, "seed": seed})
            if not args.no_write:  # after every run: an interrupted sweep keeps what it measured
                write_all(args.out, runs, claims, note)
            bad = {k: v for k, v in {**lab_result, **page_result}.items() if v != "ok"}
            print(f"{config:14s} seed {seed}: labs {_passed(lab_result)}, pages "
                  f"{_passed(page_result)}, {seconds:.0f} s" +
                  "".join(f"\n    FAILED {k}: {v}" for k, v in sorted(bad.items())), flush=True)
    print(report(runs, claims, note))
    failed = any(v != "ok" for r in runs for v in {**r["labs"], **r["pages"]}.values())
    return 1 if failed or moving_bounds(claims) else 0


def write_all(out: str, runs: list[dict], claims: list[dict], note: str | None = None) -> None:
    """``<out>.md`` (the tables), ``<out>.csv`` (every claim) and ``<out>.json`` (the state
    ``--append`` continues from) in benchmarks/results/."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{out}.md").write_text(report(runs, claims, note))
    write_csv(RESULTS / f"{out}.csv", claims)
    (RESULTS / f"{out}.json").write_text(json.dumps({"runs": runs, "claims": claims,
                                                     "note": note}, indent=1))


def _passed(result: dict[str, str]) -> str:
    return f"{sum(v == 'ok' for v in result.values())}/{len(result)}"


def report(runs: list[dict], claims: list[dict], note: str | None = None) -> str:
    """The Markdown tables: configurations, then claims."""
    import torch

    runs = sorted(runs, key=lambda r: (list(CONFIGS).index(r["config"]), r["seed"]))
    configs = list(dict.fromkeys(r["config"] for r in runs))
    seeds = sorted({r["seed"] for r in runs})
    lines = [f"Machine: {cpu_model()}, "
             f"{os.cpu_count()} cores; torch {torch.__version__} (native capability "
             f"{torch.backends.cpu.get_cpu_capability()}); Python {platform.python_version()}; "
             f"seeds {', '.join(map(str, seeds))}.", *([note] if note else []), "",
             "| configuration | environment | seed | labs passed (strict nbval for seed 0) | "
             "pages executed | seconds |", "|---|---|---|---|---|---|"]
    for r in runs:
        env = " ".join(f"`{k}={v}`" for k, v in CONFIGS[r["config"]][0].items()) or "—"
        lines.append(f"| {r['config']} | {env} | {r['seed']} | {_passed(r['labs'])} | "
                     f"{_passed(r['pages'])} | {r['seconds']:.0f} |")
    total = sum(r["seconds"] for r in runs)
    lines += ["", f"Seconds in all: {total:.0f} ({total / 60:.1f} min)."]
    failures = [(r["config"], r["seed"], k, v) for r in runs
                for k, v in sorted({**r["labs"], **r["pages"]}.items()) if v != "ok"]
    if failures:
        lines += ["", "Failures:", ""] + [f"- {c}, seed {s}, {k}: {v}" for c, s, k, v in failures]
    groups: dict[tuple, list[dict]] = {}
    for c in claims:
        groups.setdefault((where_label(c["where"]), c["name"]), []).append(c)
    moving = moving_bounds(claims)
    if moving:
        lines += ["", "Claims whose bound differs between runs (a bound is the text's, not a "
                  "run's; state the claim as a difference with a fixed bound):", ""]
        lines += [f"- {where}: {name} ({', '.join(bounds)})" for where, name, bounds in moving]
    lines += ["", "| where | claim | bound | min | max | runs | holds in all |",
              "|---|---|---|---|---|---|---|"]
    for (where, name), cs in sorted(groups.items()):
        values = [c["value"] for c in cs]
        bound = " / ".join(dict.fromkeys(c["bound"] for c in cs))
        lines.append(f"| {where} | {name} | {bound} | {min(values):.4g} | {max(values):.4g} | "
                     f"{len(cs)} | {'yes' if all(c['holds'] for c in cs) else 'NO'} |")
    lines += ["", "Configurations: " + "; ".join(f"*{c}*: {CONFIGS[c][1]}" for c in configs)
              + ".", ""]
    return "\n".join(lines)


def moving_bounds(claims: list[dict]) -> list[tuple[str, str, list[str]]]:
    """(where, claim, its bounds) for each claim stated with more than one bound over the runs:
    a bound computed from the run (another trained number) cannot be checked against the text."""
    bounds: dict[tuple[str, str], dict[str, None]] = {}
    for c in claims:
        bounds.setdefault((where_label(c["where"]), c["name"]), {})[c["bound"]] = None
    return [(w, n, list(b)) for (w, n), b in sorted(bounds.items()) if len(b) > 1]


def write_csv(path: Path, claims: list[dict]) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["config", "seed", "where", "name", "value",
                                               "bound", "holds"])
        writer.writeheader()
        for c in claims:
            writer.writerow({k: c[k] for k in writer.fieldnames})


if __name__ == "__main__":
    sys.exit(main())
