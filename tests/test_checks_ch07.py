"""Tests of lab 7's public checks: correct LSTM/GRU steps and GRU layers pass (and match torch
and numerical gradients), the typical mistakes fail with their hint, and a stub reports "not
implemented"."""

import functools

import numpy as np
import pytest
import torch
from labs import fails_with, master_functions, master_variant, stub

from course_lib import gradcheck
from course_lib.checks import ch07, ch07_slips
from course_lib.references import ch07 as refs


def sig(u):
    return 1 / (1 + np.exp(-u))


# --- correct implementations: the master lab's; its GRU slips are small edits of them -------

MASTER = master_functions("ch07")  # the master lab's solution cells
lstm_step_forward = MASTER["lstm_step_forward"]
lstm_step_backward = MASTER["lstm_step_backward"]
lstm_forward = MASTER["lstm_forward"]
gru_step_forward = MASTER["gru_step_forward"]


gru_forward = MASTER["gru_forward"]
gru_backward = MASTER["gru_backward"]
# typical slips, as small edits of the master's GRU
FORWARD_SLIPS = {
    "no_reset": {"+ rz[:, t, :H] * ah_n[:, t])": "+ ah_n[:, t])"},
    "z_swapped": {"h_t = n[:, t] + rz[:, t, H:] * (h_t - n[:, t])":
                  "h_t = h_t + rz[:, t, H:] * (n[:, t] - h_t)"},
}
NEXT = "dh_next = dh_t * z + da_h[:, t] @ W"
BACKWARD_SLIPS = {
    "no_dh_next": {"dh_t = dh[:, t] + dh_next": "dh_t = dh[:, t]"},
    "no_r_in_dah": {"da_h[:, t, 2 * H :] = ds * r": "da_h[:, t, 2 * H :] = ds"},
    "dz_sign": {"(h_prev[:, t] - n_t)": "(n_t - h_prev[:, t])"},
    "no_direct_path": {NEXT: "dh_next = da_h[:, t] @ W"},
    "first_state": {NEXT: NEXT + " if t else dh_t"},
}


def gru_slip(name: str, slip: str):
    """The master's gru_forward or gru_backward with one slip."""
    edits = (FORWARD_SLIPS if name == "gru_forward" else BACKWARD_SLIPS)[slip]
    return master_variant("ch07", name, edits)


def _messages(check, *args):
    res = check(*args, quiet=True)
    return res, " ".join(res.messages)


# --- the correct ones pass; torch and numerical gradients agree -----------------------------

@pytest.mark.parametrize("seed", [0, 1, 2, 7])
def test_correct_implementations_pass(seed):
    assert ch07.check_lstm_step_forward(lstm_step_forward, seed=seed, quiet=True)
    assert ch07.check_lstm_step_backward(lstm_step_backward, lstm_step_forward, seed=seed,
                                         quiet=True)
    assert ch07.check_lstm_forward(lstm_forward, seed=seed, quiet=True)
    assert ch07.check_gru_step_forward(gru_step_forward, seed=seed, quiet=True)
    assert ch07.check_gru_forward(gru_forward, seed=seed, quiet=True)
    assert ch07.check_gru_backward(gru_backward, gru_forward, seed=seed, quiet=True)
    # the torch references pass their own checks (the labs fall back on them); handed in as
    # they are, a check refuses a reference, so they come wrapped like a student's function
    forward, backward = (_wrapped(f) for f in (refs.reference_gru_forward,
                                               refs.reference_gru_backward))
    assert ch07.check_gru_forward(forward, seed=seed, quiet=True)
    assert ch07.check_gru_backward(backward, forward, seed=seed, quiet=True)


def _wrapped(reference):
    return lambda *args, **kwargs: reference(*args, **kwargs)


def test_references_match_torch_layers_and_numerical_gradients():
    rng = np.random.default_rng(3)
    N, D, H = 3, 4, 2
    x, h, c = rng.normal(size=(N, D)), rng.normal(size=(N, H)), rng.normal(size=(N, H))
    U, W, b = ch07.make_lstm_params(D, H, rng)
    dh, dc = rng.normal(size=(N, H)), rng.normal(size=(N, H))
    *_, cache = refs.reference_lstm_step_forward(x, h, c, U, W, b)
    grads = refs.reference_lstm_step_backward(dh, dc, cache)
    arrays = [x, h, c, U, W, b]
    for k, arr in enumerate(arrays):
        def f():
            hh, cc, _ = refs.reference_lstm_step_forward(*arrays)
            return float(np.sum(hh * dh) + np.sum(cc * dc))
        num = gradcheck.numerical_gradient(f, arr, eps=1e-6)
        assert gradcheck.rel_error(num, grads[k]) < 1e-6
    # the from-scratch step here agrees with torch to 1e-10
    h1, c1, _ = lstm_step_forward(x, h, c, U, W, b)
    h2, c2, _ = refs.reference_lstm_step_forward(x, h, c, U, W, b)
    assert np.allclose(h1, h2, atol=1e-12, rtol=0) and np.allclose(c1, c2, atol=1e-12, rtol=0)
    # references for whole sequences agree with torch.nn.LSTM
    xs = rng.normal(size=(N, 5, D))
    hs, cs, _ = refs.reference_lstm_forward(xs, h, c, U, W, b)
    out, (hT, cT) = refs.torch_lstm(U, W, b)(torch.tensor(xs), (torch.tensor(h)[None],
                                                               torch.tensor(c)[None]))
    assert np.allclose(hs, out.detach().numpy(), atol=1e-12)
    assert np.allclose(cs[:, -1], cT.detach().numpy()[0], atol=1e-12)


def test_gru_reference_matches_torch_gru_layer():
    rng = np.random.default_rng(4)
    U, W, b_x, b_h = ch07.make_gru_params(3, 2, rng)
    x, h = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))
    gru = torch.nn.GRU(3, 2, batch_first=True).double()
    with torch.no_grad():
        for name, v in (("weight_ih_l0", U), ("weight_hh_l0", W), ("bias_ih_l0", b_x),
                        ("bias_hh_l0", b_h)):
            getattr(gru, name).copy_(torch.tensor(v))
        out, _ = gru(torch.tensor(x)[:, None], torch.tensor(h)[None])
    ref, _ = refs.reference_gru_step_forward(x, h, U, W, b_x, b_h)
    assert np.allclose(ref, out.numpy()[:, 0], atol=1e-12)
    assert np.allclose(gru_step_forward(x, h, U, W, b_x, b_h)[0], ref, atol=1e-12)


# --- the typical mistakes fail with their hint ----------------------------------------------

def test_lstm_step_forward_mistakes():
    def ifog(x, h_prev, c_prev, U, W, b):
        ai, af, ao, ag = np.split(x @ U.T + h_prev @ W.T + b, 4, axis=1)
        c = sig(af) * c_prev + sig(ai) * np.tanh(ag)
        return sig(ao) * np.tanh(c), c, None

    def no_tanh(x, h_prev, c_prev, U, W, b):
        h, c, cache = lstm_step_forward(x, h_prev, c_prev, U, W, b)
        o = sig(np.split(x @ U.T + h_prev @ W.T + b, 4, axis=1)[3])
        return o * c, c, cache

    def forgets_c(x, h_prev, c_prev, U, W, b):
        return lstm_step_forward(x, h_prev, 0 * c_prev, U, W, b)

    for fn, hint in ((ifog, "i, f, o, g"), (no_tanh, "without the tanh"),
                     (forgets_c, "c_prev is ignored")):
        res, msg = _messages(ch07.check_lstm_step_forward, fn)
        assert not res and hint in msg, msg


def test_lstm_step_backward_decks_mistake():
    def no_dh_path(dh, dc, cache):
        grads = list(lstm_step_backward(dh, dc, cache))
        f = cache[7]  # the master caches (x, h_prev, c_prev, U, W, a, i, f, g, o, tanh_c)
        grads[2] = f * dc  # the decks' slip: the path through h is lost
        return tuple(grads)

    res, msg = _messages(ch07.check_lstm_step_backward, no_dh_path, lstm_step_forward)
    assert not res and "dc_prev" in msg and "through h = o * tanh(c)" in msg, msg

    def db_not_summed(dh, dc, cache):
        grads = list(lstm_step_backward(dh, dc, cache))
        grads[5] = np.tile(grads[5], (3, 1))
        return tuple(grads)

    res, msg = _messages(ch07.check_lstm_step_backward, db_not_summed, lstm_step_forward)
    assert not res


def test_lstm_forward_mistakes():
    def last_only(x, h0, c0, U, W, b):
        h, c, _ = lstm_forward(x, h0, c0, U, W, b)
        return h[:, -1], c, None

    def zeros_start(x, h0, c0, U, W, b):
        return lstm_forward(x, 0 * h0, 0 * c0, U, W, b)

    for fn, hint in ((last_only, "not only the last"), (zeros_start, "h0 and c0 are ignored")):
        res, msg = _messages(ch07.check_lstm_forward, fn)
        assert not res and hint in msg, msg


def test_gru_mistakes():
    def cho(x, h_prev, U, W, b_x, b_h):
        xr, xz, xn = np.split(x @ U.T + b_x, 3, axis=1)
        Wr, Wz, Wn = np.split(W, 3)
        br, bz, bn = np.split(b_h, 3)
        r, z = sig(xr + h_prev @ Wr.T + br), sig(xz + h_prev @ Wz.T + bz)
        n = np.tanh(xn + (r * h_prev) @ Wn.T + bn)
        return (1 - z) * n + z * h_prev, None

    def z_swapped(x, h_prev, U, W, b_x, b_h):
        xr, xz, xn = np.split(x @ U.T + b_x, 3, axis=1)
        hr, hz, hn = np.split(h_prev @ W.T + b_h, 3, axis=1)
        r, z = sig(xr + hr), sig(xz + hz)
        n = np.tanh(xn + r * hn)
        return z * n + (1 - z) * h_prev, None

    for fn, hint in ((cho, "Cho et al."), (z_swapped, "z weights the candidate")):
        res, msg = _messages(ch07.check_gru_step_forward, fn)
        assert not res and hint in msg, msg


def test_stubs_and_crashes_never_raise(capsys):
    for check, extra in ((ch07.check_lstm_step_forward, ()), (ch07.check_lstm_forward, ()),
                         (ch07.check_gru_step_forward, ()), (ch07.check_gru_forward, ()),
                         (ch07.check_lstm_step_backward, (stub,)),
                         (ch07.check_gru_backward, (stub,))):
        res = check(stub, *extra, quiet=True)
        assert not res and not res.implemented
        assert check(lambda *a: 1 / 0, *extra, quiet=True) is not None
    assert ch07.check_lstm_step_forward(stub) is None
    assert "not implemented yet" in capsys.readouterr().out
    res = ch07.check_lstm_step_backward(lstm_step_backward, stub, quiet=True)
    assert not res and "lstm_step_forward is not implemented" in " ".join(res.messages)
    res = ch07.check_gru_backward(gru_backward, stub, quiet=True)
    assert not res and "gru_forward is not implemented" in " ".join(res.messages)


# --- the GRU layer: references against torch and finite differences; the mistakes ------------

def test_gru_layer_references_match_numerical_gradients():
    rng = np.random.default_rng(5)
    N, T, D, H = 2, 4, 3, 2
    x, h0 = rng.normal(size=(N, T, D)), rng.normal(size=(N, H))
    U, W, b_x, b_h = ch07.make_gru_params(D, H, rng)
    dh = rng.normal(size=(N, T, H))
    arrays = [x, h0, U, W, b_x, b_h]
    _, cache = refs.reference_gru_forward(*arrays)
    grads = refs.reference_gru_backward(dh, cache)
    for k, arr in enumerate(arrays):
        num = gradcheck.numerical_gradient(
            lambda: float(np.sum(refs.reference_gru_forward(*arrays)[0] * dh)), arr, eps=1e-6)
        assert gradcheck.rel_error(num, grads[k]) < 1e-6
    # the master lab's layer agrees with torch.nn.GRU and its gradients
    h, own_cache = gru_forward(*arrays)
    assert np.allclose(h, refs.reference_gru_forward(*arrays)[0], atol=1e-12, rtol=0)
    for mine, ref in zip(gru_backward(dh, own_cache), grads, strict=True):
        assert np.allclose(mine, ref, atol=1e-12, rtol=0)
    # the slips in torch ops: without a slip they are torch.nn.GRU; a backward slip keeps the
    # forward values (only the gradients differ)
    for slip in (None, *ch07_slips.BACKWARD_SLIPS):
        leaves, states = ch07_slips.torch_gru_steps(*arrays, slip=slip)
        hs = np.stack([s.detach().numpy() for s in states], 1)
        assert np.allclose(hs, h, atol=1e-12, rtol=0), slip
    leaves, states = ch07_slips.torch_gru_steps(*arrays)
    sum((s * torch.tensor(dh[:, t])).sum() for t, s in enumerate(states)).backward()
    for leaf, ref in zip(leaves, grads, strict=True):
        assert np.allclose(leaf.grad.numpy(), ref, atol=1e-12, rtol=0)


def test_gru_forward_mistakes():
    def last_only(*args):
        h, cache = gru_forward(*args)
        return h[:, -1], cache

    def time_first(*args):
        h, cache = gru_forward(*args)
        return h.transpose(1, 0, 2), cache

    def zeros_start(x, h0, *params):
        return gru_forward(x, 0 * h0, *params)

    def scrambled_projection(x, h0, *params):
        N, T, D = x.shape
        return gru_forward(x.reshape(T, N, D).transpose(1, 0, 2), h0, *params)

    def zrn(x, h0, *params):
        return gru_forward(x, h0, *(ch07._permute_blocks(p, (1, 0, 2)) for p in params))

    def untransposed_U(x, h0, U, W, b_x, b_h):
        x @ U  # noqa: B018 - the slip: U is (3H, D)
        return gru_forward(x, h0, U, W, b_x, b_h)

    cases = [(last_only, "not only the last"), (time_first, "time first"),
             (zeros_start, "h0 is ignored"), (scrambled_projection, "t fastest"),
             (zrn, "z, r, n"), (untransposed_U, "U is (3H, D)"),
             (gru_slip("gru_forward", "no_reset"), "without the reset gate"),
             (gru_slip("gru_forward", "z_swapped"), "z weights the candidate")]
    for fn, hint in cases:
        for seed in (0, 1, 2):
            res, msg = _messages(ch07.check_gru_forward, fn, seed)
            assert not res and hint in msg, (hint, msg)


def test_gru_backward_mistakes():
    for slip, hint in (("no_dh_next", "only its own dh"), ("no_r_in_dah", "lacks the factor r"),
                       ("dz_sign", "dz has the wrong sign"), ("no_direct_path", "direct path"),
                       ("first_state", "gradient of the first state")):
        for seed in (0, 1, 2):
            res, msg = _messages(ch07.check_gru_backward,
                                 gru_slip("gru_backward", slip), gru_forward, seed)
            assert not res and hint in msg, (slip, msg)

    def transposed_dU(dh, cache):
        dx, dh0, dU, *rest = gru_backward(dh, cache)
        return (dx, dh0, dU.T, *rest)

    def db_per_example(dh, cache):
        grads = list(gru_backward(dh, cache))
        grads[4] = np.tile(grads[4], (dh.shape[0], 1))
        return tuple(grads)

    def zrn_rows(dh, cache):
        dx, dh0, dU, *rest = gru_backward(dh, cache)
        return (dx, dh0, ch07._permute_blocks(dU, (1, 0, 2)), *rest)

    def in_place(dh, cache):
        grads = gru_backward(dh, cache)
        dh[:, 0] += 1.0  # as `dh[:, t] += dh_next` would: the caller's array changes
        return grads

    for fn, hint in ((transposed_dU, "transposed"), (db_per_example, "sum over the batch"),
                     (zrn_rows, "rows of dU are in the block order z, r, n"),
                     (in_place, "changed its input dh in place")):
        res, msg = _messages(ch07.check_gru_backward, fn, gru_forward)
        assert not res and hint in msg, (hint, msg)

    wrong_forward = gru_slip("gru_forward", "no_reset")
    res, msg = _messages(ch07.check_gru_backward, gru_backward, wrong_forward)
    assert not res and "gru_forward does not pass its check yet" in msg, msg


# --- the hidden cases (issue 20): D != H and saturated gates --------------------------------

def test_sizes_keep_the_public_draw_and_force_the_hidden_shapes():
    assert ch07._sizes(np.random.default_rng(0)) == (5, 4, 4)  # the public examples: D = H
    for seed in range(20):
        _, D, H = ch07._sizes(np.random.default_rng(seed), square=True)
        assert D == H
        _, D, H = ch07._sizes(np.random.default_rng(seed), square=False)
        assert D != H


def test_saturated_weights_saturate_the_gates():
    """At scale 1000 the hidden examples hold pre-activations beyond +-709, where exp overflows
    (what makes e^a / (1 + e^a) NaN); the master's steps still equal torch there."""
    rng = np.random.default_rng(7111)
    N, D, H = ch07._sizes(rng, square=True)
    x, h = rng.normal(size=(N, D)), rng.normal(size=(N, H))
    U, W, b = ch07.make_lstm_params(D, H, rng, 1000.0)
    a = x @ U.T + h @ W.T + b
    assert (a > 709).any() and (a < -709).any()
    for seed in (7111, 7112):
        assert ch07.check_lstm_step_forward(lstm_step_forward, seed=seed, scale=1000.0,
                                            quiet=True)
        assert ch07.check_lstm_step_backward(lstm_step_backward, lstm_step_forward, seed=seed,
                                             scale=1000.0, quiet=True)
        assert ch07.check_gru_step_forward(gru_step_forward, seed=seed, scale=1000.0, quiet=True)


def _mistake(qid: str, part: str):
    from mistakes.ch07 import MISTAKES

    edits = next(e for q, e, p in MISTAKES if q == qid and p == part)
    return master_variant("ch07", qid, edits)


@pytest.mark.parametrize("check, qid", [
    (ch07.check_lstm_step_forward, "lstm_step_forward"),
    (ch07.check_lstm_step_backward, "lstm_step_backward"),
    (ch07.check_gru_step_forward, "gru_step_forward")])
def test_an_overflowing_sigmoid_fails_only_with_saturated_gates(check, qid):
    mistake = _mistake(qid, "saturated gates")
    assert check(mistake, quiet=True)  # the public example: small weights
    fails_with(functools.partial(check, seed=7111, scale=1000.0), mistake,
               "contains NaN or infinity")


@pytest.mark.parametrize("check, qid, says", [
    (ch07.check_lstm_step_forward, "lstm_step_forward", "your code raised"),
    (ch07.check_lstm_forward, "lstm_forward", "your code raised"),
    (ch07.check_gru_step_forward, "gru_step_forward", "your code raised"),
    (ch07.check_gru_forward, "gru_forward", "your code raised"),
    (ch07.check_gru_backward, "gru_backward", "your code raised")])
def test_a_size_read_from_the_wrong_array_fails_only_when_d_differs_from_h(check, qid, says):
    mistake = _mistake(qid, "an input size D different from the hidden size H")
    assert check(mistake, quiet=True)  # the public example has D = H
    for seed in (7121, 7122):
        fails_with(functools.partial(check, seed=seed, square=False), mistake, says)


def test_backward_checks_find_the_forward_beside_the_backward():
    # called with the backward alone, a check uses the forward of the backward's namespace
    assert ch07.check_lstm_step_backward(lstm_step_backward, quiet=True)
    assert ch07.check_gru_backward(gru_backward, quiet=True)
    alone = eval("lambda *grads_and_cache: None", {})  # noqa: S307 - a namespace without forward
    fails_with(ch07.check_gru_backward, alone, "pass your gru_forward")
    fails_with(ch07.check_lstm_step_backward, alone, "pass your lstm_step_forward")
