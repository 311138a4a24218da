"""Tests of lab 3's checks and references (course_lib.checks.ch03).

The correct implementations are the master lab's own solution cells, read from
solutions/ch03/ch03_lab.ipynb, so what is tested here is what students are graded against.
Every typical mistake must fail its check with its hint; expected values come from torch
(float64) and from central differences, never from the solution itself.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from labs import solution_functions, stub

from course_lib.checks.ch03 import (
    check_masked_sequence_loss,
    check_rnn_forward,
    check_rnn_step_forward,
    make_rnn_params,
)
from course_lib.gradcheck import numerical_gradient
from course_lib.references.ch03 import (
    reference_last_state,
    reference_masked_sequence_loss,
    reference_rnn_forward,
    reference_rnn_step_forward,
    torch_rnn,
)

SOL = solution_functions("ch03")
step, forward, masked_loss = (SOL["rnn_step_forward"], SOL["rnn_forward"],
                              SOL["masked_sequence_loss"])


def _messages(result) -> str:
    return " ".join(result.messages)


# --- the solution passes, and equals torch -------------------------------------------------

@pytest.mark.parametrize("seed", [0, 1, 2, 17, 123])
def test_solutions_pass_their_checks(seed):
    assert check_rnn_step_forward(step, seed=seed, quiet=True)
    assert check_rnn_forward(forward, seed=seed, quiet=True)
    assert check_masked_sequence_loss(masked_loss, seed=seed, quiet=True)


def test_rnn_forward_equals_torch_with_split_biases():
    """b_h = bias_ih + bias_hh: torch's two biases, summed, are the course's one."""
    rng = np.random.default_rng(5)
    N, T, D, H = 3, 8, 4, 6
    x, h0 = rng.normal(size=(N, T, D)), rng.normal(size=(N, H))
    U, W, _ = make_rnn_params(D, H, rng)
    b_ih, b_hh = rng.normal(size=H), rng.normal(size=H)
    with torch.no_grad():
        expected, last = torch_rnn(U, W, b_ih, b_hh)(torch.as_tensor(x),
                                                      torch.as_tensor(h0)[None])
    h, cache = forward(x, h0, U, W, b_ih + b_hh)
    assert h.shape == (N, T, H)
    assert np.max(np.abs(h - expected.numpy())) < 1e-10
    assert np.max(np.abs(h[:, -1] - last[0].numpy())) < 1e-10
    assert len(cache) == T  # one cache per step, for chapter 4's backward pass
    ref, _ = reference_rnn_forward(x, h0, U, W, b_ih + b_hh)
    assert np.max(np.abs(ref - expected.numpy())) < 1e-10
    h1, _ = step(x[:, 0], h0, U, W, b_ih + b_hh)
    r1, _ = reference_rnn_step_forward(x[:, 0], h0, U, W, b_ih + b_hh)
    assert np.max(np.abs(h1 - expected[:, 0].numpy())) < 1e-10
    assert np.max(np.abs(r1 - h1)) < 1e-10


def test_masked_loss_gradient_equals_autograd_and_numerical():
    rng = np.random.default_rng(7)
    N, T, K = 3, 4, 5
    logits = rng.normal(size=(N, T, K))
    y = rng.integers(0, K, size=(N, T))
    mask = np.array([[1, 1, 1, 1], [1, 1, 0, 0], [1, 0, 0, 0]], dtype=np.float64)
    loss, grad = masked_loss(logits, y, mask)
    ref_loss, ref_grad = reference_masked_sequence_loss(logits, y, mask)
    assert abs(loss - ref_loss) < 1e-10 and np.max(np.abs(grad - ref_grad)) < 1e-10
    numeric = numerical_gradient(lambda: masked_loss(logits, y, mask)[0], logits)
    assert np.max(np.abs(numeric - grad)) < 1e-7
    numeric_ref = numerical_gradient(lambda: reference_masked_sequence_loss(logits, y, mask)[0],
                                     logits)
    assert np.max(np.abs(numeric_ref - ref_grad)) < 1e-7
    # the loss is the mathematical formula: sum over real steps of -log softmax, divided by N
    logp = torch.log_softmax(torch.as_tensor(logits), dim=2).numpy()
    by_hand = -sum(logp[n, t, y[n, t]] for n in range(N) for t in range(T) if mask[n, t]) / N
    assert abs(ref_loss - by_hand) < 1e-12


@pytest.mark.parametrize("fn", [masked_loss, reference_masked_sequence_loss],
                         ids=["solution", "reference"])
def test_padding_does_not_change_the_loss(fn):
    """The same sequences, padded to T=6 and to T=20 with huge random logits and random targets
    in the padding, give the same loss as the sequences taken one at a time."""
    rng = np.random.default_rng(11)
    K, lengths = 4, [6, 2, 4, 1]
    seqs = [(rng.normal(size=(L, K)), rng.integers(0, K, size=L)) for L in lengths]

    def padded(T):
        logits = rng.normal(0, 50.0, size=(len(seqs), T, K))
        y = rng.integers(0, K, size=(len(seqs), T))
        mask = np.zeros((len(seqs), T))
        for n, (s, t) in enumerate(seqs):
            logits[n, : len(t)], y[n, : len(t)], mask[n, : len(t)] = s, t, 1
        return logits, y, mask

    alone = np.mean([fn(s[None], t[None], np.ones((1, len(t))))[0] for s, t in seqs])
    loss6, grad6 = fn(*padded(6))
    logits20, y20, mask20 = padded(20)
    loss20, grad20 = fn(logits20, y20, mask20)
    assert abs(loss6 - alone) < 1e-12 and abs(loss20 - alone) < 1e-12
    assert np.all(grad20[mask20 == 0] == 0)
    assert np.max(np.abs(grad20[:, :6] - grad6)) < 1e-15
    # and the padding would matter without the mask, so this test can fail
    assert abs(fn(logits20, y20, np.ones_like(mask20))[0] - alone) > 1.0


def test_padding_after_the_end_leaves_earlier_states_unchanged():
    """The forward pass is causal: padding appended after a sequence's end cannot change the
    states up to its last real step (so reference_last_state picks the right ones)."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 5, 3))
    U, W, b = make_rnn_params(3, 4, rng)
    h0 = np.zeros((2, 4))
    x_pad = np.concatenate([x, rng.normal(size=(2, 3, 3))], axis=1)
    h, _ = forward(x, h0, U, W, b)
    h_pad, _ = forward(x_pad, h0, U, W, b)
    assert np.max(np.abs(h_pad[:, :5] - h)) == 0
    last = reference_last_state(h_pad, np.array([5, 2]))
    assert np.array_equal(last, np.stack([h[0, 4], h[1, 1]]))


# --- the usual mistakes fail, with their hint -----------------------------------------------

def _step_mistake(kind):
    def fn(x, h_prev, U, W, b_h):
        pre = {
            "no_bias": x @ U.T + h_prev @ W.T,
            "no_prev": x @ U.T + b_h,
            "U_not_T": x @ U + h_prev @ W.T + b_h,
            "W_not_T": x @ U.T + h_prev @ W + b_h,
            "no_tanh": None,
        }[kind]
        if kind == "no_tanh":
            return x @ U.T + h_prev @ W.T + b_h, None
        return np.tanh(pre), None
    return fn


@pytest.mark.parametrize("kind, hint", [
    ("no_bias", "the bias b_h is left out"),
    ("no_prev", "the previous state h_prev is ignored"),
    ("U_not_T", "U is not transposed"),
    ("W_not_T", "W is not transposed"),
    ("no_tanh", "the tanh is left out"),
])
def test_step_mistakes_are_named(kind, hint):
    result = check_rnn_step_forward(_step_mistake(kind), quiet=True)
    assert not result and result.implemented
    assert hint in _messages(result), _messages(result)


def test_step_transposed_u_on_rectangular_weights_gets_a_layout_hint():
    """When D != H a transposed U cannot even be multiplied; the check explains the layout."""
    def fn(x, h_prev, U, W, b_h):
        return np.tanh(x @ U + h_prev @ W.T + b_h), None

    for seed in range(20):  # the square case is detected by value; find a seed where D != H
        result = check_rnn_step_forward(fn, seed=seed, quiet=True)
        assert not result
    assert "U is not transposed" in _messages(check_rnn_step_forward(fn, quiet=True))

    def rect_only(x, h_prev, U, W, b_h):
        if U.shape[0] == U.shape[1]:
            return step(x, h_prev, U, W, b_h)
        return fn(x, h_prev, U, W, b_h)

    result = check_rnn_step_forward(rect_only, quiet=True)
    assert not result and "x @ U.T" in _messages(result), _messages(result)


def _forward_mistake(kind):
    def fn(x, h0, U, W, b_h):
        N, T, _ = x.shape
        h, out = (np.zeros_like(h0) if kind == "zeros_start" else h0), []
        for t in range(T):
            prev = h0 if kind == "h0_every_step" else h
            if kind == "no_prev":
                h = np.tanh(x[:, t] @ U.T + b_h)
            elif kind == "no_bias":
                h = np.tanh(x[:, t] @ U.T + prev @ W.T)
            elif kind == "W_not_T":
                h = np.tanh(x[:, t] @ U.T + prev @ W + b_h)
            else:
                h = np.tanh(x[:, t] @ U.T + prev @ W.T + b_h)
            out.append(h)
        if kind == "with_h0":
            out.insert(0, h0)
        if kind == "shifted":  # the state before each step stored: h0 in, the last state out
            out = [h0, *out[:-1]]
        if kind == "time_major":
            return np.stack(out, axis=0), None
        if kind == "last_only":
            return h, None
        return np.stack(out, axis=1), None
    return fn


@pytest.mark.parametrize("kind, hint", [
    ("no_prev", "the previous state is ignored"),
    ("h0_every_step", "every step starts from h0"),
    ("zeros_start", "h0 is ignored"),
    ("no_bias", "the bias b_h is left out"),
    ("W_not_T", "W is not transposed"),
    ("with_h0", "without h0"),
    ("shifted", "the state before reading x[:, t]"),
    ("time_major", "batch-first"),
    ("last_only", "not only the last one"),
])
def test_forward_mistakes_are_named(kind, hint):
    result = check_rnn_forward(_forward_mistake(kind), quiet=True)
    assert not result and result.implemented
    assert hint in _messages(result), _messages(result)


def _loss_mistake(kind):
    def fn(logits, y, mask):
        N, _, K = logits.shape
        if kind == "mask_logits":
            logits = logits * mask[..., None]
        z = logits - logits.max(axis=2, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=2, keepdims=True))
        nll = -np.take_along_axis(logp, y[..., None], axis=2)[..., 0]
        grad = (np.exp(logp) - np.eye(K)[y]) * mask[..., None] / N
        if kind == "no_mask":
            return float(nll.sum() / N), grad
        if kind == "per_step":
            return float((nll * mask).sum() / mask.sum()), grad
        if kind == "sum_batch":
            return float((nll * mask).sum()), grad
        if kind == "mask_logits":
            return float(nll.sum() / N), grad
        loss = float((nll * mask).sum() / N)
        if kind == "grad_unmasked":
            return loss, (np.exp(logp) - np.eye(K)[y]) / N
        if kind == "grad_sign":
            return loss, -grad
        if kind == "unstable":  # no max subtraction: overflows on the padded steps' logits
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                p = np.exp(logits) / np.exp(logits).sum(axis=2, keepdims=True)
                return float(-(np.log(np.take_along_axis(p, y[..., None], 2))[..., 0]
                               * mask).sum() / N), grad
        raise AssertionError(kind)
    return fn


@pytest.mark.parametrize("kind, hint", [
    ("no_mask", "the mask is ignored"),
    ("per_step", "divided by the number of real steps"),
    ("sum_batch", "summed over the batch"),
    ("mask_logits", "the logits are masked"),
    ("grad_unmasked", "the padded steps get a gradient"),
    ("grad_sign", "sign"),
    ("unstable", "subtract each row's maximum"),
])
def test_loss_mistakes_are_named(kind, hint):
    result = check_masked_sequence_loss(_loss_mistake(kind), quiet=True)
    assert not result and result.implemented
    assert hint in _messages(result), _messages(result)


# --- stubs, crashes and bad input ---------------------------------------------------------------

@pytest.mark.parametrize("check", [check_rnn_step_forward, check_rnn_forward,
                                   check_masked_sequence_loss])
def test_stub_reports_not_implemented_and_never_raises(check, capsys):
    result = check(stub, quiet=True)
    assert not result and not result.implemented
    assert check(stub) is None
    assert "not implemented yet" in capsys.readouterr().out

    def crash(*args):
        return 1 / 0

    result = check(crash, quiet=True)
    assert not result and "ZeroDivisionError" in _messages(result)
    assert "return a tuple" in _messages(check(lambda *a: None, quiet=True))


def test_references_reject_bad_input():
    rng = np.random.default_rng(0)
    U, W, b = make_rnn_params(3, 4, rng)
    with pytest.raises(ValueError, match="x: expected shape"):
        reference_rnn_forward(np.zeros((2, 3)), np.zeros((2, 4)), U, W, b)
    with pytest.raises(ValueError, match="U: expected shape"):
        reference_rnn_forward(np.zeros((2, 5, 3)), np.zeros((2, 4)), U.T, W, b)
    with pytest.raises(ValueError, match="NaN"):
        reference_rnn_forward(np.full((2, 5, 3), np.nan), np.zeros((2, 4)), U, W, b)
    with pytest.raises(ValueError, match="mask"):
        reference_masked_sequence_loss(np.zeros((2, 3, 4)), np.zeros((2, 3), int),
                                       np.full((2, 3), 0.5))
    with pytest.raises(ValueError, match="y: expected class indices"):
        reference_masked_sequence_loss(np.zeros((1, 2, 3)), np.array([[0, 3]]), np.ones((1, 2)))
    with pytest.raises(ValueError, match="lengths"):
        reference_last_state(np.zeros((2, 3, 4)), np.array([0, 3]))
