"""A Jupyter kernel in a sandbox, and a safe wire format to call functions defined in it.

The grader (trusted) starts one kernel per submission with :class:`SandboxKernel`:

* **bubblewrap** (``bwrap``) gives the kernel its own mount, PID, network, IPC and UTS
  namespaces. It sees only the system (``/usr``, ``/etc``), the Python installation and
  ``course_lib`` (all read-only), a size-limited empty ``/tmp`` and HOME (its working
  directory), and the folder of its ZeroMQ sockets. The course's ``solutions/``, ``tests/``, the
  submissions, the gradebook and the grades are not in its file system at all, and it has no
  network (it talks to the grader through Unix sockets).
* When the grader runs as root, the kernel runs as a dedicated unprivileged uid (one per
  worker slot, ``SANDBOX_UID_BASE + slot``), so it cannot write anything it was not given, and
  after the kernel is ready the socket folder is handed back to root (read-only for it).
* ``prlimit`` caps its address space (memory), CPU time, file size, number of processes and of
  open files; the grader adds wall-clock limits per cell and per call and caps the output it
  keeps.

The wire format (:func:`encode` / :func:`decode`) is JSON: ``None``, bools, ints, floats,
strings, lists, tuples, dicts, numpy arrays and scalars (raw bytes in base64 with a dtype from a
fixed list: no object arrays and no pickle, ever), torch tensors (as arrays), numpy random
generators (their state), callables (as callbacks into the grader, answered through the
kernel's stdin channel) and opaque references to objects that stay in the kernel. Everything
that comes back from the kernel is validated (types, sizes, nesting) before use.
"""

from __future__ import annotations

import base64
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

PACKAGE_DIR = Path(__file__).resolve().parent
SANDBOX_UID_BASE = 62000  # uid of worker slot k is 62000 + k (no passwd entry needed)
MIME = "application/x-course-grader+json"
CALLBACK_PREFIX = "\x1ecourse-grader-callback:"
DTYPES = {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
          "float16", "float32", "float64", "complex64", "complex128"}
MAX_ELEMENTS = 20_000_000
MAX_DEPTH = 32
MAX_ITEMS = 100_000
MAX_REPLY_BYTES = 200_000_000


class SandboxError(RuntimeError):
    """The sandbox could not be set up (missing bwrap, ...); the message says what to do."""


class WireError(ValueError):
    """Data from the kernel that is not in the wire format (or too large)."""


class KernelDied(RuntimeError):
    """The kernel's process ended."""


class CallTimeout(RuntimeError):
    """A cell or a call ran past its time limit."""


class StudentCodeError(Exception):
    """An exception raised by student code in the kernel (by a name that is not a builtin)."""


# Student exceptions with these names are re-raised as the builtin of that name, so that the
# checks' handling (NotImplementedError means "not implemented yet") is the same as in Jupyter.
import builtins as _builtins  # noqa: E402

BUILTIN_ERRORS = {name: getattr(_builtins, name) for name in (
    "NotImplementedError", "ValueError", "TypeError", "IndexError", "KeyError", "AttributeError",
    "ZeroDivisionError", "AssertionError", "RuntimeError", "NameError", "ArithmeticError",
    "OverflowError", "FloatingPointError", "MemoryError", "RecursionError", "LookupError",
    "UnboundLocalError")}


@dataclass(frozen=True)
class RemoteRef:
    """An object that stays in the kernel (not in the wire format); only its type name is known.
    Passing it back to a kernel function hands the kernel its own object."""

    rid: int
    type_name: str

    def __repr__(self) -> str:
        return f"<object of type {self.type_name} in the student's kernel>"


# --- the wire format: grader side ---------------------------------------------------------------

def _encode_array(a: np.ndarray) -> dict:
    a = np.array(a, order="C", copy=None)
    if a.dtype.name not in DTYPES:
        raise TypeError(f"cannot send an array of dtype {a.dtype} to the sandbox")
    return {"__nd__": a.dtype.name, "shape": list(a.shape),
            "b64": base64.b64encode(a.tobytes()).decode("ascii")}


def encode(x, callbacks: dict | None = None, depth: int = 0):
    """Encode a trusted value for the kernel. Callables become callback ids in ``callbacks``."""
    import torch

    if depth > MAX_DEPTH:
        raise TypeError("value nested too deeply")
    if x is None or type(x) in (bool, int, str):
        return x
    if type(x) is float:
        return x if math.isfinite(x) else {"__float__": repr(x)}
    if isinstance(x, torch.Tensor):
        return {"__tensor__": _encode_array(x.detach().cpu().numpy()),
                "requires_grad": bool(x.requires_grad)}
    if isinstance(x, np.str_):
        return {"__npstr__": str(x)}
    if isinstance(x, np.ndarray) and x.dtype.kind == "U":
        return {"__ustr__": x.tolist()}
    if isinstance(x, np.ndarray):
        return _encode_array(x)
    if isinstance(x, np.generic):
        return {"__scalar__": _encode_array(np.asarray(x))}
    if isinstance(x, RemoteRef):
        return {"__ref__": x.rid}
    if isinstance(x, np.random.Generator):
        return {"__generator__": x.bit_generator.state}
    if isinstance(x, tuple | list):
        items = [encode(v, callbacks, depth + 1) for v in x]
        return {"__tuple__": items} if isinstance(x, tuple) else items
    if isinstance(x, dict):
        return {"__dict__": [[encode(k, callbacks, depth + 1), encode(v, callbacks, depth + 1)]
                             for k, v in x.items()]}
    if callable(x) and callbacks is not None:
        cid = len(callbacks) + 1
        callbacks[cid] = x
        return {"__callback__": cid}
    raise TypeError(f"cannot send a {type(x).__name__} to the student's kernel")


def _decode_array(d) -> np.ndarray:
    if not isinstance(d, dict) or set(d) != {"__nd__", "shape", "b64"}:
        raise WireError("malformed array")
    dtype, shape, b64 = d["__nd__"], d["shape"], d["b64"]
    if dtype not in DTYPES or not isinstance(b64, str) or not isinstance(shape, list) or \
            len(shape) > 32 or not all(type(s) is int and 0 <= s for s in shape):
        raise WireError("malformed array")
    n = math.prod(shape)
    if n > MAX_ELEMENTS:
        raise WireError(f"array of {n} elements is too large")
    raw = base64.b64decode(b64.encode("ascii"), validate=True)
    dt = np.dtype(dtype)
    if len(raw) != n * dt.itemsize:
        raise WireError("array bytes do not match its shape")
    return np.frombuffer(raw, dtype=dt).reshape(shape).copy()


def decode(x, depth: int = 0, count: list | None = None):
    """Decode (and validate) a value that came from the kernel. Never unpickles anything."""
    count = [0] if count is None else count
    count[0] += 1
    if depth > MAX_DEPTH or count[0] > MAX_ITEMS:
        raise WireError("value nested too deeply or too many items")
    if x is None or type(x) in (bool, int, str):
        if type(x) is int and abs(x) > 2 ** 256:
            raise WireError("integer too large")
        return x
    if type(x) is float:
        return x
    if type(x) is list:
        return [decode(v, depth + 1, count) for v in x]
    if type(x) is not dict or len(x) == 0:
        raise WireError(f"unexpected {type(x).__name__}")
    tag = next(iter(x))
    if tag == "__nd__":
        return _decode_array(x)
    if tag == "__tensor__" and set(x) <= {"__tensor__", "requires_grad"}:
        import torch

        return torch.from_numpy(_decode_array(x["__tensor__"]))
    if tag == "__scalar__" and len(x) == 1:
        a = _decode_array(x["__scalar__"])
        if a.shape != ():
            raise WireError("malformed scalar")
        return a[()]
    if tag == "__npstr__" and len(x) == 1 and type(x["__npstr__"]) is str:
        return np.str_(x["__npstr__"])
    if tag == "__ustr__" and len(x) == 1:
        items = decode(x["__ustr__"], depth + 1, count)
        flat = np.array(items, dtype=object).ravel() if isinstance(items, list) else [items]
        if not all(type(v) is str for v in flat):
            raise WireError("malformed string array")
        return np.array(items, dtype=str)
    if tag == "__float__" and len(x) == 1 and x["__float__"] in ("nan", "inf", "-inf"):
        return float(x["__float__"])
    if tag == "__tuple__" and len(x) == 1 and type(x["__tuple__"]) is list:
        return tuple(decode(v, depth + 1, count) for v in x["__tuple__"])
    if tag == "__dict__" and len(x) == 1 and type(x["__dict__"]) is list:
        out = {}
        for pair in x["__dict__"]:
            if type(pair) is not list or len(pair) != 2:
                raise WireError("malformed dict")
            key = decode(pair[0], depth + 1, count)
            if type(key) not in (str, int, bool, float, tuple) and key is not None:
                raise WireError("unhashable dict key")
            out[key] = decode(pair[1], depth + 1, count)
        return out
    if tag == "__ref__" and set(x) == {"__ref__", "type"} and type(x["__ref__"]) is int and \
            type(x["type"]) is str:
        return RemoteRef(x["__ref__"], x["type"][:80])
    if tag == "__generator__" and len(x) == 1 and type(x["__generator__"]) is dict:
        rng = np.random.default_rng()
        try:
            rng.bit_generator.state = x["__generator__"]
        except Exception as exc:
            raise WireError("malformed generator state") from exc
        return rng
    raise WireError(f"unknown value tag {tag!r}")


def _mutable(x) -> bool:
    import torch

    return isinstance(x, np.ndarray | list | dict | tuple | torch.Tensor | np.random.Generator)


def _same(a, b) -> bool:
    try:
        return type(a) is type(b) and bool(a == b)
    except Exception:
        return False


def write_back(original, new) -> None:
    """Copy what the student's function did in place to its (copied) arguments back into the
    grader's objects, so that in-place changes are seen (and judged) as in Jupyter."""
    import torch

    if isinstance(original, torch.Tensor) and isinstance(new, torch.Tensor):
        if new.shape == original.shape and not torch.equal(new.to(original.dtype), original):
            with torch.no_grad():
                original.copy_(new.to(original.dtype))
    elif isinstance(original, np.ndarray) and isinstance(new, np.ndarray):
        if new.shape == original.shape and original.flags.writeable and \
                not np.array_equal(new, original):
            original[...] = new.astype(original.dtype, copy=False)
    elif isinstance(original, list) and isinstance(new, list):
        if len(original) != len(new):
            original[:] = new
            return
        for i, (o, n) in enumerate(zip(original, new, strict=True)):
            if _mutable(o) and type(o) is type(n):
                write_back(o, n)
            elif not _same(o, n):
                original[i] = n
    elif isinstance(original, dict) and isinstance(new, dict):
        for k in [k for k in original if k not in new]:
            del original[k]
        for k, n in new.items():
            if k in original and _mutable(original[k]) and type(original[k]) is type(n):
                write_back(original[k], n)
            elif k not in original or not _same(original[k], n):
                original[k] = n
    elif isinstance(original, tuple) and isinstance(new, tuple) and len(original) == len(new):
        for o, n in zip(original, new, strict=True):
            if _mutable(o):
                write_back(o, n)
    elif isinstance(original, np.random.Generator) and isinstance(new, np.random.Generator):
        original.bit_generator.state = new.bit_generator.state


# --- the helper installed in the kernel (untrusted side: whatever it sends is validated) -------

KERNEL_HELPER = r'''
def __course_grader_install(MIME, PREFIX):
    import base64, builtins, json, math, sys
    import numpy as np
    torch = sys.modules.get("torch")  # tensors exist in the kernel only if torch was imported
    from IPython.display import publish_display_data
    refs, calls, current = {}, {}, [((), {})]

    def enc_nd(a):
        a = np.array(a, order="C", copy=None)
        return {"__nd__": a.dtype.name, "shape": list(a.shape),
                "b64": base64.b64encode(a.tobytes()).decode("ascii")}

    def enc(x):
        if x is None or type(x) in (bool, int, str):
            return x
        if type(x) is float:
            return x if math.isfinite(x) else {"__float__": repr(x)}
        if torch is not None and isinstance(x, torch.Tensor) and x.layout == torch.strided \
                and x.dtype in (torch.float64, torch.float32, torch.float16, torch.int64,
                                torch.int32, torch.int16, torch.int8, torch.uint8, torch.bool):
            return {"__tensor__": enc_nd(x.detach().cpu().numpy()),
                    "requires_grad": bool(x.requires_grad)}
        if isinstance(x, np.str_):
            return {"__npstr__": str(x)}
        if isinstance(x, np.ndarray) and x.dtype.kind == "U":
            return {"__ustr__": x.tolist()}
        if isinstance(x, np.ndarray) and x.dtype.kind in "biufc":
            return enc_nd(x)
        if isinstance(x, np.generic) and np.asarray(x).dtype.kind in "biufc":
            return {"__scalar__": enc_nd(np.asarray(x))}
        if isinstance(x, np.random.Generator):
            return {"__generator__": x.bit_generator.state}
        if type(x) is tuple:
            return {"__tuple__": [enc(v) for v in x]}
        if type(x) is list:
            return [enc(v) for v in x]
        if type(x) is dict:
            return {"__dict__": [[enc(k), enc(v)] for k, v in x.items()]}
        rid = len(refs) + 1
        refs[rid] = x
        return {"__ref__": rid, "type": type(x).__name__}

    def dec(x):
        if type(x) is list:
            return [dec(v) for v in x]
        if type(x) is not dict:
            return x
        if "__nd__" in x:
            return np.frombuffer(base64.b64decode(x["b64"]), dtype=x["__nd__"]).reshape(
                x["shape"]).copy()
        if "__tensor__" in x:
            import torch
            t = torch.from_numpy(dec(x["__tensor__"]))
            return t.requires_grad_(True) if x.get("requires_grad") else t
        if "__scalar__" in x:
            return dec(x["__scalar__"])[()]
        if "__float__" in x:
            return float(x["__float__"])
        if "__npstr__" in x:
            return np.str_(x["__npstr__"])
        if "__ustr__" in x:
            return np.array(x["__ustr__"], dtype=str)
        if "__tuple__" in x:
            return tuple(dec(v) for v in x["__tuple__"])
        if "__dict__" in x:
            return {dec(k): dec(v) for k, v in x["__dict__"]}
        if "__ref__" in x:
            return refs[x["__ref__"]]
        if "__generator__" in x:
            g = np.random.default_rng()
            g.bit_generator.state = x["__generator__"]
            return g
        if "__callback__" in x:
            return callback(x["__callback__"])
        raise ValueError("unknown tag")

    def callback(cid):
        def call_grader(*args, **kwargs):
            call_args, call_kwargs = current[0]
            request = json.dumps({"callback": cid, "args": enc(tuple(args)),
                                  "kwargs": enc(dict(kwargs)),
                                  "state": [enc(tuple(call_args)), enc(dict(call_kwargs))]})
            reply = json.loads(builtins.input(PREFIX + request))
            if "error" in reply:
                raise RuntimeError(reply["error"])
            return dec(reply["result"])
        return call_grader

    def send(obj):
        publish_display_data({MIME: json.dumps(obj)})

    def call(request):
        request = json.loads(request)
        args, kwargs = dec(request["args"]), dec(request["kwargs"])
        try:
            fn = globals()[request["fn"]] if request["fn"] in globals() else \
                getattr(builtins, request["fn"])
        except AttributeError:
            send({"missing": request["fn"]})
            return
        current[0] = (args, kwargs)  # a callback shows the grader their current state
        try:
            out = fn(*args, **kwargs)
        except BaseException as exc:
            send({"raised": type(exc).__name__, "message": str(exc)[:500]})
            return
        grad_ins = []
        if torch is not None:
            grad_ins = [a for a in list(args) + list(kwargs.values())
                        if isinstance(a, torch.Tensor) and a.requires_grad]
        calls[request["id"]] = (out, grad_ins)
        send({"result": enc(out), "args": enc(tuple(args)), "kwargs": enc(dict(kwargs))})

    def vjp(request):
        request = json.loads(request)
        out, grad_ins = calls[request["id"]]
        flat = []

        def leaves(x):
            if torch is not None and isinstance(x, torch.Tensor):
                flat.append(x)
            elif type(x) in (tuple, list):
                for v in x:
                    leaves(v)
        leaves(out)
        pairs = [(o, g) for o, g in zip(flat, dec(request["grads"])) if g is not None
                 and o.requires_grad]
        grads = [None] * len(grad_ins)
        if pairs and grad_ins:
            grads = list(torch.autograd.grad([o for o, _ in pairs], grad_ins,
                                             [g.to(o.dtype) for o, g in pairs],
                                             allow_unused=True, retain_graph=True))
        send({"result": enc(grads)})

    return call, vjp

__course_grader_call, __course_grader_vjp = __course_grader_install(MIME_HERE, PREFIX_HERE)
del __course_grader_install
'''.replace("MIME_HERE", repr(MIME)).replace("PREFIX_HERE", repr(CALLBACK_PREFIX))


# --- the sandboxed kernel ------------------------------------------------------------------

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


@dataclass
class CellOutcome:
    """What executing one cell gave."""

    status: str = "ok"          # ok, error, timed out, output too large, died
    error: str = ""             # "Name: message" of an exception raised by the cell
    text: str = ""              # the first few KB of what it printed
    payloads: list = field(default_factory=list)  # grader-MIME messages it published


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


def _python_binds() -> list[str]:
    roots = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(),
             Path(os.path.realpath(sys.executable)).parent.parent, PACKAGE_DIR}
    args, made = [], set()
    for r in sorted(roots, key=lambda p: len(p.parts)):
        if any(parent in roots for parent in r.parents):
            continue  # already inside another bound folder
        for parent in reversed(r.parents[:-1]):  # bwrap would make them 0700 (root only)
            if parent not in made:
                made.add(parent)
                args += ["--perms", "0755", "--dir", str(parent)]
        args += ["--ro-bind", str(r), str(r)]
    if Path(sys.prefix) != Path(sys.prefix).resolve():
        args += ["--ro-bind", str(Path(sys.prefix).resolve()), sys.prefix]
    return args


def kill_uid(uid: int) -> None:
    """Kill every process of ``uid`` (root only): nothing a submission started outlives it."""
    if os.geteuid() == 0 and uid >= SANDBOX_UID_BASE:
        subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                        "kill", "-KILL", "-1"], capture_output=True, timeout=30)


class SandboxKernel:
    """One IPython kernel in a bubblewrap sandbox. Use as a context manager."""

    def __init__(self, slot: int = 0, limits: Limits | None = None, workdir: Path | None = None):
        self.slot = slot
        self.limits = limits or Limits()
        self.uid = SANDBOX_UID_BASE + slot if os.geteuid() == 0 else None
        self._tmp = tempfile.mkdtemp(prefix="ks-", dir=workdir or "/tmp")
        self.sockdir = Path(self._tmp)
        self.proc: subprocess.Popen | None = None
        self.kc = None
        self.stderr_path = Path(tempfile.mkstemp(prefix="kernel-stderr-")[1])

    # lifecycle
    def __enter__(self) -> SandboxKernel:
        if self.proc is None:  # ``with kernel:`` after an explicit start() starts nothing more
            self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def command(self, connection_file: Path) -> list[str]:
        lim = self.limits
        cmd = ["prlimit", f"--as={lim.memory_bytes}", f"--cpu={lim.cpu_seconds}",
               f"--fsize={lim.file_bytes}", f"--nofile={lim.open_files}", "--core=0"]
        if self.uid is not None:
            cmd.append(f"--nproc={lim.processes}")
        cmd += ["--", bwrap_path(), "--die-with-parent", "--new-session",
                "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
                "--unshare-cgroup-try", "--hostname", "sandbox"]
        if self.uid is None:
            cmd.append("--unshare-user")
        # The empty /tmp and HOME are mounted first, the Python install and course_lib after:
        # a course checked out under /tmp (as CI's clones are) stays visible inside.
        cmd += _system_binds()
        cmd += ["--proc", "/proc", "--dev", "/dev",
                "--perms", "1777", "--size", str(lim.tmp_bytes), "--tmpfs", "/tmp",
                "--perms", "1777", "--size", str(lim.tmp_bytes), "--tmpfs", "/home/student"]
        cmd += _python_binds()
        cmd += ["--bind", str(self.sockdir), str(self.sockdir),
                "--chdir", "/home/student"]
        if self.uid is not None:
            cmd += ["setpriv", f"--reuid={self.uid}", f"--regid={self.uid}", "--clear-groups",
                    "--no-new-privs", "--"]
        cmd += [sys.executable, "-m", "ipykernel_launcher", "-f", str(connection_file),
                "--HistoryManager.enabled=False", "--IPKernelApp.parent_handle=0"]
        return cmd

    def env(self) -> dict[str, str]:
        return {"PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
                "HOME": "/home/student", "USER": "student", "LOGNAME": "student",
                "LANG": "C.UTF-8", "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1",
                "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                "JPY_PARENT_PID": "", "TMPDIR": "/tmp"}

    def start(self, timeout: float = 60) -> None:
        from jupyter_client import BlockingKernelClient
        from jupyter_client.connect import write_connection_file

        if self.uid is not None:
            kill_uid(self.uid)  # leftovers of an earlier run of this slot
            os.chown(self.sockdir, self.uid, self.uid)
        os.chmod(self.sockdir, 0o700)
        conn = self.sockdir / "kernel.json"
        write_connection_file(str(conn), ip=str(self.sockdir / "k"), transport="ipc",
                              key=uuid.uuid4().hex.encode(), signature_scheme="hmac-sha256")
        if self.uid is not None:
            os.chown(conn, self.uid, self.uid)
        with open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(self.command(conn), env=self.env(), stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=err,
                                         start_new_session=True)
        self.kc = BlockingKernelClient(connection_file=str(conn))
        self.kc.load_connection_file()
        self.kc.start_channels()
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise SandboxError("the sandboxed kernel did not start: " + self.stderr()[-1500:])
            try:
                self.kc.wait_for_ready(timeout=2)
                break
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise SandboxError("the sandboxed kernel did not answer within "
                                       f"{timeout} s: " + self.stderr()[-1500:]) from None
        # the kernel has bound its sockets: from now on it cannot write to this folder
        if self.uid is not None:
            os.chown(self.sockdir, 0, 0)
            os.chmod(self.sockdir, 0o755)

    def stderr(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def close(self) -> None:
        if self.kc is not None:
            try:
                self.kc.stop_channels()
            except Exception:
                pass
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
        if self.uid is not None:
            kill_uid(self.uid)
        shutil.rmtree(self._tmp, ignore_errors=True)
        self.stderr_path.unlink(missing_ok=True)

    # execution
    def interrupt(self) -> None:
        msg = self.kc.session.msg("interrupt_request", {})
        self.kc.control_channel.send(msg)

    def execute(self, code: str, timeout: float, stdin_hook=None,
                keep_text: int = 4000) -> CellOutcome:
        """Run ``code``; stop it after ``timeout`` seconds (interrupt, then kill)."""
        import zmq

        out = CellOutcome()
        if not self.alive():
            out.status = "died"
            return out
        msg_id = self.kc.execute(code, store_history=False, allow_stdin=stdin_hook is not None,
                                 stop_on_error=False)
        poller = zmq.Poller()
        channels = {self.kc.iopub_channel.socket: "iopub", self.kc.shell_channel.socket: "shell",
                    self.kc.stdin_channel.socket: "stdin"}
        for sock in channels:
            poller.register(sock, zmq.POLLIN)
        deadline = time.monotonic() + timeout
        idle = replied = interrupted = False
        printed = 0
        while not (idle and replied):
            now = time.monotonic()
            if now > deadline:
                if interrupted or not self.alive():
                    self.close_kernel()
                    out.status = "timed out" if out.status == "ok" else out.status
                    return out
                self.interrupt()
                interrupted = True
                out.status = "timed out" if out.status == "ok" else out.status
                deadline = now + 10  # grace period for the interrupt
            events = dict(poller.poll(200))
            if not events and not self.alive():
                out.status = "died"
                return out
            for sock in events:
                kind = channels[sock]
                try:
                    msg = getattr(self.kc, f"get_{kind}_msg")(timeout=0)
                except Exception:  # nothing there after all, or a message that does not parse
                    continue
                if msg.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                mtype, content = msg["msg_type"], msg["content"]
                if kind == "shell":
                    replied = True
                elif kind == "stdin":
                    reply = stdin_hook(content.get("prompt", "")) if stdin_hook else ""
                    self.kc.input(reply)
                elif mtype == "status" and content.get("execution_state") == "idle":
                    idle = True
                elif mtype == "stream":
                    text = content.get("text", "")
                    printed += len(text)
                    if len(out.text) < keep_text:
                        out.text += text[: keep_text - len(out.text)]
                    if printed > self.limits.output_bytes and not interrupted:
                        out.status = "output too large"
                        self.interrupt()
                        interrupted = True
                        deadline = time.monotonic() + 10
                elif mtype == "error":
                    if out.status == "ok":
                        out.status = "error"
                    out.error = f"{content.get('ename', '')}: {content.get('evalue', '')}"[:500]
                elif mtype in ("display_data", "execute_result"):
                    data = content.get("data", {})
                    if MIME in data and isinstance(data[MIME], str) and \
                            len(data[MIME]) <= MAX_REPLY_BYTES:
                        out.payloads.append(data[MIME])
                    else:
                        printed += len(json.dumps(data)) if len(data) < 64 else 10 ** 6
        return out

    def close_kernel(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()


# --- calling the student's functions from the grader -----------------------------------------

class KernelFunctions:
    """Proxies for functions defined in a :class:`SandboxKernel`: ``proxy(name)(*args)`` sends
    copies of the arguments to the kernel, runs the student's function there and returns its
    result as plain (validated) data. Trusted code (the checks) then compares it with the
    expected values in the grader's own process, with the grader's own numpy and torch."""

    def __init__(self, kernel: SandboxKernel, call_timeout: float = 60):
        self.kernel = kernel
        self.call_timeout = call_timeout
        self._ids = 0
        self._callbacks: dict[int, object] = {}
        self.installed = False
        self.calls = 0
        self._current: tuple | None = None  # the arguments of the call in progress

    def install(self) -> None:
        outcome = self.kernel.execute(KERNEL_HELPER, timeout=30)
        if outcome.status != "ok":
            raise KernelDied(f"the grader's helper could not be installed in the kernel "
                             f"({outcome.status} {outcome.error})")
        self.installed = True

    def _stdin(self, prompt: str) -> str:
        """Answer a callback request from the kernel (a callable the grader passed in)."""
        if not prompt.startswith(CALLBACK_PREFIX) or len(prompt) > MAX_REPLY_BYTES:
            return json.dumps({"error": "input() is not available while grading"})
        try:
            request = json.loads(prompt[len(CALLBACK_PREFIX):])
            fn = self._callbacks[request["callback"]]
            self._sync(request.get("state"))  # e.g. a closure reading an array the student
            args = decode(request["args"])     # changes in place before calling back
            kwargs = decode(request["kwargs"])
            if not isinstance(args, tuple) or not isinstance(kwargs, dict) or \
                    not all(isinstance(k, str) for k in kwargs):
                raise WireError("malformed callback arguments")
            return json.dumps({"result": encode(fn(*args, **kwargs))})
        except Exception as exc:
            return json.dumps({"error": f"{type(exc).__name__}: {str(exc)[:300]}"})

    def _sync(self, state) -> None:
        if self._current is None or not isinstance(state, list) or len(state) != 2:
            return
        args, kwargs = self._current
        new_args, new_kwargs = decode(state[0]), decode(state[1])
        if isinstance(new_args, tuple) and len(new_args) == len(args):
            for original, new in zip(args, new_args, strict=True):
                write_back(original, new)
        if isinstance(new_kwargs, dict):
            for k, v in kwargs.items():
                if k in new_kwargs:
                    write_back(v, new_kwargs[k])

    def _request(self, code: str) -> dict:
        if not self.installed:
            self.install()
        outcome = self.kernel.execute(code, timeout=self.call_timeout, stdin_hook=self._stdin)
        if outcome.status == "died" or not self.kernel.alive():
            raise KernelDied("the kernel died while running your function")
        if outcome.status == "timed out":
            raise CallTimeout(f"your function ran longer than {self.call_timeout:g} s")
        if outcome.status == "output too large":
            raise CallTimeout("your function printed too much and was stopped")
        if not outcome.payloads:
            raise WireError("no answer from the kernel" +
                            (f" ({outcome.error})" if outcome.error else ""))
        reply = json.loads(outcome.payloads[-1])
        if type(reply) is not dict:
            raise WireError("malformed answer")
        return reply

    def call(self, name: str, args: tuple, kwargs: dict):
        import torch

        self._ids += 1
        self.calls += 1
        call_id = self._ids
        request = json.dumps({"fn": name, "id": call_id,
                              "args": encode(tuple(args), self._callbacks),
                              "kwargs": encode(dict(kwargs), self._callbacks)})
        self._current = (args, kwargs)
        try:
            reply = self._request(f"__course_grader_call({request!r})")
        finally:
            self._current = None
        if "missing" in reply:
            raise NameError(f"name '{name}' is not defined in your notebook (was its cell "
                            "deleted, renamed or not run?)")
        if "raised" in reply:
            ename, message = str(reply["raised"])[:80], str(reply.get("message", ""))[:500]
            cls = BUILTIN_ERRORS.get(ename)
            if cls is not None:
                raise cls(message)
            raise StudentCodeError(f"{ename}: {message}")
        result = decode(reply.get("result"))
        self._current = (args, kwargs)
        try:
            self._sync([reply.get("args"), reply.get("kwargs")])
        finally:
            self._current = None
        grad_inputs = [a for a in list(args) + list(kwargs.values())
                       if isinstance(a, torch.Tensor) and a.requires_grad]
        if grad_inputs:
            result = self._attach_autograd(call_id, result, grad_inputs)
        return result

    def _attach_autograd(self, call_id: int, result, grad_inputs: list):
        """Make tensors returned by the kernel differentiable in the grader: their backward
        asks the kernel for the vector-Jacobian product of the student's own graph."""
        import torch

        leaves: list = []

        def collect(x):
            if isinstance(x, torch.Tensor):
                leaves.append(x)
            elif isinstance(x, tuple | list):
                for v in x:
                    collect(v)

        collect(result)
        if not leaves or not any(t.is_floating_point() for t in leaves):
            return result
        outs = _RemoteGraph.apply(self, call_id, len(leaves), *leaves, *grad_inputs)
        outs = list(outs) if isinstance(outs, tuple) else [outs]

        def rebuild(x):
            if isinstance(x, torch.Tensor):
                return outs.pop(0)
            if isinstance(x, tuple | list):
                return type(x)(rebuild(v) for v in x)
            return x

        return rebuild(result)

    def vjp(self, call_id: int, grads: list) -> list:
        reply = self._request(f"__course_grader_vjp({json.dumps({'id': call_id, 'grads': encode(grads)})!r})")
        if "raised" in reply:
            raise StudentCodeError(f"{reply['raised']}: {reply.get('message', '')}")
        out = decode(reply.get("result"))
        if not isinstance(out, list):
            raise WireError("malformed gradients")
        return out

    def proxy(self, name: str):
        functions = self

        def student_function(*args, **kwargs):
            return functions.call(name, args, kwargs)

        student_function.__name__ = student_function.__qualname__ = name
        return student_function


def _make_remote_graph():
    import torch

    class RemoteGraph(torch.autograd.Function):
        """Output tensors of a kernel call; backward = the kernel's vector-Jacobian product."""

        @staticmethod
        def forward(ctx, functions, call_id, n_out, *tensors):
            ctx.functions, ctx.call_id, ctx.n_out = functions, call_id, n_out
            ctx.shapes = [t.shape for t in tensors[n_out:]]
            ctx.dtypes = [t.dtype for t in tensors[n_out:]]
            outs = tuple(t.detach().clone() for t in tensors[:n_out])
            for t in outs:
                if not t.is_floating_point():
                    ctx.mark_non_differentiable(t)
            return outs if n_out > 1 else outs[0]

        @staticmethod
        def backward(ctx, *grad_outputs):
            grads = ctx.functions.vjp(ctx.call_id, [None if g is None else g.detach()
                                                    for g in grad_outputs])
            result = []
            for i, (shape, dtype) in enumerate(zip(ctx.shapes, ctx.dtypes, strict=True)):
                g = grads[i] if i < len(grads) else None
                if isinstance(g, torch.Tensor) and g.shape == shape:
                    result.append(g.to(dtype))
                else:
                    result.append(None)
            return (None, None, None, *([None] * ctx.n_out), *result)

    return RemoteGraph


class _LazyRemoteGraph:
    _cls = None

    def apply(self, *args):
        if _LazyRemoteGraph._cls is None:
            _LazyRemoteGraph._cls = _make_remote_graph()
        return _LazyRemoteGraph._cls.apply(*args)


_RemoteGraph = _LazyRemoteGraph()


_SLOT_DIR = Path(tempfile.gettempdir()) / "course-grader-slots"
_held_slots: dict[int, int] = {}


def acquire_slot(max_slots: int = 256) -> int:
    """Reserve a sandbox slot (and so a uid) for this process until it exits: two graders
    running at once (two terminals, parallel tests) never share a uid or kill each other's
    kernels."""
    import fcntl

    _SLOT_DIR.mkdir(mode=0o700, exist_ok=True)
    for slot in range(max_slots):
        if slot in _held_slots:
            continue
        fd = os.open(_SLOT_DIR / f"slot-{slot}.lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        _held_slots[slot] = fd
        return slot
    raise SandboxError(f"all {max_slots} sandbox slots are in use")


def release_slot(slot: int) -> None:
    fd = _held_slots.pop(slot, None)
    if fd is not None:
        os.close(fd)
