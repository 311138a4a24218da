"""The wire format between the grader and the student's kernel, used by both sides.

JSON with tagged dicts: ``None``, bools, ints, floats (``nan``/``inf`` tagged), strings, lists,
tuples, dicts, numpy arrays and scalars (raw bytes in base64 with a dtype from the fixed list
:data:`DTYPES`: no object arrays and no pickle, ever), numpy string arrays, torch tensors (as
arrays), numpy random generators (their state), callables (callbacks into the grader) and
references to objects that stay in the kernel.

The two sides differ in what they do with what does not fit:

* the **grader** (``refs=None``): :func:`encode` raises ``TypeError``; callables become
  callback ids when ``callbacks`` is given; :func:`decode` validates everything (types, sizes,
  nesting) and turns references into :class:`RemoteRef`.
* the **kernel** (``refs`` a dict): :func:`encode` keeps anything else in the kernel and sends a
  reference to it; :func:`decode` resolves references and callbacks (``callback(cid)``).

This module imports only the standard library and numpy (torch only when a tensor comes):
:mod:`course_tools.sandbox.kernel_side` installs its source in the student's kernel, where
``course_tools`` is not mounted.
"""

from __future__ import annotations

import base64
import math
import sys
from dataclasses import dataclass

import numpy as np

MIME = "application/x-course-grader+json"
CALLBACK_PREFIX = "\x1ecourse-grader-callback:"
DTYPES = {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
          "float16", "float32", "float64", "complex64", "complex128"}
TENSOR_DTYPES = ("float64", "float32", "float16", "int64", "int32", "int16", "int8", "uint8",
                 "bool")  # the tensors the kernel sends (others stay there as references)
MAX_ELEMENTS = 20_000_000
MAX_DEPTH = 32
MAX_ITEMS = 100_000
MAX_REPLY_BYTES = 200_000_000


class WireError(ValueError):
    """Data from the kernel that is not in the wire format (or too large)."""


@dataclass(frozen=True)
class RemoteRef:
    """An object that stays in the kernel (not in the wire format); only its type name is known.
    Passing it back to a kernel function hands the kernel its own object."""

    rid: int
    type_name: str

    def __repr__(self) -> str:
        return f"<object of type {self.type_name} in the student's kernel>"


def _encode_array(a: np.ndarray) -> dict:
    a = np.array(a, order="C", copy=None)
    if a.dtype.name not in DTYPES:
        raise TypeError(f"cannot send an array of dtype {a.dtype} to the sandbox")
    return {"__nd__": a.dtype.name, "shape": list(a.shape),
            "b64": base64.b64encode(a.tobytes()).decode("ascii")}


def _sendable_tensor(torch, x) -> bool:
    return x.layout == torch.strided and str(x.dtype).removeprefix("torch.") in TENSOR_DTYPES


def encode(x, callbacks: dict | None = None, refs: dict | None = None, depth: int = 0):
    """Encode ``x``. In the grader (``refs`` None) a value outside the format raises
    ``TypeError`` and callables become ids in ``callbacks``; in the kernel, such values are
    kept in ``refs`` and sent as references."""
    kernel = refs is not None
    if depth > MAX_DEPTH and not kernel:
        raise TypeError("value nested too deeply")
    torch = sys.modules.get("torch")  # tensors exist only where torch was imported
    if x is None or type(x) in (bool, int, str):
        return x
    if type(x) is float:
        return x if math.isfinite(x) else {"__float__": repr(x)}
    if torch is not None and isinstance(x, torch.Tensor) and \
            (not kernel or _sendable_tensor(torch, x)):
        return {"__tensor__": _encode_array(x.detach().cpu().numpy()),
                "requires_grad": bool(x.requires_grad)}
    if isinstance(x, np.str_):
        return {"__npstr__": str(x)}
    if isinstance(x, np.ndarray) and x.dtype.kind == "U":
        return {"__ustr__": x.tolist()}
    if isinstance(x, np.ndarray) and (not kernel or x.dtype.name in DTYPES):
        return _encode_array(x)
    if isinstance(x, np.generic) and (not kernel or np.asarray(x).dtype.name in DTYPES):
        return {"__scalar__": _encode_array(np.asarray(x))}
    if isinstance(x, RemoteRef) and not kernel:
        return {"__ref__": x.rid}
    if isinstance(x, np.random.Generator):
        return {"__generator__": x.bit_generator.state}
    # the kernel sends only exact containers (a namedtuple stays there); the grader any
    if type(x) in (tuple, list) or (not kernel and isinstance(x, tuple | list)):
        items = [encode(v, callbacks, refs, depth + 1) for v in x]
        return {"__tuple__": items} if isinstance(x, tuple) else items
    if type(x) is dict or (not kernel and isinstance(x, dict)):
        return {"__dict__": [[encode(k, callbacks, refs, depth + 1),
                              encode(v, callbacks, refs, depth + 1)] for k, v in x.items()]}
    if kernel:
        rid = len(refs) + 1
        refs[rid] = x
        return {"__ref__": rid, "type": type(x).__name__}
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


def decode(x, refs: dict | None = None, callback=None, depth: int = 0,
           count: list | None = None):
    """Decode (and validate) a value. Never unpickles anything. In the kernel, ``refs`` holds
    the objects references point at and ``callback(cid)`` makes the callables."""
    kernel = refs is not None
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

    def inner(v):
        return decode(v, refs, callback, depth + 1, count)

    if type(x) is list:
        return [inner(v) for v in x]
    if type(x) is not dict or len(x) == 0:
        raise WireError(f"unexpected {type(x).__name__}")
    tag = next(iter(x))
    if tag == "__nd__":
        return _decode_array(x)
    if tag == "__tensor__" and set(x) <= {"__tensor__", "requires_grad"}:
        import torch

        tensor = torch.from_numpy(_decode_array(x["__tensor__"]))
        return tensor.requires_grad_(True) if kernel and x.get("requires_grad") else tensor
    if tag == "__scalar__" and len(x) == 1:
        a = _decode_array(x["__scalar__"])
        if a.shape != ():
            raise WireError("malformed scalar")
        return a[()]
    if tag == "__npstr__" and len(x) == 1 and type(x["__npstr__"]) is str:
        return np.str_(x["__npstr__"])
    if tag == "__ustr__" and len(x) == 1:
        items = inner(x["__ustr__"])
        flat = np.array(items, dtype=object).ravel() if isinstance(items, list) else [items]
        if not all(type(v) is str for v in flat):
            raise WireError("malformed string array")
        return np.array(items, dtype=str)
    if tag == "__float__" and len(x) == 1 and x["__float__"] in ("nan", "inf", "-inf"):
        return float(x["__float__"])
    if tag == "__tuple__" and len(x) == 1 and type(x["__tuple__"]) is list:
        return tuple(inner(v) for v in x["__tuple__"])
    if tag == "__dict__" and len(x) == 1 and type(x["__dict__"]) is list:
        out = {}
        for pair in x["__dict__"]:
            if type(pair) is not list or len(pair) != 2:
                raise WireError("malformed dict")
            key = inner(pair[0])
            if type(key) not in (str, int, bool, float, tuple) and key is not None:
                raise WireError("unhashable dict key")
            out[key] = inner(pair[1])
        return out
    if tag == "__ref__" and kernel and len(x) == 1 and type(x["__ref__"]) is int:
        if x["__ref__"] not in refs:
            raise WireError("unknown reference")
        return refs[x["__ref__"]]
    if tag == "__ref__" and not kernel and set(x) == {"__ref__", "type"} and \
            type(x["__ref__"]) is int and type(x["type"]) is str:
        return RemoteRef(x["__ref__"], x["type"][:80])
    if tag == "__callback__" and kernel and callback is not None and len(x) == 1 and \
            type(x["__callback__"]) is int:
        return callback(x["__callback__"])
    if tag == "__generator__" and len(x) == 1 and type(x["__generator__"]) is dict:
        rng = np.random.default_rng()
        try:
            rng.bit_generator.state = x["__generator__"]
        except Exception as exc:
            raise WireError("malformed generator state") from exc
        return rng
    raise WireError(f"unknown value tag {tag!r}")
