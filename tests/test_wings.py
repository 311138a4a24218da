"""The two wings: ``course_lib`` (what students import) needs nothing of ``course_tools`` (what
instructors run), and the sandbox shows a student's kernel ``course_lib`` only."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = sorted((ROOT / "course_lib").rglob("*.py"))


def _imported(path: Path, top_level_only: bool = False) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    names = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_course_lib_module_imports_course_tools(path):
    assert not {n for n in _imported(path) if n.split(".")[0] == "course_tools"}


def test_every_course_lib_module_imports_with_course_tools_unimportable():
    script = """
import importlib, pkgutil, sys

class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "course_tools":
            raise ImportError("course_tools is blocked in this test")

sys.meta_path.insert(0, Block())
import course_lib
names = [m.name for m in pkgutil.walk_packages(course_lib.__path__, "course_lib.")]
for name in names:
    importlib.import_module(name)
print(len(names))
"""
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT / "tests", capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert int(out.stdout.split()[-1]) >= 10


def test_the_sandbox_binds_course_lib_and_not_the_tools_or_the_repository(monkeypatch, tmp_path):
    from course_tools.sandbox import bwrap

    monkeypatch.setattr(bwrap, "bwrap_path", lambda: "/usr/bin/bwrap")
    cmd = bwrap.command(bwrap.Limits(), None, tmp_path, tmp_path / "kernel.json")
    binds = {cmd[i + 2]: cmd[i + 1] for i, arg in enumerate(cmd) if arg in ("--ro-bind", "--bind")}
    installed = str((ROOT / "course_lib").resolve())
    assert str(bwrap.student_library()) == installed
    # the grading view (references replaced by stand-ins) is what the kernel sees there
    view = Path(binds[installed])
    assert view.name == "course_lib" and view.parent.name.startswith("course-grading-view-")
    assert "def reference_rnn_forward" not in (view / "references" / "ch03.py").read_text()
    python = {str(Path(p).resolve()) for p in (sys.prefix, sys.base_prefix)}  # a venv in ROOT
    inside = [b for b in binds.values() if Path(b).resolve().is_relative_to(ROOT.resolve())]
    assert sorted(b for b in inside if b not in python) == []  # nothing else of the repository


@pytest.mark.parametrize("name", ["wire.py", "kernel_side.py"])
def test_the_kernel_side_modules_import_only_the_standard_library_and_numpy(name):
    path = ROOT / "course_tools" / "sandbox" / name
    allowed = {"__future__", "base64", "builtins", "dataclasses", "json", "math", "pathlib",
               "sys", "numpy"}
    assert _imported(path, top_level_only=True) <= allowed
