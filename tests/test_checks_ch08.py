"""Tests of lab 8's public checks: correct implementations pass, typical mistakes fail with
their hint, stubs report "not implemented"; the ConvLSTM reference equals a convolution-based
step and its gradients match finite differences; the padded and deep references equal torch
run row by row and layer by layer; the influence the window check measures with autograd has
the size the chapter's counting argument gives."""

import numpy as np
import pytest
import torch
from labs import fails_with, master_functions, master_variant, stub

from course_lib import gradcheck
from course_lib.checks import ch08
from course_lib.references import ch08 as refs

MASTER = master_functions("ch08")  # the master lab's solution cells
rnn_forward = MASTER["rnn_forward"]
birnn_forward = MASTER["birnn_forward"]
convlstm_step = MASTER["convlstm_step"]
deep_birnn_forward = MASTER["deep_birnn_forward"]
influence_window = MASTER["influence_window"]


@pytest.mark.parametrize("seed", [0, 1, 5])
def test_correct_implementations_pass(seed):
    assert ch08.check_rnn_forward(rnn_forward, seed=seed, quiet=True)
    assert ch08.check_birnn_forward(birnn_forward, seed=seed, quiet=True)
    assert ch08.check_convlstm_step(convlstm_step, seed=seed, quiet=True)
    assert ch08.check_deep_birnn_forward(deep_birnn_forward, seed=seed, quiet=True)
    assert ch08.check_influence_window(influence_window, seed=seed, quiet=True)


@pytest.mark.parametrize("seed", [0, 3])
def test_correct_implementations_pass_the_hidden_kinds(seed):
    assert ch08.check_rnn_forward(rnn_forward, seed=seed, scale=100.0, quiet=True)
    assert ch08.check_birnn_forward(birnn_forward, seed=seed, padded=True, quiet=True)
    for layers in (1, 3):
        assert ch08.check_deep_birnn_forward(deep_birnn_forward, seed=seed, num_layers=layers,
                                             quiet=True)
    for k in (1, 5):
        assert ch08.check_convlstm_step(convlstm_step, seed=seed, k=k, quiet=True)
    assert ch08.check_influence_window(influence_window, seed=seed, kernels=(5, 7), quiet=True)
    assert ch08.check_influence_window(influence_window, seed=seed, border=True, quiet=True)


def test_convlstm_reference_gradients_match_finite_differences():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1, 1, 4, 4))
    h, c = rng.normal(size=(1, 2, 4, 4)), rng.normal(size=(1, 2, 4, 4))
    weight, bias = rng.normal(0, 0.3, size=(8, 3, 3, 3)), rng.normal(0, 0.3, size=8)
    dh = rng.normal(size=(1, 2, 4, 4))
    wt = torch.tensor(weight, requires_grad=True)
    out, _ = refs.reference_convlstm_step(*(torch.tensor(a) for a in (x, h, c)), wt,
                                          torch.tensor(bias))
    (out * torch.tensor(dh)).sum().backward()

    def f():
        o, _ = refs.reference_convlstm_step(*(torch.tensor(a) for a in (x, h, c, weight, bias)))
        return float((o.detach().numpy() * dh).sum())

    num = gradcheck.numerical_gradient(f, weight, eps=1e-5)
    assert gradcheck.rel_error(num, wt.grad.numpy()) < 1e-6


def test_birnn_reference_equals_two_unidirectional_torch_layers():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(3, 6, 2))
    pf, pb = ch08.make_rnn_params(2, 4, rng), ch08.make_rnn_params(2, 4, rng)
    h, _ = refs.reference_birnn_forward(x, pf, pb)
    hf, _ = refs.reference_rnn_forward(x, np.zeros((3, 4)), *pf)
    hb, _ = refs.reference_rnn_forward(x[:, ::-1].copy(), np.zeros((3, 4)), *pb)
    assert np.allclose(h, np.concatenate([hf, hb[:, ::-1]], -1), atol=1e-12)


def _msg(check, fn):
    res = check(fn, quiet=True)
    return res, " ".join(res.messages)


def test_birnn_mistakes():
    def unflipped(x, pf, pb):
        N, H = x.shape[0], pf[0].shape[0]
        hf, _ = rnn_forward(x, np.zeros((N, H)), *pf)
        hb, _ = rnn_forward(x[:, ::-1], np.zeros((N, H)), *pb)
        return np.concatenate([hf, hb], -1), None

    def swapped(x, pf, pb):
        h, _ = birnn_forward(x, pf, pb)
        H = pf[0].shape[0]
        return np.concatenate([h[..., H:], h[..., :H]], -1), None

    for fn, hint in ((unflipped, "not flipped back"), (swapped, "halves are swapped")):
        res, msg = _msg(ch08.check_birnn_forward, fn)
        assert not res and hint in msg, msg


def test_rnn_forward_mistake_h0():
    def no_h0(x, h0, U, W, b):
        return rnn_forward(x, 0 * h0, U, W, b)

    res, msg = _msg(ch08.check_rnn_forward, no_h0)
    assert not res and "h0 is ignored" in msg, msg


def test_convlstm_mistakes():
    def no_h(x, h_prev, c_prev, weight, bias):
        return convlstm_step(x, 0 * h_prev, c_prev, weight, bias)

    def no_out_gate(x, h_prev, c_prev, weight, bias):
        _, c = convlstm_step(x, h_prev, c_prev, weight, bias)
        return torch.tanh(c), c

    for fn, hint in ((no_h, "h_prev is ignored"), (no_out_gate, "without the output gate")):
        res, msg = _msg(ch08.check_convlstm_step, fn)
        assert not res and hint in msg, msg


def test_stubs_never_raise():
    for check in (ch08.check_rnn_forward, ch08.check_birnn_forward, ch08.check_convlstm_step,
                  ch08.check_deep_birnn_forward, ch08.check_influence_window):
        res = check(stub, quiet=True)
        assert not res and not res.implemented
        assert not check(lambda *a: None, quiet=True)


# --- padded batches, deep stacks, the influence window ----------------------------------------

def test_padded_reference_equals_each_row_run_alone():
    """torch's packed sequences = every row cut to its length, run whole, then zero-padded."""
    rng = np.random.default_rng(4)
    x = rng.normal(size=(4, 6, 3))
    pf, pb = ch08.make_rnn_params(3, 2, rng), ch08.make_rnn_params(3, 2, rng)
    lengths = np.array([6, 1, 4, 2])
    h, _ = refs.reference_birnn_forward(x, pf, pb, lengths)
    for n, L in enumerate(lengths):
        alone, _ = refs.reference_birnn_forward(x[n:n + 1, :L], pf, pb)
        assert np.allclose(h[n, :L], alone[0], atol=1e-12)
        assert np.all(h[n, L:] == 0)


def test_deep_reference_equals_bidirectional_layers_one_after_the_other():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(2, 5, 3))
    layers = ch08.make_deep_birnn_params(3, 4, 3, rng)
    h = x
    for pf, pb in layers:
        h, _ = refs.reference_birnn_forward(h, pf, pb)
    deep, _ = refs.reference_deep_birnn_forward(x, layers)
    assert deep.shape == (2, 5, 8) and np.allclose(deep, h, atol=1e-12)


@pytest.mark.parametrize("k, layers, back, size", [(3, 1, 0, 9), (3, 1, 5, 17), (3, 2, 3, 15),
                                                   (5, 3, 1, 21), (7, 1, 2, 23), (3, 3, 4, 9)])
def test_measured_influence_is_the_counting_argument(k, layers, back, size):
    """The window autograd finds is the one a path count gives: every one of the layers + steps
    back convolutions on the widest path adds (k - 1) / 2 pixels on each side, cut by the frame
    (the chapter's one-layer experiment: 3 x 3 for the last frame, 13 x 13 five steps back)."""
    reach = refs.convlstm_stack_influence(k, layers, back, size)
    side = min(size, (k - 1) * (layers + back) + 1)
    lo = size // 2 - side // 2
    expected = np.zeros((size, size), dtype=bool)
    expected[lo:lo + side, lo:lo + side] = True
    assert np.array_equal(reach, expected)


def test_birnn_padding_mistakes():
    flipped = master_variant("ch08", "birnn_forward", {
        "order = np.where(real, lengths[:, None] - 1 - steps, steps)":
        "order = np.broadcast_to(T - 1 - steps, (N, T))"})
    kept = master_variant("ch08", "birnn_forward", {"return h * real[..., None], None":
                                                    "return h, None"})
    assert ch08.check_birnn_forward(flipped, quiet=True) and ch08.check_birnn_forward(kept,
                                                                                     quiet=True)
    fails_with(lambda fn, quiet: ch08.check_birnn_forward(fn, seed=3, padded=True, quiet=quiet),
               flipped, "starts at the padding")
    fails_with(lambda fn, quiet: ch08.check_birnn_forward(fn, seed=3, padded=True, quiet=quiet),
               kept, "padded steps are not zero")

    def ignores_lengths(x, pf, pb, lengths=None):
        return birnn_forward(x, pf, pb)

    fails_with(lambda fn, quiet: ch08.check_birnn_forward(fn, seed=3, padded=True, quiet=quiet),
               ignores_lengths, "lengths are ignored")


def test_deep_birnn_mistakes():
    def first_layer_only(x, layers):
        return birnn_forward(x, *layers[0])

    def reads_x_everywhere(x, layers):
        for pf, pb in layers:
            h, _ = birnn_forward(x, pf, pb)
        return h, None

    fails_with(ch08.check_deep_birnn_forward, first_layer_only, "first layer's states")
    fails_with(ch08.check_deep_birnn_forward, reads_x_everywhere, "raised")
    two = master_variant("ch08", "deep_birnn_forward", {
        "h = x\n    for params_f, params_b in layers:\n        h, _ = birnn_forward(h, params_f, "
        "params_b)": "h, _ = birnn_forward(birnn_forward(x, *layers[0])[0], *layers[1])"})
    assert ch08.check_deep_birnn_forward(two, quiet=True)
    assert not ch08.check_deep_birnn_forward(two, seed=2, num_layers=3, quiet=True)


def test_convlstm_hard_coded_padding_fails_other_kernels():
    pad1 = master_variant("ch08", "convlstm_step", {"padding=weight.shape[-1] // 2":
                                                    "padding=1"})
    assert ch08.check_convlstm_step(pad1, quiet=True)
    fails_with(lambda fn, quiet: ch08.check_convlstm_step(fn, k=5, quiet=quiet), pad1, "raised")


@pytest.mark.parametrize("wrong, kwargs, hint", [
    (lambda k, L, s, size: (k - 1) * s + k, {}, "steps back but not the layers"),
    (lambda k, L, s, size: (k - 1) * L + 1, {}, "layers but not the steps back"),
    (lambda k, L, s, size: 2 * (k - 1) * (L + s) + 1, {}, "not k - 1"),
    (lambda k, L, s, size: (k - 1) * (L + s + 1) + 1, {}, "one convolution too many"),
    (lambda k, L, s, size: (k - 1) * (L + s) + 1, {"border": True}, "wider than the frame"),
    (lambda k, L, s, size: 2 * (L + s) + 1, {"seed": 8, "kernels": (5,)}, "measures"),
    (lambda k, L, s, size: "wide", {}, "return a number"),
])
def test_influence_window_mistakes(wrong, kwargs, hint):
    fails_with(lambda fn, quiet: ch08.check_influence_window(fn, quiet=quiet, **kwargs), wrong,
               hint)
