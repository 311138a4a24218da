"""References of lab 7: what its public checks compare with and what the lab falls back on when an
exercise is unfinished (``use_or_reference``). Built on ``torch.nn.LSTMCell``, ``LSTM``,
``GRUCell`` and ``GRU`` with the lab's weights copied in (block order i, f, g, o and r, z, n),
and autograd for the backward passes; none of them spells out the from-scratch NumPy code the
exercises ask for.
"""

from __future__ import annotations

import numpy as np

from course_lib.checks.bridge import holding, t64


def _lstm_cell(U, W, b):
    """A float64 ``torch.nn.LSTMCell`` holding ``U, W, b`` (the bias all in ``bias_ih``)."""
    import torch

    H4, D = np.shape(U)
    return holding(torch.nn.LSTMCell(D, H4 // 4).double(), weight_ih=U, weight_hh=W, bias_ih=b,
                   bias_hh=None)


def _gru_cell(U, W, b_x, b_h):
    """A float64 ``torch.nn.GRUCell`` holding ``U, W, b_x, b_h``."""
    import torch

    H3, D = np.shape(U)
    return holding(torch.nn.GRUCell(D, H3 // 3).double(), weight_ih=U, weight_hh=W, bias_ih=b_x,
                   bias_hh=b_h)


def reference_lstm_step_forward(x, h_prev, c_prev, U, W, b):
    """One LSTM step by ``torch.nn.LSTMCell`` (float64): returns ``(h (N, H), c (N, H),
    cache)``; the cache holds the inputs for :func:`reference_lstm_step_backward`."""
    import torch

    cell = _lstm_cell(U, W, b)
    with torch.no_grad():
        h, c = cell(t64(x), (t64(h_prev), t64(c_prev)))
    return h.numpy(), c.numpy(), ("reference", x, h_prev, c_prev, U, W, b)


def reference_lstm_step_backward(dh, dc, cache):
    """Gradients of ``sum(h * dh) + sum(c * dc)`` for one LSTM step, by torch autograd through
    ``torch.nn.LSTMCell``: ``(dx, dh_prev, dc_prev, dU, dW, db)`` in the order of the forward
    pass's inputs."""
    _, x, h_prev, c_prev, U, W, b = cache
    cell = _lstm_cell(U, W, b)
    xs = [t64(v, grad=True) for v in (x, h_prev, c_prev)]
    h, c = cell(xs[0], (xs[1], xs[2]))
    ((h * t64(dh)).sum() + (c * t64(dc)).sum()).backward()
    grads = [v.grad for v in xs] + [cell.weight_ih.grad, cell.weight_hh.grad, cell.bias_ih.grad]
    return tuple(g.numpy().copy() for g in grads)


def reference_lstm_forward(x, h0, c0, U, W, b):
    """An LSTM over a whole batch of sequences by ``torch.nn.LSTM`` (float64, batch-first):
    returns ``(h (N, T, H), c (N, T, H), cache)``; ``c`` holds every step's cell state
    (``torch.nn.LSTM`` returns only the last, so the cell is stepped with ``LSTMCell``)."""
    import torch

    cell = _lstm_cell(U, W, b)
    x = t64(x)
    h, c = t64(h0), t64(c0)
    hs, cs = [], []
    with torch.no_grad():
        for t in range(x.shape[1]):
            h, c = cell(x[:, t], (h, c))
            hs.append(h)
            cs.append(c)
    return torch.stack(hs, 1).numpy(), torch.stack(cs, 1).numpy(), None


def torch_lstm(U, W, b):
    """A float64 batch-first ``torch.nn.LSTM`` (one layer) holding ``U, W, b``."""
    import torch

    H4, D = np.shape(U)
    return holding(torch.nn.LSTM(D, H4 // 4, batch_first=True).double(), weight_ih_l0=U,
                   weight_hh_l0=W, bias_ih_l0=b, bias_hh_l0=None)


def reference_gru_step_forward(x, h_prev, U, W, b_x, b_h):
    """One GRU step by ``torch.nn.GRUCell`` (float64): returns ``(h (N, H), None)``."""
    import torch

    with torch.no_grad():
        h = _gru_cell(U, W, b_x, b_h)(t64(x), t64(h_prev))
    return h.numpy(), None


def torch_gru(U, W, b_x, b_h):
    """A float64 batch-first ``torch.nn.GRU`` (one layer) holding ``U, W, b_x, b_h``."""
    import torch

    H3, D = np.shape(U)
    return holding(torch.nn.GRU(D, H3 // 3, batch_first=True).double(), weight_ih_l0=U,
                   weight_hh_l0=W, bias_ih_l0=b_x, bias_hh_l0=b_h)


def reference_gru_forward(x, h0, U, W, b_x, b_h):
    """A GRU over a whole batch of sequences by ``torch.nn.GRU`` (float64, batch-first):
    returns ``(h (N, T, H), cache)``; the cache holds the inputs for
    :func:`reference_gru_backward`."""
    import torch

    with torch.no_grad():
        h, _ = torch_gru(U, W, b_x, b_h)(t64(x), t64(h0)[None])
    return h.numpy(), ("reference", x, h0, U, W, b_x, b_h)


def reference_gru_backward(dh, cache):
    """Gradients of ``sum(h * dh)`` for a whole GRU layer, by torch autograd through
    ``torch.nn.GRU``: ``(dx, dh0, dU, dW, db_x, db_h)`` in the order of the forward pass's
    inputs."""
    _, x, h0, U, W, b_x, b_h = cache
    gru = torch_gru(U, W, b_x, b_h)
    tx, th0 = t64(x, grad=True), t64(np.asarray(h0)[None], grad=True)
    h, _ = gru(tx, th0)
    (h * t64(dh)).sum().backward()
    grads = [tx.grad, th0.grad[0], gru.weight_ih_l0.grad, gru.weight_hh_l0.grad,
             gru.bias_ih_l0.grad, gru.bias_hh_l0.grad]
    return tuple(g.numpy().copy() for g in grads)
