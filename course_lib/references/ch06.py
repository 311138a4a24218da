"""References of lab 6: what its public checks compare with and what the lab falls back on when an
exercise is unfinished (``use_or_reference``). Built on torch autograd for Jacobians and
gradient norms through time, ``torch.nn.utils.clip_grad_norm_``, ``torch.linalg.qr`` and
``torch.nn.init.orthogonal_``; none of them spells out the from-scratch NumPy code the exercises
ask for.

The Jacobians are those of the leaky tanh RNN of lab 6's exercise 1,
``h(t) = (1 - alpha) * h(t-1) + alpha * tanh(U x(t) + W h(t-1) + b_h)``, with a leak rate
``alpha`` that is a number or one rate per unit (``alpha = 1``: the Elman network).
"""

from __future__ import annotations

import numpy as np

from course_lib.checks.bridge import numpy64, t64

ACTIVATIONS = ("tanh", "sigmoid", "relu")


def _torch_activation(name: str):
    import torch

    if name not in ACTIVATIONS:
        raise ValueError(f"activation: expected one of {ACTIVATIONS}, got {name!r}")
    return {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu}[name]


def _rates(alpha, h0):
    """The leak rate ``alpha`` (a number or one per unit) as a float64 tensor of ``h0``'s shape."""
    return t64(np.broadcast_to(np.asarray(alpha, dtype=np.float64), np.shape(h0)))


def _torch_states(x, h0, U, W, b_h, activation="tanh", requires_grad=False, alpha=1.0):
    """Hidden states ``[h(0), ..., h(T)]`` as float64 torch tensors (of the leaky RNN when
    ``alpha`` is not 1); with ``requires_grad`` every state keeps its gradient after a backward
    pass."""

    g = _torch_activation(activation)
    x, U, W, b_h = (t64(a) for a in (x, U, W, b_h))
    rate = _rates(alpha, h0)
    h = t64(h0, grad=requires_grad)
    states = [h]
    for t in range(x.shape[0]):
        h = (1 - rate) * h + rate * g(U @ x[t] + W @ h + b_h)
        if requires_grad:
            h.retain_grad()
        states.append(h)
    return states


def reference_jacobian_product(x, h0, U, W, b_h, k, alpha=1.0):
    """``dh(T)/dh(k)`` (H, H) of a (leaky) tanh RNN, computed by torch autograd (float64)."""
    import torch

    x_t = t64(x)
    U_t, W_t, b_t = (t64(a) for a in (U, W, b_h))
    rate = _rates(alpha, h0)
    h_k = _torch_states(x[:k], h0, U, W, b_h, alpha=alpha)[-1] if k > 0 else torch.tensor(
        np.asarray(h0, dtype=np.float64))

    def later_state(h):
        for t in range(k, x_t.shape[0]):
            h = (1 - rate) * h + rate * torch.tanh(U_t @ x_t[t] + W_t @ h + b_t)
        return h

    return torch.autograd.functional.jacobian(later_state, h_k).numpy()


def reference_gradient_norms(x, h0, U, W, b_h, g_T, activation="tanh"):
    """``norms (T+1,)`` with ``norms[k] = |dL/dh(k)|`` for ``L = g_T . h(T)``, from torch
    autograd (float64)."""
    import torch

    states = _torch_states(x, h0, U, W, b_h, activation, requires_grad=True)
    loss = states[-1] @ t64(g_T)
    loss.backward()
    return np.array([float(torch.linalg.vector_norm(h.grad)) for h in states])


def reference_clip_grad_norm(grads, max_norm):
    """``(clipped list, total_norm)`` from ``torch.nn.utils.clip_grad_norm_`` applied to float64
    copies of ``grads`` (the inputs are left unchanged)."""
    import torch

    params = []
    for g in grads:
        p = torch.zeros(np.shape(g), dtype=torch.float64, requires_grad=True)
        p.grad = t64(g)
        params.append(p)
    total = torch.nn.utils.clip_grad_norm_(params, max_norm)
    return [numpy64(p.grad) for p in params], float(total)


def reference_orthogonal_init(A, gain=1.0):
    """``gain * Q`` where ``A = Q R`` with ``diag(R) > 0``, computed by torch: the orthogonal
    matrix ``torch.nn.init.orthogonal_`` makes from the Gaussian matrix ``A`` (m, n); as torch
    does, a matrix with more columns than rows is factored transposed (its rows come out
    orthonormal)."""
    import torch

    a = t64(A)
    wide = a.shape[0] < a.shape[1]
    q, r = torch.linalg.qr(a.T if wide else a)
    q = q * torch.sign(torch.diagonal(r))
    return (q.T if wide else q).numpy() * gain


def torch_qr(A):
    """``(Q, R)`` of ``A`` from ``torch.linalg.qr``, the signs left as LAPACK returns them (for
    the hints of the orthogonal-initialisation check)."""
    import torch

    q, r = torch.linalg.qr(t64(A))
    return q.numpy(), r.numpy()


def torch_orthogonal_draw(shape, seed: int, gain: float = 1.0):
    """``(A, Q)``: the Gaussian matrix ``torch.nn.init.orthogonal_`` draws for a float64 tensor
    of ``shape`` (an int H means (H, H); rows and columns may differ) from a generator seeded
    with ``seed``, and the matrix it returns."""
    import torch

    rows, cols = (shape, shape) if isinstance(shape, int) else shape
    A = torch.empty(rows, cols, dtype=torch.float64).normal_(
        0, 1, generator=torch.Generator().manual_seed(seed))
    Q = torch.nn.init.orthogonal_(torch.empty(rows, cols, dtype=torch.float64), gain=gain,
                                  generator=torch.Generator().manual_seed(seed))
    return A.numpy(), Q.numpy()


# --- the slips the checks' hints name, built into torch graphs --------------------------------

JACOBIAN_SLIPS = ("order", "W_T", "swapped", "prev_state", "pre_activation", "no_derivative")
LEAKY_SLIPS = ("leaky_state_slope", "no_identity", "no_rate", "rate_per_column")
NORM_SLIPS = ("W_T", "no_derivative", "prev_state", "pre_activation", "sigmoid_of_output",
              "relu_at_zero")


def _slipped_step(h, x_t, U, W, b_h, activation, slip, rate=None):
    """One step whose value is the (leaky, with ``rate``) RNN's, ``(1 - rate) h + rate g(U x +
    W h + b_h)``, and whose gradient with respect to ``h`` is that of a typical slip: the value
    with the gradient of a ``path``, by ``value.detach() + path - path.detach()`` (torch
    tensors, float64). A slip of the Elman network's step is kept inside the leak
    (``(1 - rate) h + rate * path``); the slips of :data:`LEAKY_SLIPS` are slips of the leak."""
    import torch

    a = U @ x_t + W @ h + b_h
    c = _torch_activation(activation)(a)
    value = c if rate is None else (1 - rate) * h + rate * c
    if slip is None:
        return value
    a_, v_, h_ = a.detach(), c.detach(), h.detach()
    slope = {"tanh": 1 - v_ ** 2, "sigmoid": v_ * (1 - v_), "relu": (a_ > 0).double()}[activation]
    if slip in LEAKY_SLIPS:
        new_ = value.detach()
        path = {
            "leaky_state_slope": lambda: (1 - rate) * h + rate * (1 - new_ ** 2) * (W @ h),
            "no_identity": lambda: rate * slope * (W @ h),
            "no_rate": lambda: (1 - rate) * h + slope * (W @ h),
            "rate_per_column": lambda: (1 - rate) * h + slope * (W @ (rate * h)),
        }[slip]()
        return value.detach() + path - path.detach()
    path = {
        "order": lambda: W.T @ (slope * h),  # J_i^T: the product comes out transposed
        "W_T": lambda: slope * (W.T @ h),
        "swapped": lambda: W @ (slope * h),
        "prev_state": lambda: {"tanh": 1 - h_ ** 2, "sigmoid": h_ * (1 - h_)}[activation] * (W @ h),
        "pre_activation": lambda: (1 - a_ ** 2) * (W @ h),
        "no_derivative": lambda: W @ h,
        "sigmoid_of_output": lambda: torch.sigmoid(v_) * (1 - torch.sigmoid(v_)) * (W @ h),
        "relu_at_zero": lambda: (a_ >= 0).double() * (W @ h),
    }[slip]()
    if rate is not None:
        path = (1 - rate) * h + rate * path
    return value.detach() + path - path.detach()


def torch_slipped_jacobian(x, h0, U, W, b_h, k, slip, alpha=1.0):
    """``dh(T)/dh(k)`` (H, H) of a (leaky) tanh RNN as a slip of ``JACOBIAN_SLIPS`` or
    ``LEAKY_SLIPS`` computes it (factors in the wrong order, W transposed, the leak's identity
    left out ...), by torch autograd through :func:`_slipped_step`."""
    import torch

    x_t, U_t, W_t, b_t = (t64(a) for a in (x, U, W, b_h))
    rate = _rates(alpha, h0)
    with torch.no_grad():
        h_k = _torch_states(x[:k], h0, U, W, b_h, alpha=alpha)[-1] if k > 0 else t64(h0)

    def later_state(h):
        for t in range(k, x_t.shape[0]):
            h = _slipped_step(h, x_t[t], U_t, W_t, b_t, "tanh", slip, rate)
        return h

    J = torch.autograd.functional.jacobian(later_state, h_k).numpy()
    return J.T.copy() if slip == "order" else J


def torch_slipped_gradient_norms(x, h0, U, W, b_h, g_T, activation, slip):
    """``norms (T+1,)`` of ``dL/dh(k)`` for ``L = g_T . h(T)`` as a slip of ``NORM_SLIPS``
    computes them (W not transposed, the derivative left out, ...), by torch autograd."""
    import torch

    x_t, U_t, W_t, b_t = (t64(a) for a in (x, U, W, b_h))
    h = t64(h0, grad=True)
    states = [h]
    for t in range(x_t.shape[0]):
        h = _slipped_step(h, x_t[t], U_t, W_t, b_t, activation, slip)
        h.retain_grad()
        states.append(h)
    (states[-1] @ t64(g_T)).backward()
    return np.array([float(torch.linalg.vector_norm(s.grad)) for s in states])
