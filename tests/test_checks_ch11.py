"""Checks of lab 11 (attention) and the encoder–decoder of chapters 10 to 12: correct
implementations pass, the typical mistakes fail with their hint, stubs report "not implemented
yet"; the torch model is consistent between teacher forcing and step-by-step decoding."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from labs import fails_with, master_functions, stub

from course_lib import data, gradcheck
from course_lib.checks import ch11
from course_lib.models import attention, seq2seq
from course_lib.references import ch11 as refs

SEEDS = (0, 1, 2, 3)


# --- correct implementations: the master lab's solution cells --------------------------------

MASTER = master_functions("ch11")  # the master lab's solution cells
masked_softmax = MASTER["masked_softmax"]
additive_attention = MASTER["additive_attention"]
bilinear_scores = MASTER["bilinear_scores"]


def dot_attention(s, h, mask=None, scaled=False):
    r = np.einsum("nth,nh->nt", h, s) / (np.sqrt(h.shape[-1]) if scaled else 1.0)
    a = masked_softmax(r, mask)
    return r, a, np.einsum("nt,nth->nh", a, h)


def dot_attention_backward(dc, s, h, a, scaled=False, slip=None):
    """The gradients of sum(c * dc), by the chain rule written out; ``slip`` makes one of the
    usual mistakes."""
    k = 1 / np.sqrt(h.shape[-1]) if (scaled or slip == "always_scaled") and slip != "unscaled" \
        else 1.0
    da = np.einsum("nth,nh->nt", h, dc)
    if slip == "no_jacobian":
        dr = da
    elif slip == "no_centering":
        dr = a * da
    else:
        dr = a * (da - (a * da).sum(-1, keepdims=True))
    dr = k * dr
    ds = np.zeros_like(s) if slip == "ds_zero" else np.einsum("nt,nth->nh", dr, h)
    from_context = (np.ones_like(a) if slip == "context_without_a" else a)[:, :, None] * \
        dc[:, None, :]
    from_scores = dr[:, :, None] * s[:, None, :]
    if slip == "no_weight_path":
        return ds, from_context
    if slip == "no_context_path":
        return ds, from_scores
    return ds, from_context + from_scores


# --- references against maths ----------------------------------------------------------------

def test_reference_softmax_sums_to_one_and_zeroes_padding():
    rng = np.random.default_rng(0)
    r = rng.normal(size=(4, 6))
    mask = np.arange(6)[None] < np.array([6, 3, 1, 5])[:, None]
    a = refs.reference_masked_softmax(r, mask)
    assert np.allclose(a.sum(-1), 1.0, atol=1e-12) and np.all(a[~mask] == 0)
    # on the real steps it is the plain softmax of those steps (maths)
    e = np.exp(r[1, :3])
    assert np.allclose(a[1, :3], e / e.sum(), atol=1e-14)


def test_reference_additive_equals_formula_for_one_example():
    rng = np.random.default_rng(1)
    s, h, _, p = ch11.make_attention_inputs(rng, N=1, T_x=4, H=3, H_s=2, A=5)
    r, a, c = refs.reference_attention(s, h, "additive", params=p)
    by_hand = [p["v"] @ np.tanh(p["W_s"] @ s[0] + p["W_h"] @ h[0, t]) for t in range(4)]
    assert np.allclose(r[0], by_hand, atol=1e-12)
    assert np.allclose(c[0], sum(a[0, t] * h[0, t] for t in range(4)), atol=1e-12)


def test_reference_attention_rejects_unknown_score():
    with pytest.raises(ValueError, match="score"):
        refs.reference_attention(np.zeros((1, 2)), np.zeros((1, 3, 2)), "cosine")


# --- checks: correct code passes ---------------------------------------------------------------

@pytest.mark.parametrize("seed", SEEDS)
def test_correct_implementations_pass(seed):
    assert ch11.check_masked_softmax(masked_softmax, seed=seed, quiet=True)
    assert ch11.check_dot_product_attention(dot_attention, seed=seed, quiet=True)
    assert ch11.check_additive_attention(additive_attention, seed=seed, quiet=True)
    assert ch11.check_bilinear_scores(bilinear_scores, seed=seed, quiet=True)
    assert ch11.check_dot_product_attention_backward(dot_attention_backward, seed=seed,
                                                     quiet=True)


@pytest.mark.parametrize("check", [ch11.check_masked_softmax, ch11.check_dot_product_attention,
                                   ch11.check_additive_attention, ch11.check_bilinear_scores,
                                   ch11.check_dot_product_attention_backward])
def test_stubs_report_not_implemented(check, capsys):
    res = check(stub, quiet=True)
    assert not res and not res.implemented
    assert check(stub) is None
    assert "not implemented yet" in capsys.readouterr().out


# --- checks: the usual mistakes fail with their hint --------------------------------------------

def test_masked_softmax_mistakes():
    fails_with(ch11.check_masked_softmax, lambda r, m: masked_softmax(r), "mask is ignored")
    fails_with(ch11.check_masked_softmax,
                lambda r, m: masked_softmax(r) * (1 if m is None else m),
                "zeroed after the softmax")
    fails_with(ch11.check_masked_softmax,
                lambda r, m: masked_softmax(r if m is None else np.where(m, r, 0.0)),
                "set to 0 instead of -inf")

    def unstable(r, m=None):
        e = np.exp(np.asarray(r, dtype=np.float64)) * (1 if m is None else m)
        return e / e.sum(-1, keepdims=True)

    with np.errstate(over="ignore", invalid="ignore"):
        fails_with(ch11.check_masked_softmax, unstable, "large scores")
    fails_with(ch11.check_masked_softmax, lambda r, m: masked_softmax(r.T, None).T,
                "weights")  # softmax over the wrong axis


def test_dot_attention_mistakes():
    fails_with(ch11.check_dot_product_attention, lambda s, h, m, sc: dot_attention(s, h, m),
                "scaling by 1/sqrt(H) is left out")
    fails_with(ch11.check_dot_product_attention,
                lambda s, h, m, sc: dot_attention(s, h, None, sc), "mask is ignored")

    def plain_average(s, h, m, sc):
        r, a, _ = dot_attention(s, h, m, sc)
        return r, a, h.mean(1)

    fails_with(ch11.check_dot_product_attention, plain_average, "plain average")
    fails_with(ch11.check_dot_product_attention, lambda s, h, m, sc: dot_attention(s, h, m)[:2],
                "return a tuple (r, a, c)")


def test_additive_attention_mistakes():
    def no_tanh(s, h, W_s, W_h, v, m):
        r = ((s @ W_s.T)[:, None, :] + h @ W_h.T) @ v
        a = masked_softmax(r, m)
        return r, a, np.einsum("nt,nth->nh", a, h)

    fails_with(ch11.check_additive_attention, no_tanh, "tanh is left out")

    def no_query(s, h, W_s, W_h, v, m):
        return additive_attention(np.zeros_like(s), h, W_s, W_h, v, m)

    fails_with(ch11.check_additive_attention, no_query, "W_s s is left out")
    fails_with(ch11.check_additive_attention,
                lambda s, h, W_s, W_h, v, m: additive_attention(s, h, W_s, W_h, v),
                "mask is ignored")


@pytest.mark.parametrize(("slip", "fragments"), [
    ("no_jacobian", ["ds_prev", "Jacobian is left out (dr = da)"]),
    ("no_centering", ["ds_prev", "dr = a * da"]),
    ("no_weight_path", ["dh", "only the path through the context is kept"]),
    ("ds_zero", ["ds_prev", "ds_prev is zero"]),
    ("no_context_path", ["dh", "only the path through the scores is kept"]),
    ("unscaled", ["scaled dot product ds_prev", "1/sqrt(H) of the scaled scores is left out"]),
    ("always_scaled", ["dot product ds_prev", "applied although scaled=False"]),
    ("context_without_a", ["dh", "not zero at the padded steps"]),
])
def test_dot_attention_backward_mistakes(slip, fragments):
    fails_with(ch11.check_dot_product_attention_backward,
                lambda *args: dot_attention_backward(*args, slip=slip), *fragments)


def test_dot_attention_backward_contract():
    fails_with(ch11.check_dot_product_attention_backward,
                lambda *args: dot_attention_backward(*args)[1], "return a tuple (ds_prev, dh)")

    def in_place(dc, s, h, a, scaled):
        a *= 1.0  # harmless value, but a write into the caller's array
        a[:] = np.round(a, 3)
        return dot_attention_backward(dc, s, h, a, scaled)

    fails_with(ch11.check_dot_product_attention_backward, in_place, "changed its input a")


@pytest.mark.parametrize("scaled", [False, True])
def test_reference_backward_equals_central_differences(scaled):
    """torch's gradients of sum(c * dc) agree with central differences of the forward pass,
    and the padded steps get exactly zero."""
    rng = np.random.default_rng(5)
    s, h, mask, _ = ch11.make_attention_inputs(rng, N=3, T_x=5, H=4, H_s=4)
    mask[1, 2:] = False
    dc = rng.normal(size=(3, 4))
    score = "scaled_dot" if scaled else "dot"
    ds, dh = refs.reference_dot_product_attention_backward(dc, s, h, mask, scaled)

    def context():
        return refs.reference_attention(s, h, score, mask)[2]

    for x, grad in ((s, ds), (h, dh)):  # central differences: error O(eps^2) ~ 1e-10 here
        numerical = gradcheck.numerical_gradient_array(context, x, dc, eps=1e-5)
        assert np.allclose(grad, numerical, rtol=1e-6, atol=1e-8)
    assert np.all(dh[~mask] == 0) and np.abs(dh[mask]).max() > 0


def test_reference_backward_rejects_bad_input():
    s, h, dc = np.zeros((2, 3)), np.zeros((2, 4, 3)), np.zeros((2, 3))
    with pytest.raises(ValueError, match="dc"):
        refs.reference_dot_product_attention_backward(np.zeros((2, 4)), s, h)
    with pytest.raises(ValueError, match="s_prev"):
        refs.reference_dot_product_attention_backward(dc, np.zeros((3, 3)), h)
    with pytest.raises(ValueError, match="at least one real input step"):
        refs.reference_dot_product_attention_backward(dc, s, h, np.array([[1, 1, 0, 0],
                                                                          [0, 0, 0, 0]]))


def test_bilinear_transposed_weight_fails():
    res = ch11.check_bilinear_scores(lambda s, h, W: np.einsum("nh,nth->nt", s @ W.T, h),
                                     quiet=True)
    assert not res and res.implemented  # the shapes do not fit: H_s != H in the check


def test_student_exceptions_do_not_escape():
    def broken(*args):
        return {}["missing"]

    res = ch11.check_additive_attention(broken, quiet=True)
    assert not res and "KeyError" in res.messages[0]


# --- the torch encoder–decoder --------------------------------------------------------------------

@pytest.fixture(scope="module")
def batch():
    src, tgt, sv, tv = data.toy_translation(6, 2, 7, seed=4)
    return src, tgt, len(sv), len(tv)


@pytest.mark.parametrize("kind", [None, *attention.SCORES])
def test_teacher_forcing_equals_step_by_step(batch, kind):
    src, tgt, n_src, n_tgt = batch
    torch.manual_seed(0)
    model = seq2seq.make_seq2seq(n_src, n_tgt, hidden=8, emb=4, attention=kind, attn_size=5).double()
    tgt_in = torch.as_tensor(seq2seq.teacher_forcing_inputs(tgt))
    with torch.no_grad():
        lp, a = model(src, tgt_in, return_weights=True)
        h, mask, s = model.encode(src)
        for t in range(tgt_in.shape[1]):
            lp_t, s, a_t = model.step(tgt_in[:, t], s, h, mask)
            assert torch.allclose(lp_t, lp[:, t], atol=1e-12)
            if kind is not None:
                assert torch.allclose(a_t, a[:, t], atol=1e-12)
    assert torch.allclose(lp.exp().sum(-1), torch.ones(lp.shape[:2], dtype=lp.dtype))
    if kind is not None:
        assert torch.all(a[~mask.unsqueeze(1).expand_as(a)] == 0)
        assert torch.allclose(a.sum(-1), torch.ones(a.shape[:2], dtype=a.dtype))


@pytest.mark.parametrize("kind", [None, "dot", "additive"])
def test_padding_does_not_change_the_output(batch, kind):
    src, tgt, n_src, n_tgt = batch
    torch.manual_seed(1)
    model = seq2seq.make_seq2seq(n_src, n_tgt, hidden=8, emb=4, attention=kind).double()
    wider = np.concatenate([src, np.zeros((len(src), 5), dtype=np.int64)], 1)
    tgt_in = seq2seq.teacher_forcing_inputs(tgt)
    with torch.no_grad():
        assert torch.allclose(model(src, tgt_in), model(wider, tgt_in), atol=1e-12)


def test_attention_weights_match_the_numpy_formula(batch):
    """The model's dot-product weights equal the independent NumPy formula on its states."""
    src, tgt, n_src, n_tgt = batch
    torch.manual_seed(2)
    model = seq2seq.make_seq2seq(n_src, n_tgt, hidden=8, emb=4, attention="dot").double()
    with torch.no_grad():
        h, mask, s0 = model.encode(src)
        _, a, c = model.attn(s0[:, None], h, mask)
    _, a_np, c_np = dot_attention(s0.numpy(), h.numpy(), mask.numpy())
    assert np.allclose(a[:, 0].numpy(), a_np, atol=1e-12)
    assert np.allclose(c[:, 0].numpy(), c_np, atol=1e-12)


def test_greedy_shapes_and_bad_arguments(batch):
    src, _, n_src, n_tgt = batch
    model = seq2seq.make_seq2seq(n_src, n_tgt, hidden=8, emb=4, attention="bilinear")
    tokens, weights = model.greedy(src, 9)
    assert tokens.shape == (len(src), 9) and weights.shape == (len(src), 9, src.shape[1])
    with pytest.raises(ValueError, match="attention"):
        seq2seq.make_seq2seq(n_src, n_tgt, attention="cosine")
    with pytest.raises(ValueError, match="hidden"):
        seq2seq.make_seq2seq(n_src, n_tgt, hidden=7)


def test_training_reduces_the_loss():
    src, tgt, sv, tv = data.toy_translation(256, 2, 4, seed=7)
    torch.manual_seed(0)
    model = seq2seq.make_seq2seq(len(sv), len(tv), hidden=16, emb=8, attention="dot")
    hist = seq2seq.train_seq2seq(model, src, tgt, epochs=4, batch_size=32, lr=1e-2)
    assert hist["loss"][-1] < 0.7 * hist["loss"][0]


def test_helpers():
    assert np.array_equal(seq2seq.teacher_forcing_inputs(np.array([[5, 6, 2, 0]])),
                          [[1, 5, 6, 2]])
    assert seq2seq.strip_eos([4, 5, 2, 7]) == [4, 5] and seq2seq.strip_eos([4, 5]) == [4, 5]
    pred = np.array([[4, 5, 2, 9], [4, 6, 2, 0], [4, 5, 5, 2]])
    tgt = np.array([[4, 5, 2, 0], [4, 5, 2, 0], [4, 5, 2, 0]])
    assert seq2seq.exact_match(pred, tgt).tolist() == [True, False, False]


# --- the hidden cases of another kind (issue 20) ---------------------------------------------------

MASTER_BACKWARD = MASTER["dot_product_attention_backward"]


@pytest.mark.parametrize("seed", SEEDS)
def test_the_master_passes_every_hidden_case(seed):
    assert ch11.check_masked_softmax(masked_softmax, seed=seed, empty_row=True, quiet=True)
    assert ch11.check_dot_product_attention(MASTER["dot_product_attention"], seed=seed, N=1,
                                            quiet=True)
    assert ch11.check_additive_attention(additive_attention, seed=seed, scale=1000.0, quiet=True)
    assert ch11.check_bilinear_scores(bilinear_scores, seed=seed, T_x=1, quiet=True)
    assert ch11.check_dot_product_attention_backward(MASTER_BACKWARD, seed=seed, N=1, quiet=True)


def test_the_hidden_cases_are_what_they_say():
    """N = 1, T_x = 1 and saturated units really occur in the inputs the keywords make."""
    seen = {}

    def spy(name, fn):
        def wrapped(*args):
            seen.setdefault(name, []).append(args)
            return fn(*args)
        return wrapped

    ch11.check_dot_product_attention(spy("dot", MASTER["dot_product_attention"]), N=1, quiet=True)
    assert all(args[1].shape[0] == 1 for args in seen["dot"])
    ch11.check_bilinear_scores(spy("bil", bilinear_scores), T_x=1, quiet=True)
    assert all(args[1].shape[1] == 1 for args in seen["bil"])
    ch11.check_additive_attention(spy("add", additive_attention), scale=1000.0, quiet=True)
    s, h, W_s, W_h = seen["add"][0][:4]
    pre = (s @ W_s.T)[:, None, :] + h @ W_h.T
    assert np.abs(pre).max() > 400  # beyond where exp(2x) overflows in float64 (x > 355)
    ch11.check_masked_softmax(spy("soft", masked_softmax), empty_row=True, quiet=True)
    assert all((~np.broadcast_to(m, r.shape)).all(-1).any() for r, m in seen["soft"])


def test_a_row_with_no_real_step_must_get_zero_weights():
    def nan_rows(r, mask=None):  # the plain masked softmax: nan where a row has no real step
        r = np.where(mask, r, -np.inf) if mask is not None else r
        e = np.exp(r - r.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)

    with np.errstate(invalid="ignore"):
        assert ch11.check_masked_softmax(nan_rows, quiet=True)  # the public call lets it through
        res = ch11.check_masked_softmax(nan_rows, empty_row=True, quiet=True)
    assert not res and res.implemented and "weight 0 everywhere" in " ".join(res.messages)
    # zeros from the check's own expected values, by definition, and torch's softmax elsewhere
    r = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    m = np.array([[True, True, False], [False, False, False]])
    expected = ch11._softmax_or_zeros(r, m)
    assert np.array_equal(expected[1], np.zeros(3))
    assert np.allclose(expected[0], [1 / (1 + np.e), np.e / (1 + np.e), 0.0], atol=1e-15)


def test_squeezed_outputs_fail_the_single_size_cases():
    def squeezed_dot(s, h, m=None, sc=False):
        r, a, _ = dot_attention(s, h, m, sc)
        return r, a, (a[:, None, :] @ h).squeeze()

    assert ch11.check_dot_product_attention(squeezed_dot, quiet=True)
    assert not ch11.check_dot_product_attention(squeezed_dot, N=1, quiet=True)

    def squeezed_bilinear(s, h, W):
        return (h @ (s @ W)[:, :, None]).squeeze()

    assert ch11.check_bilinear_scores(squeezed_bilinear, quiet=True)
    assert not ch11.check_bilinear_scores(squeezed_bilinear, T_x=1, quiet=True)

    def squeezed_backward(dc, s, h, a, scaled=False):
        ds, dh = dot_attention_backward(dc, s, h, a, scaled)
        return ds.squeeze(), dh

    assert ch11.check_dot_product_attention_backward(squeezed_backward, quiet=True)
    assert not ch11.check_dot_product_attention_backward(squeezed_backward, N=1, quiet=True)


def test_a_tanh_from_exp_fails_with_saturated_units():
    def exp_tanh(s, h, W_s, W_h, v, m=None):
        x = (s @ W_s.T)[:, None, :] + h @ W_h.T
        r = ((np.exp(2 * x) - 1) / (np.exp(2 * x) + 1)) @ v
        a = masked_softmax(r, m)
        return r, a, np.einsum("nt,nth->nh", a, h)

    with np.errstate(over="ignore", invalid="ignore"):
        assert ch11.check_additive_attention(exp_tanh, quiet=True)
        assert not ch11.check_additive_attention(exp_tanh, scale=1000.0, quiet=True)


def test_backward_hints_name_the_mistake_without_the_result():
    """The derivation's hints say what is missing, never the formulas of the gradients."""
    for hint in refs.DOT_ATTENTION_SLIPS.values():
        for formula in ("sum_u a_u da_u", "sum_t dr_t", "dr_t s_prev", "a_t dc", "a_t (da_t"):
            assert formula not in hint, (formula, hint)
