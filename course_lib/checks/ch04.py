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
Hidden tests call the same checks with other seeds, which also draw other shapes.
"""

from __future__ import annotations

import numpy as np

from course_lib import gradcheck
from course_lib.checks.bridge import numpy64, t64
from course_lib.checks.core import CheckFailed, compare, public_check
from course_lib.references.ch04 import (
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
def check_rnn_step_backward(fn, seed: int = 0):
    """``rnn_step_backward(dh_t, cache) -> (dx_t, dh_prev, dU, dW, db_h)`` against torch."""
    rng = np.random.default_rng(seed)
    N, D, H = _sizes(rng)
    x_t, h_prev = rng.normal(size=(N, D)), np.tanh(rng.normal(size=(N, H)))
    U, W, b_h = _params(D, H, rng)
    _, cache = reference_rnn_forward(x_t[:, None], h_prev, U, W, b_h)
    cache = cache[0]
    dh = rng.normal(size=(N, H))
    frozen = [np.copy(a) for a in (dh, *cache)]
    grads = _tuple_of(fn(dh, cache), 5, GRAD_NAMES)
    if not all(np.array_equal(a, b) for a, b in zip(frozen, (dh, *cache), strict=True)):
        raise CheckFailed("your function changed dh_t or the cache in place; compute new arrays "
                          "(e.g. da = dh_t * ..., not dh_t *= ...)")
    expected = reference_rnn_step_backward(dh, cache)
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
def check_rnn_backward(fn, seed: int = 0):
    """``rnn_backward(dh, cache) -> (dx, dh0, dU, dW, db_h)`` against torch autograd and
    against central differences."""
    rng = np.random.default_rng(seed)
    N, D, H = _sizes(rng)
    T = int(rng.integers(3, 7))
    x, h0 = rng.normal(size=(N, T, D)), np.tanh(rng.normal(size=(N, H)))
    U, W, b_h = _params(D, H, rng)
    _, cache = reference_rnn_forward(x, h0, U, W, b_h)
    dh = rng.normal(size=(N, T, H))
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
    alternatives = {
        "dx": {carry_hint: no_carry[0]},
        "dh0": {carry_hint: no_carry[1],
                "dh0 is taken from dh[:, 0] (the state h0 comes before step 1; return the "
                "dh_prev of step 1)": dh[:, 0]},
        "dU": {carry_hint: no_carry[2], overwrite_hint: overwritten[2]},
        "dW": {carry_hint: no_carry[3], overwrite_hint: overwritten[3]},
        "db_h": {carry_hint: no_carry[4], overwrite_hint: overwritten[4]},
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
        compare(f"{name} against central differences", got, numeric, atol=1e-6, rtol=1e-5)


def _smooth_loss(rng):
    """A smooth scalar function of an array x (3, 4) and its exact gradient from torch."""
    import torch

    A = rng.normal(size=(3, 4))
    B = rng.normal(size=(4, 4))

    def f_torch(x):
        return (torch.sin(x) * torch.tensor(A)).sum() + 0.5 * torch.tanh(x @ torch.tensor(B)).pow(
            2).sum() + (x ** 3).sum() / 6

    return f_torch


@public_check("grad_check_sparse")
def check_grad_check_sparse(fn, seed: int = 0):
    """``grad_check_sparse(f, x, analytic, n_checks, rng, eps) -> errors (n_checks,)``.

    Tried on a smooth function whose exact gradient comes from torch: with the exact gradient
    every error must be tiny (below 1e-7: central differences with eps = 1e-5); with the
    gradient scaled by 1.1 every error is exactly 0.1 / 2.1 by the formula
    ``|a - n| / max(|a| + |n|, 1e-12)``; with the sign flipped every error is 1. ``x`` must be
    restored, and ``f`` evaluated twice per checked entry, ``2 * n_checks`` times in all: a
    sparse check, not a full numerical gradient (such as :mod:`course_lib.gradcheck`'s, which
    evaluates ``f`` twice at every entry of ``x``)."""
    import torch

    rng = np.random.default_rng(seed)
    f_torch = _smooth_loss(rng)
    x = rng.normal(size=(3, 4))
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


