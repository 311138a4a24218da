"""Argument checking shared by the library: bad input raises a ValueError that names the
argument, the expected shape and the actual shape.

Shapes are written with the course's letters (N batch, T time, D input, H hidden, K output);
a letter seen twice must stand for the same size, which catches transposed weights early.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Dim = int | str | None


def _fmt(spec: Sequence[Dim], dims: dict[str, int]) -> str:
    parts = []
    for s in spec:
        if s is None:
            parts.append("?")
        elif isinstance(s, str):
            parts.append(f"{s}={dims[s]}" if s in dims else s)
        else:
            parts.append(str(s))
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


def array(
    name: str,
    x,
    shape: Sequence[Dim] | None = None,
    dims: dict[str, int] | None = None,
    dtype=np.float64,
    finite: bool = True,
    allow_empty: bool = False,
) -> np.ndarray:
    """Return ``x`` as a NumPy array after checking it; raise ``ValueError`` otherwise.

    Args:
        name: the argument's name, used in the message.
        x: array-like input.
        shape: expected shape, e.g. ``("N", "D")`` or ``(None, 3)``; ``None`` skips the check.
        dims: letter -> size bindings shared between calls (filled in as letters are met).
        dtype: dtype to convert to (``None`` keeps it); integer targets reject fractional input.
        finite: reject NaN and infinity.
        allow_empty: accept arrays with a zero-sized axis.
    """
    dims = {} if dims is None else dims
    try:
        arr = np.asarray(x)
    except Exception as exc:  # pragma: no cover - numpy accepts almost anything
        raise ValueError(f"{name}: cannot be converted to an array ({exc})") from None
    if arr.dtype == object:
        raise ValueError(f"{name}: expected a numeric array, got {type(x).__name__} of objects")
    if shape is not None:
        if arr.ndim != len(shape):
            raise ValueError(
                f"{name}: expected shape {_fmt(shape, dims)}, got {arr.shape} "
                f"({arr.ndim} dimensions instead of {len(shape)})"
            )
        for axis, (want, got) in enumerate(zip(shape, arr.shape, strict=True)):
            if want is None:
                continue
            if isinstance(want, str):
                if want in dims and dims[want] != got:
                    raise ValueError(
                        f"{name}: expected shape {_fmt(shape, dims)}, got {arr.shape} "
                        f"(axis {axis} is {want}, which is {dims[want]} elsewhere)"
                    )
                dims.setdefault(want, got)
            elif want != got:
                raise ValueError(f"{name}: expected shape {_fmt(shape, dims)}, got {arr.shape}")
    if not allow_empty and arr.size == 0:
        raise ValueError(f"{name}: expected a non-empty array, got shape {arr.shape}")
    if dtype is not None:
        target = np.dtype(dtype)
        if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
            raise ValueError(f"{name}: expected numbers, got dtype {arr.dtype}")
        if np.issubdtype(target, np.integer) and np.issubdtype(arr.dtype, np.floating):
            if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
                raise ValueError(f"{name}: expected integers, got non-integer values")
        arr = arr.astype(target, copy=False)
    if finite and np.issubdtype(arr.dtype, np.floating) and not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{name}: contains {bad} NaN or infinite value(s)")
    return arr


def positive(name: str, value, integer: bool = False) -> float | int:
    """Check that ``value`` is a positive finite number (an int when ``integer``); return it."""
    kinds = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    if (isinstance(value, bool) or not isinstance(value, kinds) or not value > 0
            or not np.isfinite(value)):
        kind = "a positive int" if integer else "a positive number"
        raise ValueError(f"{name}: expected {kind}, got {value!r}")
    return int(value) if integer else float(value)
