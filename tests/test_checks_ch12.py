"""Checks of lab 12 (image captioning with attention): the master lab's solutions pass, the typical mistakes fail with their hint, stubs report
"not implemented yet" without raising."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from labs import fails_with, master_functions, stub

from course_lib.checks import ch12
from course_lib.references import ch12 as refs

SEEDS = (0, 1, 2, 3)
CHECKS = {
    "feature_grid": ch12.check_feature_grid,
    "soft_attention": ch12.check_soft_attention,
    "masked_cross_entropy": ch12.check_masked_cross_entropy,
    "attention_penalty": ch12.check_attention_penalty,
}


MASTER = master_functions("ch12")  # the master lab's solution cells


@pytest.fixture(scope="module")
def lab():
    return MASTER


feature_grid = MASTER["feature_grid"]
soft_attention = MASTER["soft_attention"]
masked_cross_entropy = MASTER["masked_cross_entropy"]
attention_penalty = MASTER["attention_penalty"]


def log_softmax(z, axis=-1):
    z = z - z.max(axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis, keepdims=True))


def nll(logits, y, axis=-1):
    return -np.take_along_axis(log_softmax(logits, axis), y[..., None], -1)[..., 0]


MINE = {"feature_grid": feature_grid, "soft_attention": soft_attention,
        "masked_cross_entropy": masked_cross_entropy, "attention_penalty": attention_penalty}


# --- references against maths and torch's own layers ---------------------------------------------

def test_reference_feature_grid_by_index():
    fmap = np.random.default_rng(0).normal(size=(2, 3, 2, 4))
    h = refs.reference_feature_grid(fmap)
    for i in range(2):
        for j in range(4):
            assert np.array_equal(h[:, i * 4 + j], fmap[:, :, i, j])


def test_reference_soft_attention_for_one_example():
    rng = np.random.default_rng(1)
    h, s = rng.normal(size=(1, 5, 3)), rng.normal(size=(1, 4))
    W_h, W_s, b, v = (rng.normal(size=shape) for shape in ((2, 3), (2, 4), (2,), (2,)))
    r, a, c = refs.reference_soft_attention(h, s, W_h, W_s, b, v)
    by_hand = [v @ np.tanh(W_h @ h[0, k] + W_s @ s[0] + b) for k in range(5)]
    assert np.allclose(r[0], by_hand, atol=1e-12)
    assert np.isclose(a.sum(), 1.0) and np.allclose(c[0], a[0] @ h[0], atol=1e-12)


def test_reference_losses_against_torch_and_maths():
    rng = np.random.default_rng(2)
    logits, y, alpha = ch12.make_caption_batch(rng)
    assert np.any(y == 0) and np.all(y[:, 0] != 0) and np.all(y[0] != 0)
    lp = torch.log_softmax(torch.as_tensor(logits), -1)
    real = torch.as_tensor(y != 0)
    expected = -lp.gather(2, torch.as_tensor(y)[..., None])[..., 0][real].mean().item()
    assert np.isclose(refs.reference_masked_cross_entropy(logits, y), expected, atol=1e-12)
    # a caption whose weights sum to exactly 1 per location over its real steps costs nothing
    one = np.zeros((1, 3, 3))
    one[0, [0, 1, 2], [0, 1, 2]] = 1.0
    assert refs.reference_attention_penalty(one, np.array([[4, 5, 2]]), 1.0) == 0.0
    # and one that looks at location 0 twice and never at 1 or 2 costs (1-2)^2 + 1 + 1 = 3
    one[0, 1] = [1.0, 0.0, 0.0]
    one[0, 2] = [0.0, 0.0, 0.0]
    assert np.isclose(refs.reference_attention_penalty(one, np.array([[4, 5, 0]]), 1.0), 3.0)


# --- correct code passes ------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", list(CHECKS))
def test_correct_implementations_pass(name, seed, lab):
    assert CHECKS[name](MINE[name], seed=seed, quiet=True)
    assert CHECKS[name](lab[name], seed=seed, quiet=True)


@pytest.mark.parametrize("check", list(CHECKS.values()))
def test_stubs_report_not_implemented(check, capsys):
    res = check(stub, quiet=True)
    assert not res and not res.implemented
    assert check(stub) is None
    assert "not implemented yet" in capsys.readouterr().out


# --- the usual mistakes fail with their hint ---------------------------------------------------------

def test_feature_grid_mistakes():
    fails_with(ch12.check_feature_grid, lambda f: f.reshape(f.shape[0], -1, f.shape[1]),
                "without moving the channel axis")
    fails_with(ch12.check_feature_grid,
                lambda f: f.transpose(0, 3, 2, 1).reshape(f.shape[0], -1, f.shape[1]),
                "column by column")
    fails_with(ch12.check_feature_grid, lambda f: f.reshape(*f.shape[:2], -1),
                "channel axis must come last")


def test_soft_attention_mistakes():
    def no_tanh(h, s, W_h, W_s, b, v):
        r = (h @ W_h.T + (s @ W_s.T)[:, None] + b) @ v
        a = np.exp(r - r.max(1, keepdims=True))
        a /= a.sum(1, keepdims=True)
        return r, a, np.einsum("nl,nld->nd", a, h)

    fails_with(ch12.check_soft_attention, no_tanh, "tanh is left out")
    fails_with(ch12.check_soft_attention,
                lambda h, s, W_h, W_s, b, v: soft_attention(h, s, W_h, W_s, 0 * b, v),
                "bias b is left out")
    fails_with(ch12.check_soft_attention,
                lambda h, s, W_h, W_s, b, v: soft_attention(h, 0 * s, W_h, W_s, b, v),
                "W_s s_prev is left out")

    def batch_softmax(h, s, W_h, W_s, b, v):
        r, _, _ = soft_attention(h, s, W_h, W_s, b, v)
        a = np.exp(r - r.max(0, keepdims=True))
        a /= a.sum(0, keepdims=True)
        return r, a, np.einsum("nl,nld->nd", a, h)

    fails_with(ch12.check_soft_attention, batch_softmax, "over the batch axis")

    def plain_mean(h, s, W_h, W_s, b, v):
        r, a, _ = soft_attention(h, s, W_h, W_s, b, v)
        return r, a, h.mean(1)

    fails_with(ch12.check_soft_attention, plain_mean, "plain average")
    fails_with(ch12.check_soft_attention, lambda *args: soft_attention(*args)[:2],
                "return a tuple (r, a, c)")


def test_masked_cross_entropy_mistakes():
    fails_with(ch12.check_masked_cross_entropy, lambda z, y: float(nll(z, y).mean()),
                "padding is not masked")
    fails_with(ch12.check_masked_cross_entropy,
                lambda z, y: float(nll(z, y)[y != 0].sum() / y.size), "all N*T positions")
    fails_with(ch12.check_masked_cross_entropy,
                lambda z, y: float(np.mean([nll(z, y)[n][y[n] != 0].mean()
                                            for n in range(len(y))])),
                "each caption's mean")
    fails_with(ch12.check_masked_cross_entropy,
                lambda z, y: float(nll(z, y, axis=1)[y != 0].mean()), "time axis")
    fails_with(ch12.check_masked_cross_entropy, lambda z, y: nll(z, y), "one number")

    def unstable(z, y):
        p = np.exp(z) / np.exp(z).sum(-1, keepdims=True)
        return float(-np.log(np.take_along_axis(p, y[..., None], -1)[..., 0])[y != 0].mean())

    with np.errstate(all="ignore"):
        fails_with(ch12.check_masked_cross_entropy, unstable, "large logits")


def test_attention_penalty_mistakes():
    def unmasked(alpha, y, lam):
        return lam * float(((1 - alpha.sum(1)) ** 2).sum(1).mean())

    fails_with(ch12.check_attention_penalty, unmasked, "padding steps are not masked")

    def wrong_axis(alpha, y, lam):
        return lam * float(((1 - alpha.sum(2)) ** 2).sum(1).mean())

    fails_with(ch12.check_attention_penalty, wrong_axis, "wrong axis")
    fails_with(ch12.check_attention_penalty,
                lambda a, y, lam: attention_penalty(a, y, lam) * len(y), "summed over the batch")
    fails_with(ch12.check_attention_penalty, lambda a, y, lam: attention_penalty(a, y, 1.0),
                "lam is left out")


def test_student_exceptions_and_in_place_changes_do_not_escape():
    def broken(*args):
        return {}["missing"]

    res = ch12.check_soft_attention(broken, quiet=True)
    assert not res and "KeyError" in res.messages[0]

    def in_place(alpha, y, lam):
        alpha *= (y != 0)[..., None]
        return attention_penalty(alpha, y, lam)

    fails_with(ch12.check_attention_penalty, in_place, "in place")
    fails_with(ch12.check_masked_cross_entropy, lambda z, y: None, "returned None")


def test_checks_leave_the_random_state_alone():
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    ch12.check_soft_attention(soft_attention, quiet=True)
    assert torch.equal(torch.rand(3), expected)
