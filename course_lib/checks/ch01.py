"""Public checks of lab 1 (perceptrons and MLPs).

Expected values come from independent sources: scikit-learn's ``Perceptron`` for the learning
rule, torch autograd (float64) for the MLP, and exact derivatives from torch for the
directional-derivative check. The wrong values the hints recognise come from the same
references given other inputs (a zero bias, a point forced onto the wrong side) or from torch
graphs with the slip built in, so this module holds no NumPy forward or backward pass. Hidden
tests call the same checks with other seeds and with cases the public example does not show,
each behind a keyword whose default is the public case: points exactly on the line with either
label (``on_line``), a single example (``N``), hidden units whose pre-activations are exactly
zero (``dead_units``), a step size other than the public one (``eps``, on a function whose
central difference is known exactly) and large scores (``scale``).
"""

from __future__ import annotations

import numpy as np

from course_lib.checks.bridge import numpy64, t64
from course_lib.checks.core import CheckFailed, compare, forward_beside, public_check
from course_lib.references.ch01 import (
    PARAM_NAMES,
    reference_mlp_backward,
    reference_mlp_forward,
    reference_perceptron_update,
    reference_softmax_jacobian,
    torch_mlp_slip_scores,
    torch_mlp_unmasked_grads,
)

# --- parameters and inputs of the checks ----------------------------------------------


def make_mlp_params(D: int, H: int, K: int, rng: np.random.Generator, scale: float = 0.5):
    """Random float64 parameters ``W1 (D, H), b1 (H,), W2 (H, K), b2 (K,)``."""
    return {
        "W1": rng.normal(0, scale, (D, H)),
        "b1": rng.normal(0, scale, H),
        "W2": rng.normal(0, scale, (H, K)),
        "b2": rng.normal(0, scale, K),
    }


# --- checks ----------------------------------------------------------------------------------

def _on_line_cases(rng):
    """Points exactly on the line ``w.x + b = 0`` (integer-valued, so the sum is exactly 0) with
    a non-zero ``w``, each with both labels: the rule updates for either label."""
    cases = []
    for _ in range(2):
        D = int(rng.integers(2, 6))
        w = rng.integers(-3, 4, size=D).astype(np.float64)
        w[0] = float(rng.choice([-2, -1, 1, 2]))
        x = rng.integers(-3, 4, size=D).astype(np.float64)
        b = -float(w @ x)
        for y in (-1, 1):
            cases.append((w, b, x, y, float(rng.choice([0.5, 1.0, 2.0])), False))
    return cases


def _perceptron_cases(rng):
    """``(w, b, x, y, lr, leaves_out_b)`` cases; ``leaves_out_b`` marks the cases built to
    catch a rule that leaves b out of its test."""
    D = int(rng.integers(3, 7))
    w = rng.normal(size=D)
    b = float(rng.normal())
    cases = []
    for _ in range(6):  # random points: some on the wrong side, some on the right side
        x = rng.normal(size=D)
        y = int(rng.choice([-1, 1]))
        cases.append((w, b, x, y, float(rng.uniform(0.1, 2.0)), False))
    x = rng.normal(size=D)
    cases.append((np.zeros(D), 0.0, x, 1, 0.5, False))  # on the boundary: y (w.x + b) = 0
    x = rng.normal(size=D)
    margin_sign = 1 if (w @ x + b) > 0 else -1
    cases.append((w, b, x, margin_sign, 1.0, False))  # correctly classified -> unchanged
    cases.append((w, b, x, -margin_sign, 1.0, False))  # misclassified -> updated
    # a point with w.x = -b/2, so w.x and w.x + b have opposite signs: a rule that leaves b out
    # of the test y (w.x + b) <= 0 gets both of these wrong, whatever the seed. The
    # misclassified one goes first (only that mistake fails it), the other last (a rule that
    # always updates fails an earlier case, with its own hint).
    x = rng.normal(size=D)
    x = x - (w @ x + b / 2) / (w @ w) * w
    s = 1 if b > 0 else -1
    cases.insert(0, (w, b, x, -s, 1.0, True))  # misclassified: y (w.x + b) = -|b|/2 < 0
    cases.append((w, b, x, s, 1.0, True))  # correctly classified: y (w.x + b) = |b|/2 > 0
    return cases


@public_check("perceptron_update")
def check_perceptron_update(fn, seed: int = 0, on_line: bool = False):
    """``perceptron_update(w, b, x, y, lr) -> (w_new, b_new)`` against scikit-learn.
    ``on_line=True``: points exactly on the line, with either label, instead."""
    rng = np.random.default_rng(seed)
    for w, b, x, y, lr, leaves_out_b in (_on_line_cases if on_line else _perceptron_cases)(rng):
        w_in = w.copy()
        out = fn(w_in, b, x.copy(), y, lr)
        if not isinstance(out, tuple | list) or len(out) != 2:
            raise CheckFailed("return a tuple (w_new, b_new)")
        w_new, b_new = out
        if not np.array_equal(w_in, w):
            raise CheckFailed("your function changed the input w in place; return a new array "
                              "(e.g. w_new = w + ...)")
        w_exp, b_exp = reference_perceptron_update(w, b, x, y, lr)
        wrong_side = b_exp != b  # the reference updated, so b moved by lr * y != 0
        case = (f"for a point that is {'misclassified (or on the line)' if wrong_side else 'correctly classified'}"
                f", y = {y:+d}, lr = {lr:.2f}")
        alternatives = {}
        if leaves_out_b:  # scikit-learn's rule with b = 0 tests y (w.x) <= 0
            alternatives["the bias b is left out of the test y (w.x + b) <= 0"] = \
                reference_perceptron_update(w, 0.0, x, y, lr)[0]

        def updated(y_=y, lr_=lr, w=w, x=x):  # the update, forced by a bias that misclassifies x
            return reference_perceptron_update(w, -y_ * (abs(w @ x) + 1.0), x, y_, lr_)[0]

        compare(f"w_new {case}", w_new, w_exp, atol=1e-12, alternatives={
            **alternatives,
            "the update is applied to correctly classified points": updated(),
            "the sign of the update is flipped (w - lr*y*x)": updated(y_=-y),
            "the learning rate is left out": updated(lr_=1.0),
            "w is left unchanged": w,
        })
        compare(f"b_new {case}", b_new, np.asarray(b_exp), atol=1e-12,
                alternatives={"the bias is not updated": np.asarray(b),
                              "the bias update has the wrong sign": np.asarray(b - lr * y)})


@public_check("mlp_forward")
def check_mlp_forward(fn, seed: int = 0, N: int | None = None):
    """``mlp_forward(X, params) -> (scores, cache)`` against torch. ``N`` fixes the number of
    examples (``N=1``: a batch of one); by default it is drawn from 2 to 6."""
    rng = np.random.default_rng(seed)
    N_drawn, D, H, K = (int(v) for v in rng.integers(2, 7, size=4))
    N = N_drawn if N is None else int(N)
    X = rng.normal(size=(N, D))
    params = make_mlp_params(D, H, K, rng)
    out = fn(X.copy(), {k: v.copy() for k, v in params.items()})
    if not isinstance(out, tuple) or len(out) != 2:
        raise CheckFailed("return a tuple (scores, cache)")
    scores, _ = out
    expected, _ = reference_mlp_forward(X, params)

    def without(name):
        return reference_mlp_forward(X, {**params, name: np.zeros_like(params[name])})[0]

    compare(f"scores for N={N}, D={D}, H={H}, K={K}", scores, expected, atol=1e-10, alternatives={
        "the ReLU is left out": torch_mlp_slip_scores(X, params, "identity"),
        "the first bias b1 is left out": without("b1"),
        "the second bias b2 is left out": without("b2"),
        "a sigmoid is used instead of the ReLU": torch_mlp_slip_scores(X, params, "sigmoid"),
        "the ReLU is also applied to the scores": np.maximum(expected, 0),
    })


@public_check("mlp_backward")
def check_mlp_backward(fn, forward=None, seed: int = 0, dead_units: bool = False):
    """``mlp_backward(dscores, cache) -> {W1, b1, W2, b2}`` against torch autograd, using the
    student's ``forward`` for the cache (by default the ``mlp_forward`` defined beside ``fn``,
    in the notebook that defines both). ``dead_units=True``: some hidden units have zero
    weights and bias (as after a zero initialisation), so their pre-activations are exactly 0,
    where the ReLU's derivative is taken as 0 (as torch does)."""
    rng = np.random.default_rng(seed)
    N, D, H, K = (int(v) for v in rng.integers(2, 7, size=4))
    X = rng.normal(size=(N, D))
    params = make_mlp_params(D, H, K, rng)
    if dead_units:
        H = max(H, 3)
        params = make_mlp_params(D, H, K, rng)
        dead = rng.permutation(H)[: H // 2 + 1]
        params["W1"][:, dead] = 0.0
        params["b1"][dead] = 0.0
    forward = forward_beside(fn, forward, "mlp_forward")
    dscores = rng.normal(size=(N, K))
    try:
        scores, cache = forward(X.copy(), {k: v.copy() for k, v in params.items()})
    except NotImplementedError:
        try:
            fn(dscores, None)  # a backward pass still at its stub reports "not implemented yet"
        except NotImplementedError:
            raise
        except Exception:  # an implemented backward pass cannot work without a cache
            pass
        raise CheckFailed("mlp_forward is not implemented yet; the backward pass needs its "
                          "cache") from None
    expected_scores, _ = reference_mlp_forward(X, params)
    scores = np.asarray(scores, dtype=np.float64)
    if scores.shape != expected_scores.shape or not np.allclose(scores, expected_scores,
                                                                atol=1e-10):
        raise CheckFailed("mlp_forward does not pass its check yet; fix it first")
    grads = fn(dscores.copy(), cache)
    if not isinstance(grads, dict):
        raise CheckFailed(f"return a dict with keys {list(PARAM_NAMES)}, got {type(grads).__name__}")
    missing = [k for k in PARAM_NAMES if k not in grads]
    if missing:
        raise CheckFailed(f"the returned dict lacks the key(s) {missing}")
    expected = reference_mlp_backward(dscores, (X, params))
    unmasked = torch_mlp_unmasked_grads(dscores, X, params)  # autograd, the mask left out
    for k in PARAM_NAMES:
        alts = {}
        if k == "W2":  # dscores.T @ h is the transpose of the right product
            alts = {"the hidden activations are not transposed correctly (use h.T @ dscores)":
                    expected["W2"].T}
        if k in ("W1", "b1"):
            alts = {"the ReLU's derivative (the mask h > 0) is left out": unmasked[k]}
            if dead_units:  # the units at exactly 0 are the only ones the mask A >= 0 passes
                alts["the ReLU's derivative at exactly 0 is taken as 1 (A >= 0); take it as 0, "
                     "as torch does (A > 0)"] = _mask_at_zero_grads(dscores, X, params)[k]
        if k in ("b1", "b2"):
            g = np.asarray(grads[k])
            if g.ndim == 2 and g.shape[0] == N:
                raise CheckFailed(f"d{k} has shape {g.shape}: sum the per-example gradients over "
                                  "the batch axis (axis 0)")
        compare(f"d{k}", grads[k], expected[k], atol=1e-10, alternatives=alts)


def _smooth_function(rng):
    import torch

    D = int(rng.integers(3, 8))
    a = rng.normal(size=D)
    M = rng.normal(size=(D, D))

    def f_torch(x):
        return torch.sum(torch.sin(x) * torch.tensor(a)) + torch.log1p(
            (torch.tensor(M) @ x) ** 2).sum() + 0.5 * (x ** 3).sum()

    def f(x):
        x = np.asarray(x, dtype=np.float64)
        return float(np.sum(np.sin(x) * a) + np.log1p((M @ x) ** 2).sum() + 0.5 * (x ** 3).sum())

    return D, f, f_torch


def _cubic_along(rng):
    """``f(x) = sum(a x**3 + c x**2)``, whose central difference along ``d`` is known exactly:
    ``grad f(x).d + eps**2 sum(a d**3)`` (the Taylor series of a cubic stops at the third term,
    whose even part cancels). Returns ``D, f, exact(x, d, eps), gradient(x)``."""
    D = int(rng.integers(3, 8))
    a, c = rng.normal(size=D), rng.normal(size=D)

    def f(x):
        x = np.asarray(x, dtype=np.float64)
        return float(np.sum(a * x ** 3 + c * x ** 2))

    def grad(x):
        return 3 * a * x ** 2 + 2 * c * x

    def central(x, d, eps):
        return float(grad(x) @ d + eps ** 2 * np.sum(a * d ** 3))

    return D, f, central, grad


def _check_step_size(fn, rng, eps):
    """The student's difference at step ``eps`` against its exact value on cubics."""
    for trial in range(3):
        D, f, central, grad = _cubic_along(rng)
        x, d = rng.normal(size=D), rng.normal(size=D)
        expected = central(x, d, eps)
        got = fn(f, x.copy(), d.copy(), eps)
        if got is None:
            raise CheckFailed("your function returned None (a missing `return`?)")
        got = float(np.asarray(got))
        scale = float(np.linalg.norm(grad(x)) * np.linalg.norm(d)) + abs(expected)
        if not abs(got - expected) <= 1e-9 * max(scale, 1e-12):
            raise CheckFailed(f"trial {trial + 1} with eps = {eps:g}: yours {got:.10g}, the "
                              f"central difference with that step is {expected:.10g}. Hint: "
                              "use the step eps that the caller passes")


@public_check("directional_derivative")
def check_directional_derivative(fn, seed: int = 0, eps: float = 1e-5):
    """``directional_derivative(f, x, d, eps) -> float`` against the exact derivative
    ``grad f(x) . d`` from torch autograd.

    The error is measured against ``|grad f(x)| |d|`` (the size of the terms of ``grad . d``),
    not against ``|grad . d|``, which can be small by cancellation: with ``eps = 1e-5`` central
    differences err by at most about 3e-9 of that scale, one-sided ones typically by 3e-6 (under
    the 1e-7 threshold in about 1% of trials, so in all three about once in a million).

    With another ``eps`` the function is a cubic, whose central difference at that step is known
    exactly (maths), so the check tells whether the step passed in is the step used."""
    import torch

    rng = np.random.default_rng(seed)
    if eps != 1e-5:
        _check_step_size(fn, rng, float(eps))
        return
    for trial in range(3):
        D, f, f_torch = _smooth_function(rng)
        x = rng.normal(size=D)
        d = rng.normal(size=D)
        xt = torch.tensor(x, requires_grad=True)
        f_torch(xt).backward()
        exact = float(xt.grad.numpy() @ d)
        scale = float(np.linalg.norm(xt.grad.numpy()) * np.linalg.norm(d))
        x_in, d_in = x.copy(), d.copy()
        eps = 1e-5
        got = fn(f, x_in, d_in, eps)
        if not np.array_equal(x_in, x) or not np.array_equal(d_in, d):
            raise CheckFailed("your function changed x or d in place; compute x + eps * d as a "
                              "new array")
        if got is None:
            raise CheckFailed("your function returned None (a missing `return`?)")
        got = float(np.asarray(got))
        forward = (f(x + eps * d) - f(x)) / eps
        rel = abs(got - exact) / max(scale, 1e-12)
        if not rel <= 1e-7:
            hint = ""
            if abs(got - forward) <= 1e-12 * max(1.0, abs(forward)):
                hint = (" Hint: that is the one-sided difference (f(x+eps d) - f(x))/eps, "
                        "whose error shrinks only like eps; use the central difference.")
            elif abs(got - 2 * exact) / max(abs(exact), 1e-12) < 1e-5:
                hint = " Hint: off by a factor of 2 (divide by 2*eps)."
            elif abs(got + exact) / max(abs(exact), 1e-12) < 1e-5:
                hint = " Hint: the sign is flipped."
            raise CheckFailed(f"trial {trial + 1}: yours {got:.10g}, exact {exact:.10g} "
                              f"(error {rel:.1e} relative to |grad f| |d|, should be below "
                              f"1e-7).{hint}")


def _mask_at_zero_grads(dscores, X, params):
    """Gradients that a backward pass with the mask ``A >= 0`` computes (for the hint), by torch
    autograd through a ReLU whose gradient passes where its input is >= 0."""
    import torch

    t = {k: t64(v, grad=True) for k, v in params.items()}
    pre = t64(X) @ t["W1"] + t["b1"]
    gate = (pre >= 0).to(pre.dtype)
    hidden = torch.relu(pre).detach() + gate * (pre - pre.detach())
    (hidden @ t["W2"] + t["b2"]).backward(t64(dscores))
    return {k: numpy64(t[k].grad) for k in t}


@public_check("softmax_jacobian")
def check_softmax_jacobian(fn, seed: int = 0, offset: float = 0.0):
    """``softmax_jacobian(s) -> J (K, K)``, ``J[i, j] = d softmax(s)_i / d s_j``, against torch
    autograd. ``offset`` is added to every score (the softmax does not change): at +-1000,
    ``exp`` overflows (or underflows to 0) unless the scores are shifted first."""
    import torch

    rng = np.random.default_rng(seed)
    for K in sorted({int(v) for v in rng.integers(3, 8, size=2)} | {2}):
        s = rng.normal(size=K) * 1.5 + float(offset)
        s_in = s.copy()
        try:
            J = fn(s_in)
        except FloatingPointError as exc:
            raise CheckFailed(f"for K = {K}: {exc} (exp of large scores overflows: the softmax "
                              "does not change when a constant is subtracted from every score)"
                              ) from None
        if not np.array_equal(s_in, s):
            raise CheckFailed("your function changed s in place; work on a copy")
        expected = reference_softmax_jacobian(s)
        p = numpy64(torch.softmax(t64(s), 0))
        compare(f"J for K = {K}", J, expected, atol=1e-12, rtol=1e-9, alternatives={
            "only the diagonal d p_i / d s_i is kept (the off-diagonal entries are not 0)":
                np.diag(np.diag(expected)),
            "the outer product p p^T is added instead of subtracted": 2 * np.diag(p) - expected,
            "the diagonal term is left out (-p p^T only)": expected - np.diag(p),
        })
