"""Execute the book's pages in parallel into the execution cache the site build reads.

``jupyter-book build`` executes the pages one after another (about five minutes of a cold
build). Each page's kernel does its work on one core, so on a laptop with two cores two pages
can run at once. ``make book`` runs this module first: it reads every executable page of the
table of contents exactly as the build does (MyST-NB's reader), skips pages whose code is
already in the cache, executes the others in ``--workers`` kernels at a time (longest first,
by the last benchmark table), and stores each executed notebook in the cache
(``_build/.jupyter_cache``), where the build finds it by the hash of its code.

It only saves time. A page that fails here is not cached: the build then executes it itself
and reports the error with its traceback, as it would without this step.

    python -m course_tools.prebuild [--toc _toc.yml] [--workers 2]
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

CACHE = Path("_build") / ".jupyter_cache"  # relative to the book's root, as in _config.yml
TIMEOUT = 180  # seconds per cell, as execute.timeout in _config.yml
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
               "COURSE_MAX_THREADS")  # the last caps course_lib.set_seed(threads=...)


def toc_files(toc: Path) -> list[Path]:
    """Every file of a jb-book table of contents (paths relative to its folder)."""
    import yaml

    found: list[Path] = []

    def visit(node) -> None:
        if isinstance(node, dict):
            for key in ("root", "file"):
                if isinstance(node.get(key), str):
                    found.append(toc.parent / node[key])
            for value in node.values():
                if isinstance(value, list | dict):
                    visit(value)
        elif isinstance(node, list):
            for item in node:
                visit(item)

    visit(yaml.safe_load(toc.read_text()))
    return found


def executable_pages(toc: Path) -> list[Path]:
    """The MyST Markdown pages of ``toc`` that the build executes (those with a kernel)."""
    pages = []
    for stem in toc_files(toc):
        page = stem.with_suffix(".md")
        if page.exists() and "\nkernelspec:" in page.read_text().split("\n---", 1)[0]:
            pages.append(page)
    return pages


def read_page(page: Path):
    """The page as the build sees it: MyST-NB's reader turns it into a notebook."""
    from myst_nb.core.read import myst_nb_reader_plugin

    return myst_nb_reader_plugin(str(page))


def last_seconds(results: Path) -> dict[str, float]:
    """Execution seconds of each page in the benchmark table ``results`` (empty if none)."""
    seconds: dict[str, float] = {}
    if results.exists():
        with open(results, newline="") as f:
            for row in csv.DictReader(f):
                item = row["item"]
                if item.startswith("page ") and row.get("seconds"):
                    seconds[item.split()[1]] = float(row["seconds"])
    return seconds


def _execute(page: str, one_thread: bool):
    """Execute one page (in a worker process) and return (notebook, seconds, error text)."""
    if one_thread:  # the page's kernel inherits these: one core per page
        os.environ.update({var: "1" for var in THREAD_VARS})
    os.environ["COURSE_NOTEBOOK"] = Path(page).stem  # where course_lib.claims says it ran
    import tempfile

    from jupyter_cache.executors.utils import single_nb_execution
    from jupyter_client import KernelManager

    nb = read_page(Path(page))
    # Unix sockets, not TCP ports: with TCP, two kernels started at once by two workers made
    # the chapter 12 page take 156-285 s or time out (40 s alone), with ZMQ socket errors in
    # the log; a clash of the free ports each side picks is the likely cause. With Unix
    # sockets it took 33-43 s.
    with tempfile.TemporaryDirectory(prefix="prebuild-") as sockets:
        km = KernelManager(kernel_name=nb.metadata.get("kernelspec", {}).get("name", "python3"),
                           transport="ipc", ip=str(Path(sockets) / "kernel"))
        try:
            result = single_nb_execution(nb, cwd=str(Path(page).parent), timeout=TIMEOUT,
                                         allow_errors=False, meta_override=True, km=km)
        finally:  # nbclient leaves a kernel it was handed running
            if km.has_kernel:
                km.shutdown_kernel(now=True)
    error = None if result.err is None else f"{type(result.err).__name__}: {result.err}"
    return nb, result.time, error


def prebuild(toc: Path, workers: int = 2, cache_path: Path | None = None, log=print,
             only: set[str] | None = None) -> dict:
    """Execute the pages of ``toc`` missing from the cache (by default ``_build/.jupyter_cache``
    beside ``toc``), ``workers`` at a time; with ``only``, just the pages of those stems. Returns
    ``{"cached": [...], "executed": {page: seconds}, "failed": {page: error}}``."""
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    cache = get_cache(str(cache_path or toc.parent / CACHE))
    report: dict = {"cached": [], "executed": {}, "failed": {}}
    todo = []
    for page in executable_pages(toc):
        if only is not None and page.stem not in only:
            continue
        try:
            cache.match_cache_notebook(read_page(page))
            report["cached"].append(page.name)
        except KeyError:
            todo.append(page)
    if not todo:
        log(f"prebuild: all {len(report['cached'])} pages are in the execution cache")
        return report
    known = last_seconds(toc.parent / "benchmarks" / "results" / "latest.csv")
    todo.sort(key=lambda p: -known.get(p.stem, float("inf")))  # unknown first, then longest
    workers = max(1, min(workers, len(todo)))
    log(f"prebuild: executing {len(todo)} page(s), {workers} at a time "
        f"({len(report['cached'])} already cached)")
    start = time.monotonic()
    context = multiprocessing.get_context("spawn")  # no forked copies of sockets or the db
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = {pool.submit(_execute, str(p), workers > 1): p for p in todo}
        for done, future in enumerate(as_completed(futures), 1):
            page = futures[future]
            try:
                nb, seconds, error = future.result()
            except Exception as exc:  # a worker died: the build will execute the page itself
                nb, seconds, error = None, 0.0, f"{type(exc).__name__}: {exc}"
            if error:
                report["failed"][page.name] = error
                log(f"  [{done}/{len(todo)}] {page.name} FAILED (the build will execute it "
                    f"again and show the traceback): {error.splitlines()[0][:200]}")
                continue
            cache.cache_notebook_bundle(
                CacheBundleIn(nb, str(page), data={"execution_seconds": seconds}),
                check_validity=False, overwrite=True)
            report["executed"][page.name] = round(seconds, 1)
            log(f"  [{done}/{len(todo)}] {page.name} executed in {seconds:.1f} s")
    log(f"prebuild: {len(report['executed'])} page(s) executed in "
        f"{time.monotonic() - start:.0f} s, {len(report['failed'])} failed")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--toc", type=Path, default=Path("_toc.yml"))
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--cache", type=Path, default=None,
                        help="execution cache (default: _build/.jupyter_cache beside the toc)")
    args = parser.parse_args(argv)
    prebuild(args.toc.resolve(), args.workers, args.cache, log=lambda m: print(m, flush=True))
    return 0  # failures are the build's to report


if __name__ == "__main__":
    sys.exit(main())
