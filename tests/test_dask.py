"""Grading on a Dask distributed cluster (``--scheduler``, issue 21): a scheduler and two worker
processes on 127.0.0.1, started with the ``dask scheduler`` and ``dask worker`` commands, as on
a real cluster (dask-jobqueue's job scripts and the Kubernetes images run the same ``dask
worker``; a ``LocalCluster`` would be children of the test's own process). The client only
knows the scheduler's address, as ``--scheduler tcp://HOST:8786`` does.

The local batch to compare with is test_grading.py's ``tiny_batch`` (the tiny fixture lab; its
expected scores come from the lab's points), and the PostgreSQL gradebook its ``postgres_url``
server.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import threading
import time
from pathlib import Path

import nbformat
import pytest
from test_grading import EXPECTED, FIXTURES, FULL, TINY, postgres_url, tiny_batch  # noqa: F401

from course_tools import grading

pytestmark = pytest.mark.slow

@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """(address, client, logs): a Dask scheduler and two one-thread workers on 127.0.0.1
    (course_tools.grading.cluster), with none of the course's variables (COURSE_SEED, ...) in
    their environment, as the local batch's processes have none (conftest.py), and no user's
    Dask configuration."""
    from distributed import Client

    from course_tools.grading.cluster import local_cluster

    tmp = tmp_path_factory.mktemp("dask")
    env = {k: v for k, v in os.environ.items() if not k.startswith("COURSE_")}
    env["DASK_CONFIG"] = str(tmp / "config")
    with local_cluster(workers=2, folder=tmp, env=env) as started:
        assert started.address.startswith("tcp://127.0.0.1:"), started.address
        with Client(started.address, timeout=60, set_as_default=False) as client:
            yield started.address, client, started.log_tails


def _rows(path: Path) -> list[dict]:
    return list(csv.DictReader(open(path, newline="")))


def _without_seconds(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "seconds"} for row in rows]


def _stored(out: Path) -> dict[str, dict]:
    """out/results/<student>.json without the seconds (they differ from run to run)."""
    return {p.stem: {k: v for k, v in json.loads(p.read_text()).items() if k != "seconds"}
            for p in sorted((out / "results").glob("*.json"))}


def test_a_batch_on_two_dask_workers_writes_what_the_local_batch_writes(
        cluster, tiny_batch, postgres_url, tmp_path, capsys):  # noqa: F811 (fixtures)
    """Same statuses and scores, same grades.csv cell for cell except the seconds column (each
    submission's own time), same stored results and resume keys (a local run afterwards
    reuses all of them), the same feedback, and the gradebook in PostgreSQL."""
    from nbgrader.api import Gradebook

    address, client, logs = cluster
    local, local_out, subs = tiny_batch
    client.get_task_stream()  # starts the scheduler's record of the tasks that run
    since = time.time()
    (tmp_path / "roster.txt").write_text("absent\n")
    out = tmp_path / "out"
    code = grading.main([str(subs), "--lab", "tiny", "--out", str(out), "--scheduler", address,
                         "--db", postgres_url, "--roster", str(tmp_path / "roster.txt"),
                         "--timeout", "10", "--solutions", str(FIXTURES)])
    printed = capsys.readouterr()
    assert code == 0, printed.err + logs()
    assert f"{len(EXPECTED)} graded in this run, 0 reused" in printed.out
    assert "with 2 worker(s)" in printed.out
    assert "grading tiny" in printed.err  # the progress bar

    rows, local_rows = _rows(out / "grades.csv"), _rows(local_out / "grades.csv")
    assert list(rows[0]) == list(local_rows[0])
    assert _without_seconds(rows) == _without_seconds(local_rows)
    for row in rows:
        status, scores = EXPECTED[row["student"]]
        assert row["status"] == status
        if scores is not None:
            assert {q: float(row[q]) for q in scores} == scores
    assert _stored(out) == _stored(local_out)
    for name in ("partial.txt", "unfinished.html"):
        assert (out / "feedback" / name).read_text() == \
            (local_out / "feedback" / name).read_text()

    # every submission was a task of its own on the workers, and both workers graded
    stream = [t for t in client.get_task_stream(start=since) if t["key"].startswith("grade-")]
    assert sorted(t["key"].split("-")[2] for t in stream) == sorted(EXPECTED)
    assert len({t["worker"] for t in stream}) == 2

    with Gradebook(postgres_url) as gb:
        for student, (_, scores) in EXPECTED.items():
            if scores is not None:
                assert gb.find_submission("tiny", student).score == sum(scores.values())
        assert {s.id for s in gb.students} == {s for s, (_, p) in EXPECTED.items() if p}

    again = grading.grade_folder(subs, "tiny", out, roster=["absent"], cell_timeout=10,
                                 workers=2, solutions=FIXTURES, show_progress=False,
                                 db_url=postgres_url)  # locally: the same resume keys
    assert again.graded == []


def _sleeper(dest: Path, seconds: float) -> None:
    """The solution with a first code cell that sleeps (the kill lands while it runs)."""
    nb = nbformat.read(TINY, as_version=4)
    first = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    nb.cells.insert(first, nbformat.v4.new_code_cell(f"import time\ntime.sleep({seconds})"))
    nbformat.write(nb, dest)


def test_a_worker_killed_in_the_middle_loses_nothing(cluster, tmp_path):
    """One worker process is killed (SIGKILL, as the kernel's OOM killer does) after the first
    result arrives, while it grades a submission: the scheduler gives that task to another
    worker, and every submission has exactly one row, with its full marks."""
    from course_tools.grading.results import Result

    address, client, logs = cluster
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "a_quick.ipynb").write_bytes(TINY.read_bytes())
    slow = ["b_slow", "c_slow", "d_slow"]
    for name in slow:
        _sleeper(subs / f"{name}.ipynb", 8)
    out = tmp_path / "out"
    outcome: dict = {}

    def batch() -> None:
        try:
            outcome["batch"] = grading.grade_folder(subs, "tiny", out, cell_timeout=30,
                                                    solutions=FIXTURES, show_progress=False,
                                                    scheduler=address)
        except BaseException as exc:  # re-raised below, in the test's thread
            outcome["error"] = exc

    thread = threading.Thread(target=batch)
    thread.start()
    try:
        deadline = time.monotonic() + 300
        while not list((out / "results").glob("*.json")) and thread.is_alive() and \
                time.monotonic() < deadline:
            time.sleep(0.1)
        assert thread.is_alive(), outcome
        busy = {w: [k for k in keys if k.startswith("grade-")]
                for w, keys in client.processing().items()}
        victim = next(w for w, keys in busy.items() if keys)  # a worker grading right now
        pid = client.run(os.getpid, workers=[victim])[victim]
        os.kill(pid, signal.SIGKILL)
        killed = busy[victim][0].split("-")[2]
    finally:
        thread.join(timeout=600)
    assert not thread.is_alive(), "the batch did not finish within 10 minutes"
    if "error" in outcome:
        raise outcome["error"]
    assert killed in slow
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # that worker process is gone

    students = ["a_quick", *slow]
    rows = _rows(out / "grades.csv")
    assert [row["student"] for row in rows] == students  # exactly one row each
    for row in rows:
        assert row["status"] == "graded", (row, logs())
        assert {q: float(row[q]) for q in FULL} == FULL
    assert sorted(p.stem for p in (out / "results").glob("*.json")) == students
    stored = [Result.from_json(json.loads(p.read_text())) for p in (out / "results").glob("*")]
    assert all(r.status == "graded" and r.total == sum(FULL.values()) for r in stored)
    assert outcome["batch"].graded == students
    client.wait_for_workers(2, timeout=180)  # the nanny restarted it, for what follows


def test_an_unreachable_scheduler_is_a_clear_error(tmp_path, capsys, monkeypatch):
    import socket

    monkeypatch.setattr(grading.batch, "CONNECT_TIMEOUT", 3)
    (tmp_path / "subs").mkdir()
    (tmp_path / "subs" / "ann.ipynb").write_bytes(TINY.read_bytes())
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code = grading.main([str(tmp_path / "subs"), "--lab", "tiny", "--out", str(tmp_path / "out"),
                         "--scheduler", f"tcp://127.0.0.1:{port}", "--solutions", str(FIXTURES)])
    err = capsys.readouterr().err
    assert code == 2
    assert f"no Dask scheduler answered at tcp://127.0.0.1:{port}" in err and "dask worker" in err
    assert not list((tmp_path / "out" / "results").glob("*.json"))
