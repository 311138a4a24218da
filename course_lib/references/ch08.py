"""References of lab 8: what its public checks compare with and what the lab falls back on when an
exercise is unfinished (``use_or_reference``). Built on ``torch.nn.RNN`` (one direction or both)
and a ConvLSTM step in ``torch.nn.functional.conv2d``; none of them spells out the from-scratch
NumPy code the exercises ask for.
"""

from __future__ import annotations

import numpy as np

from course_lib.checks.bridge import holding, t64


def torch_rnn(params_f, params_b=None):
    """A float64 batch-first tanh ``torch.nn.RNN`` holding one direction's ``(U, W, b)``, or
    both when ``params_b`` is given (``bidirectional=True``)."""
    import torch

    U, _, _ = params_f
    H, D = np.shape(U)
    rnn = torch.nn.RNN(D, H, batch_first=True, bidirectional=params_b is not None).double()
    for suffix, params in (("", params_f), ("_reverse", params_b)):
        if params is not None:
            U, W, b = params
            holding(rnn, **{f"weight_ih_l0{suffix}": U, f"weight_hh_l0{suffix}": W,
                            f"bias_ih_l0{suffix}": b, f"bias_hh_l0{suffix}": None})
    return rnn


def reference_rnn_forward(x, h0, U, W, b):
    """All hidden states ``(N, T, H)`` of a tanh RNN by ``torch.nn.RNN``; returns ``(h, None)``."""
    import torch

    with torch.no_grad():
        h, _ = torch_rnn((U, W, b))(t64(x), t64(h0)[None])
    return h.numpy(), None


def reference_birnn_forward(x, params_f, params_b):
    """A bidirectional tanh RNN by ``torch.nn.RNN(bidirectional=True)``, zero initial states:
    returns ``(h (N, T, 2H), None)``, the forward half first."""
    import torch

    with torch.no_grad():
        h, _ = torch_rnn(params_f, (params_b[0], params_b[1], params_b[2]))(t64(x))
    return h.numpy(), None


def reference_convlstm_step(x, h_prev, c_prev, weight, bias):
    """One ConvLSTM step (no peepholes, gate order i, f, g, o, 'same' padding) computed as a
    ``torch.nn.LSTMCell`` at every pixel on the unfolded neighbourhoods of ``[x; h_prev]``.

    Shapes: ``x (N, C_in, S1, S2)``, ``h_prev, c_prev (N, C_h, S1, S2)``,
    ``weight (4 C_h, C_in + C_h, k, k)``, ``bias (4 C_h,)``; returns ``(h, c)`` as tensors of
    the dtype of ``x``.
    """
    import torch
    import torch.nn.functional as F

    N, C_in, S1, S2 = x.shape
    C_h = h_prev.shape[1]
    k = weight.shape[-1]
    patches = F.unfold(torch.cat([x, h_prev], 1), k, padding=k // 2)  # (N, (C_in+C_h)k^2, S1 S2)
    inputs = patches.transpose(1, 2).reshape(N * S1 * S2, -1)
    cell = torch.nn.LSTMCell(inputs.shape[1], C_h).to(x.dtype)
    c_rows = c_prev.permute(0, 2, 3, 1).reshape(N * S1 * S2, C_h)
    params = {"weight_ih": weight.reshape(4 * C_h, -1), "bias_ih": bias,
              "weight_hh": torch.zeros_like(cell.weight_hh), "bias_hh": torch.zeros_like(bias)}
    # functional_call: the cell computes with these tensors, so gradients reach weight and bias
    h, c = torch.func.functional_call(cell, params, (inputs, (torch.zeros_like(c_rows), c_rows)))

    def image(rows):
        return rows.reshape(N, S1, S2, C_h).permute(0, 3, 1, 2)

    return image(h), image(c)
