"""Public checks of lab 3 (the recurrent network's forward pass and the masked sequence loss).

Expected values come from torch in float64: ``torch.nn.RNN`` (tanh, ``batch_first=True``) with
the lab's weights copied in, and ``torch.nn.functional.cross_entropy`` with ``ignore_index`` and
autograd for the loss and its gradient. Hidden tests call the same checks with other seeds and
with cases the public example does not show: saturated pre-activations (``scale``, the size of
the weights) and a batch holding a sequence of length zero (``empty_row``).

Conventions (see the notation page): ``x (N, T, D)``, ``h0 (N, H)``, ``U (H, D)``, ``W (H, H)``,
``b_h (H,)`` and ``h (N, T, H)``, with ``h[:, t] = tanh(x[:, t] @ U.T + h[:, t-1] @ W.T + b_h)``.
torch keeps two bias vectors, ``bias_ih`` and ``bias_hh``; only their sum ``b_h`` matters.
"""

from __future__ import annotations

import numpy as np

from course_lib.checks.core import CheckFailed, call_on_copies, compare, public_check
from course_lib.references.ch03 import (
    reference_masked_sequence_loss,
    torch_elman_states,
    torch_rnn,
)

# --- parameters and inputs of the checks ----------------------------------------------


def make_rnn_params(D: int, H: int, rng: np.random.Generator, scale: float = 0.5):
    """Random float64 parameters ``U (H, D)``, ``W (H, H)``, ``b_h (H,)`` of an Elman layer."""
    return (rng.normal(0, scale, (H, D)), rng.normal(0, scale, (H, H)),
            rng.normal(0, scale, H))


# --- checks ----------------------------------------------------------------------------------

_SHAPE_HINT = ("U is (H, D) and W is (H, H), stored as in torch, so the products are "
               "x @ U.T and h_prev @ W.T")


def _call(fn, *args):
    """Call student code; turn a shape error of a matrix product into a hint about layouts."""
    try:
        return fn(*args)
    except NotImplementedError:
        raise
    except ValueError as exc:
        if "matmul" in str(exc) or "shapes" in str(exc) or "broadcast" in str(exc):
            raise CheckFailed(f"your code raised ValueError: {exc}. Hint: {_SHAPE_HINT}") from None
        raise


def _sizes(rng, square: bool):
    N, D, H = (int(v) for v in rng.integers(2, 6, size=3))
    if square:
        D = H
    elif D == H:
        D = H + 1
    return N, D, H


def _step_alternatives(x, h, U, W, b):
    """Values a typical mistake in one step produces (only those with the right shape), from
    torch (:func:`~course_lib.references.ch03.torch_elman_states` on one step)."""
    def step(U_=U, W_=W, b_=b, activation="tanh"):
        return torch_elman_states(x[:, None], h, U_, W_, b_, activation)[:, 0]

    return _weight_slips(step, U, W, b, "the previous state h_prev is ignored")


def _weight_slips(compute, U, W, b, ignored_state: str) -> dict:
    """The slips in the weights, bias and activation that a step and a loop share, each as
    ``compute`` (a step or the whole loop, by torch) evaluates it; ``ignored_state`` names the
    missing recurrent term."""
    alts = {
        "the bias b_h is left out": compute(b_=np.zeros_like(b)),
        ignored_state: compute(W_=np.zeros_like(W)),
        "the tanh is left out": compute(activation="identity"),
        "a sigmoid is used instead of tanh": compute(activation="sigmoid"),
        "W is not transposed (h_prev @ W instead of h_prev @ W.T)": compute(W_=W.T),
    }
    if U.shape[0] == U.shape[1]:
        alts["U is not transposed (x @ U instead of x @ U.T)"] = compute(U_=U.T)
        alts["U and W are not transposed"] = compute(U_=U.T, W_=W.T)
        alts["U and W are swapped"] = compute(U_=W, W_=U)
    return alts


@public_check("rnn_step_forward")
def check_rnn_step_forward(fn, seed: int = 0, scale: float = 0.5):
    """``rnn_step_forward(x, h_prev, U, W, b_h) -> (h_next, cache)`` against ``torch.nn.RNN``
    (float64, weights copied, ``b_h = bias_ih + bias_hh``). ``scale`` is the size of the
    weights and biases: at 100 most pre-activations are in the hundreds, where tanh is +-1 and
    a tanh written with ``np.exp`` overflows."""
    import torch

    rng = np.random.default_rng(seed)
    for square in (True, False):  # D == H first, so a transposed U gives values, not an error
        N, D, H = _sizes(rng, square)
        x = rng.normal(size=(N, D))
        h_prev = rng.normal(0, 0.8, size=(N, H))
        U, W, _ = make_rnn_params(D, H, rng, scale)
        bias_ih, bias_hh = rng.normal(0, scale, H), rng.normal(0, scale, H)
        b_h = bias_ih + bias_hh
        out = call_on_copies(fn, {"x": x, "h_prev": h_prev, "U": U, "W": W, "b_h": b_h}, _call)
        if not isinstance(out, tuple) or len(out) != 2:
            raise CheckFailed("return a tuple (h_next, cache)")
        rnn = torch_rnn(U, W, bias_ih, bias_hh)
        with torch.no_grad():
            expected, _ = rnn(torch.as_tensor(x)[:, None, :], torch.as_tensor(h_prev)[None])
        compare(f"h_next for N={N}, D={D}, H={H}", out[0], expected[:, 0].numpy(), atol=1e-10,
                rtol=0, alternatives=_step_alternatives(x, h_prev, U, W, b_h))


def _forward_alternatives(x, h0, U, W, b):
    """``h (N, T, H)`` as a typical mistake in the loop over time computes it, from torch
    (:func:`~course_lib.references.ch03.torch_elman_states`)."""
    def run(U_=U, W_=W, b_=b, activation="tanh", start=h0, from_h0=False):
        return torch_elman_states(x, start, U_, W_, b_, activation, from_h0)

    return {
        "every step starts from h0 instead of the previous step's state": run(from_h0=True),
        "h0 is ignored (the loop starts from zeros)": run(start=np.zeros_like(h0)),
        "h[:, t] holds the state before reading x[:, t] (h0 is stored and the last state is "
        "missing)": np.concatenate([h0[:, None], run()[:, :-1]], axis=1),
        **_weight_slips(run, U, W, b,
                        "the previous state is ignored (the recurrent term is left out)"),
    }


@public_check("rnn_forward")
def check_rnn_forward(fn, seed: int = 0, scale: float = 0.5):
    """``rnn_forward(x, h0, U, W, b_h) -> (h, cache)`` with ``h (N, T, H)`` against
    ``torch.nn.RNN`` (float64, batch-first, weights copied, ``b_h = bias_ih + bias_hh``);
    ``scale`` is the size of the weights and biases (100: saturated pre-activations)."""
    import torch

    rng = np.random.default_rng(seed)
    cases = [_sizes(rng, True) + (int(rng.integers(3, 7)),),
             _sizes(rng, False) + (int(rng.integers(3, 7)),),
             (1, 3, 4, 1)]  # one sequence of one step
    for N, D, H, T in cases:
        x = rng.normal(size=(N, T, D))
        h0 = rng.normal(0, 0.8, size=(N, H))
        U, W, _ = make_rnn_params(D, H, rng, scale)
        bias_ih, bias_hh = rng.normal(0, scale, H), rng.normal(0, scale, H)
        b_h = bias_ih + bias_hh
        out = call_on_copies(fn, {"x": x, "h0": h0, "U": U, "W": W, "b_h": b_h}, _call)
        if not isinstance(out, tuple) or len(out) != 2:
            raise CheckFailed("return a tuple (h, cache)")
        h = out[0]
        shape = np.shape(h) if h is not None else None
        if shape == (N, T + 1, H):
            raise CheckFailed(f"h has shape {shape}, expected {(N, T, H)}: return the states "
                              "after steps 1..T, without h0")
        if T > 1 and shape == (T, N, H) and N != T:
            raise CheckFailed(f"h has shape {shape}, expected {(N, T, H)}: the course's arrays "
                              "are batch-first (time is axis 1)")
        if shape == (N, H) and T > 1:
            raise CheckFailed(f"h has shape {shape}, expected {(N, T, H)}: return the states of "
                              "every step, not only the last one")
        rnn = torch_rnn(U, W, bias_ih, bias_hh)
        with torch.no_grad():
            expected, h_last = rnn(torch.as_tensor(x), torch.as_tensor(h0)[None])
        compare(f"h for N={N}, T={T}, D={D}, H={H}", h, expected.numpy(), atol=1e-10, rtol=0,
                alternatives=_forward_alternatives(x, h0, U, W, b_h))


def _loss_case(rng, N, T, K, empty_row: bool = False):
    """Logits, targets and a mask of variable-length sequences; the padded steps hold large
    random logits and random targets, which must not change the loss. With ``empty_row`` the
    last sequence (when N > 1) has length 0: it is all padding, and still one of the N."""
    lengths = rng.integers(1, T + 1, size=N)
    lengths[0] = T  # at least one full-length sequence
    if empty_row and N > 1:
        lengths[-1] = 0
    mask = (np.arange(T)[None, :] < lengths[:, None]).astype(np.float64)
    logits = rng.normal(0, 2.0, size=(N, T, K))
    y = rng.integers(0, K, size=(N, T))
    pad = mask == 0
    logits[pad] = rng.normal(0, 400.0, size=(int(pad.sum()), K))  # exp() overflows here
    return logits, y, mask, lengths


@public_check("masked_sequence_loss")
def check_masked_sequence_loss(fn, seed: int = 0, empty_row: bool = False):
    """``masked_sequence_loss(logits, y, mask) -> (loss, dlogits)`` against torch
    (``F.cross_entropy`` with ``ignore_index``, autograd), on padded batches (``empty_row``:
    one sequence of each batch is all padding)."""
    rng = np.random.default_rng(seed)
    for N, T, K in ((4, 5, 3), (3, 6, 5), (1, 1, 2)):
        logits, y, mask, lengths = _loss_case(rng, N, T, K, empty_row)
        args = (logits.copy(), y.copy(), mask.copy())
        out = fn(*args)
        if not isinstance(out, tuple) or len(out) != 2:
            raise CheckFailed("return a tuple (loss, dlogits)")
        if not np.array_equal(args[0], logits):
            raise CheckFailed("your function changed logits in place; work on a copy")
        loss, dlogits = out
        if loss is not None and np.ndim(loss) == 0 and not np.isfinite(loss):
            raise CheckFailed(f"the loss is {loss}: the padded steps of the check hold very "
                              "large logits (hundreds), so exp() of them overflows unless you "
                              "subtract each row's maximum first, and inf * 0 (a masked "
                              "overflow) is nan; the real steps' losses are finite")
        exp_loss, exp_grad = reference_masked_sequence_loss(logits, y, mask)
        # what the usual mistakes give: the torch reference without the mask (or given masked
        # logits), and maths on its results
        every_step = np.ones_like(mask)
        unmasked_loss, unmasked_grad = reference_masked_sequence_loss(logits, y, every_step)
        n_valid = mask.sum()
        what = f"loss for N={N}, T={T}, K={K}, lengths {lengths.tolist()}"
        compare(what, np.asarray(loss, dtype=np.float64) if loss is not None else None,
                np.asarray(exp_loss), atol=1e-10, rtol=1e-10, alternatives={
                    "the mask is ignored (padded steps are counted)": np.asarray(unmasked_loss),
                    "the loss is divided by the number of real steps instead of N":
                        np.asarray(exp_loss * N / n_valid),
                    "the loss is summed over the batch instead of averaged over N":
                        np.asarray(exp_loss * N),
                    "the loss is averaged over all N*T steps": np.asarray(exp_loss / T),
                    "the logits are masked instead of the per-step losses (a padded step "
                    "then costs log K)": np.asarray(reference_masked_sequence_loss(
                        logits * mask[..., None], y, every_step)[0]),
                })
        compare(f"dlogits for N={N}, T={T}, K={K}", dlogits, exp_grad, atol=1e-10, rtol=1e-10,
                alternatives={
                    "the padded steps get a gradient (multiply by the mask)": unmasked_grad,
                    "the gradient is not divided by N": exp_grad * N,
                    "the sign is flipped (onehot - softmax)": -exp_grad,
                })
