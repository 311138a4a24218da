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

from course_lib.checks.bridge import t64
from course_lib.checks.core import CheckFailed, compare, public_check
from course_lib.checks.core import unpack as _unpack
from course_lib.references.ch08 import (
    reference_birnn_forward,
    reference_convlstm_step,
    reference_rnn_forward,
)


def make_rnn_params(D: int, H: int, rng: np.random.Generator, scale: float = 0.5):
    """Random float64 parameters of one direction: ``U (H, D)``, ``W (H, H)``, ``b (H,)``."""
    return rng.normal(0, scale, (H, D)), rng.normal(0, scale, (H, H)), rng.normal(0, scale, H)


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
    x = t64(rng.normal(size=(N, C_in, S1, S2)))
    h_prev, c_prev = t64(rng.normal(size=(N, C_h, S1, S2))), t64(rng.normal(size=(N, C_h, S1, S2)))
    weight = t64(rng.normal(0, 0.3, size=(4 * C_h, C_in + C_h, k, k)))
    bias = t64(rng.normal(0, 0.3, size=4 * C_h))
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
