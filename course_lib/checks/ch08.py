"""Public checks of lab 8 (deep, bidirectional and convolutional recurrent networks).

Expected values come from torch in float64: ``torch.nn.RNN`` (one direction and
``bidirectional=True``) with the lab's weights copied in, and, for the ConvLSTM step, a
``torch.nn.LSTMCell`` applied at every pixel to the image patches that the convolution reads
(``torch.nn.functional.unfold``). That second route shares no code with a convolution-based
answer: a ConvLSTM whose state-to-state and input-to-state maps are convolutions is an LSTM per
pixel whose input is the pixel's neighbourhood in ``[x; h]``. The deep bidirectional layer is
compared with ``torch.nn.RNN(num_layers=L, bidirectional=True)``, padded batches with torch's
packed sequences, and the derived window of a ConvLSTM stack with the pixels where autograd's
gradient is not zero (``convlstm_stack_influence``).

Each check takes a keyword for the hidden tests' other kind of case (saturated
pre-activations, padded rows, other depths, other kernels, windows cut by the frame's border);
its default is the public example.
"""

from __future__ import annotations

import numpy as np

from course_lib.checks.bridge import t64
from course_lib.checks.core import CheckFailed, compare, public_check
from course_lib.checks.core import unpack as _unpack
from course_lib.references.ch08 import (
    convlstm_stack_influence,
    reference_birnn_forward,
    reference_convlstm_step,
    reference_deep_birnn_forward,
    reference_rnn_forward,
)


def make_rnn_params(D: int, H: int, rng: np.random.Generator, scale: float = 0.5):
    """Random float64 parameters of one direction: ``U (H, D)``, ``W (H, H)``, ``b (H,)``."""
    return rng.normal(0, scale, (H, D)), rng.normal(0, scale, (H, H)), rng.normal(0, scale, H)


# --- checks ----------------------------------------------------------------------------------

@public_check("rnn_forward")
def check_rnn_forward(fn, seed: int = 0, scale: float = 0.5):
    """``rnn_forward(x, h0, U, W, b) -> (h, cache)`` against ``torch.nn.RNN``. ``scale`` is the
    size of the weights and bias: at 100 most pre-activations are in the hundreds, where tanh is
    +-1 and a tanh written with ``np.exp`` overflows."""
    rng = np.random.default_rng(seed)
    N, T, D, H = (int(v) for v in rng.integers(2, 6, size=4))
    x, h0 = rng.normal(size=(N, T, D)), rng.normal(size=(N, H))
    U, W, b = make_rnn_params(D, H, rng, scale)
    h, _ = _unpack(fn(*(a.copy() for a in (x, h0, U, W, b))), 2, "(h, cache)")
    expected, _ = reference_rnn_forward(x, h0, U, W, b)
    if h is not None and np.shape(h) == (N, H):
        raise CheckFailed(f"h has shape {(N, H)}: return the states of every step, (N, T, H)")
    compare(f"h (N={N}, T={T}, D={D}, H={H})", h, expected, atol=1e-10, alternatives={
        "h0 is ignored": reference_rnn_forward(x, 0 * h0, U, W, b)[0],
        "the bias is left out": reference_rnn_forward(x, h0, U, W, 0 * b)[0],
        "W is used untransposed (use h @ W.T)": reference_rnn_forward(x, h0, U, W.T, b)[0],
    })


def _padded_lengths(rng: np.random.Generator, N: int, T: int) -> np.ndarray:
    """Row lengths in 1..T for a padded batch: one row of full length, one of a single step,
    the others random (so both ends of the range are always there)."""
    lengths = rng.integers(1, T + 1, size=N)
    lengths[:2] = T, 1
    return rng.permutation(lengths)


@public_check("birnn_forward")
def check_birnn_forward(fn, seed: int = 0, padded: bool = False):
    """``birnn_forward(x, params_f, params_b[, lengths]) -> (h, cache)`` against
    ``torch.nn.RNN(bidirectional=True)``. With ``padded=True`` the rows have different lengths
    (passed as ``lengths``; the padding holds random values) and torch reads them packed."""
    rng = np.random.default_rng(seed)
    N, T, D, H = (int(v) for v in rng.integers(2, 6, size=4))
    T += 2  # at least 4 steps, so that reversals are visible
    x = rng.normal(size=(N, T, D))
    pf, pb = make_rnn_params(D, H, rng), make_rnn_params(D, H, rng)
    lengths = _padded_lengths(rng, N, T) if padded else None
    args = (x.copy(), tuple(a.copy() for a in pf), tuple(a.copy() for a in pb))
    out = fn(*args, lengths.copy()) if padded else fn(*args)
    h, _ = _unpack(out, 2, "(h, cache)")
    expected, _ = reference_birnn_forward(x, pf, pb, lengths)
    zeros = np.zeros((N, H))
    if padded:
        real = (np.arange(T)[None, :] < lengths[:, None])[..., None]
        whole = reference_birnn_forward(x, pf, pb)[0]
        mine = np.asarray(h, dtype=float) if np.shape(h) == expected.shape else None
        if mine is not None and np.allclose(mine * real, expected, atol=1e-10) and \
                not np.allclose(mine, expected, atol=1e-10):
            raise CheckFailed("h: right at every real step, but the states at padded steps are "
                              "not zero (torch returns zeros there)")
        compare(f"h (N={N}, T={T}, D={D}, H={H}; rows of lengths {lengths.tolist()})", h,
                expected, atol=1e-10, alternatives={
                    "the backward direction starts at the padding: reverse each row within its "
                    "length": whole * real,
                    "the lengths are ignored": whole,
                })
        return
    fwd = expected[..., :H]
    back_unflipped = reference_rnn_forward(x[:, ::-1], zeros, *pb)[0]
    back_forward = reference_rnn_forward(x, zeros, *pb)[0]
    compare(f"h (N={N}, T={T}, D={D}, H={H}; forward half first)", h, expected, atol=1e-10,
            alternatives={
                "the backward states are not flipped back into the original time order":
                    np.concatenate([fwd, back_unflipped], -1),
                "the backward RNN reads the sequence forwards (reverse the time order first)":
                    np.concatenate([fwd, back_forward], -1),
                "the two halves are swapped (torch puts the forward direction first)":
                    np.concatenate([expected[..., H:], fwd], -1),
                "the backward direction uses the forward parameters":
                    reference_birnn_forward(x, pf, pf)[0],
            })


def make_deep_birnn_params(D: int, H: int, num_layers: int, rng: np.random.Generator):
    """Random float64 parameters of a deep bidirectional tanh RNN: a list of ``num_layers``
    pairs ``(params_f, params_b)``; layer 1's ``U`` is (H, D), the others' (H, 2H)."""
    return [tuple(make_rnn_params(D if level == 0 else 2 * H, H, rng) for _ in range(2))
            for level in range(num_layers)]


@public_check("deep_birnn_forward")
def check_deep_birnn_forward(fn, seed: int = 0, num_layers: int = 2):
    """``deep_birnn_forward(x, layers) -> (h, cache)`` against
    ``torch.nn.RNN(num_layers=len(layers), bidirectional=True)`` with the weights copied."""
    rng = np.random.default_rng(seed)
    N, T, H = (int(v) for v in rng.integers(2, 6, size=3))
    D = int(rng.choice([d for d in range(2, 9) if d != 2 * H]))  # layer 1's input is not 2H
    T += 2
    x = rng.normal(size=(N, T, D))
    layers = make_deep_birnn_params(D, H, num_layers, rng)
    copies = [tuple(tuple(a.copy() for a in params) for params in pair) for pair in layers]
    h, _ = _unpack(fn(x.copy(), copies), 2, "(h, cache)")
    expected, _ = reference_deep_birnn_forward(x, layers)
    alternatives = {}
    if num_layers > 1:
        alternatives["you return the first layer's states, not the top layer's"] = \
            reference_deep_birnn_forward(x, layers[:1])[0]
    compare(f"h of the top layer (N={N}, T={T}, D={D}, H={H}, {num_layers} layers; forward "
            "half first)", h, expected, atol=1e-10, alternatives=alternatives)


@public_check("convlstm_step")
def check_convlstm_step(fn, seed: int = 0, k: int = 3):
    """``convlstm_step(x, h_prev, c_prev, weight, bias) -> (h, c)`` (torch tensors) against an
    ``LSTMCell`` applied to every pixel's neighbourhood; ``k`` is the (odd) kernel size."""
    import torch

    rng = np.random.default_rng(seed)
    N, C_in, C_h = (int(v) for v in rng.integers(1, 4, size=3))
    S1, S2 = (int(v) for v in rng.integers(max(4, k), max(8, k + 4), size=2))
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
    shape = f" (N={N}, C_in={C_in}, C_h={C_h}, frame {S1}x{S2}, kernel {k}x{k})"
    compare("c (new cell state)" + shape, as_np(c), c_exp, atol=1e-10, alternatives={
        "the blocks are read in the order i, f, o, g (the course's order is i, f, g, o)": ifog[1],
        "c_prev is ignored": no_c[1],
        "h_prev is ignored (convolve the concatenation [x, h_prev] along channels)": hx[1],
    })
    compare("h (new hidden state)" + shape, as_np(h), h_exp, atol=1e-10, alternatives={
        "h = tanh(c), without the output gate": np.tanh(c_exp),
    })


def _window_side(reach: np.ndarray) -> int:
    """The side of the square of ``True`` pixels in ``reach`` (raises if it is not a square)."""
    rows, cols = np.nonzero(reach)
    side = int(rows.max() - rows.min() + 1)
    if int(cols.max() - cols.min() + 1) != side or not reach[rows.min():rows.max() + 1,
                                                             cols.min():cols.max() + 1].all():
        raise RuntimeError("the influence of a ConvLSTM stack is not a full square")  # pragma: no cover
    return side


def _window_cases(rng: np.random.Generator, seed: int, kernels, border: bool):
    """(k, num_layers, steps_back, size) cases; the public example (seed 0, k = 3, no border)
    is a fixed set that separates the layers from the steps back."""
    if seed == 0 and tuple(kernels) == (3,) and not border:
        cases = [(3, 1, 0), (3, 2, 1), (3, 1, 3), (3, 3, 2)]
    else:
        cases = [(int(rng.choice(kernels)), int(rng.integers(1, 4)), int(rng.integers(0, 4)))
                 for _ in range(4)]
    out = []
    for k, L, s in cases:
        side = (k - 1) * (L + s) + 1  # only to size the frame: the expected value is measured
        size = side - 2 * int(rng.integers(1, (side - 1) // 2 + 1)) if border and side > 1 \
            else side + 2 * int(rng.integers(1, 5))
        out.append((k, L, s, max(size, 1)))
    return out


@public_check("influence_window")
def check_influence_window(fn, seed: int = 0, kernels=(3,), border: bool = False):
    """``influence_window(k, num_layers, steps_back, size) -> int`` against the window measured
    by autograd on a random ConvLSTM stack (``convlstm_stack_influence``): the side of the square
    of pixels of the input frame ``steps_back`` steps before the last that can influence the
    centre pixel of the top layer's last hidden state, in frames of ``size x size`` pixels
    (``size`` odd). ``kernels`` are the kernel sizes drawn; ``border=True`` makes the frames
    smaller than the window."""
    rng = np.random.default_rng(seed)
    cases = _window_cases(rng, seed, kernels, border)
    answers = []
    for k, L, s, size in cases:
        got = fn(k, L, s, size)
        if isinstance(got, np.ndarray) and got.size == 1:
            got = got.item()
        if isinstance(got, bool) or not isinstance(got, int | np.integer | float | np.floating):
            raise CheckFailed(f"influence_window(k={k}, num_layers={L}, steps_back={s}, "
                              f"size={size}): return a number (the side of the window in "
                              f"pixels), got {type(got).__name__}")
        answers.append(got)
    measured = [_window_side(convlstm_stack_influence(*case, seed=seed)) for case in cases]
    if answers == measured:
        return
    slips = {"you count the steps back but not the layers of the stack":
             lambda k, L, s, size: (k - 1) * s + k,
             "you count the layers but not the steps back": lambda k, L, s, size: (k - 1) * L + 1,
             "each convolution widens the window by (k - 1) / 2 pixels on each side, not k - 1":
             lambda k, L, s, size: 2 * (k - 1) * (L + s) + 1,
             "one convolution too many: the last frame reaches the first layer through one "
             "convolution": lambda k, L, s, size: (k - 1) * (L + s + 1) + 1,
             "the window is wider than the frame: pixels outside it do not exist (zero padding "
             "is a constant)": lambda k, L, s, size: (k - 1) * (L + s) + 1}
    # a hint only when exactly one slip gives all of the answers (and is not the right value)
    matching = [hint for hint, slip in slips.items()
                if [slip(*case) for case in cases] == answers]
    i = next(i for i, (a, m) in enumerate(zip(answers, measured, strict=True)) if a != m)
    k, L, s, size = cases[i]
    raise CheckFailed(f"influence_window(k={k}, num_layers={L}, steps_back={s}, size={size}): "
                      f"yours {answers[i]}, the window autograd measures is {measured[i]} pixels "
                      "wide" + (f". Hint: your values are what you get when {matching[0]}"
                                if len(matching) == 1 else ""))
