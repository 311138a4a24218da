"""Public checks of lab 7 (gated units: LSTM and GRU).

Expected values come from torch in float64: ``torch.nn.LSTMCell``, ``torch.nn.LSTM`` and
``torch.nn.GRUCell`` with the lab's weights copied in, and torch autograd for the backward pass.
The weights follow torch's layout and block order (LSTM: i, f, g, o; GRU: r, z, n), so a
from-scratch layer is compared with torch by copying arrays, nothing else.

The references below are what a lab falls back on when an exercise is unfinished; they call
torch's layers, they do not spell out the equations the exercises ask for.
"""

from __future__ import annotations

import numpy as np

from course_lib.checks.core import CheckFailed, compare, public_check
from course_lib.checks.core import unpack as _unpack

LSTM_BLOCKS = ("i", "f", "g", "o")
GRU_BLOCKS = ("r", "z", "n")


def _sigmoid(u):
    return 1.0 / (1.0 + np.exp(-u))


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


def _t(a, grad: bool = False):
    import torch

    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def _lstm_cell(U, W, b):
    """A float64 ``torch.nn.LSTMCell`` holding ``U, W, b`` (the bias all in ``bias_ih``)."""
    import torch

    H4, D = np.shape(U)
    cell = torch.nn.LSTMCell(D, H4 // 4).double()
    with torch.no_grad():
        cell.weight_ih.copy_(_t(U))
        cell.weight_hh.copy_(_t(W))
        cell.bias_ih.copy_(_t(b))
        cell.bias_hh.zero_()
    return cell


def _gru_cell(U, W, b_x, b_h):
    """A float64 ``torch.nn.GRUCell`` holding ``U, W, b_x, b_h``."""
    import torch

    H3, D = np.shape(U)
    cell = torch.nn.GRUCell(D, H3 // 3).double()
    with torch.no_grad():
        cell.weight_ih.copy_(_t(U))
        cell.weight_hh.copy_(_t(W))
        cell.bias_ih.copy_(_t(b_x))
        cell.bias_hh.copy_(_t(b_h))
    return cell


def _permute_blocks(a, order):
    """Reorder the row blocks of a stacked gate array (first axis split into len(order))."""
    blocks = np.split(np.asarray(a), len(order))
    return np.concatenate([blocks[k] for k in order])


# --- references (torch) ----------------------------------------------------------------------

def reference_lstm_step_forward(x, h_prev, c_prev, U, W, b):
    """One LSTM step by ``torch.nn.LSTMCell`` (float64): returns ``(h (N, H), c (N, H),
    cache)``; the cache holds the inputs for :func:`reference_lstm_step_backward`."""
    import torch

    cell = _lstm_cell(U, W, b)
    with torch.no_grad():
        h, c = cell(_t(x), (_t(h_prev), _t(c_prev)))
    return h.numpy(), c.numpy(), ("reference", x, h_prev, c_prev, U, W, b)


def reference_lstm_step_backward(dh, dc, cache):
    """Gradients of ``sum(h * dh) + sum(c * dc)`` for one LSTM step, by torch autograd through
    ``torch.nn.LSTMCell``: ``(dx, dh_prev, dc_prev, dU, dW, db)`` in the order of the forward
    pass's inputs."""
    _, x, h_prev, c_prev, U, W, b = cache
    cell = _lstm_cell(U, W, b)
    xs = [_t(v, grad=True) for v in (x, h_prev, c_prev)]
    h, c = cell(xs[0], (xs[1], xs[2]))
    ((h * _t(dh)).sum() + (c * _t(dc)).sum()).backward()
    grads = [v.grad for v in xs] + [cell.weight_ih.grad, cell.weight_hh.grad, cell.bias_ih.grad]
    return tuple(g.numpy().copy() for g in grads)


def reference_lstm_forward(x, h0, c0, U, W, b):
    """An LSTM over a whole batch of sequences by ``torch.nn.LSTM`` (float64, batch-first):
    returns ``(h (N, T, H), c (N, T, H), cache)``; ``c`` holds every step's cell state
    (``torch.nn.LSTM`` returns only the last, so the cell is stepped with ``LSTMCell``)."""
    import torch

    cell = _lstm_cell(U, W, b)
    x = _t(x)
    h, c = _t(h0), _t(c0)
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
    lstm = torch.nn.LSTM(D, H4 // 4, batch_first=True).double()
    with torch.no_grad():
        lstm.weight_ih_l0.copy_(_t(U))
        lstm.weight_hh_l0.copy_(_t(W))
        lstm.bias_ih_l0.copy_(_t(b))
        lstm.bias_hh_l0.zero_()
    return lstm


def reference_gru_step_forward(x, h_prev, U, W, b_x, b_h):
    """One GRU step by ``torch.nn.GRUCell`` (float64): returns ``(h (N, H), None)``."""
    import torch

    with torch.no_grad():
        h = _gru_cell(U, W, b_x, b_h)(_t(x), _t(h_prev))
    return h.numpy(), None


# --- checks ----------------------------------------------------------------------------------

def _sizes(rng):
    N, D, H = (int(v) for v in rng.integers(2, 6, size=3))
    return N, D, H


@public_check("lstm_step_forward")
def check_lstm_step_forward(fn, seed: int = 0):
    """``lstm_step_forward(x, h_prev, c_prev, U, W, b) -> (h, c, cache)`` against
    ``torch.nn.LSTMCell``."""
    rng = np.random.default_rng(seed)
    N, D, H = _sizes(rng)
    x, h_prev, c_prev = rng.normal(size=(N, D)), rng.normal(size=(N, H)), rng.normal(size=(N, H))
    U, W, b = make_lstm_params(D, H, rng)
    args = [a.copy() for a in (x, h_prev, c_prev, U, W, b)]
    h, c, _ = _unpack(fn(*args), 3, "(h, c, cache)")
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
    _, f_gate, _, o_gate = np.split(_sigmoid(x @ U.T + h_prev @ W.T + b), 4, axis=1)
    compare("h (the new hidden state)" + hints, h, h_exp, atol=1e-10, alternatives={
        "h = o * c, without the tanh of the cell": o_gate * c_exp,
        "h = tanh(c), without the output gate": np.tanh(c_exp),
        "the blocks are read in the order i, f, o, g (torch's order is i, f, g, o)": ifog[0],
    })


@public_check("lstm_step_backward")
def check_lstm_step_backward(fn, forward, seed: int = 0):
    """``lstm_step_backward(dh, dc, cache) -> (dx, dh_prev, dc_prev, dU, dW, db)`` against
    torch autograd, with the cache from the student's ``forward``."""
    rng = np.random.default_rng(seed)
    N, D, H = _sizes(rng)
    x, h_prev, c_prev = rng.normal(size=(N, D)), rng.normal(size=(N, H)), rng.normal(size=(N, H))
    U, W, b = make_lstm_params(D, H, rng)
    dh, dc = rng.normal(size=(N, H)), rng.normal(size=(N, H))
    try:
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
    grads = _unpack(fn(dh.copy(), dc.copy(), cache), 6, "(dx, dh_prev, dc_prev, dU, dW, db)")
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
def check_lstm_forward(fn, seed: int = 0):
    """``lstm_forward(x, h0, c0, U, W, b) -> (h, c, cache)`` (all steps) against
    ``torch.nn.LSTM``."""
    import torch

    rng = np.random.default_rng(seed)
    N, D, H = _sizes(rng)
    T = int(rng.integers(3, 7))
    x = rng.normal(size=(N, T, D))
    h0, c0 = rng.normal(size=(N, H)), rng.normal(size=(N, H))
    U, W, b = make_lstm_params(D, H, rng)
    h, c, _ = _unpack(fn(*(a.copy() for a in (x, h0, c0, U, W, b))), 3, "(h, c, cache)")
    lstm = torch_lstm(U, W, b)
    with torch.no_grad():
        h_exp, (_, c_last) = lstm(_t(x), (_t(h0)[None], _t(c0)[None]))
    h_exp = h_exp.numpy()
    _, c_all, _ = reference_lstm_forward(x, h0, c0, U, W, b)
    with torch.no_grad():
        h_zero = lstm(_t(x))[0].numpy()
        h_rev = lstm(_t(x[:, ::-1].copy()), (_t(h0)[None], _t(c0)[None]))[0].numpy()
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
def check_gru_step_forward(fn, seed: int = 0):
    """``gru_step_forward(x, h_prev, U, W, b_x, b_h) -> (h, cache)`` against
    ``torch.nn.GRUCell``."""
    rng = np.random.default_rng(seed)
    N, D, H = _sizes(rng)
    x, h_prev = rng.normal(size=(N, D)), rng.normal(size=(N, H))
    U, W, b_x, b_h = make_gru_params(D, H, rng)
    h, _ = _unpack(fn(*(a.copy() for a in (x, h_prev, U, W, b_x, b_h))), 2, "(h, cache)")
    h_exp, _ = reference_gru_step_forward(x, h_prev, U, W, b_x, b_h)
    # typical mistakes, written out (the answer itself comes from torch's GRUCell)
    gx = np.split(x @ U.T + b_x, 3, axis=1)
    Wr, Wz, Wn = np.split(W, 3)
    bhr, bhz, bhn = np.split(b_h, 3)
    r = _sigmoid(gx[0] + h_prev @ Wr.T + bhr)
    z = _sigmoid(gx[1] + h_prev @ Wz.T + bhz)
    n_cho = np.tanh(gx[2] + (r * h_prev) @ Wn.T + bhn)
    n_out = np.tanh(gx[2] + bhn + r * (h_prev @ Wn.T))
    n_ok = np.tanh(gx[2] + r * (h_prev @ Wn.T + bhn))
    zr = reference_gru_step_forward(x, h_prev, *(_permute_blocks(p, (1, 0, 2))
                                                 for p in (U, W, b_x, b_h)))[0]
    compare(f"h (N={N}, D={D}, H={H})", h, h_exp, atol=1e-10, alternatives={
        "the reset gate multiplies h_prev before the product with W_n (that is Cho et al.'s "
        "GRU; torch applies r to (h_prev @ W_n.T + b_hn))": (1 - z) * n_cho + z * h_prev,
        "the bias b_hn is added outside the reset product (torch: r * (h_prev @ W_n.T + b_hn))":
            (1 - z) * n_out + z * h_prev,
        "z weights the candidate instead of the old state (the decks' convention; torch uses "
        "h = (1 - z) * n + z * h_prev)": z * n_ok + (1 - z) * h_prev,
        "the blocks are read in the order z, r, n (torch's order is r, z, n)": zr,
    })
