"""Public checks of lab 7 (gated units: LSTM and GRU).

Expected values come from torch in float64: ``torch.nn.LSTMCell``, ``torch.nn.LSTM``,
``torch.nn.GRUCell`` and ``torch.nn.GRU`` with the lab's weights copied in, and torch autograd for
the backward passes.
The weights follow torch's layout and block order (LSTM: i, f, g, o; GRU: r, z, n), so a
from-scratch layer is compared with torch by copying arrays, nothing else.

The references below are what a lab falls back on when an exercise is unfinished; they call
torch's layers, they do not spell out the equations the exercises ask for.
"""

from __future__ import annotations

import numpy as np

from course_lib.checks.core import CheckFailed, call_on_copies, compare, public_check
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


def torch_gru(U, W, b_x, b_h):
    """A float64 batch-first ``torch.nn.GRU`` (one layer) holding ``U, W, b_x, b_h``."""
    import torch

    H3, D = np.shape(U)
    gru = torch.nn.GRU(D, H3 // 3, batch_first=True).double()
    with torch.no_grad():
        for name, value in (("weight_ih_l0", U), ("weight_hh_l0", W), ("bias_ih_l0", b_x),
                            ("bias_hh_l0", b_h)):
            getattr(gru, name).copy_(_t(value))
    return gru


def reference_gru_forward(x, h0, U, W, b_x, b_h):
    """A GRU over a whole batch of sequences by ``torch.nn.GRU`` (float64, batch-first):
    returns ``(h (N, T, H), cache)``; the cache holds the inputs for
    :func:`reference_gru_backward`."""
    import torch

    with torch.no_grad():
        h, _ = torch_gru(U, W, b_x, b_h)(_t(x), _t(h0)[None])
    return h.numpy(), ("reference", x, h0, U, W, b_x, b_h)


def reference_gru_backward(dh, cache):
    """Gradients of ``sum(h * dh)`` for a whole GRU layer, by torch autograd through
    ``torch.nn.GRU``: ``(dx, dh0, dU, dW, db_x, db_h)`` in the order of the forward pass's
    inputs."""
    _, x, h0, U, W, b_x, b_h = cache
    gru = torch_gru(U, W, b_x, b_h)
    tx, th0 = _t(x, grad=True), _t(np.asarray(h0)[None], grad=True)
    h, _ = gru(tx, th0)
    (h * _t(dh)).sum().backward()
    grads = [tx.grad, th0.grad[0], gru.weight_ih_l0.grad, gru.weight_hh_l0.grad,
             gru.bias_ih_l0.grad, gru.bias_hh_l0.grad]
    return tuple(g.numpy().copy() for g in grads)


# --- typical GRU slips, in torch ops (hints only: expected values come from torch's layers) ---

_FORWARD_SLIPS = {
    "cho": "the reset gate multiplies h_prev before the product with W_n (that is Cho et al.'s "
           "GRU; torch applies r to (h_prev @ W_n.T + b_hn))",
    "bias_outside": "the bias b_hn is added outside the reset product (torch: "
                    "r * (h_prev @ W_n.T + b_hn))",
    "z_swapped": "z weights the candidate instead of the old state (the decks' convention; torch "
                 "uses h = (1 - z) * n + z * h_prev)",
    "no_reset": "the candidate is computed without the reset gate (the r * inside n is missing)",
}

_BACKWARD_SLIPS = {
    "no_dh_next": "each step receives only its own dh[:, t]: add the gradient dh_next that comes "
                  "back from step t + 1 before using it",
    "no_r_in_dah": "the gradient of the recurrent part of the candidate, W_n h_prev + b_hn, lacks "
                   "the factor r (it enters the candidate as r * (...))",
    "dz_sign": "dz has the wrong sign: with h = (1 - z) * n + z * h_prev, dL/dz = dh * "
               "(h_prev - n)",
    "no_direct_path": "dh_prev misses the direct path dh * z (h_prev also enters h through "
                      "z * h_prev, not only through the gates and the candidate)",
}


def _torch_gru_steps(x, h0, U, W, b_x, b_h, slip=None):
    """A GRU over ``x`` (N, T, D) in torch ops with autograd, optionally with one slip.

    The forward slips (keys of ``_FORWARD_SLIPS``) change the values. The backward slips (keys
    of ``_BACKWARD_SLIPS``) keep the values and change only the gradients, with the trick
    ``v.detach() + (w - w.detach())``: the value of ``v``, the gradient of ``w``. Returns the six
    leaf tensors ``(x, h0, U, W, b_x, b_h)`` and the list of the T states, which keep their
    gradients (``retain_grad``).
    """
    import torch

    leaves = [_t(a, grad=True) for a in (x, h0, U, W, b_x, b_h)]
    tx, h, tU, tW, tbx, tbh = leaves
    H = h.shape[1]
    a_x = tx @ tU.T + tbx
    states = []
    for t in range(tx.shape[1]):
        h_in = h.detach() if slip == "no_dh_next" and t > 0 else h
        a_h = h_in @ tW.T + tbh
        r = torch.sigmoid(a_x[:, t, :H] + a_h[:, :H])
        z = torch.sigmoid(a_x[:, t, H:2 * H] + a_h[:, H:2 * H])
        ax_n, ah_n = a_x[:, t, 2 * H:], a_h[:, 2 * H:]
        if slip == "cho":
            pre = ax_n + (r * h_in) @ tW[2 * H:].T + tbh[2 * H:]
        elif slip == "bias_outside":
            pre = ax_n + tbh[2 * H:] + r * (h_in @ tW[2 * H:].T)
        elif slip == "no_reset":
            pre = ax_n + ah_n
        elif slip == "no_r_in_dah":
            pre = ax_n + r * ah_n.detach() + (ah_n - ah_n.detach())
        else:
            pre = ax_n + r * ah_n
        n = torch.tanh(pre)
        if slip == "dz_sign":
            z = 2 * z.detach() - z
        keep = h_in.detach() if slip == "no_direct_path" else h_in
        h = z * n + (1 - z) * keep if slip == "z_swapped" else (1 - z) * n + z * keep
        if h.requires_grad:
            h.retain_grad()
        states.append(h)
    return leaves, states


def _slip_values(x, h0, U, W, b_x, b_h):
    """hint -> the hidden states (N, T, H) that each forward slip produces."""
    import torch

    with torch.no_grad():
        return {hint: torch.stack(_torch_gru_steps(x, h0, U, W, b_x, b_h, slip)[1], 1).numpy()
                for slip, hint in _FORWARD_SLIPS.items()}


def _slip_gradients(x, h0, U, W, b_x, b_h, dh):
    """hint -> the six gradients ``(dx, dh0, dU, dW, db_x, db_h)`` of ``sum(h * dh)`` that each
    backward slip produces, plus the hint for a ``dh0`` that is the gradient of the first state
    h^(1) instead of h0."""
    out = {}
    for slip, hint in (*_BACKWARD_SLIPS.items(), (None, None)):
        leaves, states = _torch_gru_steps(x, h0, U, W, b_x, b_h, slip)
        sum((s * _t(dh[:, t])).sum() for t, s in enumerate(states)).backward()
        grads = [v.grad.numpy().copy() for v in leaves]
        if slip is None:
            first = states[0].grad.numpy().copy()
            continue
        out[hint] = grads
    return out, first


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
    # typical mistakes (the answer itself comes from torch's GRUCell)
    alts = {hint: v[:, 0] for hint, v in _slip_values(x[:, None], h_prev, U, W, b_x, b_h).items()}
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


def _gru_problem(rng):
    """Sizes (N, T, D, H) and float64 inputs ``x, h0, U, W, b_x, b_h`` of a small GRU layer."""
    N, D, H = _sizes(rng)
    T = int(rng.integers(3, 7))
    x, h0 = rng.normal(size=(N, T, D)), rng.normal(size=(N, H))
    return (N, T, D, H), (x, h0, *make_gru_params(D, H, rng))


_INPUT_NAMES = ("x", "h0", "U", "W", "b_x", "b_h")


@public_check("gru_forward")
def check_gru_forward(fn, seed: int = 0):
    """``gru_forward(x, h0, U, W, b_x, b_h) -> (h, cache)`` (all steps) against
    ``torch.nn.GRU``."""
    rng = np.random.default_rng(seed)
    (N, T, D, H), inputs = _gru_problem(rng)
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
        **_slip_values(*inputs),
    })


@public_check("gru_backward")
def check_gru_backward(fn, forward, seed: int = 0):
    """``gru_backward(dh, cache) -> (dx, dh0, dU, dW, db_x, db_h)`` against torch autograd
    through ``torch.nn.GRU``, with the cache from the student's ``forward`` (``gru_forward``)."""
    rng = np.random.default_rng(seed)
    (N, T, D, H), inputs = _gru_problem(rng)
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
    slips, first_state = _slip_gradients(*inputs, dh)
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
