"""Numerical gradients and relative errors: the one gradient-check module of the course.

Every from-scratch backward pass in the course is checked twice: against torch autograd in
float64 and against the central differences computed here.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from course_lib import validate


def numerical_gradient(f: Callable[[], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of the scalar ``f()`` with respect to the array ``x``.

    ``x`` is perturbed in place, one element at a time, and restored; ``f`` takes no arguments
    and reads ``x`` (usually through a closure), so any function of several arrays can be
    checked one array at a time. The error is O(eps^2) for smooth ``f``.

    Args:
        f: callable returning a scalar.
        x: float64 array of any shape (modified temporarily, restored on return).
        eps: step size.

    Returns:
        Array of the same shape as ``x``: df/dx.
    """
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        raise ValueError(
            f"x: expected a float64 numpy array (perturbed in place), got "
            f"{type(x).__name__}{'' if not isinstance(x, np.ndarray) else ' of ' + str(x.dtype)}"
        )
    validate.positive("eps", eps)
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        try:
            x[i] = old + eps
            fp = float(f())
            x[i] = old - eps
            fm = float(f())
        finally:  # restore x even when f raises
            x[i] = old
        grad[i] = (fp - fm) / (2 * eps)
    return grad


def numerical_gradient_array(
    f: Callable[[], np.ndarray], x: np.ndarray, dout: np.ndarray, eps: float = 1e-6
) -> np.ndarray:
    """Numerical gradient of ``sum(f() * dout)`` w.r.t. ``x``: checks a layer's backward pass
    given the upstream gradient ``dout`` (same shape as ``f()``)."""
    dout = np.asarray(dout, dtype=np.float64)

    def scalar() -> float:
        out = np.asarray(f(), dtype=np.float64)
        if out.shape != dout.shape:
            raise ValueError(f"dout: expected shape {out.shape} (the output's), got {dout.shape}")
        return float(np.sum(out * dout))

    return numerical_gradient(scalar, x, eps)


def rel_error(a, b) -> float:
    """Largest elementwise relative error ``|a - b| / max(|a| + |b|, 1e-12)``.

    Around 1e-7 or below is a match for central differences in float64; 1e-10 and below for two
    exact float64 computations of the same quantity.
    """
    a = validate.array("a", a, allow_empty=True)
    b = validate.array("b", b, allow_empty=True)
    if a.shape != b.shape:
        raise ValueError(f"b: expected shape {a.shape} (the shape of a), got {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), 1e-12)))
