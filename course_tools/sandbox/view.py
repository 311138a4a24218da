"""The grading view of ``course_lib``: what the sandboxed kernel sees in its place.

A copy of the installed ``course_lib`` in which every module of ``course_lib/references/``
(except the package's ``__init__``) is a generated stand-in: importing any name from it works,
so a lab's first cell runs unchanged, but the name is a :class:`course_lib.references.Unavailable`
that raises "the course's reference is not available while grading" when called or used. The
real reference code is not in the kernel's file system at all: no import, rebinding,
``inspect.getsource`` or file read finds it (:func:`course_tools.sandbox.bwrap.command` binds
the view over the place where ``course_lib`` is installed).

The view is built once per content of ``course_lib`` (its key is a hash of every file), in the
system's temporary folder, readable by the sandbox's unprivileged uids, and reused by every
worker; building it is atomic (a half-written view is never used).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from course_tools.sandbox.bwrap import student_library

STANDIN = '''"""Stand-in for ``{module}`` in the grading sandbox.

The course's references are not available while grading: the grade measures your own code.
Every name imported from here raises when it is called or used.
"""

from course_lib.references import Unavailable as _Unavailable


def __getattr__(name):
    if name.startswith("__") and name.endswith("__"):
        raise AttributeError(name)
    return _Unavailable({module!r}, name)
'''


def _files(library: Path) -> list[Path]:
    return sorted(p for p in library.rglob("*") if p.is_file() and "__pycache__" not in p.parts
                  and p.suffix != ".pyc")


def library_digest(library: Path | None = None) -> str:
    """A hash of every file of ``course_lib`` (its names and bytes)."""
    library = student_library() if library is None else Path(library)
    digest = hashlib.sha256(STANDIN.encode())
    for path in _files(library):
        rel = path.relative_to(library).as_posix()
        data = path.read_bytes()
        digest.update(f"{rel}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()[:16]


def is_hidden(rel: str) -> bool:
    """Whether the file ``rel`` (relative to ``course_lib``) is replaced by a stand-in."""
    parts = rel.split("/")
    return len(parts) == 2 and parts[0] == "references" and parts[1].endswith(".py") and \
        parts[1] != "__init__.py"


def build_view(dest: Path, library: Path | None = None) -> Path:
    """Write the grading view of ``library`` to ``dest/course_lib`` and return that folder."""
    library = student_library() if library is None else Path(library)
    root = Path(dest) / "course_lib"
    for path in _files(library):
        rel = path.relative_to(library).as_posix()
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if is_hidden(rel):
            module = "course_lib." + rel[:-3].replace("/", ".")
            target.write_text(STANDIN.format(module=module), encoding="utf-8")
        else:
            shutil.copyfile(path, target)
    for folder, _dirs, files in os.walk(dest):
        os.chmod(folder, 0o755)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o644)
    return root


def grading_library(library: Path | None = None, base: Path | None = None) -> Path:
    """The grading view for the current ``course_lib``, built if needed; its ``course_lib``
    folder (to bind over the installed one)."""
    library = student_library() if library is None else Path(library)
    base = Path(tempfile.gettempdir()) if base is None else Path(base)
    final = base / f"course-grading-view-{library_digest(library)}"
    if not (final / "course_lib" / "__init__.py").is_file():
        work = Path(tempfile.mkdtemp(prefix=".course-grading-view-", dir=base))
        build_view(work, library)
        os.chmod(work, 0o755)
        try:
            os.rename(work, final)
        except OSError:  # another worker finished first: use its view
            shutil.rmtree(work, ignore_errors=True)
    return final / "course_lib"
