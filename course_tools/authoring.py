"""Authoring: solutions/ is the only source of the labs; this module turns it into notebooks/.

Instructors write a master lab with the markers of :mod:`course_tools.labspec` (solution
cells, ``# grade:`` check cells with hidden tests) and no hand-edited metadata.

:func:`annotate` writes the nbgrader cell metadata from those markers; :func:`release` runs
``nbgrader generate_assignment`` (solutions stripped, hidden tests removed, outputs cleared,
graded cells locked), closes each student notebook with :func:`hand_in_cell` (``make check``)
and writes notebooks/. ``python -m course_tools.authoring [--root DIR]``
does both (it is ``make student``); ``--check`` only reports whether notebooks/ is up to date.
The course folder is found as :mod:`course_tools.paths` says.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

from course_tools.labspec import CheckCell, LabSpecError, SolutionCell, parse_cells
from course_tools.paths import add_root_option, find_root


def _tool_env() -> dict[str, str]:
    """This interpreter's bin/ first on PATH: nbgrader calls the ``alembic`` it installs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "IPY"))}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


AuthoringError = LabSpecError  # a master lab breaks the marker conventions


def _nbgrader_meta(cell) -> dict | None:
    if isinstance(cell, SolutionCell):
        return {"grade": False, "solution": True, "locked": False,
                "grade_id": cell.grade_id, "schema_version": 3}
    if isinstance(cell, CheckCell):
        points = cell.points
        return {"grade": True, "solution": False, "locked": True, "grade_id": cell.grade_id,
                "points": int(points) if points.is_integer() else points, "schema_version": 3}
    return None


def annotate(nb) -> bool:
    """Set nbgrader metadata on every cell of ``nb`` from the markers; return whether it changed."""
    before = json.dumps([c.get("metadata", {}) for c in nb.cells], sort_keys=True)
    parsed = parse_cells(nb.cells).by_index()
    for index, cell in enumerate(nb.cells):
        meta = _nbgrader_meta(parsed.get(index))
        if meta is not None:
            cell.metadata["nbgrader"] = meta
        else:
            cell.metadata.pop("nbgrader", None)
            for key in ("deletable", "editable"):
                cell.metadata.pop(key, None)
    return json.dumps([c.get("metadata", {}) for c in nb.cells], sort_keys=True) != before


def labs(solutions: Path | None = None) -> list[Path]:
    """The master labs: ``solutions/<lab>/<notebook>.ipynb`` (of the course found by default)."""
    solutions = find_root() / "solutions" if solutions is None else Path(solutions)
    return sorted(p for p in solutions.glob("*/*.ipynb") if ".ipynb_checkpoints" not in p.parts)


HAND_IN_CELL_ID = "before-you-hand-in"


def hand_in_cell(lab: str, name: str):
    """The closing Markdown cell of every student notebook ``notebooks/<lab>/<name>``: check it
    with ``make check`` (:mod:`course_tools.grading.check`) before handing it in."""
    cell = nbformat.v4.new_markdown_cell(
        "## Before you hand in\n\n"
        "Make sure the grader can run your notebook. In a terminal, in the course folder:\n\n"
        f"```bash\nmake check NB=notebooks/{lab}/{name}\n```\n\n"
        "(with the path of your copy if it is elsewhere). This runs the notebook the way the "
        "grader will: from the top, in a fresh kernel, in the grader's sandbox and with its "
        "time limits. It tells you the status the grader would give, which exercises pass "
        "their public checks, which break a from-scratch rule, and what would cost you points: "
        "a cell that reads a file the grader does not have, a function that was renamed, an "
        "import that fails. It runs the public checks only; the hidden tests of the grade use "
        "other inputs. Where JupyterLab shows nbgrader's *Validate* button, it lists the "
        "exercises whose checks do not pass yet.")
    cell.id = HAND_IN_CELL_ID  # a fixed id: the generated notebook stays byte-stable
    return cell


def _normalise(path: Path) -> None:
    """Make a released notebook byte-stable: no execution counts, no outputs, sorted keys; and
    close it with :func:`hand_in_cell`."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nb.cells = [c for c in nb.cells if c.get("id") != HAND_IN_CELL_ID]
    nb.cells.append(hand_in_cell(path.parent.name, path.name))
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, path)


def release(dest: Path, annotate_sources: bool = True, solutions: Path | None = None,
            root: Path | None = None) -> list[Path]:
    """Generate the student notebooks of every lab in ``solutions`` (default: the course's)
    into ``dest``, with the nbgrader configuration of the course at ``root``."""
    root = find_root(root)
    solutions = root / "solutions" if solutions is None else Path(solutions)
    written = []
    for src in labs(solutions):
        nb = nbformat.read(src, as_version=4)
        if annotate(nb) and annotate_sources:
            nbformat.write(nb, src)
    with tempfile.TemporaryDirectory(prefix="release-") as tmp:
        tmp = Path(tmp)
        shutil.copytree(solutions, tmp / "solutions",
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        for src in (tmp / "solutions").glob("*/*.ipynb"):  # annotate copies when not in place
            nb = nbformat.read(src, as_version=4)
            annotate(nb)
            nbformat.write(nb, src)
        config = json.loads((root / "nbgrader_config.json").read_text())
        config["CourseDirectory"]["release_directory"] = "release"
        (tmp / "nbgrader_config.json").write_text(json.dumps(config))
        # one nbgrader run for every lab (its start-up is most of the time: ~5 s, not 5 s a lab)
        proc = subprocess.run(
            [sys.executable, "-m", "nbgrader", "generate_assignment", "*", "--force",
             "--no-db", "--log-level=WARN"],
            cwd=tmp, capture_output=True, text=True, env=_tool_env(),
        )
        if proc.returncode != 0:
            raise RuntimeError(f"nbgrader generate_assignment failed:\n{proc.stderr}")
        for out in sorted((tmp / "release").glob("*/*.ipynb")):
            _normalise(out)
            target = dest / out.parent.name / out.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(out, target)
            written.append(target)
    return written


def stale(dest: Path | None = None, root: Path | None = None) -> list[str]:
    """Differences between ``dest`` (default: the course's notebooks/) and what :func:`release`
    would write (empty when in sync)."""
    root = find_root(root)
    dest = root / "notebooks" if dest is None else Path(dest)
    problems = []
    with tempfile.TemporaryDirectory(prefix="student-") as tmp:
        fresh = {p.relative_to(tmp): p for p in release(Path(tmp), annotate_sources=False,
                                                         root=root)}
        current = {p.relative_to(dest): p for p in dest.glob("*/*.ipynb")}
        for rel in sorted(set(fresh) | set(current)):
            if rel not in current:
                problems.append(f"notebooks/{rel} is missing")
            elif rel not in fresh:
                problems.append(f"notebooks/{rel} has no master in solutions/")
            elif fresh[rel].read_bytes() != current[rel].read_bytes():
                problems.append(f"notebooks/{rel} differs from what solutions/ generates")
        for src in labs(root / "solutions"):
            if annotate(nbformat.read(src, as_version=4)):
                problems.append(f"{src.relative_to(root)}: nbgrader metadata out of date")
    return problems


def run_notebook(nb, folder: Path, timeout: int = 300):
    """Execute ``nb`` top to bottom in a fresh kernel whose working folder is ``folder`` (as
    nbval runs a lab); its outputs are replaced. Returns ``nb``."""
    from nbclient import NotebookClient

    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(folder)}}).execute()
    return nb


def execute(path: Path, timeout: int = 300) -> None:
    """Execute a master lab in place (how solutions/ is stored: executed, for strict nbval)."""
    nb = nbformat.read(path, as_version=4)
    annotate(nb)
    nbformat.write(run_notebook(nb, path.parent, timeout), path)


def toc_with_solutions(src: Path, dest: Path) -> Path:
    """Write a copy of the table of contents ``src`` in which every student lab
    ``notebooks/<lab>/<name>`` is followed by its solution ``solutions/<lab>/<name>``.

    ``make book SOLUTIONS_ON_SITE=1`` builds with it (release solutions after the deadline);
    the default site has no solutions. Paths in the table are relative to ``src``'s folder.
    """
    import yaml

    toc = yaml.safe_load(src.read_text())

    def visit(node):
        if isinstance(node, dict):
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for i in range(len(node) - 1, -1, -1):
                item = node[i]
                visit(item)
                if isinstance(item, dict) and str(item.get("file", "")).startswith("notebooks/"):
                    solution = "solutions/" + item["file"][len("notebooks/"):]
                    if (src.parent / f"{solution}.ipynb").exists():
                        node.insert(i + 1, {"file": solution})

    visit(toc)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(yaml.safe_dump(toc, sort_keys=False))
    return dest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="report whether notebooks/ is up to date; change nothing")
    parser.add_argument("--toc-with-solutions", type=Path, metavar="DEST",
                        help="write _toc.yml plus the solutions to DEST and exit")
    parser.add_argument("--execute", nargs="*", metavar="LAB",
                        help="first execute these master labs in place (all when none named)")
    add_root_option(parser)
    args = parser.parse_args(argv)
    root = find_root(args.root)
    if args.toc_with_solutions:
        print(toc_with_solutions(root / "_toc.yml", args.toc_with_solutions))
        return 0
    if args.execute is not None:
        for src in labs(root / "solutions"):
            if not args.execute or src.parent.name in args.execute:
                print(f"executing {src.relative_to(root)}")
                execute(src)
    if args.check:
        problems = stale(root=root)
        for p in problems:
            print(p)
        if problems:
            print("Run `make student` to regenerate notebooks/ from solutions/.")
        return 1 if problems else 0
    for path in release(root / "notebooks", root=root):
        print(f"wrote {path.relative_to(root)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
