"""What is graded and how: the questions of a lab read from its master (trusted), the namespace
the hidden tests run in, and the fingerprint that says when stored grades are stale."""

from __future__ import annotations

import ast
import builtins
import hashlib
import platform
import sys
import sysconfig
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, distributions, version
from pathlib import Path

import nbformat

from course_tools.authoring import annotate
from course_tools.grading.rules import forbidden
from course_tools.labspec import HiddenPart, parse_cells
from course_tools.paths import find_root
from course_tools.sandbox.bwrap import student_library

GRADER_VERSION = "5"  # bump when a change of the grader must regrade stored results


def master_notebook(lab: str, solutions: Path) -> Path:
    """The master (solution) notebook of ``lab``: ``solutions/<lab>/<name>.ipynb``."""
    nbs = sorted((solutions / lab).glob("*.ipynb"))
    if len(nbs) != 1:
        known = sorted(p.name for p in solutions.iterdir() if p.is_dir())
        raise ValueError(f"lab: expected one notebook in {solutions.name}/{lab}/ (labs: {known}), "
                         f"found {len(nbs)}")
    return nbs[0]


def grader_files() -> list[Path]:
    """The grader's own modules: this package, the sandbox, the marker parser, authoring."""
    tools = Path(__file__).resolve().parent.parent
    return [*sorted((tools / "grading").glob("*.py")), *sorted((tools / "sandbox").glob("*.py")),
            tools / "labspec.py", tools / "authoring.py", tools / "paths.py"]


def _versions() -> str:
    """The Python, where it is installed and every installed distribution with its version."""
    found = [f"python {platform.python_version()} at {Path(sys.prefix).resolve()}"]
    for package in ("numpy", "torch"):
        try:
            found.append(f"{package} {version(package)}")
        except PackageNotFoundError:
            found.append(f"{package} absent")
    # the environment's own site-packages, not sys.path: importing some packages (setuptools'
    # vendored ones) adds folders to sys.path, and the key must not change during a run
    places = sorted({sysconfig.get_paths()[k] for k in ("purelib", "platlib")})
    found += sorted({f"{d.metadata['Name']}=={d.version}" for d in distributions(path=places)
                     if d.metadata and d.metadata['Name']})
    return ", ".join(found)


def fingerprint(master: Path, library: Path | None = None,
                tools: list[Path] | None = None) -> str:
    """A key of everything a grade depends on: the master lab, every ``.py`` of the installed
    ``course_lib`` (``library``), the grader's own modules (``tools``), the Python (and where
    it is), every installed distribution's version and :data:`GRADER_VERSION`. Stored results with another key are regraded."""
    library = student_library() if library is None else Path(library)
    tools = grader_files() if tools is None else tools
    digest = hashlib.sha256()

    def add(label: str, data: bytes) -> None:
        digest.update(f"{label}\0{len(data)}\0".encode())
        digest.update(data)

    add("master", Path(master).read_bytes())
    for path in sorted(p for p in library.rglob("*.py") if "__pycache__" not in p.parts):
        add(f"course_lib/{path.relative_to(library).as_posix()}", path.read_bytes())
    for path in tools:
        add(f"tool/{path.name}", path.read_bytes())
    add("versions", _versions().encode())
    add("grader", GRADER_VERSION.encode())
    return digest.hexdigest()[:16]


@dataclass
class Question:
    qid: str
    points: float
    public: str      # the check cell without its first line and hidden tests
    hidden: str      # the hidden tests
    rule: str | None = None  # the marker's rule, e.g. "numpy only" (grading.rules)
    parts: tuple[HiddenPart, ...] = ()  # the hidden tests' named parts (labspec.hidden_parts)


class LabSpec:
    """The graded questions of a lab and the trusted namespace its tests run in."""

    def __init__(self, lab: str, solutions: Path | None = None):
        self.lab = lab
        solutions = find_root() / "solutions" if solutions is None else Path(solutions)
        self.source = master_notebook(lab, solutions)
        self.notebook_name = self.source.stem
        nb = nbformat.read(self.source, as_version=4)
        annotate(nb)
        self.nb = nb  # with nbgrader metadata, for the gradebook
        parsed = parse_cells(nb.cells, self.source)
        self.questions = [Question(c.qid, c.points, c.public, c.hidden, c.rule, tuple(c.parts))
                          for c in parsed.checks]
        for q in self.questions:
            try:
                forbidden(q.rule)
            except ValueError as exc:
                raise ValueError(f"{self.source.name}, grade marker of {q.qid}: {exc}") from None
        self.cell_ids = parsed.exercise_ids
        imports = []
        for cell in parsed.cells:
            try:
                tree = ast.parse(cell.source)
            except SyntaxError:
                continue
            imports += [ast.unparse(n) for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
        self.imports = "\n".join(dict.fromkeys(imports))
        self.max_scores = {q.qid: q.points for q in self.questions}
        self.fingerprint = fingerprint(self.source)

    def namespace(self) -> dict:
        """The master's imports, executed in the grader (course_lib's checks, numpy, torch)."""
        ns: dict = {"__name__": "__grader__"}
        exec(compile(self.imports, f"<imports of {self.lab}>", "exec"), ns)  # noqa: S102 (trusted)
        return ns

    def student_names(self, code: str, ns: dict) -> set[str]:
        """Names a test reads that neither it, the master's imports nor builtins define: the
        student's functions."""
        tree = ast.parse(code)
        stored = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and
                  isinstance(n.ctx, ast.Store | ast.Del)}
        loaded = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and
                  isinstance(n.ctx, ast.Load)}
        return {n for n in loaded - stored if n not in ns and not hasattr(builtins, n)}

    def described(self, q: Question, ns: dict) -> str:
        """What a question checks: the first paragraph of its check's docstring."""
        names = {n.id for n in ast.walk(ast.parse(q.hidden)) if isinstance(n, ast.Name)}
        for name in sorted(names):
            fn = ns.get(name)
            if callable(fn) and hasattr(fn, "__wrapped__") and fn.__doc__:
                return " ".join(fn.__doc__.strip().split("\n\n")[0].split())
        n_asserts = sum(isinstance(n, ast.Assert) for n in ast.walk(ast.parse(q.hidden)))
        targets = ", ".join(sorted(self.student_names(q.hidden, ns))) or "your code"
        return f"hidden tests of {targets} ({n_asserts} assertions)"
