"""Public checks of lab 4 (backpropagation through time).

The lab's forward pass (given, not graded) is the Elman step
``h_t = tanh(x_t @ U.T + h_prev @ W.T + b_h)``; its caches have a fixed layout so that the
checks can build them without the student's forward code:

* a **step cache** is the tuple ``(x_t, h_prev, U, W, b_h, h_t)``;
* the cache of a whole sequence is the **list of its T step caches**, in time order.

Every expected value comes from torch autograd in float64 (the references of :mod:`course_lib.references.ch04` recompute the
forward pass with torch and differentiate it) or from central differences
(:mod:`course_lib.gradcheck`). The wrong answers that the hints recognise are built with torch
as well (a detached state, a missing tanh), so this module holds no NumPy backward pass.
Hidden tests call the same checks with other seeds, which also draw other shapes, and with cases
the public example does not show: saturated pre-activations (``check_rnn_step_backward(...,
scale=100.0)``), large upstream gradients (``check_rnn_backward(..., dh_scale=100.0)``), arrays of
other dimensions and functions that do not depend on some entries
(``check_grad_check_sparse(..., shape=..., zero_entries=True)``), a sequence that does not start
from zero (``check_literal_dW(..., nonzero_h0=True)``) and a recurrent matrix that is not
symmetric (``check_truncation_bias(..., symmetric=False)``).
"""

from __future__ import annotations

import numpy as np

from course_lib import gradcheck
from course_lib.checks.bridge import numpy64, t64
from course_lib.checks.core import CheckFailed, compare, public_check
from course_lib.references.ch04 import (
    reference_literal_dW,
    reference_rnn_backward,
    reference_rnn_forward,
    reference_rnn_step_backward,
    torch_sequence_grads,
    torch_step_slip_grads,
)

GRAD_NAMES = ("dx", "dh_prev", "dU", "dW", "db_h")


# --- helpers for the checks -------------------------------------------------------------------

def _sizes(rng):
    """N, D, H with D != H (a transposed U then shows up as a wrong shape)."""
    N = int(rng.integers(2, 5))
    H = int(rng.integers(3, 6))
    D = H + int(rng.integers(1, 3))
    return N, D, H


def _params(D, H, rng, scale=0.5):
    return rng.normal(0, scale, (H, D)), rng.normal(0, scale, (H, H)), rng.normal(0, scale, H)


def _tuple_of(out, n: int, names) -> list:
    if not isinstance(out, tuple | list) or len(out) != n:
        got = f"a {type(out).__name__} of length {len(out)}" if isinstance(out, tuple | list) \
            else type(out).__name__
        raise CheckFailed(f"return a tuple ({', '.join(names)}), got {got}")
    return list(out)


def _check_bias_shape(grad, N):
    g = np.asarray(grad)
    if g.ndim == 2 and g.shape[0] == N:
        raise CheckFailed(f"db_h has shape {g.shape}: sum the per-example gradients over the "
                          "batch axis (axis 0)")


# --- checks -----------------------------------------------------------------------------------

@public_check("rnn_step_backward")
def check_rnn_step_backward(fn, seed: int = 0, scale: float = 0.5):
    """``rnn_step_backward(dh_t, cache) -> (dx_t, dh_prev, dU, dW, db_h)`` against torch.
    ``scale`` is the size of the weights: at 100 most pre-activations are in the hundreds, where
    tanh is +-1 and its slope 0 (a slope written with ``np.exp`` overflows there)."""
    rng = np.random.default_rng(seed)
    N, D, H = _sizes(rng)
    x_t, h_prev = rng.normal(size=(N, D)), np.tanh(rng.normal(size=(N, H)))
    U, W, b_h = _params(D, H, rng, scale)
    _, cache = reference_rnn_forward(x_t[:, None], h_prev, U, W, b_h)
    cache = cache[0]
    dh = rng.normal(size=(N, H))
    frozen = [np.copy(a) for a in (dh, *cache)]
    grads = _tuple_of(fn(dh, cache), 5, GRAD_NAMES)
    if not all(np.array_equal(a, b) for a, b in zip(frozen, (dh, *cache), strict=True)):
        raise CheckFailed("your function changed dh_t or the cache in place; compute new arrays "
                          "(e.g. da = dh_t * ..., not dh_t *= ...)")
    expected = reference_rnn_step_backward(dh, cache)
    finite = all(np.isfinite(np.asarray(g, dtype=np.float64)).all() for g in grads
                 if g is not None and np.asarray(g).dtype.kind in "fiu")
    if not finite and all(np.isfinite(e).all() for e in expected):
        raise CheckFailed(f"your gradients contain NaN or infinity (N={N}, D={D}, H={H}, "
                          "pre-activations in the hundreds, where tanh is +-1): write tanh' "
                          "from h_t, which the cache holds, not from np.exp of the "
                          "pre-activation (e**710 overflows)")
    # wrong answers, from torch autograd through a step with the slip built in

    def slip(name):
        return torch_step_slip_grads(dh, x_t, h_prev, U, W, b_h, name)

    no_tanh = slip("no_tanh")
    alternatives = {
        "dx": {"the tanh derivative (1 - h_t**2) is left out": no_tanh[0]},
        "dh_prev": {"W is transposed (use da @ W, because h_prev enters as h_prev @ W.T)":
                    slip("W_T")[1],
                    "the tanh derivative (1 - h_t**2) is left out": no_tanh[1],
                    "the tanh derivative is taken at h_prev instead of h_t":
                    slip("slope_at_h_prev")[1]},
        "dU": {"the tanh derivative (1 - h_t**2) is left out": no_tanh[2]},
        "dW": {"the product is transposed (use da.T @ h_prev)": expected[3].T,
               "the tanh derivative (1 - h_t**2) is left out": no_tanh[3],
               "h_t is used where h_prev belongs": slip("h_t_for_h_prev")[3]},
        "db_h": {"the tanh derivative (1 - h_t**2) is left out": no_tanh[4]},
    }
    for name, got, want in zip(GRAD_NAMES, grads, expected, strict=True):
        if name == "db_h":
            _check_bias_shape(got, N)
        compare(f"{name} (N={N}, D={D}, H={H})", got, want, atol=1e-10, rtol=1e-8,
                alternatives=alternatives[name])


@public_check("rnn_backward")
def check_rnn_backward(fn, seed: int = 0, dh_scale: float = 1.0):
    """``rnn_backward(dh, cache) -> (dx, dh0, dU, dW, db_h)`` against torch autograd and
    against central differences. ``dh_scale`` is the size of the upstream gradients (at 100 the
    parameter gradients are in the hundreds: a backward pass must return them as they are,
    clipping belongs to the training step)."""
    rng = np.random.default_rng(seed)
    N, D, H = _sizes(rng)
    T = int(rng.integers(3, 7))
    x, h0 = rng.normal(size=(N, T, D)), np.tanh(rng.normal(size=(N, H)))
    U, W, b_h = _params(D, H, rng)
    _, cache = reference_rnn_forward(x, h0, U, W, b_h)
    dh = dh_scale * rng.normal(size=(N, T, H))
    dh_in = dh.copy()
    names = ("dx", "dh0", "dU", "dW", "db_h")
    grads = _tuple_of(fn(dh_in, cache), 5, names)
    if not np.array_equal(dh_in, dh):
        raise CheckFailed("your function changed dh in place; add the carried gradient into a "
                          "new array (e.g. dh_t = dh[:, t] + dh_next)")
    expected = reference_rnn_backward(dh, cache)
    no_carry = torch_sequence_grads(dh, x, h0, U, W, b_h, detach_state=True)
    overwritten = torch_sequence_grads(dh, x, h0, U, W, b_h, first_step_params_only=True)
    carry_hint = ("the gradient carried back from later steps (dh_prev of step t+1) is not "
                  "added to dh[:, t]")
    overwrite_hint = ("the gradients of step 1 overwrite those of the other steps (sum them "
                      "over time with +=)")
    clip_hint = ("the gradients are clipped to [-5, 5]: a backward pass returns them as they "
                 "are (clipping, if training needs it, belongs to the update)")
    alternatives = {
        "dx": {carry_hint: no_carry[0]},
        "dh0": {carry_hint: no_carry[1],
                "dh0 is taken from dh[:, 0] (the state h0 comes before step 1; return the "
                "dh_prev of step 1)": dh[:, 0]},
        "dU": {carry_hint: no_carry[2], overwrite_hint: overwritten[2],
               clip_hint: np.clip(expected[2], -5, 5)},
        "dW": {carry_hint: no_carry[3], overwrite_hint: overwritten[3],
               clip_hint: np.clip(expected[3], -5, 5)},
        "db_h": {carry_hint: no_carry[4], overwrite_hint: overwritten[4],
                 clip_hint: np.clip(expected[4], -5, 5)},
    }
    for name, got, want in zip(names, grads, expected, strict=True):
        if name == "db_h":
            _check_bias_shape(got, N)
        compare(f"{name} (N={N}, T={T}, D={D}, H={H})", got, want, atol=1e-10, rtol=1e-8,
                alternatives=alternatives[name])
    # an independent confirmation: central differences of sum(h * dh) through the torch forward
    for name, arr, got in (("dW", W, grads[3]), ("dx", x, grads[0])):
        arr = arr.copy()

        def states(arr=arr, name=name):
            args = {"x": x, "W": W, name[1:]: arr}
            return reference_rnn_forward(args["x"], h0, U, args["W"], b_h)[0]

        numeric = gradcheck.numerical_gradient_array(states, arr, dh, eps=1e-6)
        compare(f"{name} against central differences", got, numeric, atol=1e-6 * dh_scale,
                rtol=1e-5)


def _smooth_loss(rng, shape=(3, 4)):
    """A smooth scalar function of an array x of ``shape`` (its exact gradient comes from torch
    autograd)."""
    import torch

    A = rng.normal(size=shape)
    B = rng.normal(size=(shape[-1], shape[-1]))

    def f_torch(x):
        return (torch.sin(x) * torch.tensor(A)).sum() + 0.5 * torch.tanh(x @ torch.tensor(B)).pow(
            2).sum() + (x ** 3).sum() / 6

    return f_torch


@public_check("grad_check_sparse")
def check_grad_check_sparse(fn, seed: int = 0, shape: tuple = (3, 4),
                            zero_entries: bool = False):
    """``grad_check_sparse(f, x, analytic, n_checks, rng, eps) -> errors (n_checks,)``.

    Tried on a smooth function whose exact gradient comes from torch: with the exact gradient
    every error must be tiny (below 1e-7: central differences with eps = 1e-5); with the
    gradient scaled by 1.1 every error is exactly 0.1 / 2.1 by the formula
    ``|a - n| / max(|a| + |n|, 1e-12)``; with the sign flipped every error is 1. ``x`` must be
    restored, and ``f`` evaluated twice per checked entry, ``2 * n_checks`` times in all: a
    sparse check, not a full numerical gradient (such as :mod:`course_lib.gradcheck`'s, which
    evaluates ``f`` twice at every entry of ``x``). ``shape`` is the shape of ``x`` (any number
    of axes); with ``zero_entries`` the function reads only two entries of ``x``, so at every
    other entry both derivatives are exactly 0 and the error must be 0 (the guard
    ``max(..., 1e-12)`` is what keeps it from being 0 / 0); only the exact gradient is tried
    then."""
    import torch

    shape = tuple(int(n) for n in shape)
    if not shape or min(shape) < 1:
        raise ValueError(f"shape: expected a non-empty shape of positive sizes, got {shape}")
    rng = np.random.default_rng(seed)
    f_smooth = _smooth_loss(rng, shape)
    x = rng.normal(size=shape)
    if zero_entries:
        read = np.zeros(shape)
        read.flat[rng.choice(read.size, size=2, replace=False)] = 1.0
        read_t = torch.tensor(read)

        def f_torch(x):
            return f_smooth(x * read_t)  # the other entries are multiplied by an exact 0
    else:
        f_torch = f_smooth
    xt = t64(x, grad=True)
    f_torch(xt).backward()
    exact = numpy64(xt.grad)

    calls = [0]

    def f():
        calls[0] += 1
        with torch.no_grad():
            return float(f_torch(torch.tensor(x_work)))

    n_checks = int(rng.integers(5, 11))
    cases = (("the exact gradient", exact, None),
             ("the exact gradient times 1.1", 1.1 * exact, 0.1 / 2.1),
             ("the exact gradient with its sign flipped", -exact, 1.0))
    if zero_entries:
        cases = (("the exact gradient of a function that reads two entries of x", exact, None),)
    for what, analytic, want in cases:
        x_work = x.copy()
        calls[0] = 0
        errors = fn(f, x_work, analytic.copy(), n_checks, np.random.default_rng(seed + 1), 1e-5)
        if errors is None:
            raise CheckFailed("your function returned None (a missing `return`?)")
        errors = np.asarray(errors, dtype=np.float64).ravel()
        if errors.shape != (n_checks,):
            raise CheckFailed(f"with n_checks={n_checks}, return {n_checks} relative errors, "
                              f"got {errors.size}")
        if not np.allclose(x_work, x, rtol=0, atol=1e-12):
            raise CheckFailed("x is not restored after the check: put every perturbed entry "
                              "back to its old value")
        if want is None:
            if np.isnan(errors).any():
                raise CheckFailed(f"for {what} some relative errors are nan: where both "
                                  "derivatives are 0 the error is 0 / 0 unless the denominator "
                                  "is guarded, max(|a| + |n|, 1e-12)")
            if not np.all(errors < 1e-7):
                hint = ""
                if np.all(errors < 1e-2):
                    hint = (" Hint: errors between about 1e-7 and 1e-3 are typical of the "
                            "one-sided difference (f(x+eps) - f(x))/eps; use the central "
                            "difference.")
                raise CheckFailed(f"for {what} the largest relative error is "
                                  f"{errors.max():.1e}; it should be below 1e-7.{hint}")
        elif not np.allclose(errors, want, rtol=0, atol=1e-6):
            raise CheckFailed(f"for {what} every relative error should be {want:.6f}, got "
                              f"values between {errors.min():.6f} and {errors.max():.6f}. "
                              "Hint: use |a - n| / max(|a| + |n|, 1e-12), a the analytic and "
                              "n the numerical derivative")
        if calls[0] != 2 * n_checks:
            full = (" (that is a full numerical gradient: x has "
                    f"{x.size} entries)") if calls[0] >= 2 * x.size else ""
            raise CheckFailed(f"with n_checks={n_checks}, f was called {calls[0]} times{full}; a "
                              f"sparse check calls it twice per checked entry, {2 * n_checks} "
                              "times: f(x + eps e_i) and f(x - eps e_i)")




# --- the literal formula and the bias of truncation -------------------------------------------

def _one_sequence_case(rng, nonzero_h0: bool, symmetric: bool = False, T=None):
    """dh (T, H), x (T, D), h0 (H,), U, W, b_h of one sequence, D != H; ``symmetric`` makes W
    symmetric (its spectral radius is then its spectral norm)."""
    H = int(rng.integers(3, 6))
    D = H + int(rng.integers(1, 3))
    T = int(rng.integers(4, 8)) if T is None else T
    U, W, b_h = _params(D, H, rng, scale=0.6)
    if symmetric:
        W = (W + W.T) / np.sqrt(2)
    x = rng.normal(size=(T, D))
    h0 = np.tanh(rng.normal(size=H)) if nonzero_h0 else np.zeros(H)
    dh = rng.normal(size=(T, H))
    return dh, x, h0, U, W, b_h


SEQUENCE_ARGS = ("dh", "x", "h0", "U", "W", "b_h")


def _call_frozen(fn, args, what: str, names=SEQUENCE_ARGS):
    """fn(*args) on copies: an argument changed in place is an error that names it."""
    copies = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    out = fn(*copies)
    for name, a, c in zip(names, args, copies, strict=True):
        if isinstance(a, np.ndarray) and not np.array_equal(a, c):
            raise CheckFailed(f"{what} changed {name} in place; compute new arrays")
    return out


@public_check("literal_dW")
def check_literal_dW(fn, seed: int = 0, nonzero_h0: bool = False):
    """``literal_dW(dh, x, h0, U, W, b_h, window=None) -> dW (H, H)`` of one sequence, for
    ``L = sum_t dh[t] . h^(t)``, against torch autograd (full, and with the state detached
    ``window`` steps before each loss). The public example starts from ``h0 = 0``;
    ``nonzero_h0`` starts from another state."""
    rng = np.random.default_rng(seed)
    dh, x, h0, U, W, b_h = _one_sequence_case(rng, nonzero_h0)
    T, H = dh.shape
    for window in (None, 2, 1, T + 2):
        got = _call_frozen(lambda *a, w=window: fn(*a, window=w), (dh, x, h0, U, W, b_h),
                           "literal_dW")
        want = reference_literal_dW(dh, x, h0, U, W, b_h, window)
        alternatives = {}
        if window is not None and window < T:
            alternatives["the window keeps one term too many per loss (keep t - k < k2)"] = \
                reference_literal_dW(dh, x, h0, U, W, b_h, window + 1)
            if window > 1:
                alternatives["the window keeps one term too few per loss (keep t - k < k2)"] = \
                    reference_literal_dW(dh, x, h0, U, W, b_h, window - 1)
        else:
            alternatives["only the terms k = t are kept (the products of Jacobians are "
                         "missing)"] = reference_literal_dW(dh, x, h0, U, W, b_h, 1)
        if nonzero_h0:
            alternatives["h0 is ignored (the forward pass starts from zeros)"] = \
                reference_literal_dW(dh, x, np.zeros_like(h0), U, W, b_h, window)
        alternatives["dW is transposed"] = want.T
        compare(f"dW (T={T}, D={x.shape[1]}, H={H}, window={window})", got, want, atol=1e-10,
                rtol=1e-8, alternatives=alternatives)


def _torch_dW(dh, x, h0, U, W, b_h, window=None):
    """The gradient handed to the student's truncation_bias: torch autograd (not their code)."""
    return reference_literal_dW(dh, x, h0, U, W, b_h, window)


@public_check("truncation_bias")
def check_truncation_bias(fn, seed: int = 0, symmetric: bool = True):
    """``truncation_bias(grad_fn, dh, x, h0, U, W, b_h, windows, radii) -> errors`` of shape
    (len(radii), len(windows)): the relative error ``||G_k - G|| / ||G||`` of the truncated
    gradient for every window k and every spectral radius rho of W (``rho W / max |eig W|``).
    ``grad_fn`` is given: torch autograd. The public example's W is symmetric (its spectral
    radius equals its spectral norm); ``symmetric=False`` tries a W for which they differ."""
    rng = np.random.default_rng(seed)
    dh, x, h0, U, W, b_h = _one_sequence_case(rng, nonzero_h0=True, symmetric=symmetric, T=10)
    if not symmetric:  # a non-normal W: its spectral norm is well above its spectral radius
        W = W + np.triu(rng.normal(0, 1.0, W.shape), 1)
    windows = [1, 2, 4, 7]
    radii = [0.5, 1.0, 1.8]
    args = (_torch_dW, dh, x, h0, U, W, b_h, list(windows), list(radii))
    out = _call_frozen(fn, args, "truncation_bias",
                       ("grad_fn", *SEQUENCE_ARGS, "windows", "radii"))
    def norms(scale):  # ||G_k - G|| and ||G_k||, ||G|| for W rescaled by scale(rho)
        rows = []
        for rho in radii:
            W_rho = W * scale(rho)
            full = _torch_dW(dh, x, h0, U, W_rho, b_h)
            trunc = [_torch_dW(dh, x, h0, U, W_rho, b_h, k) for k in windows]
            rows.append([(np.linalg.norm(g - full), np.linalg.norm(g), np.linalg.norm(full))
                         for g in trunc])
        return np.array(rows)  # (radii, windows, 3)

    radius, sigma = max(abs(np.linalg.eigvals(W))), np.linalg.norm(W, 2)
    by_radius, by_norm = norms(lambda rho: rho / radius), norms(lambda rho: rho / sigma)
    diff = by_radius[..., 0]
    want = diff / by_radius[..., 2]  # the definition, on torch's gradients
    alternatives = {
        "W is scaled by its spectral norm (largest singular value) instead of its spectral "
        "radius (largest |eigenvalue|, np.linalg.eigvals)": by_norm[..., 0] / by_norm[..., 2],
        "the error is divided by the truncated gradient's norm instead of the full one's":
            diff / by_radius[..., 1],
        "the error is not relative (divide by the full gradient's norm)": diff,
        "rows and columns are swapped (one row per radius, one column per window)": want.T,
    }
    compare(f"relative errors for windows {windows} and spectral radii {radii}", out, want,
            atol=1e-10, rtol=1e-7, alternatives=alternatives)
