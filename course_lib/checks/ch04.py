"""Public checks of lab 4 (backpropagation through time).

The lab's forward pass (given, not graded) is the Elman step
``h_t = tanh(x_t @ U.T + h_prev @ W.T + b_h)``; its caches have a fixed layout so that the
checks can build them without the student's forward code:

* a **step cache** is the tuple ``(x_t, h_prev, U, W, b_h, h_t)``;
* the cache of a whole sequence is the **list of its T step caches**, in time order.

Every expected value comes from torch autograd in float64 (the references below recompute the
forward pass with torch and differentiate it) or from central differences
(:mod:`course_lib.gradcheck`). The wrong answers that the hints recognise are built with torch
as well (a detached state, a missing tanh), so this module holds no NumPy backward pass.
Hidden tests call the same checks with other seeds, which also draw other shapes.
"""

from __future__ import annotations

import numpy as np

from course_lib import gradcheck
from course_lib.checks.core import CheckFailed, compare, public_check

GRAD_NAMES = ("dx", "dh_prev", "dU", "dW", "db_h")


# --- references (torch) -----------------------------------------------------------------------

def _t(a, grad: bool = False):
    import torch

    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def reference_rnn_forward(x, h0, U, W, b_h):
    """Forward pass of the tanh RNN computed with torch (float64).

    Args:
        x: inputs (N, T, D); h0: initial state (N, H); U: (H, D); W: (H, H); b_h: (H,).

    Returns:
        ``(h, cache)``: the states h (N, T, H) and the list of T step caches
        ``(x_t, h_prev, U, W, b_h, h_t)``.
    """
    import torch

    x = np.asarray(x, dtype=np.float64)
    h0 = np.asarray(h0, dtype=np.float64)
    U, W, b_h = (np.asarray(a, dtype=np.float64) for a in (U, W, b_h))
    with torch.no_grad():
        xt, Ut, Wt, bt = _t(x), _t(U), _t(W), _t(b_h)
        states, prev = [], _t(h0)
        for t in range(x.shape[1]):
            prev = torch.tanh(xt[:, t] @ Ut.T + prev @ Wt.T + bt)
            states.append(prev)
        h = torch.stack(states, dim=1).numpy()
    cache = [(x[:, t].copy(), (h0 if t == 0 else h[:, t - 1]).copy(), U, W, b_h, h[:, t].copy())
             for t in range(x.shape[1])]
    return h, cache


def _unpack_step(cache):
    if not isinstance(cache, tuple | list) or len(cache) != 6:
        raise ValueError("cache: expected the step cache (x_t, h_prev, U, W, b_h, h_t)")
    return [np.asarray(a, dtype=np.float64) for a in cache]


def reference_rnn_step_backward(dh_t, cache):
    """Gradients of ``sum(h_t * dh_t)`` for one step, by torch autograd.

    Args:
        dh_t: upstream gradient (N, H); cache: ``(x_t, h_prev, U, W, b_h, h_t)``.

    Returns:
        ``(dx_t (N, D), dh_prev (N, H), dU (H, D), dW (H, H), db_h (H,))``.
    """
    import torch

    x_t, h_prev, U, W, b_h, _ = _unpack_step(cache)
    leaves = [_t(a, grad=True) for a in (x_t, h_prev, U, W, b_h)]
    xt, hp, Ut, Wt, bt = leaves
    out = torch.tanh(xt @ Ut.T + hp @ Wt.T + bt)
    out.backward(_t(dh_t))
    return tuple(v.grad.numpy().copy() for v in leaves)


def _sequence_parts(cache):
    if not isinstance(cache, list) or not cache:
        raise ValueError("cache: expected the non-empty list of step caches of rnn_forward")
    steps = [_unpack_step(c) for c in cache]
    x = np.stack([s[0] for s in steps], axis=1)
    _, h0, U, W, b_h, _ = steps[0]
    return x, h0, U, W, b_h


def _torch_sequence_grads(dh, x, h0, U, W, b_h, detach_state: bool = False,
                          first_step_params_only: bool = False):
    """Autograd of ``sum(h * dh)``. ``detach_state`` cuts the path through h_prev at every
    step (the gradient with the recurrent term forgotten); ``first_step_params_only`` lets
    U, W, b_h receive gradient from step 1 only (a gradient that is overwritten, not summed,
    while the loop runs backwards)."""
    import torch

    leaves = [_t(a, grad=True) for a in (x, h0, U, W, b_h)]
    xt, h0t, Ut, Wt, bt = leaves
    prev, states = h0t, []
    for t in range(x.shape[1]):
        if first_step_params_only and t > 0:
            Ut_, Wt_, bt_ = Ut.detach(), Wt.detach(), bt.detach()
        else:
            Ut_, Wt_, bt_ = Ut, Wt, bt
        prev_in = prev.detach() if (detach_state and t > 0) else prev
        prev = torch.tanh(xt[:, t] @ Ut_.T + prev_in @ Wt_.T + bt_)
        states.append(prev)
    torch.stack(states, dim=1).backward(_t(dh))
    return tuple(v.grad.numpy().copy() for v in leaves)


def reference_rnn_backward(dh, cache):
    """Gradients of ``sum(h * dh)`` for a whole sequence, by autograd through ``torch.nn.RNN``
    (float64) with the weights copied in.

    Args:
        dh: gradient of the loss with respect to every state, as delivered by the output layer
            (N, T, H); cache: the list of step caches of the forward pass.

    Returns:
        ``(dx (N, T, D), dh0 (N, H), dU (H, D), dW (H, H), db_h (H,))``.
    """
    import torch

    x, h0, U, W, b_h = _sequence_parts(cache)
    N, T, D = x.shape
    H = W.shape[0]
    rnn = torch.nn.RNN(D, H, batch_first=True, dtype=torch.float64)  # torch's fused tanh RNN
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(_t(U))
        rnn.weight_hh_l0.copy_(_t(W))
        rnn.bias_ih_l0.copy_(_t(b_h))
        rnn.bias_hh_l0.zero_()
    xt, h0t = _t(x, grad=True), _t(h0, grad=True)
    rnn(xt, h0t[None])[0].backward(_t(dh))
    return (xt.grad.numpy().copy(), h0t.grad.numpy().copy(), rnn.weight_ih_l0.grad.numpy().copy(),
            rnn.weight_hh_l0.grad.numpy().copy(), rnn.bias_ih_l0.grad.numpy().copy())


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
    import torch

    rng = np.random.default_rng(seed)
    N, D, H = _sizes(rng)
    x_t, h_prev = rng.normal(size=(N, D)), np.tanh(rng.normal(size=(N, H)))
    U, W, b_h = _params(D, H, rng)
    h, cache = reference_rnn_forward(x_t[:, None], h_prev, U, W, b_h)
    cache = cache[0]
    dh = rng.normal(size=(N, H))
    frozen = [np.copy(a) for a in (dh, *cache)]
    grads = _tuple_of(fn(dh, cache), 5, GRAD_NAMES)
    if not all(np.array_equal(a, b) for a, b in zip(frozen, (dh, *cache), strict=True)):
        raise CheckFailed("your function changed dh_t or the cache in place; compute new arrays "
                          "(e.g. da = dh_t * ..., not dh_t *= ...)")
    expected = reference_rnn_step_backward(dh, cache)
    # wrong answers, from torch: the gradient at the pre-activation, and the tanh left out
    a = _t(x_t @ U.T + h_prev @ W.T + b_h, grad=True)
    torch.tanh(a).backward(_t(dh))
    da = a.grad.numpy()
    no_tanh = _torch_linear_step_grads(dh, x_t, h_prev, U, W, b_h)
    h_t = h[:, 0]
    alternatives = {
        "dx": {"the tanh derivative (1 - h_t**2) is left out": no_tanh[0]},
        "dh_prev": {"W is transposed (use da @ W, because h_prev enters as h_prev @ W.T)":
                    da @ W.T,
                    "the tanh derivative (1 - h_t**2) is left out": no_tanh[1],
                    "the tanh derivative is taken at h_prev instead of h_t":
                    (dh * (1 - h_prev ** 2)) @ W},
        "dU": {"the tanh derivative (1 - h_t**2) is left out": no_tanh[2]},
        "dW": {"the product is transposed (use da.T @ h_prev)": h_prev.T @ da,
               "the tanh derivative (1 - h_t**2) is left out": no_tanh[3],
               "h_t is used where h_prev belongs": da.T @ h_t},
        "db_h": {"the tanh derivative (1 - h_t**2) is left out": no_tanh[4]},
    }
    for name, got, want in zip(GRAD_NAMES, grads, expected, strict=True):
        if name == "db_h":
            _check_bias_shape(got, N)
        compare(f"{name} (N={N}, D={D}, H={H})", got, want, atol=1e-10, rtol=1e-8,
                alternatives=alternatives[name])


def _torch_linear_step_grads(dh, x_t, h_prev, U, W, b_h):
    """Gradients of one step without the tanh (a typical mistake), by torch."""
    leaves = [_t(a, grad=True) for a in (x_t, h_prev, U, W, b_h)]
    xt, hp, Ut, Wt, bt = leaves
    (xt @ Ut.T + hp @ Wt.T + bt).backward(_t(dh))
    return tuple(v.grad.numpy().copy() for v in leaves)


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
    no_carry = _torch_sequence_grads(dh, x, h0, U, W, b_h, detach_state=True)
    overwritten = _torch_sequence_grads(dh, x, h0, U, W, b_h, first_step_params_only=True)
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
    restored."""
    import torch

    rng = np.random.default_rng(seed)
    f_torch = _smooth_loss(rng)
    x = rng.normal(size=(3, 4))
    xt = _t(x, grad=True)
    f_torch(xt).backward()
    exact = xt.grad.numpy().copy()

    def f():
        with torch.no_grad():
            return float(f_torch(torch.tensor(x_work)))

    n_checks = int(rng.integers(5, 11))
    cases = (("the exact gradient", exact, None),
             ("the exact gradient times 1.1", 1.1 * exact, 0.1 / 2.1),
             ("the exact gradient with its sign flipped", -exact, 1.0))
    for what, analytic, want in cases:
        x_work = x.copy()
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


def reference_grad_check_sparse(f, x, analytic, n_checks, rng, eps=1e-5):
    """Relative errors ``|a - n| / max(|a| + |n|, 1e-12)`` at ``n_checks`` entries of ``x``
    drawn with ``rng``, the numerical derivatives ``n`` taken from
    :func:`course_lib.gradcheck.numerical_gradient` (which differentiates every entry: slower,
    but the course's tested implementation). Returns an array (n_checks,)."""
    x = np.asarray(x)
    numeric = gradcheck.numerical_gradient(f, x, eps)
    flat = rng.integers(0, x.size, size=n_checks)
    a, n = np.asarray(analytic).ravel()[flat], numeric.ravel()[flat]
    return np.abs(a - n) / np.maximum(np.abs(a) + np.abs(n), 1e-12)
