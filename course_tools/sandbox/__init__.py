"""A Jupyter kernel in a sandbox, and a safe wire format to call functions defined in it.

The grader (trusted) starts one kernel per submission with :class:`SandboxKernel` and calls
the student's functions through :class:`KernelFunctions`. Modules, one job each:

- :mod:`~course_tools.sandbox.errors`      -- the exceptions (and the builtins students' map to).
- :mod:`~course_tools.sandbox.wire`        -- the wire format (JSON; arrays as base64 of a fixed
  list of dtypes; never pickle), used by both sides; whatever comes from the kernel is
  validated (types, sizes, nesting) before use.
- :mod:`~course_tools.sandbox.kernel_side` -- the kernel's end of the calls; it runs inside the
  sandbox, which gets its source text (``course_tools`` itself is not mounted there).
- :mod:`~course_tools.sandbox.bwrap`       -- the bubblewrap command line and the resource
  limits: own namespaces, no network, the system, Python and ``course_lib`` read-only, an
  empty ``/tmp`` and HOME, an unprivileged uid per worker slot when run as root, ``prlimit``.
- :mod:`~course_tools.sandbox.kernel`      -- :class:`SandboxKernel`: start, run cells with
  wall-clock and output limits, stop.
- :mod:`~course_tools.sandbox.rpc`         -- :class:`KernelFunctions`: proxies for the
  student's functions (copies of arguments in, plain data out, in-place changes copied back,
  callbacks, gradients through the kernel's own graph).
- :mod:`~course_tools.sandbox.slots`       -- a slot (and uid) per grading process.

The course's ``solutions/``, ``tests/``, the submissions, the gradebook and the grades are not
in the kernel's file system at all.
"""

from course_tools.sandbox.bwrap import SANDBOX_UID_BASE, Limits, bwrap_path, kill_uid
from course_tools.sandbox.errors import (
    BUILTIN_ERRORS,
    BudgetExhausted,
    CallTimeout,
    KernelDied,
    SandboxError,
    StudentCodeError,
)
from course_tools.sandbox.kernel import CellOutcome, SandboxKernel
from course_tools.sandbox.rpc import KernelFunctions, write_back
from course_tools.sandbox.slots import acquire_slot, release_slot
from course_tools.sandbox.wire import MIME, RemoteRef, WireError, decode, encode

__all__ = ["BUILTIN_ERRORS", "MIME", "BudgetExhausted", "SANDBOX_UID_BASE", "CallTimeout", "CellOutcome",
           "KernelDied", "KernelFunctions", "Limits", "RemoteRef", "SandboxError",
           "SandboxKernel", "StudentCodeError", "WireError", "acquire_slot", "bwrap_path",
           "decode", "encode", "kill_uid", "release_slot", "write_back"]
