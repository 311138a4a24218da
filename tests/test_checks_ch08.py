"""Tests of lab 8's public checks: correct implementations pass, typical mistakes fail with
their hint, stubs report "not implemented"; the ConvLSTM reference equals a convolution-based
step and its gradients match finite differences."""

import numpy as np
import pytest
import torch
from labs import master_functions, stub

from course_lib import gradcheck
from course_lib.checks import ch08
from course_lib.references import ch08 as refs

MASTER = master_functions("ch08")  # the master lab's solution cells
rnn_forward = MASTER["rnn_forward"]
birnn_forward = MASTER["birnn_forward"]
convlstm_step = MASTER["convlstm_step"]


@pytest.mark.parametrize("seed", [0, 1, 5])
def test_correct_implementations_pass(seed):
    assert ch08.check_rnn_forward(rnn_forward, seed=seed, quiet=True)
    assert ch08.check_birnn_forward(birnn_forward, seed=seed, quiet=True)
    assert ch08.check_convlstm_step(convlstm_step, seed=seed, quiet=True)


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
    for check in (ch08.check_rnn_forward, ch08.check_birnn_forward, ch08.check_convlstm_step):
        res = check(stub, quiet=True)
        assert not res and not res.implemented
        assert not check(lambda *a: None, quiet=True)
