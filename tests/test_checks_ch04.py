"""Checks of lab 4: correct backward passes pass, the usual mistakes fail with their hint, and
the torch references agree with torch.nn.RNN and with central differences."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from labs import master_functions, master_variant, stub

from course_lib import gradcheck
from course_lib.checks.ch04 import (
    check_grad_check_sparse,
    check_rnn_backward,
    check_rnn_step_backward,
)
from course_lib.references.ch04 import (
    reference_rnn_backward,
    reference_rnn_forward,
    reference_rnn_step_backward,
)

SEEDS = (0, 1, 7, 1234)

# --- the master lab's solutions, and typical mistakes as small edits of them ----------------

MASTER = master_functions("ch04")
step_backward = MASTER["rnn_step_backward"]
backward = MASTER["rnn_backward"]
grad_check_sparse = MASTER["grad_check_sparse"]
DA = "da = dh_t * (1.0 - h_t ** 2)"
step_backward_no_tanh = master_variant("ch04", "rnn_step_backward", {DA: "da = dh_t"})
step_backward_W_transposed = master_variant("ch04", "rnn_step_backward", {"da @ W,": "da @ W.T,"})
step_backward_dW_transposed = master_variant("ch04", "rnn_step_backward",
                                             {"da.T @ h_prev,": "(da.T @ h_prev).T,"})
step_backward_bias_not_summed = master_variant("ch04", "rnn_step_backward",
                                               {"da.sum(axis=0)": "da"})
step_backward_in_place = master_variant("ch04", "rnn_step_backward",
                                        {DA: "dh_t *= 1.0 - h_t ** 2\n    da = dh_t"})
BACKWARD_MISTAKES = {
    "carry": {"rnn_step_backward(dh[:, t] + dh_next,": "rnn_step_backward(dh[:, t],"},
    "accumulate": {"dU += dU_t\n        dW += dW_t\n        db_h += db_t":
                   "dU, dW, db_h = dU_t, dW_t, db_t"},
    "dh0_from_dh": {"return dx, dh_next,": "return dx, dh[:, 0],"},
}
GRAD_CHECK_MISTAKES = {
    "one_sided": {"x[i] = old - eps": "x[i] = old", "/ (2 * eps)": "/ eps"},
    "restore": {"x[i] = old\n": "\n"},
    "formula": {" / max(abs(analytic[i]) + abs(numeric), 1e-12)": ""},
}


def _message(result):
    return " ".join(result.messages)


# --- the references ---------------------------------------------------------------------------


def test_reference_forward_equals_torch_rnn():
    rng = np.random.default_rng(0)
    N, T, D, H = 3, 5, 4, 6
    x, h0 = rng.normal(size=(N, T, D)), rng.normal(size=(N, H))
    U, W, b_h = rng.normal(size=(H, D)), rng.normal(size=(H, H)) * 0.5, rng.normal(size=H)
    rnn = torch.nn.RNN(D, H, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(torch.tensor(U))
        rnn.weight_hh_l0.copy_(torch.tensor(W))
        rnn.bias_ih_l0.copy_(torch.tensor(b_h))
        rnn.bias_hh_l0.zero_()
        expected = rnn(torch.tensor(x), torch.tensor(h0)[None])[0].numpy()
    h, cache = reference_rnn_forward(x, h0, U, W, b_h)
    np.testing.assert_allclose(h, expected, rtol=0, atol=1e-12)
    assert len(cache) == T
    np.testing.assert_array_equal(cache[0][1], h0)
    np.testing.assert_array_equal(cache[2][1], h[:, 1])
    np.testing.assert_array_equal(cache[2][5], h[:, 2])


def test_reference_backward_matches_central_differences():
    rng = np.random.default_rng(3)
    N, T, D, H = 2, 4, 3, 5
    x, h0 = rng.normal(size=(N, T, D)), rng.normal(size=(N, H))
    U, W, b_h = rng.normal(size=(H, D)), rng.normal(size=(H, H)) * 0.5, rng.normal(size=H)
    dh = rng.normal(size=(N, T, H))
    _, cache = reference_rnn_forward(x, h0, U, W, b_h)
    grads = reference_rnn_backward(dh, cache)
    for arr, g in zip((x, h0, U, W, b_h), grads, strict=True):
        num = gradcheck.numerical_gradient_array(
            lambda: reference_rnn_forward(x, h0, U, W, b_h)[0], arr, dh)
        assert gradcheck.rel_error(g, num) < 1e-6
    step = reference_rnn_step_backward(dh[:, 0], cache[0])
    num_U = gradcheck.numerical_gradient_array(
        lambda: np.tanh(x[:, 0] @ U.T + h0 @ W.T + b_h), U, dh[:, 0])
    assert gradcheck.rel_error(step[2], num_U) < 1e-6


# --- rnn_step_backward ------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_step_backward_correct_passes(seed):
    assert check_rnn_step_backward(step_backward, seed=seed, quiet=True)


@pytest.mark.parametrize("wrong, hint", [
    (step_backward_no_tanh, "tanh derivative"),
    (step_backward_W_transposed, "W is transposed"),
    (step_backward_dW_transposed, "transposed (use da.T @ h_prev)"),
    (step_backward_bias_not_summed, "sum the per-example gradients"),
    (step_backward_in_place, "in place"),
])
def test_step_backward_mistakes_fail_with_hint(wrong, hint):
    result = check_rnn_step_backward(wrong, seed=0, quiet=True)
    assert not result and result.implemented
    assert hint in _message(result)


def test_step_backward_stub_and_crash(capsys):
    result = check_rnn_step_backward(stub, quiet=True)
    assert not result and not result.implemented
    assert check_rnn_step_backward(stub) is None
    assert "not implemented yet" in capsys.readouterr().out
    result = check_rnn_step_backward(lambda dh_t, cache: 1 / 0, quiet=True)
    assert not result and "ZeroDivisionError" in _message(result)
    result = check_rnn_step_backward(lambda dh_t, cache: (1, 2), quiet=True)
    assert not result and "return a tuple" in _message(result)


# --- rnn_backward -----------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_backward_correct_passes(seed):
    assert check_rnn_backward(backward, seed=seed, quiet=True)


@pytest.mark.parametrize("mistake, hint", [
    ("carry", "carried back from later steps"),
    ("accumulate", "overwrite"),
    ("dh0_from_dh", "dh0 is taken from dh[:, 0]"),
])
def test_backward_mistakes_fail_with_hint(mistake, hint):
    wrong = master_variant("ch04", "rnn_backward", BACKWARD_MISTAKES[mistake])
    result = check_rnn_backward(wrong, seed=0, quiet=True)
    assert not result and result.implemented
    assert hint in _message(result)


def test_backward_with_a_wrong_step_fails():
    wrong = master_variant("ch04", "rnn_backward", {"rnn_step_backward(": "wrong_step("},
                           namespace={**MASTER, "wrong_step": step_backward_no_tanh})
    result = check_rnn_backward(wrong, seed=1, quiet=True)
    assert not result and result.implemented


def test_backward_stub_reports_not_implemented():
    result = check_rnn_backward(stub, quiet=True)
    assert not result and not result.implemented


# --- grad_check_sparse ------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_grad_check_correct_passes(seed):
    assert check_grad_check_sparse(grad_check_sparse, seed=seed, quiet=True)


@pytest.mark.parametrize("mistake, hint", [
    ("one_sided", "one-sided"),
    ("restore", "not restored"),
    ("formula", "|a - n| / max"),
])
def test_grad_check_mistakes_fail_with_hint(mistake, hint):
    wrong = master_variant("ch04", "grad_check_sparse", GRAD_CHECK_MISTAKES[mistake])
    result = check_grad_check_sparse(wrong, seed=0, quiet=True)
    assert not result and result.implemented
    assert hint in _message(result)


def test_grad_check_wrong_count_fails():
    def one_only(f, x, analytic, n_checks, rng, eps=1e-5):
        return grad_check_sparse(f, x, analytic, 1, rng, eps)

    result = check_grad_check_sparse(one_only, quiet=True)
    assert not result and "relative errors" in _message(result)


def test_reference_grad_check_passes_its_check():
    from course_lib.references.ch04 import reference_grad_check_sparse

    def wrapped(*args, **kwargs):  # handed in as it is, a check refuses a reference
        return reference_grad_check_sparse(*args, **kwargs)

    assert check_grad_check_sparse(wrapped, seed=3, quiet=True)


def test_reference_backward_equals_the_step_by_step_autograd():
    from course_lib.references.ch04 import torch_sequence_grads

    rng = np.random.default_rng(8)
    N, T, D, H = 3, 5, 2, 4
    x, h0 = rng.normal(size=(N, T, D)), rng.normal(size=(N, H))
    U, W, b_h = rng.normal(size=(H, D)), rng.normal(size=(H, H)) * 0.5, rng.normal(size=H)
    dh = rng.normal(size=(N, T, H))
    _, cache = reference_rnn_forward(x, h0, U, W, b_h)
    for a, b in zip(reference_rnn_backward(dh, cache), torch_sequence_grads(dh, x, h0, U, W, b_h),
                    strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
