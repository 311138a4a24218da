"""Public checks of lab 6 (vanishing and exploding gradients).

Expected values come from torch: autograd in float64 for the Jacobian product and for the
gradient norms, ``torch.nn.utils.clip_grad_norm_`` for gradient-norm clipping and
``torch.nn.init.orthogonal_`` (given the same Gaussian draw) for orthogonal initialisation.
The spectrum checks (orthogonality, singular values, eigenvalue moduli) are maths. The wrong
values the hints recognise come from torch too: autograd through an RNN whose values are right
and whose gradient carries the slip (:func:`~course_lib.references.ch06.torch_slipped_jacobian`),
so this module holds no NumPy forward or backward pass. Hidden tests call the same checks with
other seeds and with a keyword for a case of another kind (default: off, as the public call):
``per_unit`` (a leak rate per unit), ``at_rest`` (ReLU pre-activations exactly at 0),
``at_threshold`` (a total norm exactly equal to ``max_norm``) and ``non_square`` (matrices with
more rows or more columns).

The recurrent network is the course's Elman network, batch-first in code, one sequence here:
``x (T, D)`` with ``x[t - 1]`` the input at step t, ``h0 (H,)``, ``U (H, D)``, ``W (H, H)``,
``b_h (H,)`` and ``h(t) = g(U x(t) + W h(t-1) + b_h)``; exercise 1 adds a leak rate ``alpha``,
``h(t) = (1 - alpha) h(t-1) + alpha tanh(U x(t) + W h(t-1) + b_h)``.
"""

from __future__ import annotations

import numpy as np

from course_lib.checks.core import CheckFailed, compare, public_check
from course_lib.references.ch06 import (
    ACTIVATIONS,
    reference_clip_grad_norm,
    reference_gradient_norms,
    reference_jacobian_product,
    reference_orthogonal_init,
    torch_orthogonal_draw,
    torch_qr,
    torch_slipped_gradient_norms,
    torch_slipped_jacobian,
)

# --- parameters and inputs of the checks ----------------------------------------------

def make_rnn_params(D: int, H: int, rng: np.random.Generator, scale: float = 1.0):
    """Random float64 parameters ``U (H, D)``, ``W (H, H)``, ``b_h (H,)``; W has entries of
    standard deviation ``scale / sqrt(H)`` (spectral radius close to ``scale`` for large H)."""
    return {
        "U": rng.normal(0, 1 / np.sqrt(D), (H, D)),
        "W": rng.normal(0, scale / np.sqrt(H), (H, H)),
        "b_h": rng.normal(0, 0.1, H),
    }


# --- helpers for the checks ------------------------------------------------------------------

def _rnn_case(rng, scale=None):
    T = int(rng.integers(4, 9))
    D = int(rng.integers(2, 5))
    H = int(rng.integers(3, 7))
    if scale is None:
        scale = float(rng.uniform(0.6, 1.6))
    p = make_rnn_params(D, H, rng, scale)
    x = rng.normal(size=(T, D))
    h0 = rng.normal(0, 0.5, H)
    return T, D, H, x, h0, p


def _call_copy(fn, *arrays, **kwargs):
    """Call ``fn`` on copies; complain if it changed them."""
    copies = [np.array(a, copy=True) if isinstance(a, np.ndarray) else a for a in arrays]
    out = fn(*copies, **kwargs)
    for a, c in zip(arrays, copies, strict=True):
        if isinstance(a, np.ndarray) and not np.array_equal(a, c):
            raise CheckFailed("your function changed one of its input arrays in place; work on "
                              "new arrays")
    return out


# --- checks ----------------------------------------------------------------------------------

@public_check("jacobian_product")
def check_jacobian_product(fn, seed: int = 0, per_unit: bool = False):
    """``jacobian_product(x, h0, U, W, b_h, k, alpha) -> dh(T)/dh(k) (H, H)`` of the leaky tanh
    RNN against torch autograd, for k = T, T - 1, 0 and one k in between, with alpha = 1 (the
    Elman network) and one leak rate below 1; ``per_unit=True``: a different rate for every
    unit (an array of H rates) instead."""
    rng = np.random.default_rng(seed)
    T, D, H, x, h0, p = _rnn_case(rng)
    U, W, b_h = p["U"], p["W"], p["b_h"]
    ks = (T, T - 1, 0, int(rng.integers(1, T - 1)))
    rates = [1.0, float(np.round(rng.uniform(0.1, 0.9), 2))]
    if per_unit:
        rates = [np.round(rng.uniform(0.05, 1.0, H), 2) for _ in range(2)]
    for alpha in rates:
        for k in ks:
            _check_jacobian_case(fn, x, h0, U, W, b_h, k, alpha)


_JACOBIAN_HINTS = {
    "order": "the factors are multiplied in the wrong order (the latest step must stand on the "
             "left)",
    "W_T": "W is transposed (one step's Jacobian is diag(1 - h(i)**2) @ W)",
    "swapped": "W and the diagonal factor are swapped (W @ diag(...) instead of diag(...) @ W)",
    "prev_state": "the derivative uses the previous state h(i-1) instead of h(i)",
    "pre_activation": "the derivative of tanh is evaluated on the pre-activation (1 - a**2 "
                      "instead of 1 - tanh(a)**2)",
    "no_derivative": "the derivative of tanh is left out (that is the linear RNN's W^(T-k))",
}


_LEAKY_HINTS = {
    "leaky_state_slope": "tanh's slope is taken at the leaky state h(i); it belongs to the value "
                         "of tanh itself, tanh(a(i)), which is no longer h(i) when alpha < 1",
    "no_identity": "the path through (1 - alpha) h(i-1), which bypasses tanh, is missing from "
                   "one step's Jacobian",
    "no_rate": "the leak rate alpha is missing in front of the tanh path",
    "rate_per_column": "the leak rates scale the columns of W; unit i's rate belongs to row i "
                       "(unit i's update)",
}


def _check_jacobian_case(fn, x, h0, U, W, b_h, k, alpha=1.0):
    T, H = len(x), len(h0)
    expected = reference_jacobian_product(x, h0, U, W, b_h, k, alpha)
    got = _call_copy(fn, x, h0, U, W, b_h, k, alpha=alpha)
    alternatives = {}
    if k < T:
        slips = _JACOBIAN_HINTS if np.all(np.asarray(alpha) == 1) else _LEAKY_HINTS
        alternatives = {hint: torch_slipped_jacobian(x, h0, U, W, b_h, k, slip, alpha)
                        for slip, hint in slips.items()}
        alternatives["the product has one factor too many or too few (it has T - k factors, "
                     "for steps k+1 .. T)"] = reference_jacobian_product(x, h0, U, W, b_h, k + 1,
                                                                         alpha)
    rate = f"alpha={alpha:g}" if np.ndim(alpha) == 0 else "one alpha per unit"
    compare(f"dh(T)/dh(k) for T={T}, k={k}, H={H}, {rate}", got, expected, atol=1e-10,
            rtol=1e-8, alternatives=alternatives)


@public_check("gradient_norms")
def check_gradient_norms(fn, seed: int = 0, at_rest: bool = False):
    """``gradient_norms(x, h0, U, W, b_h, g_T, activation) -> (T+1,)`` against torch autograd,
    for tanh, sigmoid and ReLU. ``at_rest=True``: each sequence starts at rest (h(0) = 0, zero
    bias, a first input of zeros), so every pre-activation of step 1 is exactly 0, where ReLU's
    slope is 0 (torch's, and the definition [a > 0])."""
    rng = np.random.default_rng(seed)
    for activation in ACTIVATIONS:
        for _ in range(100):
            T, D, H, x, h0, p = _rnn_case(rng, scale=float(rng.uniform(0.8, 2.5)))
            U, W, b_h = p["U"], p["W"], p["b_h"]
            g_T = rng.normal(size=H)
            if not at_rest:
                break
            h0, b_h = np.zeros(H), np.zeros(H)
            x[0] = 0.0
            # a case where the signal reaches step 1 (ReLU units can all be off later on)
            if reference_gradient_norms(x, h0, U, W, b_h, g_T, activation)[1] > 1e-3:
                break
        _check_norms_case(fn, x, h0, U, W, b_h, g_T, activation)


def _check_norms_case(fn, x, h0, U, W, b_h, g_T, activation):
    T, H = len(x), len(h0)
    expected = reference_gradient_norms(x, h0, U, W, b_h, g_T, activation)
    got = _call_copy(fn, x, h0, U, W, b_h, g_T, activation=activation)

    def norms(slip):
        return torch_slipped_gradient_norms(x, h0, U, W, b_h, g_T, activation, slip)

    alternatives = {
        "the list is in reverse order (norms[k] belongs to step k, so norms[T] = |g_T|)":
            expected[::-1],
        "W is not transposed in the backward step (use W.T @ (g * g'(a)))": norms("W_T"),
        "the activation's derivative is left out": norms("no_derivative"),
    }
    if activation != "relu":
        alternatives["the derivative uses the previous state h(i-1) instead of h(i)"] = \
            norms("prev_state")
    if activation == "tanh":
        alternatives["tanh's derivative is evaluated on the pre-activation (1 - a**2)"] = \
            norms("pre_activation")
    if activation == "sigmoid":
        alternatives["the sigmoid's derivative is applied to the output "
                     "(sigma(h) * (1 - sigma(h)) instead of h * (1 - h))"] = \
            norms("sigmoid_of_output")
    if activation == "relu":
        alternatives["ReLU's slope at a pre-activation of exactly 0 is taken as 1; it is 0 "
                     "([a > 0], as torch takes it)"] = norms("relu_at_zero")
    compare(f"norms with activation={activation!r}, T={T}, H={H}", got, expected,
            atol=1e-10, rtol=1e-8, alternatives=alternatives)


def _integer_norm_grads(rng):
    """Three gradient arrays of norms 3, 4 and 12 (total 13) with entries that are small
    integers times a power of two, so that every way of summing their squares is exact and the
    total norm is exactly 13 times that power."""
    scale = 2.0 ** int(rng.integers(-3, 2))
    pieces = ([1, 2, 2, 0], [2, 2, 2, 2], [4, 8, 8])  # norms 3, 4, 12
    shapes = [(2, 2), (4,), (3,)]
    grads = [scale * rng.permutation(v).astype(np.float64) * rng.choice([-1.0, 1.0], len(v))
             for v in pieces]
    return [g.reshape(s) for g, s in zip(grads, shapes, strict=True)], 13.0 * scale


@public_check("clip_grad_norm")
def check_clip_grad_norm(fn, seed: int = 0, at_threshold: bool = False):
    """``clip_grad_norm(grads, max_norm) -> (clipped list, total_norm)`` against
    ``torch.nn.utils.clip_grad_norm_`` on the same tensors. ``at_threshold=True``: gradients
    whose total norm is exactly ``max_norm`` (torch still multiplies by
    ``max_norm / (total_norm + 1e-6)``, a little below 1)."""
    rng = np.random.default_rng(seed)
    shapes = [(int(rng.integers(2, 5)), int(rng.integers(2, 5))), (int(rng.integers(2, 6)),),
              (int(rng.integers(2, 4)), int(rng.integers(2, 4)))]
    cases = []
    for scale, label in ((5.0, "a total norm above max_norm"), (0.05, "a total norm below "
                                                                      "max_norm")):
        cases.append(([rng.normal(0, scale, s) for s in shapes], 1.0 + rng.uniform(), label))
    cases.append(([rng.normal(0, 3.0, shapes[0])], 0.5, "a single gradient array"))
    cases.append(([np.zeros(s) for s in shapes], 1.0, "all-zero gradients"))
    if at_threshold:
        cases = [(*_integer_norm_grads(rng), "a total norm equal to max_norm")
                 for _ in range(2)]
    for grads, max_norm, label in cases:
        expected, expected_total = reference_clip_grad_norm(grads, max_norm)
        copies = [g.copy() for g in grads]
        out = fn(copies, max_norm)
        if not all(np.array_equal(a, b) for a, b in zip(grads, copies, strict=True)):
            raise CheckFailed(f"{label}: your function changed the input arrays in place; "
                              "return new arrays")
        if not isinstance(out, tuple) or len(out) != 2:
            raise CheckFailed(f"{label}: return a tuple (clipped list, total_norm)")
        clipped, total = out
        if not isinstance(clipped, list | tuple) or len(clipped) != len(grads):
            raise CheckFailed(f"{label}: return one clipped array per input array "
                              f"({len(grads)}), got {type(clipped).__name__}")
        norm = expected_total  # torch's norm of all arrays together, for the hints
        compare(f"{label}: total_norm", total, np.asarray(expected_total), atol=1e-12,
                rtol=1e-12, alternatives={
                    "you return the squared norm (take the square root)": np.asarray(norm ** 2),
                    "you return the norm after clipping (torch returns the norm before)":
                        np.asarray(min(norm, max_norm)),
                })
        for j, (c, e, g) in enumerate(zip(clipped, expected, grads, strict=True)):
            per_tensor = reference_clip_grad_norm([g], max_norm)[0][0]  # torch, one array
            at_threshold_hint = {} if norm != max_norm else {
                "at a total norm equal to max_norm the arrays are returned unscaled; torch "
                "multiplies by min(1, max_norm / (total_norm + 1e-6)) whatever the norm": g}
            compare(f"{label}: clipped grads[{j}]", c, e, atol=1e-14, rtol=1e-12, alternatives={
                **at_threshold_hint,
                "each array is clipped by its own norm (clip by the norm of all arrays together)":
                    per_tensor,
                "the scale is max_norm / total_norm without torch's + 1e-6 in the denominator":
                    g * min(1.0, max_norm / norm) if norm > 0 else g,
                "the gradients are rescaled to norm max_norm even when they are smaller (the "
                "factor is min(1, max_norm / (total_norm + 1e-6)))":
                    g * max_norm / (norm + 1e-6),
                "the values are clamped element-wise (that is clip_grad_value_)":
                    np.clip(g, -max_norm, max_norm),
            })


@public_check("orthogonal_init")
def check_orthogonal_init(fn, seed: int = 0, non_square: bool = False):
    """``orthogonal_init(A, gain) -> A.shape`` against ``torch.nn.init.orthogonal_`` given the
    same Gaussian draw ``A`` (H, H); then orthogonality and the spectrum. ``non_square=True``:
    A of shape (m, n) with more columns than rows and with more rows than columns; the result
    has orthonormal rows or columns, whichever are fewer."""
    rng = np.random.default_rng(seed)
    for gain in (1.0, float(np.round(rng.uniform(0.5, 2.0), 2))):
        H = int(rng.integers(3, 9))
        shapes = [(H, H)]
        if non_square:
            shapes = [(H, H + int(rng.integers(1, 5))), (H + int(rng.integers(1, 5)), H)]
        for shape in shapes:
            _check_orthogonal_case(fn, shape, int(rng.integers(0, 2**31)), gain)


def _check_orthogonal_case(fn, shape, seed, gain):
    rows, cols = shape
    A, expected = torch_orthogonal_draw(shape, seed, gain)
    got = _call_copy(fn, A, gain=gain)
    name = f"H={rows}" if rows == cols else f"A of shape {shape}"
    alternatives = {"the gain is left out": expected / gain}
    if rows == cols:
        q, r = torch_qr(A)  # the hints: torch's QR without the sign fix
        alternatives.update({
            "the signs are not fixed: multiply column j of Q by the sign of R[j, j], "
            "so that A = Q R with a positive diagonal in R": gain * q,
            "you return R instead of Q": gain * r,
            "the columns of A are only normalised, not orthogonalised":
                gain * A / np.linalg.norm(A, axis=0),
        })
    elif rows < cols:
        alternatives["the result is the transpose of what torch returns"] = \
            reference_orthogonal_init(A.T, gain)
    compare(f"orthogonal_init(A, gain={gain}) for {name}", got, expected, atol=1e-10,
            alternatives=alternatives)
    Q = np.asarray(got, dtype=np.float64)
    small = min(rows, cols)
    gram, what = (Q.T @ Q, "Q.T @ Q") if rows >= cols else (Q @ Q.T, "Q @ Q.T")
    compare(f"{what} for gain={gain}, {name} (must be gain**2 * I)", gram,
            gain ** 2 * np.eye(small), atol=1e-10)
    compare(f"singular values for gain={gain}, {name} (all equal to gain)",
            np.linalg.svd(Q, compute_uv=False), np.full(small, gain), atol=1e-10)
    if rows == cols:
        compare(f"eigenvalue moduli for gain={gain} (all equal to gain)",
                np.abs(np.linalg.eigvals(Q)), np.full(rows, gain), atol=1e-9)
