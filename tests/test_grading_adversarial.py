"""Grading a hostile class: tampering, sabotage and broken notebooks, next to 20 honest ones.

Every submission is a variant of the tiny fixture lab (three questions: ``double`` 1 point,
``square`` 2, ``masked_softmax`` 2, the last judged by the course's real chapter 11 check). The
expected score of each follows from what it does: a tampering submission whose answer is wrong
must score nothing for it, a sabotage that leaves the answers right must not cost them, and no
submission may change another's score, the course files or the originals.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest

from course_tools import authoring, grading, sandbox

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "labs"
TINY = FIXTURES / "tiny" / "tiny.ipynb"
FULL = {"double": 1, "square": 2, "masked_softmax": 2}
ZERO = {"double": 0, "square": 0, "masked_softmax": 0}
DOUBLE, SQUARE, SOFTMAX = 1, 3, 6  # indices of the exercise cells in tiny.ipynb
BUDGET = 25  # seconds of one whole submission (cells 10 s each, calls 10 s each)

pytestmark = pytest.mark.slow

WRONG_SOFTMAX = ("def masked_softmax(r, mask=None):\n"
                 "    return np.ones(np.shape(r)) / np.shape(r)[-1]\n")


def _edit(replace: dict[int, str] | None = None, append: dict[int, str] | None = None,
          delete: tuple[int, ...] = ()):
    def make(dest: Path, ctx: dict) -> None:
        nb = nbformat.read(TINY, as_version=4)
        for i, src in (replace or {}).items():
            nb.cells[i].source = src.format(**ctx)
        for i, src in (append or {}).items():
            nb.cells[i].source += "\n" + src.format(**ctx)
        for i in sorted(delete, reverse=True):
            del nb.cells[i]
        nbformat.write(nb, dest)
    return make


def _raw(text: str):
    def make(dest: Path, ctx: dict) -> None:
        dest.write_text(text)
    return make


def _copy(path: Path):
    def make(dest: Path, ctx: dict) -> None:
        dest.write_bytes(path.read_bytes())
    return make


def _released(dest: Path, ctx: dict) -> None:
    dest.write_bytes(ctx["released"].read_bytes())


def _link(dest: Path, ctx: dict) -> None:
    """A submission that is a symbolic link to the master lab (archives can carry links)."""
    dest.symlink_to(TINY)


def _linked_folder(dest: Path, ctx: dict) -> None:
    """A student folder that is a link to a folder outside the submissions, holding a copy of
    the master."""
    outside = ctx["outside"] / "tiny"
    outside.mkdir(parents=True)
    (outside / "tiny.ipynb").write_bytes(TINY.read_bytes())
    dest.with_suffix("").symlink_to(outside, target_is_directory=True)


def _hard_link(dest: Path, ctx: dict) -> None:
    copy = ctx["outside"] / "hard.ipynb"
    copy.write_bytes(TINY.read_bytes())
    dest.hardlink_to(copy)


def _huge(dest: Path, ctx: dict) -> None:
    nb = nbformat.read(TINY, as_version=4)
    nb.cells[0].source += "\n" + "x" * 21_000_000
    nbformat.write(nb, dest)


# name: (how the submission is made, expected status, expected points or None)
ATTACKS = {
    "honest": (_copy(TINY), "graded", FULL),
    "unfinished": (_released, "graded", ZERO),
    # tampering: the answer to masked_softmax (or double) is wrong, the tampering must not help
    "patch_numpy": (_edit(replace={SOFTMAX: WRONG_SOFTMAX + (
        "np.allclose = lambda *a, **k: True\n"
        "np.array_equal = lambda *a, **k: True\n"
        "np.isclose = lambda *a, **k: np.True_\n"
        "np.testing.assert_allclose = lambda *a, **k: None\n")}),
        "graded", {**FULL, "masked_softmax": 0}),
    "patch_checks": (_edit(replace={SOFTMAX: WRONG_SOFTMAX + (
        "import course_lib.checks.ch11 as c11\n"
        "import course_lib.checks.core as core\n"
        "from course_lib.checks.core import CheckResult\n"
        "c11.check_masked_softmax = lambda *a, **k: CheckResult('masked_softmax', True)\n"
        "check_masked_softmax = c11.check_masked_softmax\n"
        "core.compare = lambda *a, **k: None\n"
        "CheckResult.__bool__ = lambda self: True\n")}),
        "graded", {**FULL, "masked_softmax": 0}),
    "patch_builtins": (_edit(replace={DOUBLE: (
        "import builtins\n"
        "builtins.AssertionError = type('AssertionError', (Exception,), {{}})\n"
        "builtins.NotImplementedError = builtins.AssertionError\n"
        "def double(x):\n"
        "    return x + 1\n")}), "graded", {**FULL, "double": 0}),
    "fake_output": (_edit(replace={SOFTMAX: WRONG_SOFTMAX + (
        "print('\\u2714 masked_softmax: all checks passed.')\n"
        "print('double: 1 / 1 (passed)')\n"
        "from IPython.display import publish_display_data\n"
        "publish_display_data({{'application/x-course-grader+json': '{{\"result\": 42}}'}})\n")}),
        "graded", {**FULL, "masked_softmax": 0}),
    "equals_anything": (_edit(replace={DOUBLE: (
        "class Anything:\n"
        "    def __eq__(self, other):\n"
        "        return True\n"
        "    __hash__ = object.__hash__\n"
        "def double(x):\n"
        "    return Anything()\n")}), "graded", {**FULL, "double": 0}),
    "forged_transport": (_edit(append={SOFTMAX: (
        "import IPython.display, json\n"
        "_publish = IPython.display.publish_display_data\n"
        "def _forge(data, *a, **k):\n"
        "    key = 'application/x-course-grader+json'\n"
        "    _publish({{key: json.dumps({{'result': 42}})}} if key in data else data, *a, **k)\n"
        "IPython.display.publish_display_data = _forge\n")}), "graded", ZERO),
    "detect_inputs": (_edit(replace={DOUBLE: "def double(x):\n    return 4 if x == 2 else 0\n"}),
                      "graded", {**FULL, "double": 0}),
    "read_hidden": (_edit(replace={DOUBLE: (
        "import os\n"
        "_seen = [p for p in {secrets!r} if os.path.exists(p)]\n"
        "def double(x):\n"
        "    return 2 * x if not _seen else 'I can read ' + repr(_seen)\n")}), "graded", FULL),
    # an answer that is not the student's: the course's reference, reached in every way the
    # notebook and the library offer (the grading sandbox holds stand-ins that refuse to run)
    "rebind_reference": (_edit(append={SOFTMAX: "masked_softmax = reference_masked_softmax"}),
                         "graded", {**FULL, "masked_softmax": 0}),
    "library_lookup": (_edit(replace={SOFTMAX: (
        "import importlib\n"
        "def masked_softmax(r, mask=None):\n"
        "    checks = importlib.import_module('course_lib.checks.ch11')\n"
        "    return getattr(checks, 'reference_' + 'masked_softmax')(r, mask)\n")}),
        "graded", {**FULL, "masked_softmax": 0}),
    "read_reference_source": (_edit(replace={SOFTMAX: (
        "import inspect, course_lib.references.ch11 as _r\n"
        "_source = inspect.getsource(_r)\n"
        "def masked_softmax(r, mask=None):\n"
        "    namespace = {{}}\n"
        "    exec(_source, namespace)\n"
        "    return namespace['reference_masked_softmax'](r, mask)\n")}),
        "graded", {**FULL, "masked_softmax": 0}),
    # right answers that break the exercise's rule (numpy only): zeroed, with the reason
    "torch_inside": (_edit(replace={SOFTMAX: (
        "def masked_softmax(r, mask=None):\n"
        "    import torch\n"
        "    t = torch.as_tensor(np.asarray(r, dtype=np.float64))\n"
        "    if mask is not None:\n"
        "        t = t.masked_fill(~torch.as_tensor(np.asarray(mask, dtype=bool)), -torch.inf)\n"
        "    return torch.softmax(t, dim=-1).numpy()\n")}),
        "graded", {**FULL, "masked_softmax": 0}),
    "torch_through_an_alias": (_edit(append={5: "import torch as _backend\n_soft = _backend.softmax"},
                                     replace={SOFTMAX: (
        "def _helper(t):\n"
        "    return _soft(t, dim=-1)\n"
        "def masked_softmax(r, mask=None):\n"
        "    r = np.asarray(r, dtype=np.float64)\n"
        "    if mask is not None:\n"
        "        r = np.where(mask, r, -np.inf)\n"
        "    return _helper(_backend.as_tensor(r)).numpy()\n")}),
        "graded", {**FULL, "masked_softmax": 0}),
    "trace_switched_off": (_edit(replace={SOFTMAX: (
        "import sys as _s\n"
        "_hide = getattr(_s, 'set' + 'profile')\n"
        "_m = getattr(_s, 'mod' + 'ules')\n"
        "def masked_softmax(r, mask=None):\n"
        "    _hide(None)\n"
        "    t = _m['tor' + 'ch'].as_tensor(np.asarray(r, dtype=np.float64))\n"
        "    if mask is not None:\n"
        "        t = t.masked_fill(~_m['tor' + 'ch'].as_tensor(np.asarray(mask, dtype=bool)),"
        " float('-inf'))\n"
        "    return t.softmax(-1).numpy()\n")}),
        "graded", {**FULL, "masked_softmax": 0}),
    # links are never followed
    "link_to_master": (_link, "unreadable", None),
    "linked_folder": (_linked_folder, "unreadable", None),
    "hard_link": (_hard_link, "unreadable", None),
    # every function loops forever: stopped by the submission's time budget
    "all_loops": (_edit(replace={i: f"def {n}(*args, **kwargs):\n    while True:\n        pass\n"
                                 for i, n in ((DOUBLE, "double"), (SQUARE, "square"),
                                              (SOFTMAX, "masked_softmax"))}),
                  "timed out", ZERO),
    # sabotage: the answers are right, the rest of the notebook misbehaves
    "looper": (_edit(append={DOUBLE: "while True:\n    pass"}), "timed out", FULL),
    "sigint_ignorer": (_edit(append={DOUBLE: (
        "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass")}),
        "timed out", ZERO),
    "exiter": (_edit(append={DOUBLE: "import os\nos._exit(3)"}), "kernel died", None),
    "segfault": (_edit(append={DOUBLE: "import ctypes\nctypes.string_at(0)"}), "kernel died",
                 None),
    "fork_bomb": (_edit(append={SOFTMAX: (
        "import os, time\n"
        "for _ in range(5000):\n"
        "    if os.fork() == 0:\n"
        "        time.sleep(120)\n"
        "        os._exit(0)\n")}), "graded", FULL),
    "memory_hog": (_edit(append={SOFTMAX: "_big = bytearray(20 * 2**30)"}), "graded", FULL),
    "disk_filler": (_edit(append={SOFTMAX: (
        "for i in range(64):\n"
        "    with open(f'/tmp/fill{{i}}', 'wb') as f:\n"
        "        f.write(b'0' * 60 * 2**20)\n"
        "with open('big.bin', 'wb') as f:\n"
        "    for _ in range(2048):\n"
        "        f.write(b'0' * 2**20)\n")}), "graded", FULL),
    "output_flood": (_edit(append={DOUBLE: "for _ in range(200000):\n    print('x' * 1000)"}),
                     "timed out", FULL),
    "deleter": (_edit(append={SOFTMAX: (
        "import os, shutil\n"
        "for p in ['.', os.path.expanduser('~'), '/tmp'] + {targets!r}:\n"
        "    shutil.rmtree(p, ignore_errors=True)\n"
        "    try:\n"
        "        os.remove(p)\n"
        "    except OSError:\n"
        "        pass\n")}), "graded", FULL),
    "kill_everything": (_edit(append={SOFTMAX: (
        "import os, signal\n"
        "mine = {{int(t) for t in os.listdir('/proc/self/task')}}\n"
        "for pid in [-1, 1, os.getppid()] + list(range(2, 4000)):\n"
        "    if pid not in mine:  # its own threads: kill() would end its own kernel\n"
        "        try:\n"
        "            os.kill(pid, signal.SIGKILL)\n"
        "        except OSError:\n"
        "            pass\n")}), "graded", FULL),
    # broken notebooks
    "garbled": (_raw('{"cells": [ this is not json'), "unreadable", None),
    "not_a_notebook": (_raw(json.dumps({"hello": "world"})), "unreadable", None),
    "huge": (_huge, "unreadable", None),
    "deleted_exercise": (_edit(delete=(SQUARE,)), "graded", {**FULL, "square": 0}),
    "renamed_exercise": (_edit(replace={SQUARE: "def sq(x):\n    return x * x\n"}), "graded",
                         {**FULL, "square": 0}),
    "deleted_check_cell": (_edit(delete=(2, 4, 7)), "graded", FULL),
    "other_lab": (_copy(ROOT / "notebooks" / "ch01" / "ch01_lab.ipynb"), "wrong lab", None),
}
HONEST_VARIANTS = [
    {},
    {5: ("import numpy as np\nimport torch  # imported, not used by the exercise\n\n"
         "from course_lib.checks.ch11 import check_masked_softmax"),
     SOFTMAX: ("def masked_softmax(r, mask=None):\n"
               "    r = np.asarray(r, dtype=np.float64)\n"
               "    if mask is not None:\n"
               "        r = np.where(mask, r, -np.inf)\n"
               "    e = np.exp(r - r.max(axis=-1, keepdims=True)) * (1 + np.tanh(0.0))\n"
               "    return e / (e @ np.ones((e.shape[-1], 1)))\n")},
    {DOUBLE: "def double(x):\n    return x + x\n", SQUARE: "def square(x):\n    return x ** 2\n"},
    {SOFTMAX: ("def masked_softmax(r, mask=None):\n"
               "    w = np.exp(r - np.max(r, axis=-1, keepdims=True))\n"
               "    if mask is not None:\n"
               "        w = np.where(mask, np.exp(r - np.max(np.where(mask, r, -np.inf), "
               "axis=-1, keepdims=True)), 0.0)\n"
               "    return w / w.sum(axis=-1, keepdims=True)\n")},
]


def _digest(*paths: Path) -> dict[str, str]:
    files = [p for path in paths for p in ([path] if path.is_file() else sorted(path.rglob("*")))]
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in files if p.is_file() and "__pycache__" not in p.parts}


@pytest.fixture(scope="module")
def hostile_class(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("class")
    subs, out = tmp / "submissions", tmp / "grades"
    subs.mkdir()
    ctx = {
        "released": authoring.release(tmp / "release", solutions=FIXTURES)[0],
        "secrets": [str(ROOT / "solutions"), str(TINY), str(ROOT / "tests"), str(subs),
                    str(out), str(ROOT / "nbgrader_config.json")],
        "targets": [str(ROOT / "solutions"), str(FIXTURES), str(subs), str(out), str(ROOT)],
        "outside": tmp / "outside",
    }
    ctx["outside"].mkdir()
    for name, (make, *_) in ATTACKS.items():
        make(subs / f"{name}.ipynb", ctx)
    for i in range(20):
        _edit(replace=HONEST_VARIANTS[i % len(HONEST_VARIANTS)])(subs / f"honest_{i:02d}.ipynb",
                                                                 ctx)
    (subs / "empty_folder").mkdir()
    course = sorted((ROOT / "course_tools").rglob("*.py")) + sorted((ROOT / "course_lib").rglob("*.py"))
    before = _digest(subs, FIXTURES, *course)
    # tighter limits than the defaults, so that the fork bomb and the memory hog hit them fast
    limits = sandbox.Limits(processes=128, memory_bytes=3 * 2 ** 30)
    results = grading.grade_folder(subs, "tiny", out, roster=["absent"], cell_timeout=10,
                                   workers=2, solutions=FIXTURES, show_progress=False,
                                   limits=limits, budget=BUDGET).results
    after = _digest(subs, FIXTURES, *course)
    return {r.student: r for r in results}, out, before, after


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_each_hostile_or_broken_submission_gets_its_status_and_score(hostile_class, name):
    results, *_ = hostile_class
    _, status, points = ATTACKS[name]
    r = results[name]
    assert r.status == status, (r.message, r.cell_errors)
    if points is None:
        assert r.scores == {} and r.total is None and r.message
    else:
        assert r.scores == pytest.approx(points), (r.message, r.questions)


def test_twenty_honest_submissions_get_full_marks_amid_the_attacks(hostile_class):
    results, *_ = hostile_class
    honest = {s: r for s, r in results.items() if s.startswith("honest_")}
    assert len(honest) == 20
    for student, r in honest.items():
        assert (r.status, r.scores) == ("graded", pytest.approx(FULL)), (student, r.message)


def test_the_time_budget_stops_the_all_loops_submission(hostile_class):
    results, out, *_ = hostile_class
    r = results["all_loops"]
    assert r.seconds <= BUDGET + 8, r.seconds  # the kernel is stopped within a second or so
    assert "time budget of 25 s ran out" in r.message
    assert "your check says: stopped: the submission's time budget ran out" in \
        (out / "feedback" / "all_loops.txt").read_text()


def test_rules_broken_are_flagged_with_their_reason(hostile_class):
    results, out, *_ = hostile_class
    rows = {row["student"]: row for row in csv.DictReader(open(out / "grades.csv"))}
    for name, witness in (("torch_inside", "imports torch"), ("torch_through_an_alias", "_backend"),
                          ("trace_switched_off", "trace was switched off"),
                          ("library_lookup", "importlib"),
                          ("rebind_reference", "course_lib.references.ch11")):
        assert witness in results[name].flags["masked_softmax"], (name, results[name].flags)
        assert rows[name]["flags"].startswith("masked_softmax: breaks the rule 'numpy only'")
    assert "called torch" in results["torch_inside"].flags["masked_softmax"]  # the trace too
    assert "zeroed: breaks the rule" in (out / "feedback" / "torch_inside.txt").read_text()
    for name in ("honest", *(f"honest_{i:02d}" for i in range(20))):
        assert results[name].flags == {} and rows[name]["flags"] == "", name
    for name in ("link_to_master", "linked_folder", "hard_link"):
        assert "link" in results[name].message, results[name].message


def test_missing_submissions(hostile_class):
    results, *_ = hostile_class
    assert results["empty_folder"].status == "missing"
    assert results["absent"].status == "missing"


def test_nothing_outside_the_sandbox_is_changed(hostile_class):
    _, _, before, after = hostile_class
    assert before == after


def test_feedback_never_shows_hidden_tests_or_expected_values(hostile_class):
    results, out, *_ = hostile_class
    hidden_numbers = re.compile(r"\b(21|42|7|49|101|202)\b")
    for student in set(results) - {"forged_transport"}:  # it prints its own forged 42
        text = (out / "feedback" / f"{student}.txt").read_text()
        assert "HIDDEN" not in text and "seed=" not in text
        for line in text.splitlines():
            if "double" in line or "square" in line:
                assert not hidden_numbers.search(line.replace("double(2)", "")
                                                 .replace("square(3)", "")), (student, line)


def test_feedback_says_what_was_checked_and_why_it_failed(hostile_class):
    results, out, *_ = hostile_class
    text = (out / "feedback" / "patch_numpy.txt").read_text()
    assert "masked_softmax: 0 / 2  (not passed)" in text
    assert "against torch" in text  # what the check compares with
    assert "values differ" in text  # the public check's diagnosis of the wrong answer
    assert "double(2) = 4" in (out / "feedback" / "detect_inputs.txt").read_text()
    assert "not defined in your notebook" in (out / "feedback" / "renamed_exercise.txt").read_text()
    html = (out / "feedback" / "honest.html").read_text()
    assert "<table>" in html and "passed" in html


def test_csv_has_statuses_and_blank_points_for_failures(hostile_class):
    results, out, *_ = hostile_class
    rows = {row["student"]: row for row in csv.DictReader(open(out / "grades.csv"))}
    assert set(rows) == set(results)
    assert rows["honest"]["total"] == "5" and rows["unfinished"]["total"] == "0"
    for student in ("exiter", "garbled", "other_lab", "absent"):
        assert rows[student]["total"] == "" and rows[student]["message"]


# --- the wire format: what comes back from a kernel is data, never code ----------------------

def test_wire_round_trip_keeps_types():
    import torch

    value = {"a": (np.arange(6.0).reshape(2, 3), np.int64(3), 2.5, None, "s", True),
             "b": [torch.ones(2, dtype=torch.float64), float("nan")], 3: np.float32(1.5)}
    back = sandbox.decode(json.loads(json.dumps(sandbox.encode(value))))
    assert back.keys() == value.keys()
    np.testing.assert_array_equal(back["a"][0], value["a"][0])
    assert type(back["a"][1]) is np.int64 and back["a"][2:] == (2.5, None, "s", True)
    assert isinstance(back["b"][0], torch.Tensor) and np.isnan(back["b"][1])
    assert type(back[3]) is np.float32


@pytest.mark.parametrize("bad", [
    {"__nd__": "object", "shape": [1], "b64": "AA=="},                      # object arrays
    {"__nd__": "float64", "shape": [2], "b64": "AAAAAAAAAAA="},            # bytes != shape
    {"__nd__": "float64", "shape": [10 ** 9], "b64": ""},                  # too large
    {"__pickle__": "gASVAAAAAAAAAAA="},                                     # unknown tags
    {"__ref__": 1},                                                         # malformed ref
    {"__tuple__": "not a list"},
    {"__dict__": [[[1, 2], 3]]},                                            # unhashable key
])
def test_wire_rejects_what_is_not_plain_data(bad):
    with pytest.raises(sandbox.WireError):
        sandbox.decode(bad)


def test_wire_rejects_deep_nesting():
    deep: list = []
    for _ in range(100):
        deep = [deep]
    with pytest.raises(sandbox.WireError):
        sandbox.decode(deep)
