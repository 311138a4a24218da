"""Public checks of lab 8 (deep, bidirectional and convolutional recurrent networks).

Expected values come from torch in float64: ``torch.nn.RNN`` (one direction and
``bidirectional=True``) with the lab's weights copied in, and, for the ConvLSTM step, a
``torch.nn.LSTMCell`` applied at every pixel to the image patches that the convolution reads
(``torch.nn.functional.unfold``). That second route shares no code with a convolution-based
answer: a ConvLSTM whose state-to-state and input-to-state maps are convolutions is an LSTM per
pixel whose input is the pixel's neighbourhood in ``[x; h]``.
"""

from __future__ import annotations

import numpy as np

from course_lib.checks.core import CheckFailed, compare, public_check
from course_lib.checks.core import unpack as _unpack


def _t(a):
    import torch

    return torch.tensor(np.ascontiguousarray(a, dtype=np.float64))


def make_rnn_params(D: int, H: int, rng: np.random.Generator, scale: float = 0.5):
    """Random float64 parameters of one direction: ``U (H, D)``, ``W (H, H)``, ``b (H,)``."""
    return rng.normal(0, scale, (H, D)), rng.normal(0, scale, (H, H)), rng.normal(0, scale, H)


def torch_rnn(params_f, params_b=None):
    """A float64 batch-first tanh ``torch.nn.RNN`` holding one direction's ``(U, W, b)``, or
    both when ``params_b`` is given (``bidirectional=True``)."""
    import torch

    U, _, _ = params_f
    H, D = np.shape(U)
    rnn = torch.nn.RNN(D, H, batch_first=True, bidirectional=params_b is not None).double()
    with torch.no_grad():
        for suffix, params in (("", params_f), ("_reverse", params_b)):
            if params is None:
                continue
            U, W, b = params
            getattr(rnn, f"weight_ih_l0{suffix}").copy_(_t(U))
            getattr(rnn, f"weight_hh_l0{suffix}").copy_(_t(W))
            getattr(rnn, f"bias_ih_l0{suffix}").copy_(_t(b))
            getattr(rnn, f"bias_hh_l0{suffix}").zero_()
    return rnn


def reference_rnn_forward(x, h0, U, W, b):
    """All hidden states ``(N, T, H)`` of a tanh RNN by ``torch.nn.RNN``; returns ``(h, None)``."""
    import torch

    with torch.no_grad():
        h, _ = torch_rnn((U, W, b))(_t(x), _t(h0)[None])
    return h.numpy(), None


def reference_birnn_forward(x, params_f, params_b):
    """A bidirectional tanh RNN by ``torch.nn.RNN(bidirectional=True)``, zero initial states:
    returns ``(h (N, T, 2H), None)``, the forward half first."""
    import torch

    with torch.no_grad():
        h, _ = torch_rnn(params_f, (params_b[0], params_b[1], params_b[2]))(_t(x))
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


# --- checks ----------------------------------------------------------------------------------

@public_check("rnn_forward")
def check_rnn_forward(fn, seed: int = 0):
    """``rnn_forward(x, h0, U, W, b) -> (h, cache)`` against ``torch.nn.RNN``."""
    rng = np.random.default_rng(seed)
    N, T, D, H = (int(v) for v in rng.integers(2, 6, size=4))
    x, h0 = rng.normal(size=(N, T, D)), rng.normal(size=(N, H))
    U, W, b = make_rnn_params(D, H, rng)
    h, _ = _unpack(fn(*(a.copy() for a in (x, h0, U, W, b))), 2, "(h, cache)")
    expected, _ = reference_rnn_forward(x, h0, U, W, b)
    if h is not None and np.shape(h) == (N, H):
        raise CheckFailed(f"h has shape {(N, H)}: return the states of every step, (N, T, H)")
    compare(f"h (N={N}, T={T}, D={D}, H={H})", h, expected, atol=1e-10, alternatives={
        "h0 is ignored": reference_rnn_forward(x, 0 * h0, U, W, b)[0],
        "the bias is left out": reference_rnn_forward(x, h0, U, W, 0 * b)[0],
        "W is used untransposed (use h @ W.T)": reference_rnn_forward(x, h0, U, W.T, b)[0],
    })


@public_check("birnn_forward")
def check_birnn_forward(fn, seed: int = 0):
    """``birnn_forward(x, params_f, params_b) -> (h, cache)`` against
    ``torch.nn.RNN(bidirectional=True)``."""
    rng = np.random.default_rng(seed)
    N, T, D, H = (int(v) for v in rng.integers(2, 6, size=4))
    T += 2  # at least 4 steps, so that reversals are visible
    x = rng.normal(size=(N, T, D))
    pf, pb = make_rnn_params(D, H, rng), make_rnn_params(D, H, rng)
    h, _ = _unpack(fn(x.copy(), tuple(a.copy() for a in pf), tuple(a.copy() for a in pb)), 2,
                   "(h, cache)")
    expected, _ = reference_birnn_forward(x, pf, pb)
    fwd = expected[..., :H]
    back_unflipped = reference_rnn_forward(x[:, ::-1], np.zeros((N, H)), *pb)[0]
    back_forward = reference_rnn_forward(x, np.zeros((N, H)), *pb)[0]
    compare(f"h (N={N}, T={T}, D={D}, H={H}; forward half first)", h, expected, atol=1e-10,
            alternatives={
                "the backward states are not flipped back into the original time order":
                    np.concatenate([fwd, back_unflipped], -1),
                "the backward RNN reads the sequence forwards (flip x along time first)":
                    np.concatenate([fwd, back_forward], -1),
                "the two halves are swapped (torch puts the forward direction first)":
                    np.concatenate([expected[..., H:], fwd], -1),
                "the backward direction uses the forward parameters":
                    reference_birnn_forward(x, pf, pf)[0],
            })


@public_check("convlstm_step")
def check_convlstm_step(fn, seed: int = 0):
    """``convlstm_step(x, h_prev, c_prev, weight, bias) -> (h, c)`` (torch tensors) against an
    ``LSTMCell`` applied to every pixel's neighbourhood."""
    import torch

    rng = np.random.default_rng(seed)
    N, C_in, C_h = (int(v) for v in rng.integers(1, 4, size=3))
    S1, S2 = (int(v) for v in rng.integers(4, 8, size=2))
    k = 3
    x = _t(rng.normal(size=(N, C_in, S1, S2)))
    h_prev, c_prev = _t(rng.normal(size=(N, C_h, S1, S2))), _t(rng.normal(size=(N, C_h, S1, S2)))
    weight = _t(rng.normal(0, 0.3, size=(4 * C_h, C_in + C_h, k, k)))
    bias = _t(rng.normal(0, 0.3, size=4 * C_h))
    with torch.no_grad():
        out = fn(x.clone(), h_prev.clone(), c_prev.clone(), weight.clone(), bias.clone())
    h, c = _unpack(out, 2, "(h, c)")
    h_exp, c_exp = (v.detach().numpy() for v in reference_convlstm_step(x, h_prev, c_prev, weight,
                                                                         bias))

    def as_np(v):
        return v.detach().numpy() if isinstance(v, torch.Tensor) else v

    def ref(*a):
        return tuple(v.detach().numpy() for v in reference_convlstm_step(*a))

    def perm(w, order):
        return torch.cat([w.chunk(4)[j] for j in order])

    ifog = ref(x, h_prev, c_prev, perm(weight, (0, 1, 3, 2)), perm(bias, (0, 1, 3, 2)))
    no_c = ref(x, h_prev, 0 * c_prev, weight, bias)
    hx = ref(x, 0 * h_prev, c_prev, weight, bias)
    shape = f" (N={N}, C_in={C_in}, C_h={C_h}, frame {S1}x{S2})"
    compare("c (new cell state)" + shape, as_np(c), c_exp, atol=1e-10, alternatives={
        "the blocks are read in the order i, f, o, g (the course's order is i, f, g, o)": ifog[1],
        "c_prev is ignored": no_c[1],
        "h_prev is ignored (convolve the concatenation [x, h_prev] along channels)": hx[1],
    })
    compare("h (new hidden state)" + shape, as_np(h), h_exp, atol=1e-10, alternatives={
        "h = tanh(c), without the output gate": np.tanh(c_exp),
    })
