"""Public checks of lab 7 (gated units: LSTM and GRU).

Expected values come from torch in float64: ``torch.nn.LSTMCell``, ``torch.nn.LSTM``,
``torch.nn.GRUCell`` and ``torch.nn.GRU`` with the lab's weights copied in, and torch autograd for
the backward passes.
Hidden tests call the same checks with other seeds and with cases the public example does not
show: sizes with D != H (``square=False``; the public example has D = H, so a size read from the
wrong array passes it) and saturated gates (``scale``, the size of the weights: at 1000 most
pre-activations lie beyond +-700, where a sigmoid or its derivative written with ``np.exp``
overflows to inf / inf).
The weights follow torch's layout and block order (LSTM: i, f, g, o; GRU: r, z, n), so a
from-scratch layer is compared with torch by copying arrays, nothing else.

The references (:mod:`course_lib.references.ch07`) are what a lab falls back on when an exercise
is unfinished; they call torch's layers, they do not spell out the equations the exercises ask
for. The typical GRU slips the hints recognise are in :mod:`course_lib.checks.ch07_slips`.
"""

from __future__ import annotations

import contextlib

import numpy as np

from course_lib.checks.bridge import t64
from course_lib.checks.ch07_slips import (
    slip_gradients,
    slip_values,
)
from course_lib.checks.core import (
    CheckFailed,
    call_on_copies,
    compare,
    forward_beside,
    public_check,
)
from course_lib.checks.core import unpack as _unpack
from course_lib.references.ch07 import (
    reference_gru_backward,
    reference_gru_forward,
    reference_gru_step_forward,
    reference_lstm_forward,
    reference_lstm_step_backward,
    reference_lstm_step_forward,
    torch_lstm,
)

LSTM_BLOCKS = ("i", "f", "g", "o")
GRU_BLOCKS = ("r", "z", "n")


# --- parameters ------------------------------------------------------------------------------

def make_lstm_params(D: int, H: int, rng: np.random.Generator, scale: float = 0.5):
    """Random float64 LSTM parameters in torch's layout: ``U (4H, D)``, ``W (4H, H)``,
    ``b (4H,)``, row blocks in the order i, f, g, o."""
    return (rng.normal(0, scale, (4 * H, D)), rng.normal(0, scale, (4 * H, H)),
            rng.normal(0, scale, 4 * H))


def make_gru_params(D: int, H: int, rng: np.random.Generator, scale: float = 0.5):
    """Random float64 GRU parameters in torch's layout: ``U (3H, D)``, ``W (3H, H)``,
    ``b_x (3H,)``, ``b_h (3H,)`` (torch's ``bias_ih`` and ``bias_hh``), blocks r, z, n."""
    return (rng.normal(0, scale, (3 * H, D)), rng.normal(0, scale, (3 * H, H)),
            rng.normal(0, scale, 3 * H), rng.normal(0, scale, 3 * H))


def _permute_blocks(a, order):
    """Reorder the row blocks of a stacked gate array (first axis split into len(order))."""
    blocks = np.split(np.asarray(a), len(order))
    return np.concatenate([blocks[k] for k in order])


# --- checks ----------------------------------------------------------------------------------

def _sizes(rng, square: bool | None = None):
    """``N, D, H`` drawn in 2..5. ``square`` None keeps the draw (the public examples have D = H
    at seed 0), True sets D = H, False makes D != H."""
    N, D, H = (int(v) for v in rng.integers(2, 6, size=3))
    if square:
        D = H
    elif square is False and D == H:
        D = H + 1
    return N, D, H


def _quiet_overflow(scale: float):
    """With saturated gates a correct ``1 / (1 + np.exp(-a))`` overflows harmlessly to 0: keep
    NumPy's warning out of the report (a formula that gives NaN still fails the comparison)."""
    return np.errstate(over="ignore", invalid="ignore") if scale > 1 else contextlib.nullcontext()


@public_check("lstm_step_forward")
def check_lstm_step_forward(fn, seed: int = 0, scale: float = 0.5, square: bool | None = None):
    """``lstm_step_forward(x, h_prev, c_prev, U, W, b) -> (h, c, cache)`` against
    ``torch.nn.LSTMCell``; ``scale`` is the size of the weights (1000: saturated gates),
    ``square`` chooses D = H (True) or D != H (False)."""
    rng = np.random.default_rng(seed)
    N, D, H = _sizes(rng, square)
    x, h_prev, c_prev = rng.normal(size=(N, D)), rng.normal(size=(N, H)), rng.normal(size=(N, H))
    U, W, b = make_lstm_params(D, H, rng, scale)
    args = [a.copy() for a in (x, h_prev, c_prev, U, W, b)]
    with _quiet_overflow(scale):
        out = fn(*args)
    h, c, _ = _unpack(out, 3, "(h, c, cache)")
    h_exp, c_exp, _ = reference_lstm_step_forward(x, h_prev, c_prev, U, W, b)

    def ref(*a):
        return reference_lstm_step_forward(*a)[:2]

    ifog = ref(x, h_prev, c_prev, *(_permute_blocks(p, (0, 1, 3, 2)) for p in (U, W, b)))
    fi = ref(x, h_prev, c_prev, *(_permute_blocks(p, (1, 0, 2, 3)) for p in (U, W, b)))
    no_c = ref(x, h_prev, np.zeros_like(c_prev), U, W, b)
    no_h = ref(x, np.zeros_like(h_prev), c_prev, U, W, b)
    no_b = ref(x, h_prev, c_prev, U, W, np.zeros_like(b))
    hints = f" (N={N}, D={D}, H={H})"
    compare("c (the new cell state)" + hints, c, c_exp, atol=1e-10, alternatives={
        "the blocks are read in the order i, f, o, g (torch's order is i, f, g, o)": ifog[1],
        "the input and forget gates are swapped (torch's order is i, f, g, o)": fi[1],
        "the previous cell state c_prev is ignored": no_c[1],
        "the previous hidden state h_prev is ignored": no_h[1],
        "the bias b is left out": no_b[1],
    })
    # o * c from torch's outputs alone: h = o * tanh(c), so o * c = h * c / tanh(c)
    c_over_tanh = np.divide(c_exp, np.tanh(c_exp), out=np.ones_like(c_exp),
                            where=np.abs(c_exp) > 1e-8)
    compare("h (the new hidden state)" + hints, h, h_exp, atol=1e-10, alternatives={
        "h = o * c, without the tanh of the cell": h_exp * c_over_tanh,
        "h = tanh(c), without the output gate": np.tanh(c_exp),
        "the blocks are read in the order i, f, o, g (torch's order is i, f, g, o)": ifog[0],
    })


@public_check("lstm_step_backward")
def check_lstm_step_backward(fn, forward=None, seed: int = 0, scale: float = 0.5,
                             square: bool | None = None):
    """``lstm_step_backward(dh, dc, cache) -> (dx, dh_prev, dc_prev, dU, dW, db)`` against
    torch autograd, with the cache from the student's ``forward`` (by default the
    ``lstm_step_forward`` defined beside ``fn``); ``scale`` and ``square`` as in
    :func:`check_lstm_step_forward`."""
    forward = forward_beside(fn, forward, "lstm_step_forward")
    rng = np.random.default_rng(seed)
    N, D, H = _sizes(rng, square)
    x, h_prev, c_prev = rng.normal(size=(N, D)), rng.normal(size=(N, H)), rng.normal(size=(N, H))
    U, W, b = make_lstm_params(D, H, rng, scale)
    dh, dc = rng.normal(size=(N, H)), rng.normal(size=(N, H))
    try:
        with _quiet_overflow(scale):
            out = forward(*(a.copy() for a in (x, h_prev, c_prev, U, W, b)))
    except NotImplementedError:
        try:
            fn(dh, dc, None)
        except NotImplementedError:
            raise
        except Exception:
            pass
        raise CheckFailed("lstm_step_forward is not implemented yet; the backward pass needs "
                          "its cache") from None
    h, c, cache = _unpack(out, 3, "(h, c, cache) from lstm_step_forward")
    h_exp, c_exp, ref_cache = reference_lstm_step_forward(x, h_prev, c_prev, U, W, b)
    if not (np.shape(h) == h_exp.shape and np.allclose(h, h_exp, atol=1e-10)
            and np.shape(c) == c_exp.shape and np.allclose(c, c_exp, atol=1e-10)):
        raise CheckFailed("lstm_step_forward does not pass its check yet; fix it first")
    with _quiet_overflow(scale):
        grads = fn(dh.copy(), dc.copy(), cache)
    grads = _unpack(grads, 6, "(dx, dh_prev, dc_prev, dU, dW, db)")
    expected = reference_lstm_step_backward(dh, dc, ref_cache)
    # the decks' slip: the cell gradient taken as f * dc only, forgetting what reaches c
    # through h = o * tanh(c); computed with autograd by zeroing dh
    no_dh_path = reference_lstm_step_backward(np.zeros_like(dh), dc, ref_cache)[2]
    only_dh = reference_lstm_step_backward(dh, np.zeros_like(dc), ref_cache)
    only_dc = reference_lstm_step_backward(np.zeros_like(dh), dc, ref_cache)
    names = ("dx", "dh_prev", "dc_prev", "dU", "dW", "db")
    for k, name in enumerate(names):
        alts = {
            "the upstream dc is ignored (only dh is propagated)": only_dh[k],
            "the upstream dh is ignored (only dc is propagated)": only_dc[k],
        }
        if name == "dc_prev":
            alts = {"dc_prev = f * dc only: the part of the cell's gradient that arrives through "
                    "h = o * tanh(c) is missing (add dh * o * (1 - tanh(c)**2) to dc first)":
                    no_dh_path, **alts}
        if name == "db":
            g = np.asarray(grads[k])
            if g.ndim == 2 and g.shape[0] == N:
                raise CheckFailed(f"db has shape {g.shape}: sum over the batch axis (axis 0)")
        compare(name, grads[k], expected[k], atol=1e-10, alternatives=alts)


@public_check("lstm_forward")
def check_lstm_forward(fn, seed: int = 0, square: bool | None = None):
    """``lstm_forward(x, h0, c0, U, W, b) -> (h, c, cache)`` (all steps) against
    ``torch.nn.LSTM``; ``square`` chooses D = H (True) or D != H (False)."""
    import torch

    rng = np.random.default_rng(seed)
    N, D, H = _sizes(rng, square)
    T = int(rng.integers(3, 7))
    x = rng.normal(size=(N, T, D))
    h0, c0 = rng.normal(size=(N, H)), rng.normal(size=(N, H))
    U, W, b = make_lstm_params(D, H, rng)
    h, c, _ = _unpack(fn(*(a.copy() for a in (x, h0, c0, U, W, b))), 3, "(h, c, cache)")
    lstm = torch_lstm(U, W, b)
    with torch.no_grad():
        h_exp, (_, c_last) = lstm(t64(x), (t64(h0)[None], t64(c0)[None]))
    h_exp = h_exp.numpy()
    _, c_all, _ = reference_lstm_forward(x, h0, c0, U, W, b)
    with torch.no_grad():
        h_zero = lstm(t64(x))[0].numpy()
        h_rev = lstm(t64(x[:, ::-1].copy()), (t64(h0)[None], t64(c0)[None]))[0].numpy()
    shape = f" (N={N}, T={T}, D={D}, H={H})"
    c = np.asarray(c, dtype=np.float64) if c is not None else c
    h = np.asarray(h, dtype=np.float64) if h is not None else h
    if h is not None and h.shape == (N, H):
        raise CheckFailed(f"h has shape {h.shape}: return the hidden states of every step, "
                          f"shape (N, T, H) = {(N, T, H)}, not only the last one")
    compare("h (hidden states of all steps)" + shape, h, h_exp, atol=1e-10, alternatives={
        "h0 and c0 are ignored (the recursion starts from zeros)": h_zero,
        "the sequence is read backwards": h_rev,
        "h is stored in time-first layout (T, N, H)": np.transpose(h_exp, (1, 0, 2)),
    })
    compare("c (cell states of all steps)" + shape, c, c_all, atol=1e-10)
    if not np.allclose(np.asarray(c)[:, -1], c_last.numpy()[0], atol=1e-10):  # pragma: no cover
        raise CheckFailed("the last cell state differs from torch.nn.LSTM's")


@public_check("gru_step_forward")
def check_gru_step_forward(fn, seed: int = 0, scale: float = 0.5, square: bool | None = None):
    """``gru_step_forward(x, h_prev, U, W, b_x, b_h) -> (h, cache)`` against
    ``torch.nn.GRUCell``; ``scale`` and ``square`` as in :func:`check_lstm_step_forward`."""
    rng = np.random.default_rng(seed)
    N, D, H = _sizes(rng, square)
    x, h_prev = rng.normal(size=(N, D)), rng.normal(size=(N, H))
    U, W, b_x, b_h = make_gru_params(D, H, rng, scale)
    with _quiet_overflow(scale):
        out = fn(*(a.copy() for a in (x, h_prev, U, W, b_x, b_h)))
    h, _ = _unpack(out, 2, "(h, cache)")
    h_exp, _ = reference_gru_step_forward(x, h_prev, U, W, b_x, b_h)
    # typical mistakes (the answer itself comes from torch's GRUCell)
    alts = {hint: v[:, 0] for hint, v in slip_values(x[:, None], h_prev, U, W, b_x, b_h).items()}
    alts["the blocks are read in the order z, r, n (torch's order is r, z, n)"] = \
        reference_gru_step_forward(x, h_prev, *(_permute_blocks(p, (1, 0, 2))
                                                for p in (U, W, b_x, b_h)))[0]
    compare(f"h (N={N}, D={D}, H={H})", h, h_exp, atol=1e-10, alternatives=alts)


_GRU_SHAPES = ("U is (3H, D) and W is (3H, H), stored as in torch, so the products are "
               "x.reshape(N * T, D) @ U.T for all steps and h_prev @ W.T inside the loop")


def _call_gru(fn, *args):
    """Call student code; turn a shape error of a matrix product into a hint about layouts."""
    try:
        return fn(*args)
    except ValueError as exc:
        if "matmul" in str(exc) or "shapes" in str(exc) or "broadcast" in str(exc):
            raise CheckFailed(f"your code raised ValueError: {exc}. Hint: {_GRU_SHAPES}") from None
        raise


def _gru_problem(rng, square: bool | None = None):
    """Sizes (N, T, D, H) and float64 inputs ``x, h0, U, W, b_x, b_h`` of a small GRU layer."""
    N, D, H = _sizes(rng, square)
    T = int(rng.integers(3, 7))
    x, h0 = rng.normal(size=(N, T, D)), rng.normal(size=(N, H))
    return (N, T, D, H), (x, h0, *make_gru_params(D, H, rng))


_INPUT_NAMES = ("x", "h0", "U", "W", "b_x", "b_h")


@public_check("gru_forward")
def check_gru_forward(fn, seed: int = 0, square: bool | None = None):
    """``gru_forward(x, h0, U, W, b_x, b_h) -> (h, cache)`` (all steps) against
    ``torch.nn.GRU``; ``square`` chooses D = H (True) or D != H (False)."""
    rng = np.random.default_rng(seed)
    (N, T, D, H), inputs = _gru_problem(rng, square)
    out = call_on_copies(fn, dict(zip(_INPUT_NAMES, inputs, strict=True)), call=_call_gru)
    h, _ = _unpack(out, 2, "(h, cache)")
    h_exp, _ = reference_gru_forward(*inputs)
    x, h0, *params = inputs
    shape = f" (N={N}, T={T}, D={D}, H={H})"
    h = np.asarray(h, dtype=np.float64) if h is not None else h
    if h is not None and h.shape == (N, H):
        raise CheckFailed(f"h has shape {h.shape}: return the hidden states of every step, "
                          f"shape (N, T, H) = {(N, T, H)}, not only the last one")
    if h is not None and h.shape == (T, N, H) != (N, T, H):
        raise CheckFailed(f"h has shape {h.shape}, time first: store step t in h[:, t], so that "
                          f"h is batch-first, shape (N, T, H) = {(N, T, H)}")
    x_scrambled = x.reshape(T, N, D).transpose(1, 0, 2)
    compare("h (hidden states of all steps)" + shape, h, h_exp, atol=1e-10, alternatives={
        "h0 is ignored (the recursion starts from zeros)":
            reference_gru_forward(x, np.zeros_like(h0), *params)[0],
        "the projection of all steps is reshaped to (T, N, 3H) and read as a_x[t]; the rows of "
        "x.reshape(N * T, D) run over t fastest, so reshape it back to (N, T, 3H) and read "
        "a_x[:, t]": reference_gru_forward(x_scrambled, h0, *params)[0],
        "the sequence is read backwards": reference_gru_forward(x[:, ::-1].copy(), h0, *params)[0],
        "the blocks are read in the order z, r, n (torch's order is r, z, n)":
            reference_gru_forward(x, h0, *(_permute_blocks(p, (1, 0, 2)) for p in params))[0],
        "h is stored in time-first layout (T, N, H)": np.transpose(h_exp, (1, 0, 2)),
        **slip_values(*inputs),
    })


@public_check("gru_backward")
def check_gru_backward(fn, forward=None, seed: int = 0, square: bool | None = None):
    """``gru_backward(dh, cache) -> (dx, dh0, dU, dW, db_x, db_h)`` against torch autograd
    through ``torch.nn.GRU``, with the cache from the student's ``forward`` (by default the
    ``gru_forward`` defined beside ``fn``); ``square`` chooses D = H (True) or D != H (False)."""
    forward = forward_beside(fn, forward, "gru_forward")
    rng = np.random.default_rng(seed)
    (N, T, D, H), inputs = _gru_problem(rng, square)
    dh = rng.normal(size=(N, T, H))
    try:
        out = forward(*(a.copy() for a in inputs))
    except NotImplementedError:
        try:
            fn(dh.copy(), None)
        except NotImplementedError:
            raise
        except Exception:
            pass
        raise CheckFailed("gru_forward is not implemented yet; the backward pass needs its "
                          "cache") from None
    h, cache = _unpack(out, 2, "(h, cache) from gru_forward")
    h_exp, ref_cache = reference_gru_forward(*inputs)
    if not (np.shape(h) == h_exp.shape and np.allclose(h, h_exp, atol=1e-10)):
        raise CheckFailed("gru_forward does not pass its check yet; fix it first")
    grads = call_on_copies(lambda d: fn(d, cache), {"dh": dh})
    grads = _unpack(grads, 6, "(dx, dh0, dU, dW, db_x, db_h)")
    expected = reference_gru_backward(dh, ref_cache)
    slips, first_state = slip_gradients(*inputs, dh)
    names = ("dx", "dh0", "dU", "dW", "db_x", "db_h")
    shape = f" (N={N}, T={T}, D={D}, H={H})"
    for k, name in enumerate(names):
        alts = {hint: g[k] for hint, g in slips.items()}
        if name == "dh0":
            alts = {"dh0 is the gradient of the first state h^(1), not of h0: it still has to go "
                    "back through the first step (return the dh_next of the last iteration, "
                    "t = 0)": first_state,
                    "dh0 is zero: return the gradient that the loop sends back from the first "
                    "step (its dh_next at t = 0)": np.zeros_like(expected[1]), **alts}
        if name in ("db_x", "db_h"):
            g = np.asarray(grads[k])
            if g.ndim > 1 and g.shape[-1] == 3 * H:
                raise CheckFailed(f"{name} has shape {g.shape}: sum over the batch and time axes, "
                                  f"to shape (3H,) = ({3 * H},)")
        if name in ("dU", "dW"):
            alts[f"the rows of {name} are in the block order z, r, n (torch's is r, z, n)"] = \
                _permute_blocks(expected[k], (1, 0, 2))
        compare(name + shape, grads[k], expected[k], atol=1e-10, alternatives=alts)
