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


@pytest.mark.parametrize("check", [*CHECKS.values(), ch12.check_decoder_step,
                                   ch12.check_attention_penalty_backward])
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


@pytest.mark.parametrize("name", ["soft_attention", "decoder_step"])
def test_checks_leave_the_random_state_alone(name):
    check = {"soft_attention": ch12.check_soft_attention,
             "decoder_step": ch12.check_decoder_step}[name]
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    check(MASTER[name], quiet=True)
    assert torch.equal(torch.rand(3), expected)


# --- exercises 5 and 6 and the hidden cases of another kind (issue 20) ----------------------------

attention_penalty_backward = MASTER["attention_penalty_backward"]
decoder_step = MASTER["decoder_step"]


def _sigmoid(u):
    return 1 / (1 + np.exp(-u))


def step_by_hand(y, state, h, P, slip=None):
    """One decoder step written out from the chapter's equations (the tests' own NumPy, never
    shown to students); ``slip`` makes one of the usual mistakes."""
    s_prev, C_prev = state
    _, a, c = soft_attention(h, s_prev, P["W_h"], P["W_s"], P["b"], P["v"])
    x = np.concatenate([P["E"][y], 0 * c if slip == "no_context_input" else c], 1)
    b_hh = 0 * P["b_hh"] if slip == "one_bias" else P["b_hh"]
    z = x @ P["W_ih"].T + P["b_ih"] + s_prev @ P["W_hh"].T + b_hh
    H = h.shape[2] if slip == "H_from_h" else s_prev.shape[1]
    i, f, g, o = np.split(z, [H, 2 * H, 3 * H], axis=1)
    if slip == "gate_order":
        g, o = o, g
    C = _sigmoid(f) * (0 * C_prev if slip == "no_cell" else C_prev) + _sigmoid(i) * np.tanh(g)
    s = _sigmoid(o) * np.tanh(C)
    out = np.concatenate([s, 0 * c if slip == "state_only" else c], 1)
    return out @ P["V"].T + P["b_y"], (s, C), a


def penalty_by_hand(r, y, lam):
    a = np.exp(r - r.max(-1, keepdims=True))
    a /= a.sum(-1, keepdims=True)
    cov = (a * (y != 0)[..., None]).sum(1)
    return lam * ((1 - cov) ** 2).sum(1).mean()


@pytest.mark.parametrize("seed", SEEDS)
def test_the_master_passes_every_case(seed):
    assert ch12.check_feature_grid(feature_grid, seed=seed, N=1, quiet=True)
    assert ch12.check_soft_attention(soft_attention, seed=seed, scale=1000.0, quiet=True)
    assert ch12.check_masked_cross_entropy(masked_cross_entropy, seed=seed, T=1, quiet=True)
    assert ch12.check_attention_penalty(attention_penalty, seed=seed, empty_caption=True,
                                        quiet=True)
    for scale in (1.0, 1000.0):
        assert ch12.check_attention_penalty_backward(attention_penalty_backward, seed=seed,
                                                     scale=scale, quiet=True)
    for other in (False, True):
        assert ch12.check_decoder_step(decoder_step, seed=seed, other_feature_size=other,
                                       quiet=True)
        assert ch12.check_decoder_step(step_by_hand, seed=seed, other_feature_size=other,
                                       quiet=True)


@pytest.mark.parametrize("seed", [0, 3])
def test_reference_decoder_step_equals_the_equations(seed):
    rng = np.random.default_rng(seed)
    D = 7 if seed else None  # D != H once
    y, state, h, P = ch12.make_decoder_inputs(rng, D=D)
    logits, (s, C), a = refs.reference_decoder_step(y, state, h, P)
    by_hand = step_by_hand(y, state, h, P)
    for mine, theirs in zip((logits, s, C, a), (by_hand[0], *by_hand[1], by_hand[2]),
                            strict=True):
        assert np.allclose(mine, theirs, atol=1e-12)
    for slip in refs.DECODER_STEP_SLIPS:  # the hints' torch slips are the NumPy slips
        lt, (st, Ct), _ = refs.torch_decoder_step_slip(y, state, h, P, slip)
        ln, (sn, Cn), _ = step_by_hand(y, state, h, P, slip)
        assert np.allclose(lt, ln, atol=1e-12) and np.allclose(Ct, Cn, atol=1e-12), slip
    with pytest.raises(ValueError, match="slip"):
        refs.torch_decoder_step_slip(y, state, h, P, "peepholes")


@pytest.mark.parametrize(("slip", "fragment"), [
    ("gate_order", "wrong order"),
    ("no_context_input", "context c is left out"),
    ("no_cell", "C_prev is ignored"),
    ("one_bias", "only one of the two biases"),
    ("state_only", "reads only the new state"),
])
def test_decoder_step_mistakes(slip, fragment):
    fails_with(ch12.check_decoder_step, lambda *args: step_by_hand(*args, slip=slip), fragment)


def test_decoder_step_contract_and_the_feature_size():
    fails_with(ch12.check_decoder_step, lambda *args: step_by_hand(*args)[:2],
               "return a tuple (logits, (s, C), a)")

    def in_place(y, state, h, P):
        P["V"] *= 1.0
        P["V"][0, 0] += 1.0
        return step_by_hand(y, state, h, P)

    fails_with(ch12.check_decoder_step, in_place, "changed P['V'] in place")

    def wrong_weights(y, state, h, P):
        return step_by_hand(y, state, h, {**P, "W_s": 0 * P["W_s"]})

    fails_with(ch12.check_decoder_step, wrong_weights, "your soft_attention (exercise 2)")

    def H_from_h(*args):
        return step_by_hand(*args, slip="H_from_h")

    assert ch12.check_decoder_step(H_from_h, quiet=True)  # D = H: the slip does not show
    assert not ch12.check_decoder_step(H_from_h, other_feature_size=True, quiet=True)


@pytest.mark.parametrize("seed", [0, 1])
def test_reference_penalty_gradients_equal_central_differences(seed):
    from course_lib import gradcheck

    rng = np.random.default_rng(seed)
    _, y, _ = ch12.make_caption_batch(rng)
    r = rng.normal(0, 1.5, size=(*y.shape, 5))
    dalpha, dr = refs.reference_attention_penalty_backward(r, y, 0.7)
    numerical = gradcheck.numerical_gradient(lambda: penalty_by_hand(r, y, 0.7), r, eps=1e-6)
    assert np.allclose(dr, numerical, rtol=1e-6, atol=1e-9)
    assert np.all(dalpha[y == 0] == 0) and np.all(dr[y == 0] == 0)
    # the worked case of the lab: N = 1, one real step, lam = 1, a = (0.8, 0.2)
    r1 = np.log(np.array([[[0.8, 0.2]]]))
    da1, dr1 = refs.reference_attention_penalty_backward(r1, np.array([[5]]), 1.0)
    assert np.allclose(da1, [[[-0.4, -1.6]]]) and np.allclose(dr1, [[[0.192, -0.192]]])


def test_penalty_backward_mistakes():
    def slip(kind):
        def fn(r, y, lam):
            dalpha, dr = attention_penalty_backward(r, y, lam)
            e = np.exp(r - r.max(-1, keepdims=True))
            a = e / e.sum(-1, keepdims=True)
            if kind == "unmasked":
                dalpha = np.broadcast_to(dalpha[:, :1], dalpha.shape)
            elif kind == "half":
                dalpha = dalpha / 2
            elif kind == "sign":
                dalpha = -dalpha
            elif kind == "sum":
                dalpha = dalpha * len(r)
            elif kind == "no_jacobian":
                dr = dalpha
            elif kind == "diagonal":
                dr = a * dalpha
            return dalpha, dr
        return fn

    for kind, fragment in (("unmasked", "padded steps get gradient"),
                           ("half", "factor 2"), ("sign", "sign is flipped"),
                           ("sum", "1/N of the mean"), ("no_jacobian", "Jacobian is left out"),
                           ("diagonal", "only the diagonal")):
        fails_with(ch12.check_attention_penalty_backward, slip(kind), fragment)
    fails_with(ch12.check_attention_penalty_backward,
               lambda r, y, lam: attention_penalty_backward(r, y, lam)[0],
               "return a tuple (dalpha, dr)")


def test_the_other_hidden_cases_catch_their_mistake():
    def no_max(h, s, W_h, W_s, b, v):
        r, _, _ = soft_attention(h, s, W_h, W_s, b, v)
        a = np.exp(r) / np.exp(r).sum(1, keepdims=True)
        return r, a, np.einsum("nl,nld->nd", a, h)

    with np.errstate(over="ignore", invalid="ignore"):
        assert ch12.check_soft_attention(no_max, quiet=True)
        fails_with(lambda f, quiet: ch12.check_soft_attention(f, scale=1000.0, quiet=quiet),
                   no_max, "subtract each row's largest score")

    def squeezed(z, y):
        lp = log_softmax(z)
        nll_ = -np.take_along_axis(lp, y[..., None], -1).squeeze()
        return float(nll_[y != 0].mean())

    assert ch12.check_masked_cross_entropy(squeezed, quiet=True)
    assert not ch12.check_masked_cross_entropy(squeezed, T=1, quiet=True)

    def over_non_empty(alpha, y, lam):
        cov = (alpha * (y != 0)[..., None]).sum(1)
        return float(lam * ((1 - cov) ** 2).sum(1)[(y != 0).any(1)].mean())

    assert ch12.check_attention_penalty(over_non_empty, quiet=True)
    assert not ch12.check_attention_penalty(over_non_empty, empty_caption=True, quiet=True)
    squeezed_grid = lambda f: feature_grid(f).squeeze()  # noqa: E731
    assert ch12.check_feature_grid(squeezed_grid, quiet=True)
    assert not ch12.check_feature_grid(squeezed_grid, N=1, quiet=True)
