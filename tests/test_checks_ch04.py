"""Checks of lab 4: correct backward passes pass, the usual mistakes fail with their hint, and
the torch references agree with torch.nn.RNN and with central differences."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from labs import master_functions, master_variant, stub
from mistakes.ch04 import MISTAKES

from course_lib import gradcheck
from course_lib.checks.ch04 import (
    check_grad_check_sparse,
    check_literal_dW,
    check_rnn_backward,
    check_rnn_step_backward,
    check_truncation_bias,
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


# --- the hidden cases of other kinds (issue 20) -----------------------------------------------

HIDDEN_MISTAKES = {part: (qid, edits) for qid, edits, part in MISTAKES}


def _mistake(part):
    qid, edits = HIDDEN_MISTAKES[part]
    return master_variant("ch04", qid, edits)


def test_step_backward_saturated_master_passes_and_exp_form_fails():
    assert check_rnn_step_backward(step_backward, seed=4111, scale=1000.0, quiet=True)
    wrong = _mistake("saturated pre-activations")
    assert check_rnn_step_backward(wrong, seed=0, quiet=True)
    result = check_rnn_step_backward(wrong, seed=4111, scale=1000.0, quiet=True)
    assert not result and "write tanh' from h_t" in _message(result)


def test_backward_large_upstream_gradients_master_passes_and_clipping_fails():
    assert check_rnn_backward(backward, seed=4515, dh_scale=100.0, quiet=True)
    wrong = _mistake("large upstream gradients")
    result = check_rnn_backward(wrong, seed=4515, dh_scale=100.0, quiet=True)
    assert not result and "clipped to [-5, 5]" in _message(result)


@pytest.mark.parametrize("shape", [(7,), (2, 3, 4), (1,)])
def test_grad_check_other_shapes(shape):
    assert check_grad_check_sparse(grad_check_sparse, seed=2, shape=shape, quiet=True)
    result = check_grad_check_sparse(_mistake("arrays of other dimensions"), seed=2, shape=shape,
                                     quiet=True)
    assert not result and result.implemented


def test_grad_check_zero_entries_needs_the_guard():
    assert check_grad_check_sparse(grad_check_sparse, seed=4828, zero_entries=True, quiet=True)
    wrong = _mistake("entries where the gradient is zero")
    assert check_grad_check_sparse(wrong, seed=0, quiet=True)
    result = check_grad_check_sparse(wrong, seed=4828, zero_entries=True, quiet=True)
    assert not result and "guarded" in _message(result)


def test_grad_check_refuses_a_bad_shape():
    result = check_grad_check_sparse(grad_check_sparse, shape=(), quiet=True)
    assert not result and "shape" in _message(result)


# --- literal_dW -------------------------------------------------------------------------------

literal_dW = MASTER["literal_dW"]
truncation_bias = MASTER["truncation_bias"]


def _sequence(seed, H=4, D=3, T=6, h0_zero=False):
    rng = np.random.default_rng(seed)
    x, dh = rng.normal(size=(T, D)), rng.normal(size=(T, H))
    h0 = np.zeros(H) if h0_zero else np.tanh(rng.normal(size=H))
    U, W, b = rng.normal(0, 0.6, (H, D)), rng.normal(0, 0.6, (H, H)), rng.normal(0, 0.6, H)
    return dh, x, h0, U, W, b


def test_reference_literal_dW_is_the_gradient_and_its_window_one_is_the_steps_own_terms():
    from course_lib.references.ch04 import reference_literal_dW

    dh, x, h0, U, W, b = _sequence(3)
    full = reference_literal_dW(dh, x, h0, U, W, b)
    numeric = gradcheck.numerical_gradient_array(
        lambda: reference_rnn_forward(x[None], h0[None], U, W, b)[0][0], W, dh)
    assert gradcheck.rel_error(full, numeric) < 1e-6
    assert np.allclose(reference_literal_dW(dh, x, h0, U, W, b, len(x) + 3), full, atol=1e-12)
    # window 1: each loss credits only its own step, h_prev held fixed (torch's step backward)
    _, cache = reference_rnn_forward(x[None], h0[None], U, W, b)
    own = sum(reference_rnn_step_backward(dh[None, t], cache[t])[3] for t in range(len(x)))
    assert np.allclose(reference_literal_dW(dh, x, h0, U, W, b, 1), own, rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="window"):
        reference_literal_dW(dh, x, h0, U, W, b, 0)
    with pytest.raises(ValueError, match="one sequence"):
        reference_literal_dW(dh[None], x, h0, U, W, b)


@pytest.mark.parametrize("seed", SEEDS)
def test_literal_dW_master_passes_and_equals_bptt(seed):
    assert check_literal_dW(literal_dW, seed=seed, quiet=True)
    assert check_literal_dW(literal_dW, seed=seed, nonzero_h0=True, quiet=True)
    dh, x, h0, U, W, b = _sequence(seed)
    _, cache = reference_rnn_forward(x[None], h0[None], U, W, b)
    assert np.allclose(literal_dW(dh, x, h0, U, W, b), reference_rnn_backward(dh[None], cache)[3],
                       rtol=0, atol=1e-10)


def test_literal_dW_and_truncation_bias_stubs_are_not_implemented():
    for check in (check_literal_dW, check_truncation_bias):
        result = check(stub, quiet=True)
        assert not result and not result.implemented


# --- truncation_bias --------------------------------------------------------------------------

def test_reference_truncation_bias_by_hand():
    """The reference against the definition, computed here with numpy maths."""
    from course_lib.references.ch04 import reference_literal_dW, reference_truncation_bias

    dh, x, h0, U, W, b = _sequence(5, T=8)

    def grad(dh, x, h0, U, W, b, window):
        return reference_literal_dW(dh, x, h0, U, W, b, window)

    got = reference_truncation_bias(grad, dh, x, h0, U, W, b, [1, 3], [0.5, 2.0])
    radius = max(abs(np.linalg.eigvals(W)))
    for r, rho in enumerate((0.5, 2.0)):
        Wr = W * rho / radius
        assert abs(max(abs(np.linalg.eigvals(Wr))) - rho) < 1e-12
        G = grad(dh, x, h0, U, Wr, b, None)
        for j, k in enumerate((1, 3)):
            want = np.linalg.norm(grad(dh, x, h0, U, Wr, b, k) - G) / np.linalg.norm(G)
            assert abs(got[r, j] - want) < 1e-12
    assert got[0, 1] < got[0, 0] and got[1, 0] > got[0, 0]  # the bias shrinks with k, grows with rho


@pytest.mark.parametrize("seed", SEEDS)
def test_truncation_bias_master_passes(seed):
    assert check_truncation_bias(truncation_bias, seed=seed, quiet=True)
    assert check_truncation_bias(truncation_bias, seed=seed, symmetric=False, quiet=True)


NEW_QUESTION_MISTAKES = [  # (question, its check's keywords, edits of the master, hint)
    ("literal_dW", {}, {"t - k >= window": "t - k > window"}, "one term too many"),
    ("literal_dW", {}, {"return dW.reshape(H, H)": "return dW.reshape(H, H).T"}, "transposed"),
    ("literal_dW", {}, {"product = product @ (slope[:, None] * W)": "break"},
     "only the terms k = t"),
    ("literal_dW", {"nonzero_h0": True}, {"states = [h0]": "states = [np.zeros(H)]"},
     "h0 is ignored"),
    ("truncation_bias", {"symmetric": False},
     {"radius = np.max(np.abs(np.linalg.eigvals(W)))": "radius = np.linalg.norm(W, 2)"},
     "spectral norm"),
    ("truncation_bias", {}, {"/ np.linalg.norm(full)": "/ np.linalg.norm(G_k)"},
     "truncated gradient's norm"),
    ("truncation_bias", {}, {"/ np.linalg.norm(full)": ""}, "not relative"),
]


@pytest.mark.parametrize("qid, keywords, edits, hint", NEW_QUESTION_MISTAKES,
                         ids=[hint for *_, hint in NEW_QUESTION_MISTAKES])
def test_literal_and_truncation_mistakes_fail_with_hint(qid, keywords, edits, hint):
    check = {"literal_dW": check_literal_dW, "truncation_bias": check_truncation_bias}[qid]
    result = check(master_variant("ch04", qid, edits), seed=0, quiet=True, **keywords)
    assert not result and result.implemented
    assert hint in _message(result)
