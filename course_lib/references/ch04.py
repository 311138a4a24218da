"""References of lab 4: what its public checks compare with and what the lab falls back on when an
exercise is unfinished (``use_or_reference``). Built on the tanh RNN recomputed with torch and
differentiated by autograd (also with a detached state, without the tanh or with another slip
built into the graph, for the hints), and
the sparse gradient check on :func:`course_lib.gradcheck.numerical_gradient`; none of them
spells out the from-scratch NumPy code the exercises ask for.
"""

from __future__ import annotations

import numpy as np

from course_lib import gradcheck
from course_lib.checks.bridge import holding, numpy64, t64


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
        xt, Ut, Wt, bt = t64(x), t64(U), t64(W), t64(b_h)
        states, prev = [], t64(h0)
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
    leaves = [t64(a, grad=True) for a in (x_t, h_prev, U, W, b_h)]
    xt, hp, Ut, Wt, bt = leaves
    out = torch.tanh(xt @ Ut.T + hp @ Wt.T + bt)
    out.backward(t64(dh_t))
    return tuple(numpy64(v.grad) for v in leaves)


def _sequence_parts(cache):
    if not isinstance(cache, list) or not cache:
        raise ValueError("cache: expected the non-empty list of step caches of rnn_forward")
    steps = [_unpack_step(c) for c in cache]
    x = np.stack([s[0] for s in steps], axis=1)
    _, h0, U, W, b_h, _ = steps[0]
    return x, h0, U, W, b_h


def torch_sequence_grads(dh, x, h0, U, W, b_h, detach_state: bool = False,
                          first_step_params_only: bool = False):
    """Autograd of ``sum(h * dh)``. ``detach_state`` cuts the path through h_prev at every
    step (the gradient with the recurrent term forgotten); ``first_step_params_only`` lets
    U, W, b_h receive gradient from step 1 only (a gradient that is overwritten, not summed,
    while the loop runs backwards)."""
    import torch

    leaves = [t64(a, grad=True) for a in (x, h0, U, W, b_h)]
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
    torch.stack(states, dim=1).backward(t64(dh))
    return tuple(numpy64(v.grad) for v in leaves)


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
    rnn = holding(torch.nn.RNN(D, H, batch_first=True, dtype=torch.float64),  # fused tanh RNN
                  weight_ih_l0=U, weight_hh_l0=W, bias_ih_l0=b_h, bias_hh_l0=None)
    xt, h0t = t64(x, grad=True), t64(h0, grad=True)
    rnn(xt, h0t[None])[0].backward(t64(dh))
    return (numpy64(xt.grad), numpy64(h0t.grad), numpy64(rnn.weight_ih_l0.grad),
            numpy64(rnn.weight_hh_l0.grad), numpy64(rnn.bias_ih_l0.grad))


STEP_SLIPS = ("no_tanh", "W_T", "slope_at_h_prev", "h_t_for_h_prev")


def torch_step_slip_grads(dh, x_t, h_prev, U, W, b_h, slip):
    """Gradients ``(dx_t, dh_prev, dU, dW, db_h)`` of one step as a slip of ``STEP_SLIPS``
    computes them, by torch autograd through a step whose gradient carries the slip
    (``v.detach() + (w - w.detach())``: the value of ``v``, the gradient of ``w``):
    ``"no_tanh"`` leaves the tanh out, ``"W_T"`` sends the gradient to h_prev through W.T,
    ``"slope_at_h_prev"`` takes tanh's slope at h_prev instead of h_t, ``"h_t_for_h_prev"``
    gives W the gradient of h_t @ W.T."""
    import torch

    leaves = [t64(a, grad=True) for a in (x_t, h_prev, U, W, b_h)]
    xt, hp, Ut, Wt, bt = leaves
    recurrent = hp @ Wt.T
    if slip == "W_T":
        recurrent = recurrent.detach() + (hp @ Wt - (hp @ Wt).detach())
    elif slip == "h_t_for_h_prev":
        with torch.no_grad():
            h_t = torch.tanh(xt @ Ut.T + recurrent + bt)
        recurrent = recurrent.detach() + (h_t @ Wt.T - (h_t @ Wt.T).detach())
    a = xt @ Ut.T + recurrent + bt
    if slip == "no_tanh":
        out = a
    elif slip == "slope_at_h_prev":
        out = torch.tanh(a).detach() + (a - a.detach()) * (1 - hp.detach() ** 2)
    else:
        out = torch.tanh(a)
    out.backward(t64(dh))
    return tuple(np.zeros(tuple(v.shape)) if v.grad is None else numpy64(v.grad) for v in leaves)


def reference_grad_check_sparse(f, x, analytic, n_checks, rng, eps=1e-5):
    """Relative errors ``|a - n| / max(|a| + |n|, 1e-12)`` at ``n_checks`` entries of ``x``
    drawn with ``rng``, each numerical derivative ``n`` taken by the course's tested
    :func:`course_lib.gradcheck.numerical_gradient` on a one-entry view of ``x`` (so ``f`` is
    evaluated twice per entry). Returns an array (n_checks,)."""
    x = np.asarray(x)
    flat = rng.integers(0, x.size, size=n_checks)
    numeric = []
    for j in flat:
        i = np.unravel_index(int(j), x.shape)
        view = x[(*i[:-1], slice(i[-1], i[-1] + 1))] if x.ndim else x.reshape(1)
        numeric.append(gradcheck.numerical_gradient(f, view, eps)[0])
    a, n = np.asarray(analytic).ravel()[flat], np.array(numeric)
    return np.abs(a - n) / np.maximum(np.abs(a) + np.abs(n), 1e-12)


def _one_sequence(dh, x, h0, U, W, b_h):
    arrays = [np.asarray(a, dtype=np.float64) for a in (dh, x, h0, U, W, b_h)]
    dh, x, h0, U, W, b_h = arrays
    if x.ndim != 2 or h0.ndim != 1 or dh.shape != (x.shape[0], h0.shape[0]):
        raise ValueError("expected one sequence: dh (T, H), x (T, D), h0 (H,)")
    return arrays


def reference_literal_dW(dh, x, h0, U, W, b_h, window=None):
    """dL/dW for ``L = sum_t dh[t] . h^(t)`` of one sequence, by torch autograd (float64); with
    ``window`` (k2), loss t sees only the last ``window`` steps: the state before them is a
    constant (detached), so the gradient is the truncated double sum of chapter 4.

    Args:
        dh: (T, H); x: (T, D); h0: (H,); U: (H, D); W: (H, H); b_h: (H,); window: None or an
            int >= 1.

    Returns:
        dW (H, H).
    """
    import torch

    dh, x, h0, U, W, b_h = _one_sequence(dh, x, h0, U, W, b_h)
    T = x.shape[0]
    if window is not None and (isinstance(window, bool) or int(window) != window or window < 1):
        raise ValueError(f"window: expected None or an int >= 1, got {window!r}")
    Wt = t64(W, grad=True)
    xt, Ut, bt = t64(x), t64(U), t64(b_h)
    with torch.no_grad():  # the states of the forward pass, as constants to restart from
        states = [t64(h0)]
        for t in range(T):
            states.append(torch.tanh(Ut @ xt[t] + Wt @ states[-1] + bt))
    total = torch.zeros((), dtype=torch.float64)
    for t in range(1, T + 1):
        start = 0 if window is None else max(0, t - int(window))
        h = states[start]
        for i in range(start + 1, t + 1):
            h = torch.tanh(Ut @ xt[i - 1] + Wt @ h + bt)
        total = total + (h * t64(dh[t - 1])).sum()
    total.backward()
    return numpy64(Wt.grad)


def reference_truncation_bias(grad_fn, dh, x, h0, U, W, b_h, windows, radii):
    """Relative error ``||G_k - G|| / ||G||`` (Frobenius norms) of the k-step truncated gradient
    ``G_k = grad_fn(..., window=k)`` against the full one ``G = grad_fn(..., window=None)``, with
    the recurrent matrix rescaled to each spectral radius of ``radii`` (``rho W / max |eig W|``).
    Computed with torch; returns an array (len(radii), len(windows))."""
    import torch

    Wt = t64(W)
    rho_W = torch.linalg.eigvals(Wt).abs().max()
    out = torch.zeros(len(radii), len(windows), dtype=torch.float64)
    for r, rho in enumerate(radii):
        W_rho = numpy64(Wt * (float(rho) / rho_W))
        full = t64(grad_fn(dh, x, h0, U, W_rho, b_h, None))
        for j, k in enumerate(windows):
            G_k = t64(grad_fn(dh, x, h0, U, W_rho, b_h, k))
            out[r, j] = torch.linalg.norm(G_k - full) / torch.linalg.norm(full)
    return numpy64(out)
