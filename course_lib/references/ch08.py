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


def reference_birnn_forward(x, params_f, params_b, lengths=None):
    """A bidirectional tanh RNN by ``torch.nn.RNN(bidirectional=True)``, zero initial states:
    returns ``(h (N, T, 2H), None)``, the forward half first. With ``lengths`` (N,), row ``n``
    holds ``lengths[n]`` real steps and then padding: torch reads the packed rows
    (``pack_padded_sequence``), so each row's backward direction starts at its last real step,
    and the states at padded steps are zero (``pad_packed_sequence``)."""
    import torch
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    rnn = torch_rnn(params_f, (params_b[0], params_b[1], params_b[2]))
    with torch.no_grad():
        if lengths is None:
            return rnn(t64(x))[0].numpy(), None
        packed = pack_padded_sequence(t64(x), torch.as_tensor(np.asarray(lengths), dtype=torch.int64),
                                      batch_first=True, enforce_sorted=False)
        h, _ = pad_packed_sequence(rnn(packed)[0], batch_first=True, total_length=np.shape(x)[1])
    return h.numpy(), None


def torch_deep_birnn(layers):
    """A float64 batch-first tanh ``torch.nn.RNN(num_layers=len(layers), bidirectional=True)``
    holding ``layers``, a list of ``(params_f, params_b)``, one pair per layer, each direction
    ``(U, W, b)``; layer 1's ``U`` is (H, D), the others' (H, 2H)."""
    import torch

    H, D = np.shape(layers[0][0][0])
    rnn = torch.nn.RNN(D, H, num_layers=len(layers), batch_first=True,
                       bidirectional=True).double()
    for level, pair in enumerate(layers):
        for suffix, (U, W, b) in zip(("", "_reverse"), pair, strict=True):
            holding(rnn, **{f"weight_ih_l{level}{suffix}": U, f"weight_hh_l{level}{suffix}": W,
                            f"bias_ih_l{level}{suffix}": b, f"bias_hh_l{level}{suffix}": None})
    return rnn


def reference_deep_birnn_forward(x, layers):
    """A stack of bidirectional tanh layers by ``torch.nn.RNN(num_layers=L, bidirectional=True)``
    (zero initial states): returns ``(h (N, T, 2H), None)``, the top layer's states, forward
    half first."""
    import torch

    with torch.no_grad():
        h, _ = torch_deep_birnn(layers)(t64(x))
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


def convlstm_stack_influence(k: int, num_layers: int, steps_back: int, size: int,
                             seed: int = 0) -> np.ndarray:
    """Which pixels of the input frame ``steps_back`` steps before the last can influence the
    centre pixel of the top layer's last hidden state, in a stack of ``num_layers`` ConvLSTM
    layers (random float64 weights, ``k x k`` kernels, zero 'same' padding, one input channel,
    two state channels, frames ``size x size``): a boolean ``(size, size)`` map of the pixels
    where autograd's gradient of that pixel is not zero. Layer ``l`` reads the states of layer
    ``l - 1`` at the same step and its own at the step before (layer 0 is the input)."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    C_h, T = 2, steps_back + 1
    weights = [(torch.randn(4 * C_h, (1 if level == 0 else C_h) + C_h, k, k, generator=gen,
                            dtype=torch.float64), torch.randn(4 * C_h, generator=gen,
                                                              dtype=torch.float64))
               for level in range(num_layers)]
    frames = torch.randn(T, 1, 1, size, size, generator=gen, dtype=torch.float64,
                         requires_grad=True)
    states = [(torch.zeros(1, C_h, size, size, dtype=torch.float64),) * 2
              for _ in range(num_layers)]
    for t in range(T):
        below = frames[t]
        for level, (weight, bias) in enumerate(weights):
            h, c = reference_convlstm_step(below, *states[level], weight, bias)
            states[level] = (h, c)
            below = h
    below[0, 0, size // 2, size // 2].backward()
    return (frames.grad[0, 0, 0] != 0).numpy()
