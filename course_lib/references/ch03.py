"""References of lab 3: what its public checks compare with and what the lab falls back on when an
exercise is unfinished (``use_or_reference``). Built on ``torch.nn.RNN`` (float64, weights
copied in) for the forward pass, ``F.cross_entropy`` with ``ignore_index`` and autograd for the
masked loss, ``gather`` for the last states; none of them spells out the from-scratch NumPy code
the exercises ask for.
"""

from __future__ import annotations

import numpy as np

from course_lib import validate
from course_lib.checks.bridge import holding, numpy64, t64


def _validated(x, h0, U, W, b_h):
    dims: dict[str, int] = {}
    x = validate.array("x", x, ("N", "T", "D"), dims)
    h0 = validate.array("h0", h0, ("N", "H"), dims)
    U = validate.array("U", U, ("H", "D"), dims)
    W = validate.array("W", W, ("H", "H"), dims)
    b_h = validate.array("b_h", b_h, ("H",), dims)
    return x, h0, U, W, b_h


def torch_rnn(U, W, bias_ih, bias_hh):
    """A float64 ``torch.nn.RNN`` (tanh, one layer, batch-first) holding the given weights:
    ``weight_ih_l0 = U (H, D)``, ``weight_hh_l0 = W (H, H)`` and the two bias vectors (H,)."""
    import torch

    H, D = np.shape(U)
    return holding(torch.nn.RNN(D, H, nonlinearity="tanh", batch_first=True).double(),
                   weight_ih_l0=U, weight_hh_l0=W, bias_ih_l0=bias_ih, bias_hh_l0=bias_hh)


def reference_rnn_forward(x, h0, U, W, b_h):
    """Hidden states of an Elman (tanh) RNN computed by ``torch.nn.RNN`` in float64.

    Args:
        x: inputs, shape (N, T, D). h0: initial state, shape (N, H).
        U: input weights (H, D). W: recurrent weights (H, H). b_h: bias (H,).

    Returns:
        ``(h, cache)``: ``h`` of shape (N, T, H) and ``cache = (x, h0, U, W, b_h, h)``.
    """
    import torch

    x, h0, U, W, b_h = _validated(x, h0, U, W, b_h)
    rnn = torch_rnn(U, W, b_h, np.zeros_like(b_h))
    with torch.no_grad():
        h, _ = rnn(torch.as_tensor(x), torch.as_tensor(h0)[None])
    h = h.numpy().copy()
    return h, (x, h0, U, W, b_h, h)


def reference_rnn_step_forward(x, h_prev, U, W, b_h):
    """One step ``tanh(x @ U.T + h_prev @ W.T + b_h)`` computed by ``torch.nn.RNN`` on a
    sequence of length 1: ``x (N, D)``, ``h_prev (N, H)`` -> ``(h_next (N, H), cache)`` with
    ``cache = (x, h_prev, U, W, b_h, h_next)``."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"x: expected shape (N, D), got {x.shape}")
    h, _ = reference_rnn_forward(x[:, None, :], h_prev, U, W, b_h)
    h_next = h[:, 0]
    return h_next, (x, np.asarray(h_prev, dtype=np.float64), U, W, b_h, h_next)


def reference_masked_sequence_loss(logits, y, mask):
    """Masked sequence cross-entropy and its gradient, from torch (``ignore_index`` and autograd).

    ``L = (1/N) sum_n sum_t mask[n, t] * (-log softmax(logits[n, t])[y[n, t]])``: summed over the
    valid time steps of each sequence, averaged over the N sequences.

    Args:
        logits: output scores, shape (N, T, K). y: integer targets in 0..K-1, shape (N, T).
        mask: 1 (or True) at real steps, 0 at padding, shape (N, T).

    Returns:
        ``(loss, dlogits)``: a float and an array of shape (N, T, K).
    """
    import torch
    import torch.nn.functional as F

    dims: dict[str, int] = {}
    logits = validate.array("logits", logits, ("N", "T", "K"), dims)
    y = validate.array("y", y, ("N", "T"), dims, dtype=np.int64)
    mask = validate.array("mask", mask, ("N", "T"), dims)
    if not np.all(np.isin(mask, (0, 1))):
        raise ValueError("mask: expected only 0 and 1 (or False and True)")
    N, T, K = logits.shape
    valid = mask.astype(bool)
    if np.any((y[valid] < 0) | (y[valid] >= K)):
        raise ValueError(f"y: expected class indices in 0..{K - 1} at the valid steps")
    targets = torch.as_tensor(np.where(valid, y, -100))
    lt = torch.tensor(logits, requires_grad=True)
    loss = F.cross_entropy(lt.reshape(N * T, K), targets.reshape(-1), ignore_index=-100,
                           reduction="sum") / N
    loss.backward()
    return float(loss.item()), numpy64(lt.grad)


def reference_last_state(h, lengths):
    """The state at each sequence's last real step: ``h (N, T, H)``, ``lengths (N,)`` in 1..T
    -> ``(N, H)``; computed with torch's ``gather``."""
    import torch

    dims: dict[str, int] = {}
    h = validate.array("h", h, ("N", "T", "H"), dims)
    lengths = validate.array("lengths", lengths, ("N",), dims, dtype=np.int64)
    if np.any(lengths < 1) or np.any(lengths > h.shape[1]):
        raise ValueError(f"lengths: expected values in 1..{h.shape[1]}, got {lengths}")
    ht = torch.as_tensor(h)
    index = torch.as_tensor(lengths - 1).view(-1, 1, 1).expand(-1, 1, h.shape[2])
    return ht.gather(1, index)[:, 0].numpy().copy()


_ACTIVATIONS = {"tanh": "tanh", "sigmoid": "sigmoid", "identity": None}


def torch_elman_states(x, h0, U, W, b_h, activation="tanh", from_h0=False):
    """States ``h (N, T, H)`` of an Elman layer in torch ops (float64), for the hints of the
    checks: the values a typical mistake gives, with another ``activation`` (``"tanh"``,
    ``"sigmoid"`` or ``"identity"``), weights passed transposed or zeroed, or ``from_h0`` (every
    step reads h0 instead of the previous state). Expected values come from ``torch.nn.RNN``."""
    import torch

    g = _ACTIVATIONS[activation]
    xt, h, Ut, Wt, bt = (t64(a) for a in (x, h0, U, W, b_h))
    states = []
    for t in range(xt.shape[1]):
        a = xt[:, t] @ Ut.T + (t64(h0) if from_h0 else h) @ Wt.T + bt
        h = a if g is None else getattr(torch, g)(a)
        states.append(h)
    return numpy64(torch.stack(states, dim=1))

