"""The bubblewrap command line of a sandboxed kernel, and its resource limits.

bubblewrap (``bwrap``) gives the kernel its own mount, PID, network, IPC and UTS namespaces.
It sees only the system (``/usr``, ``/etc``), the Python installation and the grading view of
``course_lib`` (all read-only; not ``course_tools``, not the course's repository, not the
references: :mod:`course_tools.sandbox.view`), a size-limited empty ``/tmp``
and HOME (its working directory), and the folder of its ZeroMQ sockets. ``prlimit`` caps its
address space, CPU time, file size, number of processes and of open files. When the grader
runs as root, the kernel runs as the unprivileged uid ``SANDBOX_UID_BASE + slot``.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from course_tools.sandbox.errors import SandboxError

SANDBOX_UID_BASE = 62000  # uid of worker slot k is 62000 + k (no passwd entry needed)
HOME = "/home/student"


@dataclass
class Limits:
    """Resource limits of one submission's kernel."""

    memory_bytes: int = 6 * 2 ** 30       # address space of each process (RLIMIT_AS)
    cpu_seconds: int = 1200               # CPU time of each process (RLIMIT_CPU)
    file_bytes: int = 64 * 2 ** 20        # size of any one file it writes (RLIMIT_FSIZE)
    processes: int = 512                  # processes and threads of its uid (RLIMIT_NPROC)
    open_files: int = 1024                # RLIMIT_NOFILE
    tmp_bytes: int = 256 * 2 ** 20        # size of its /tmp and of its HOME (each a tmpfs)
    output_bytes: int = 20 * 2 ** 20      # output one cell may print before it is stopped


def bwrap_path() -> str:
    path = shutil.which("bwrap")
    if not path:
        raise SandboxError("grading needs bubblewrap (`bwrap`) to sandbox submissions: install "
                           "it with `apt-get install bubblewrap` (make grade and make test do)")
    return path


def _system_binds() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        p = Path(top)
        if p.is_symlink():
            args += ["--symlink", os.readlink(p), top]
        elif p.is_dir():
            args += ["--ro-bind", top, top]
    return args


def student_library() -> Path:
    """The folder of the installed ``course_lib`` package (found without importing it)."""
    spec = importlib.util.find_spec("course_lib")
    if spec is None or not spec.origin:
        raise SandboxError("course_lib is not installed (make install)")
    return Path(spec.origin).resolve().parent


def _python_binds(library: Path | None = None) -> list[str]:
    """The Python installation, read-only, and ``library`` (by default the grading view of
    :mod:`course_tools.sandbox.view`) bound read-only where ``course_lib`` is installed, over
    the real one: the kernel imports ``course_lib`` as usual and never sees the references."""
    if library is None:
        from course_tools.sandbox.view import grading_library

        library = grading_library()
    roots = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(),
             Path(os.path.realpath(sys.executable)).parent.parent}
    args, made = [], set()

    def parents_of(r: Path) -> None:
        for parent in reversed(r.parents[:-1]):  # bwrap would make them 0700 (root only)
            if parent not in made and not any(parent == b or b in parent.parents
                                              for b in roots):
                made.add(parent)
                args.extend(["--perms", "0755", "--dir", str(parent)])

    for r in sorted(roots, key=lambda p: len(p.parts)):
        if any(parent in roots for parent in r.parents):
            continue  # already inside another bound folder
        parents_of(r)
        args += ["--ro-bind", str(r), str(r)]
    if Path(sys.prefix) != Path(sys.prefix).resolve():
        args += ["--ro-bind", str(Path(sys.prefix).resolve()), sys.prefix]
    installed = student_library()
    parents_of(installed)
    args += ["--ro-bind", str(library), str(installed)]
    return args


def kill_uid(uid: int) -> None:
    """Kill every process of ``uid`` (root only): nothing a submission started outlives it."""
    if os.geteuid() == 0 and uid >= SANDBOX_UID_BASE:
        subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                        "kill", "-KILL", "-1"], capture_output=True, timeout=30)


def command(limits: Limits, uid: int | None, sockdir: Path, connection_file: Path,
            library: Path | None = None) -> list[str]:
    """The command that starts the kernel of ``connection_file`` in the sandbox."""
    lim = limits
    cmd = ["prlimit", f"--as={lim.memory_bytes}", f"--cpu={lim.cpu_seconds}",
           f"--fsize={lim.file_bytes}", f"--nofile={lim.open_files}", "--core=0"]
    if uid is not None:
        cmd.append(f"--nproc={lim.processes}")
    cmd += ["--", bwrap_path(), "--die-with-parent", "--new-session",
            "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
            "--unshare-cgroup-try", "--hostname", "sandbox"]
    if uid is None:
        cmd.append("--unshare-user")
    # The empty /tmp and HOME are mounted first, the Python install and course_lib after:
    # a course checked out under /tmp (as CI's clones are) stays visible inside.
    cmd += _system_binds()
    cmd += ["--proc", "/proc", "--dev", "/dev",
            "--perms", "1777", "--size", str(lim.tmp_bytes), "--tmpfs", "/tmp",
            "--perms", "1777", "--size", str(lim.tmp_bytes), "--tmpfs", HOME]
    cmd += _python_binds(library)
    cmd += ["--bind", str(sockdir), str(sockdir),
            "--chdir", HOME]
    if uid is not None:
        cmd += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                "--no-new-privs", "--"]
    cmd += [sys.executable, "-m", "ipykernel_launcher", "-f", str(connection_file),
            "--HistoryManager.enabled=False", "--IPKernelApp.parent_handle=0"]
    return cmd


def kernel_env() -> dict[str, str]:
    """The whole environment of the kernel (nothing of the grader's)."""
    return {"PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
            "HOME": HOME, "USER": "student", "LOGNAME": "student",
            "LANG": "C.UTF-8", "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1",
            "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
            "JPY_PARENT_PID": "", "TMPDIR": "/tmp", "COURSE_GRADING": "1"}
