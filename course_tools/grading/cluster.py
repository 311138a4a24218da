"""A Dask cluster on this machine: a scheduler and one-thread workers on 127.0.0.1, started with
the same ``dask scheduler`` and ``dask worker`` commands as on a real cluster, to try
``--scheduler`` on one machine (and for the tests and the throughput benchmark)::

    with local_cluster(workers=2, folder=tmp) as cluster:
        grade_folder(..., scheduler=cluster.address)
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

DASK = str(Path(sys.executable).parent / "dask")


@dataclass
class LocalCluster:
    """What :func:`local_cluster` started: the scheduler's address and each process's log."""

    address: str
    logs: list[Path] = field(default_factory=list)

    def log_tails(self, chars: int = 1500) -> str:
        """The end of every log, for an error message."""
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-chars:]}"
                         for p in self.logs if p.exists())


@contextlib.contextmanager
def local_cluster(workers: int = 2, folder: Path | None = None, timeout: float = 180,
                  env: dict[str, str] | None = None) -> Iterator[LocalCluster]:
    """Start a scheduler (on a free port of 127.0.0.1, no dashboard) and ``workers`` worker
    processes of one thread each, wait until all have joined (``timeout`` seconds), and stop
    them all on exit. Logs and the workers' scratch space go to ``folder`` (a new temporary
    folder by default); ``env`` is the processes' environment (default: this one's)."""
    from distributed import Client

    with contextlib.ExitStack() as stack:
        if folder is None:
            import tempfile

            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="dask-")))
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        info = folder / "scheduler.json"
        info.unlink(missing_ok=True)
        procs: list[subprocess.Popen] = []
        cluster = LocalCluster("")

        def start(name: str, *args: str) -> None:
            cluster.logs.append(folder / f"{name}.log")
            with open(cluster.logs[-1], "wb") as log:
                procs.append(subprocess.Popen([DASK, *args], env=env, cwd=folder,
                                              stdin=subprocess.DEVNULL, stdout=log,
                                              stderr=subprocess.STDOUT))

        try:
            start("scheduler", "scheduler", "--host", "127.0.0.1", "--port", "0",
                  "--no-dashboard", "--scheduler-file", str(info))
            deadline = time.monotonic() + timeout
            while not info.exists() and procs[0].poll() is None and time.monotonic() < deadline:
                time.sleep(0.2)
            if not info.exists():
                raise RuntimeError("the Dask scheduler did not start:\n" + cluster.log_tails())
            time.sleep(0.2)  # the file is written whole before the scheduler listens
            cluster.address = json.loads(info.read_text())["address"]
            for i in range(workers):
                start(f"worker{i}", "worker", "--scheduler-file", str(info), "--host",
                      "127.0.0.1", "--nthreads", "1", "--no-dashboard", "--name", f"grader{i}",
                      "--local-directory", str(folder / f"worker{i}"))
            with Client(cluster.address, timeout=timeout, set_as_default=False) as client:
                try:
                    client.wait_for_workers(workers, timeout=max(1.0, deadline - time.monotonic()))
                except TimeoutError:
                    raise RuntimeError(f"{workers} Dask workers did not join within {timeout} s:"
                                       "\n" + cluster.log_tails()) from None
            yield cluster
        finally:
            for proc in procs[::-1]:
                proc.terminate()
            for proc in procs[::-1]:
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


__all__ = ["LocalCluster", "local_cluster"]
