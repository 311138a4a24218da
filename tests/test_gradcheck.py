"""course_lib.gradcheck: numerical gradients against torch autograd in float64, and rel_error.

Expected gradients come from torch autograd; expected relative errors from the formula.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from course_lib.gradcheck import numerical_gradient, numerical_gradient_array, rel_error


def _autograd(f_torch, *arrays):
    """Gradients of the scalar f_torch(*tensors) w.r.t. every array, by torch in float64."""
    ts = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    f_torch(*ts).backward()
    return [t.grad.numpy() for t in ts]


def _assert_close(numeric, exact):
    # central differences with eps=1e-6 in float64: ~1e-10 absolute error on O(1) gradients
    np.testing.assert_allclose(numeric, exact, rtol=1e-7, atol=1e-8 * max(1.0, np.abs(exact).max()))


def test_matches_autograd_softmax_cross_entropy_of_a_linear_layer():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(6, 4))
    W = rng.normal(size=(4, 3))
    y = rng.integers(0, 3, size=6)

    def loss_np():
        s = X @ W
        s = s - s.max(axis=1, keepdims=True)
        logp = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
        return -logp[np.arange(6), y].mean()

    def loss_t(Xt, Wt):
        return torch.nn.functional.cross_entropy(Xt @ Wt, torch.tensor(y))

    gX, gW = _autograd(loss_t, X, W)
    _assert_close(numerical_gradient(loss_np, W), gW)
    _assert_close(numerical_gradient(loss_np, X), gX)


def test_matches_autograd_tanh_rnn_step_on_a_3d_array():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 3, 4))  # (N, T, D)
    U = rng.normal(size=(5, 4)) * 0.5

    def f_np():
        h = np.zeros((2, 5))
        for t in range(3):
            h = np.tanh(x[:, t] @ U.T + h)
        return float(np.sum(h**2) + np.sum(np.sin(x)))

    def f_t(xt, Ut):
        h = torch.zeros(2, 5, dtype=torch.float64)
        for t in range(3):
            h = torch.tanh(xt[:, t] @ Ut.T + h)
        return (h**2).sum() + torch.sin(xt).sum()

    gx, gU = _autograd(f_t, x, U)
    _assert_close(numerical_gradient(f_np, x), gx)
    _assert_close(numerical_gradient(f_np, U), gU)


def test_matches_autograd_for_a_fortran_ordered_array():
    rng = np.random.default_rng(2)
    A = np.asfortranarray(rng.normal(size=(3, 4)))
    assert not A.flags.c_contiguous

    def f_np():
        return float(np.sum(np.exp(A[0]) * A[1]) + np.sum(A[2] ** 3))

    def f_t(At):
        return (torch.exp(At[0]) * At[1]).sum() + (At[2] ** 3).sum()

    (gA,) = _autograd(f_t, np.ascontiguousarray(A))
    _assert_close(numerical_gradient(f_np, A), gA)


def test_x_is_restored_bit_for_bit():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(4, 5))
    before = x.copy()
    numerical_gradient(lambda: float(np.sum(np.cos(x))), x)
    np.testing.assert_array_equal(x, before)


def test_x_is_restored_when_f_raises():
    x = np.array([1.0, 2.0, 3.0])
    before = x.copy()
    calls = []

    def f():
        calls.append(1)
        if len(calls) == 4:  # fails on the second element, while it is perturbed
            raise RuntimeError("boom")
        return float(np.sum(x))

    with pytest.raises(RuntimeError, match="boom"):
        numerical_gradient(f, x)
    np.testing.assert_array_equal(x, before)


def test_gradient_of_a_quadratic_is_exact_up_to_rounding():
    # f(x) = x^T A x has gradient (A + A^T) x; central differences are exact for quadratics
    rng = np.random.default_rng(4)
    A = rng.normal(size=(5, 5))
    x = rng.normal(size=5)
    g = numerical_gradient(lambda: float(x @ A @ x), x)
    np.testing.assert_allclose(g, (A + A.T) @ x, rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize(
    "x", [np.zeros(3, dtype=np.float32), [1.0, 2.0], 1.0, np.zeros(3, dtype=np.int64)]
)
def test_rejects_non_float64_arrays(x):
    with pytest.raises(ValueError, match=r"^x: expected a float64 numpy array"):
        numerical_gradient(lambda: 0.0, x)


@pytest.mark.parametrize("eps", [0.0, -1e-6, np.nan])
def test_rejects_bad_eps(eps):
    with pytest.raises(ValueError, match=r"^eps:"):
        numerical_gradient(lambda: 0.0, np.zeros(2), eps=eps)


def test_numerical_gradient_array_matches_autograd_for_a_layer_with_upstream_gradient():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(4, 3))  # (N, D)
    W = rng.normal(size=(2, 3))  # (H, D), as in torch
    b = rng.normal(size=2)
    dout = rng.normal(size=(4, 2))

    def layer():
        return np.tanh(x @ W.T + b)

    xt, Wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, W, b))
    torch.tanh(xt @ Wt.T + bt).backward(torch.tensor(dout))

    _assert_close(numerical_gradient_array(layer, x, dout), xt.grad.numpy())
    _assert_close(numerical_gradient_array(layer, W, dout), Wt.grad.numpy())
    _assert_close(numerical_gradient_array(layer, b, dout), bt.grad.numpy())


def test_numerical_gradient_array_rejects_dout_of_the_wrong_shape():
    x = np.ones((2, 3))
    with pytest.raises(ValueError, match=r"^dout: expected shape \(2, 3\).*got \(3, 2\)"):
        numerical_gradient_array(lambda: x * 2, x, np.ones((3, 2)))


def test_rel_error_is_zero_for_equal_arrays():
    a = np.random.default_rng(6).normal(size=(3, 4))
    assert rel_error(a, a.copy()) == 0.0
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0
    assert rel_error(np.zeros((0, 2)), np.zeros((0, 2))) == 0.0


def test_rel_error_known_values():
    assert rel_error([1.0], [3.0]) == pytest.approx(2.0 / 4.0)  # |1-3| / (1+3)
    assert rel_error([1.0, 1.0], [1.0, 2.0]) == pytest.approx(1.0 / 3.0)  # the worst element
    assert rel_error([1.0], [-1.0]) == pytest.approx(1.0)  # opposite signs: the maximum


def test_rel_error_is_symmetric():
    rng = np.random.default_rng(7)
    a, b = rng.normal(size=10), rng.normal(size=10)
    assert rel_error(a, b) == rel_error(b, a)
    assert 0.0 < rel_error(a, b) <= 1.0


def test_rel_error_shape_mismatch_raises():
    with pytest.raises(ValueError, match=r"^b: expected shape \(3,\).*got \(3, 1\)"):
        rel_error(np.zeros(3), np.zeros((3, 1)))


def test_rel_error_rejects_nan():
    with pytest.raises(ValueError, match=r"^a: contains 1 NaN"):
        rel_error([np.nan, 1.0], [1.0, 1.0])
