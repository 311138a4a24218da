"""References of lab 1: what its public checks compare with and what the lab falls back on when an
exercise is unfinished (``use_or_reference``). Built on scikit-learn's ``Perceptron`` for the
learning rule, torch autograd (float64) for the 2-layer MLP's scores and gradients (and for the
wrong variants that the checks' hints name), a fourth-order difference for the directional
derivative, torch autograd's Jacobian for the softmax's; none of them spells out the from-scratch
NumPy code the exercises ask for.
"""

from __future__ import annotations

import numpy as np

from course_lib.checks.bridge import numpy64, t64

PARAM_NAMES = ("W1", "b1", "W2", "b2")


def reference_perceptron_update(w, b, x, y, lr=1.0):
    """One step of the perceptron rule, computed by scikit-learn's ``Perceptron``
    (an independent implementation): returns ``(w_new (D,), b_new float)``."""
    from sklearn.linear_model import Perceptron

    w = np.asarray(w, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    clf = Perceptron(eta0=lr, fit_intercept=True, shuffle=False, penalty=None)
    clf.partial_fit(np.zeros((1, w.size)), [1], classes=[-1, 1])  # allocate coef_
    clf.coef_ = w.reshape(1, -1).copy()
    clf.intercept_ = np.array([float(b)])
    clf.partial_fit(x.reshape(1, -1), [int(y)])
    return clf.coef_[0].copy(), float(clf.intercept_[0])


def _torch_mlp(X, params, activation="relu"):
    """Scores of the MLP in torch and its parameter leaves. ``activation`` is ``"relu"``, or a
    wrong variant for the checks' hints: ``"identity"``, ``"sigmoid"``, or ``"unmasked"`` (the
    ReLU's values with the gradient of the identity, i.e. a backward pass without the mask)."""
    import torch

    t = {k: t64(params[k], grad=True)
         for k in PARAM_NAMES}
    Xt = t64(X)
    pre = Xt @ t["W1"] + t["b1"]
    hidden = {"relu": torch.relu, "identity": lambda a: a, "sigmoid": torch.sigmoid,
              "unmasked": lambda a: torch.relu(a).detach() + (a - a.detach())}[activation](pre)
    scores = hidden @ t["W2"] + t["b2"]
    return scores, t


def reference_mlp_forward(X, params):
    """Scores ``(N, K)`` of the 2-layer ReLU MLP computed with torch; the cache is the inputs."""
    scores, _ = _torch_mlp(X, params)
    return scores.detach().numpy(), (np.asarray(X, dtype=np.float64), dict(params))


def reference_mlp_backward(dscores, cache):
    """Gradients ``{W1, b1, W2, b2}`` of ``sum(scores * dscores)`` from torch autograd."""
    X, params = cache
    scores, t = _torch_mlp(X, params)

    scores.backward(t64(dscores))
    return {k: numpy64(t[k].grad) for k in PARAM_NAMES}


def torch_mlp_slip_scores(X, params, activation):
    """Scores ``(N, K)`` of the MLP with ``activation`` (``"identity"`` or ``"sigmoid"``) in
    place of the ReLU, by torch: what a forward pass with that slip computes (for hints)."""
    scores, _ = _torch_mlp(X, params, activation)
    return numpy64(scores)


def torch_mlp_unmasked_grads(dscores, X, params):
    """Gradients ``{W1, b1, W2, b2}`` of ``sum(scores * dscores)`` by torch autograd through a
    graph whose ReLU passes the gradient unmasked: what a backward pass without the ReLU's
    derivative computes (for hints)."""
    scores, t = _torch_mlp(X, params, "unmasked")
    scores.backward(t64(dscores))
    return {k: numpy64(t[k].grad) for k in PARAM_NAMES}


def reference_directional_derivative(f, x, d, eps=1e-6):
    """``grad f(x) . d`` estimated by the fourth-order five-point stencil along ``d``,
    ``(f(x - 2h d) - 8 f(x - h d) + 8 f(x + h d) - f(x + 2h d)) / (12 h)`` with ``h = eps``
    (an independent estimate with error O(eps^4), not the lab's central difference); ``f``
    takes an array shaped like ``x`` and returns a float. Returns a float."""
    x = np.asarray(x, dtype=np.float64)
    d = np.asarray(d, dtype=np.float64)
    values = [float(f(x + k * eps * d)) for k in (-2, -1, 1, 2)]
    return (values[0] - 8 * values[1] + 8 * values[2] - values[3]) / (12 * eps)


def reference_softmax_jacobian(s):
    """The Jacobian ``J (K, K)``, ``J[i, j] = d softmax(s)_i / d s_j``, of the softmax of one
    score vector ``s (K,)``, by torch autograd (float64)."""
    import torch

    s = np.asarray(s, dtype=np.float64)
    if s.ndim != 1 or s.size < 1:
        raise ValueError(f"s: expected a vector of K >= 1 scores, got shape {s.shape}")
    return numpy64(torch.autograd.functional.jacobian(lambda v: torch.softmax(v, 0), t64(s)))
