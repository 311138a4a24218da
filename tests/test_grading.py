"""Grading: statuses, outputs, resuming, the gradebook (SQLite and a real PostgreSQL server),
the sandbox, and the real chapter 1 lab end to end.

The many edge cases use a tiny fixture lab (about a second per submission); hostile
submissions are in test_grading_adversarial.py. Expected scores come from the lab's points: the
solution earns every point, the untouched student notebook none.
"""

from __future__ import annotations

import csv
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import nbformat
import pytest

from course_tools import authoring, grading, sandbox

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "labs"
TINY = FIXTURES / "tiny" / "tiny.ipynb"
FULL = {"double": 1, "square": 2, "masked_softmax": 2}

pytestmark = pytest.mark.slow


def _partial(dest: Path) -> None:
    nb = nbformat.read(TINY, as_version=4)
    nb.cells[3].source = nb.cells[3].source.replace("return x * x", "return x + x")
    nbformat.write(nb, dest)


def _half(dest: Path) -> None:
    """square right for positive numbers only: x * abs(x) passes the public example
    (square(3) = 9) and the hidden part on a positive number, not the part on negatives."""
    nb = nbformat.read(TINY, as_version=4)
    nb.cells[3].source = nb.cells[3].source.replace("return x * x", "return x * abs(x)")
    nbformat.write(nb, dest)


@pytest.fixture(scope="module")
def tiny_batch(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tiny")
    subs = tmp / "submissions"
    subs.mkdir()
    released = authoring.release(tmp / "release", solutions=FIXTURES)[0]
    (subs / "honest.ipynb").write_bytes(TINY.read_bytes())
    (subs / "unfinished.ipynb").write_bytes(released.read_bytes())
    _partial(subs / "partial.ipynb")  # square wrong: 3 of 5 points
    _half(subs / "half.ipynb")  # square wrong for negative numbers: 4 of 5 points
    (subs / "nested" / "tiny").mkdir(parents=True)  # nbgrader's <student>/<lab>/<notebook>
    (subs / "nested" / "tiny" / "tiny.ipynb").write_bytes(TINY.read_bytes())
    (subs / "empty_folder").mkdir()
    out = tmp / "grades"
    batch = grading.grade_folder(subs, "tiny", out, roster=["absent"], cell_timeout=10,
                                 workers=2, solutions=FIXTURES, show_progress=False)
    assert batch.graded == sorted(EXPECTED)  # all graded in a first run
    return {r.student: r for r in batch.results}, out, subs


EXPECTED = {
    "honest": ("graded", FULL),
    "nested": ("graded", FULL),
    "unfinished": ("graded", {"double": 0, "square": 0, "masked_softmax": 0}),
    "partial": ("graded", {**FULL, "square": 0}),
    "half": ("graded", {**FULL, "square": 1}),
    "empty_folder": ("missing", None),
    "absent": ("missing", None),
}


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_each_submission_gets_its_status_and_score(tiny_batch, student):
    results, *_ = tiny_batch
    status, scores = EXPECTED[student]
    r = results[student]
    assert r.status == status, r.message
    if scores is not None:
        assert r.scores == pytest.approx(scores)


def test_csv_one_row_per_student_and_sqlite_gradebook(tiny_batch):
    from nbgrader.api import Gradebook

    results, out, _ = tiny_batch
    rows = {row["student"]: row for row in csv.DictReader(open(out / "grades.csv"))}
    assert set(rows) == set(results)
    assert list(rows["honest"])[:5] == ["student", "status", "double", "square", "masked_softmax"]
    assert rows["honest"]["total"] == "5" and rows["unfinished"]["total"] == "0"
    assert rows["absent"]["total"] == "" and rows["absent"]["message"]
    with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gb:
        assert gb.find_submission("tiny", "honest").score == pytest.approx(5)
        assert gb.find_submission("tiny", "partial").score == pytest.approx(3)
        assert gb.find_submission("tiny", "unfinished").score == pytest.approx(0)


def test_a_question_in_named_parts_gives_each_part_its_points(tiny_batch):
    """tiny's square has two hidden parts of 1 point: the CSV has a column per part that the
    question's column adds up, the feedback names each part (never its values), and the
    gradebook holds the question's total."""
    from nbgrader.api import Gradebook

    results, out, _ = tiny_batch
    half = results["half"].questions["square"]
    assert [(p.name, p.points, p.max_points, p.passed) for p in half.parts] == [
        ("a positive number", 1, 1, True), ("a negative number", 0, 1, False)]
    assert results["honest"].questions["double"].parts == []  # one part: nothing extra
    rows = {row["student"]: row for row in csv.DictReader(open(out / "grades.csv"))}
    parts = ["square: a positive number", "square: a negative number"]
    assert list(rows["half"])[-2:] == parts
    assert [rows["half"][c] for c in ("square", *parts)] == ["1", "1", "0"]
    assert [rows["honest"][c] for c in ("square", *parts)] == ["2", "1", "1"]
    assert [rows["absent"][c] for c in parts] == ["", ""]
    text = (out / "feedback" / "half.txt").read_text()
    assert "square: 1 / 2  (not passed)" in text
    assert "- a positive number: 1 / 1 (passed)" in text
    assert "- a negative number: 0 / 1 (not passed)" in text
    assert "-0.5" not in text and "0.25" not in text  # the hidden values stay hidden
    assert "square: a negative number" in (out / "feedback" / "half.html").read_text()
    with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gb:
        assert gb.find_submission("tiny", "half").score == pytest.approx(4)
        assert gb.find_grade("square", "tiny", "tiny", "half").score == pytest.approx(1)


def test_feedback_per_question(tiny_batch):
    _, out, _ = tiny_batch
    text = (out / "feedback" / "partial.txt").read_text()
    assert text.startswith("Lab tiny, student partial: graded")
    assert "square: 0 / 2  (not passed)" in text and "double: 1 / 1  (passed)" in text
    assert "checked: hidden tests of square" in text
    assert "square(3) = 6" in text  # the public example's output, computed by the grader
    unfinished = (out / "feedback" / "unfinished.txt").read_text()
    assert "masked_softmax: not implemented yet" in unfinished


def test_a_second_run_grades_only_what_changed(tiny_batch, tmp_path):
    results, out, subs = tiny_batch
    out, subs = shutil.copytree(out, tmp_path / "out"), shutil.copytree(subs, tmp_path / "subs")
    again = grading.grade_folder(subs, "tiny", out, roster=["absent"], cell_timeout=10,
                                 workers=2, solutions=FIXTURES, show_progress=False)
    assert again.graded == [] and "0 graded in this run" in again.summary
    assert {r.student: r.scores for r in again.results} == {s: r.scores for s, r in results.items()}
    _partial(subs / "honest.ipynb")  # the honest student hands in again, now with a mistake
    batch = grading.grade_folder(subs, "tiny", out, roster=["absent"], cell_timeout=10,
                                 workers=2, solutions=FIXTURES, show_progress=False)
    again = {r.student: r for r in batch.results}
    assert batch.graded == ["honest"]
    assert again["honest"].scores == pytest.approx({**FULL, "square": 0})
    rows = {row["student"]: row for row in csv.DictReader(open(out / "grades.csv"))}
    assert rows["honest"]["total"] == "3" and rows["nested"]["total"] == "5"
    # other settings (here the policy of the from-scratch rules) are another key: all regraded
    batch = grading.grade_folder(subs, "tiny", out, roster=["absent"], cell_timeout=10,
                                 workers=2, solutions=FIXTURES, show_progress=False,
                                 policy="flag")
    assert batch.graded == sorted(EXPECTED)


def test_command_line_prints_a_summary(tmp_path, capsys):
    (tmp_path / "subs").mkdir()
    (tmp_path / "subs" / "a.ipynb").write_bytes(TINY.read_bytes())
    (tmp_path / "subs" / "b.ipynb").write_text("not a notebook")
    code = grading.main([str(tmp_path / "subs"), "--lab", "tiny", "--out", str(tmp_path / "out"),
                         "--workers", "1", "--solutions", str(FIXTURES)])
    printed = capsys.readouterr().out
    assert code == 0
    assert "1 graded, 1 unreadable" in printed and "s per submission" in printed


def test_bad_arguments_raise_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="submissions"):
        grading.grade_folder(tmp_path / "nope", "tiny", tmp_path / "out", solutions=FIXTURES)
    (tmp_path / "subs").mkdir()
    with pytest.raises(ValueError, match="lab"):
        grading.grade_folder(tmp_path / "subs", "no_such_lab", tmp_path / "out",
                             solutions=FIXTURES)
    with pytest.raises(ValueError, match="out"):
        grading.grade_folder(tmp_path / "subs", "tiny", tmp_path / "subs" / "out",
                             solutions=FIXTURES)


def test_student_ids_are_sanitised():
    assert grading.student_id("Ann Lee (final)") == "Ann_Lee_final"
    assert grading.student_id("../../etc") == "etc"
    assert grading.student_id("...") == "student"


def test_hidden_tests_and_student_names_come_from_the_master():
    spec = grading.LabSpec("tiny", FIXTURES)
    assert [(q.qid, q.points) for q in spec.questions] == [
        ("double", 1.0), ("square", 2.0), ("masked_softmax", 2.0)]
    ns = spec.namespace()
    assert "check_masked_softmax" in ns and "np" in ns
    assert spec.student_names(spec.questions[2].hidden, ns) == {"masked_softmax"}
    assert spec.student_names(spec.questions[0].hidden, ns) == {"double"}
    assert "against torch" in spec.described(spec.questions[2], ns)


# --- the sandbox ---------------------------------------------------------------------------

def _in_sandbox(*codes: str, timeout: float = 30) -> list:
    """Run each of ``codes`` in one sandboxed kernel; their outcomes."""
    slot = sandbox.acquire_slot()
    try:
        with sandbox.SandboxKernel(slot=slot) as kernel:
            return [kernel.execute(code, timeout=timeout) for code in codes]
    finally:
        sandbox.release_slot(slot)


def test_the_kernel_sees_no_course_files_no_network_and_is_unprivileged():
    out, write = _in_sandbox(
        "import os, socket\n"
        f"print(os.path.exists({str(ROOT / 'solutions')!r}), "
        f"os.path.exists({str(ROOT / 'tests')!r}), os.getuid() == 0)\n"
        "s = socket.socket()\n"
        "s.settimeout(2)\n"
        "print(s.connect_ex(('127.0.0.1', 22)) != 0)\n"
        "open('/home/student/ok', 'w').write('writable')\n"
        "import course_lib.checks.core\n"
        "import importlib.util\n"  # the sandbox mounts course_lib only
        "print(importlib.util.find_spec('course_tools') is None, "
        f"os.path.exists({str(ROOT / 'course_tools')!r}), "
        f"os.path.exists({str(ROOT / 'pyproject.toml')!r}))\n",
        f"open({str(ROOT / 'course_lib' / 'x.py')!r}, 'w')")
    assert out.status == "ok", out.error
    assert out.text.split() == ["False", "False", "False", "True", "True", "False", "False"]
    assert write.status == "error" and "Read-only" in write.error


def test_entering_a_started_kernel_starts_no_second_one():
    """grade_notebook starts the kernel (to report a failed start) and then enters it."""
    slot = sandbox.acquire_slot()
    try:
        kernel = sandbox.SandboxKernel(slot=slot)
        kernel.start()
        first = kernel.proc
        with kernel:
            assert kernel.proc is first
            assert kernel.execute("print(6 * 7)", timeout=30).text.strip() == "42"
        assert first.poll() is not None  # closed on exit: no kernel left running
    finally:
        sandbox.release_slot(slot)


def test_proxy_calls_pass_arrays_callbacks_generators_and_gradients():
    import numpy as np
    import torch

    slot = sandbox.acquire_slot()
    try:
        with sandbox.SandboxKernel(slot=slot) as kernel:
            kernel.execute("import torch\n"
                           "def f(a, g, rng):\n"
                           "    a += 1\n"
                           "    return a * 2, g(a), rng.integers(0, 10 ** 9)\n"
                           "def rep(mu, log_var, eps):\n"
                           "    return mu + torch.exp(log_var / 2) * eps\n", timeout=60)
            functions = sandbox.KernelFunctions(kernel, call_timeout=30)
            a = np.arange(3.0)
            doubled, summed, drawn = functions.proxy("f")(
                a, lambda v: float(v.sum()), np.random.default_rng(5))
            np.testing.assert_array_equal(a, [1.0, 2.0, 3.0])  # the in-place change came back
            np.testing.assert_array_equal(doubled, [2.0, 4.0, 6.0])
            assert summed == 6.0 and drawn == np.random.default_rng(5).integers(0, 10 ** 9)
            mu = torch.tensor([0.5, -1.0], dtype=torch.float64, requires_grad=True)
            lv = torch.tensor([0.2, 0.4], dtype=torch.float64, requires_grad=True)
            eps = torch.tensor([1.5, -0.5], dtype=torch.float64)
            z = functions.proxy("rep")(mu, lv, eps)
            g_mu, g_lv = torch.autograd.grad(z.sum(), (mu, lv))
            np.testing.assert_allclose(g_mu.numpy(), [1.0, 1.0])  # dz/dmu = 1
            np.testing.assert_allclose(g_lv.numpy(), 0.5 * np.exp(lv.detach().numpy() / 2) *
                                       eps.numpy())  # dz/dlog_var = exp(log_var/2) eps / 2
            with pytest.raises(NameError, match="not defined in your notebook"):
                functions.proxy("missing")(1)
    finally:
        sandbox.release_slot(slot)


# --- PostgreSQL --------------------------------------------------------------------------

def _as_postgres(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    if os.geteuid() == 0:
        cmd = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=120, **kw)


@pytest.fixture(scope="module")
def postgres_url():
    """A throw-away PostgreSQL server on 127.0.0.1 (Debian's postgresql package; installed by
    tests/install_grading.sh)."""
    initdb = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not initdb:
        pytest.skip("PostgreSQL is not installed here and could not be installed "
                    "(run tests/install_grading.sh as root: apt-get install postgresql)")
    bindir = Path(initdb[-1]).parent
    data = Path(tempfile.mkdtemp(prefix="pg-grading-"))
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    _as_postgres([str(bindir / "initdb"), "-D", str(data / "db"), "-U", "grader", "-A", "trust",
                  "--no-sync"], cwd=data)
    _as_postgres([str(bindir / "pg_ctl"), "-D", str(data / "db"), "-w", "-l", str(data / "log"),
                  "-o", f"-h 127.0.0.1 -p {port} -k {data}", "start"], cwd=data)
    try:
        _as_postgres([str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U",
                      "grader", "gradebook"], cwd=data)
        yield f"postgresql://grader@127.0.0.1:{port}/gradebook"
    finally:
        _as_postgres([str(bindir / "pg_ctl"), "-D", str(data / "db"), "-m", "immediate",
                      "stop"], cwd=data)
        shutil.rmtree(data, ignore_errors=True)


def test_gradebook_on_a_postgresql_server(postgres_url, tmp_path):
    from nbgrader.api import Gradebook

    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "ann.ipynb").write_bytes(TINY.read_bytes())
    _partial(subs / "bob.ipynb")
    (subs / "cy.ipynb").write_text("{")
    grading.grade_folder(subs, "tiny", tmp_path / "out", workers=2, db_url=postgres_url,
                         solutions=FIXTURES, show_progress=False)
    assert not (tmp_path / "out" / "gradebook.db").exists()
    with Gradebook(postgres_url) as gb:
        assert gb.find_submission("tiny", "ann").score == pytest.approx(5)
        assert gb.find_submission("tiny", "bob").score == pytest.approx(3)
        assert {s.id for s in gb.students} == {"ann", "bob"}  # unreadable: no points recorded
        assert gb.find_assignment("tiny").max_score == pytest.approx(5)


# --- a real lab ------------------------------------------------------------------------------

def test_real_lab_end_to_end(tmp_path):
    """Chapter 1: the solution earns full marks, the untouched student notebook zero."""
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "solution.ipynb").write_bytes((ROOT / "solutions/ch01/ch01_lab.ipynb").read_bytes())
    (subs / "student.ipynb").write_bytes((ROOT / "notebooks/ch01/ch01_lab.ipynb").read_bytes())
    results = {r.student: r for r in grading.grade_folder(
        subs, "ch01", tmp_path / "out", workers=2, show_progress=False).results}
    nb = nbformat.read(ROOT / "solutions/ch01/ch01_lab.ipynb", as_version=4)
    points = {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"]
              for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")}
    assert len(points) >= 3
    assert results["solution"].status == "graded", results["solution"].message
    assert results["solution"].scores == pytest.approx(points)
    assert results["student"].status == "graded"
    assert sum(results["student"].scores.values()) == 0
    assert "not implemented yet" in (tmp_path / "out/feedback/student.txt").read_text()
    assert "all checks passed" in (tmp_path / "out/feedback/solution.html").read_text()


def test_a_new_sqlite_gradebook_is_copied_from_the_last_one_made(tmp_path, monkeypatch):
    """nbgrader generate_assignment (about ten seconds) runs once per lab and grader version;
    a gradebook that already exists is updated by nbgrader, never replaced by the copy."""
    from nbgrader.api import Gradebook

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    spec = grading.LabSpec("tiny", FIXTURES)
    first, second = tmp_path / "first.db", tmp_path / "second.db"
    grading.prepare_gradebook(f"sqlite:///{first}", spec)
    assert grading._gradebook_template(spec).exists()

    calls = []
    real_run = subprocess.run
    monkeypatch.setattr(grading.gradebook.subprocess, "run",
                        lambda *a, **k: calls.append(a) or real_run(*a, **k))
    grading.prepare_gradebook(f"sqlite:///{second}", spec)
    assert calls == []  # copied, nbgrader not started
    with Gradebook(f"sqlite:///{second}") as gb:
        assert gb.find_assignment("tiny").max_score == pytest.approx(5)
        gb.update_or_create_student("ann")
    grading.prepare_gradebook(f"sqlite:///{second}", spec)
    assert len(calls) == 1  # an existing gradebook: nbgrader updates it in place
    with Gradebook(f"sqlite:///{second}") as gb:
        assert [s.id for s in gb.students] == ["ann"]


# --- the result cache's key ----------------------------------------------------------------

def test_the_result_key_covers_every_course_lib_file_the_master_and_the_grader(tmp_path):
    """A stored grade is reused only when nothing it depends on changed: every .py of the
    installed course_lib (data/, models/, references/, validate.py too), the master, the grader."""
    from course_tools.grading.spec import fingerprint, grader_files

    library = shutil.copytree(ROOT / "course_lib", tmp_path / "course_lib",
                              ignore=shutil.ignore_patterns("__pycache__"))
    master = shutil.copy(TINY, tmp_path / "tiny.ipynb")
    tools = [shutil.copy(p, tmp_path / p.name) for p in grader_files()[:1]]
    key = fingerprint(master, library, tools)
    assert fingerprint(master, library, tools) == key  # stable
    for name in ("data/text.py", "models/seq2seq.py", "references/ch03.py", "validate.py",
                 "checks/core.py", "checks/bridge.py"):
        path = library / name
        text = path.read_text()
        path.write_text(text + "\n# changed\n")
        assert fingerprint(master, library, tools) != key, name
        path.write_text(text)
    assert fingerprint(master, library, tools) == key
    Path(master).write_text(Path(master).read_text().replace("double", "twice"))
    assert fingerprint(master, library, tools) != key
    assert grading.LabSpec("tiny", FIXTURES).fingerprint == fingerprint(TINY)
    assert {p.name for p in grader_files()} >= {"spec.py", "run.py", "wire.py", "labspec.py"}


def test_the_result_key_covers_the_environment_and_the_settings(monkeypatch):
    """Another installed distribution or other grading settings: stored results are stale."""
    from course_tools.grading import spec as spec_module
    from course_tools.grading.batch import result_key

    spec = grading.LabSpec("tiny", FIXTURES)
    key = result_key(spec, 60, None, "zero", None)
    assert result_key(spec, 60, None, "zero", None) == key
    assert len({key, result_key(spec, 30, None, "zero", None), result_key(spec, 60, 200, "zero", None),
                result_key(spec, 60, None, "flag", None),
                result_key(spec, 60, None, "zero", sandbox.Limits(processes=64))}) == 5
    versions = spec_module._versions()
    assert "nbgrader==" in versions and "torch 2.13.0" in versions
    before = spec_module.fingerprint(TINY)
    monkeypatch.setattr(spec_module, "_versions", lambda: versions + ", another-package==1.0")
    assert spec_module.fingerprint(TINY) != before


# --- the grading view: the references are not in the kernel --------------------------------

def test_the_kernel_imports_every_course_lib_module_but_no_reference_runs_or_shows_its_code():
    from course_tools.sandbox.view import grading_library, is_hidden

    view = grading_library()
    hidden = sorted(p.relative_to(view).as_posix() for p in view.rglob("*.py")
                    if is_hidden(p.relative_to(view).as_posix()))
    assert len(hidden) >= 11 and "references/ch03.py" in hidden
    modules = sorted("course_lib." + p.relative_to(ROOT).with_suffix("").as_posix()
                     .replace("/", ".").removeprefix("course_lib.")
                     for p in (ROOT / "course_lib").rglob("*.py") if "__pycache__" not in p.parts)
    modules = [m.removesuffix(".__init__") for m in modules]
    (out,) = _in_sandbox(
        "import importlib, inspect, os\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m)\n"
        "import course_lib.references.ch03 as r, course_lib.checks.ch03 as c\n"
        "source = open(r.__file__).read()\n"
        "print('torch' in source, 'def reference_rnn_forward' in source,"
        " os.environ['COURSE_GRADING'])\n"
        "for f in (r.reference_rnn_forward, c.torch_rnn):\n"
        "    try:\n"
        "        f(1)\n"
        "    except Exception as e:\n"
        "        print(type(e).__name__)\n", timeout=120)
    assert out.status == "ok", out.error
    assert out.text.split() == ["False", "False", "1", "ReferenceUnavailable",
                                "ReferenceUnavailable"]


def test_links_are_refused_and_never_followed(tmp_path):
    from course_tools.grading.run import read_submission

    spec = grading.LabSpec("tiny", FIXTURES)
    subs, outside = tmp_path / "subs", tmp_path / "outside"
    subs.mkdir()
    outside.mkdir()
    (outside / "tiny.ipynb").write_bytes(TINY.read_bytes())
    (subs / "ann.ipynb").symlink_to(outside / "tiny.ipynb")
    (subs / "bob").symlink_to(outside, target_is_directory=True)
    (subs / "cat.ipynb").hardlink_to(outside / "tiny.ipynb")
    (subs / "dan.ipynb").write_bytes(TINY.read_bytes())
    found = grading.find_submissions(subs)
    assert set(found) == {"ann", "bob", "cat", "dan"}
    for student, why in (("ann", "symbolic link"), ("bob", "symbolic link"), ("cat", "hard link")):
        nb, r = read_submission(student, found[student], spec, subs)
        assert nb is None and r.status == "unreadable" and why in r.message, (student, r.message)
    nb, r = read_submission("dan", found["dan"], spec, subs)
    assert r is None and nb is not None


def test_the_grader_refuses_a_rule_it_does_not_know(tmp_path):
    lab = tmp_path / "solutions" / "tiny"
    lab.mkdir(parents=True)
    (lab / "tiny.ipynb").write_text(TINY.read_text().replace("numpy only", "no loops"))
    with pytest.raises(ValueError, match="grade marker of masked_softmax: rule"):
        grading.LabSpec("tiny", tmp_path / "solutions")


def test_a_broken_master_stops_the_batch_before_anything_is_stored(tmp_path):
    """The preflight: the master itself must earn full marks in the sandbox (here its imports
    work in the grader but not in the sandbox, as with a broken installation)."""
    from course_tools.grading.run import PreflightFailed

    lab = tmp_path / "solutions" / "tiny"
    lab.mkdir(parents=True)
    (lab / "tiny.ipynb").write_text(TINY.read_text().replace(
        "from course_lib.checks.ch11 import check_masked_softmax",
        "from course_lib.checks.ch11 import check_masked_softmax\\nimport course_tools.labspec"))
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "ann.ipynb").write_bytes(TINY.read_bytes())
    with pytest.raises(PreflightFailed, match="No module named 'course_tools'"):
        grading.grade_folder(subs, "tiny", tmp_path / "out", solutions=tmp_path / "solutions",
                             show_progress=False, cell_timeout=10)
    assert not list((tmp_path / "out" / "results").glob("*.json"))
