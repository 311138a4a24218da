"""course_lib.checks.bridge: the one NumPy <-> torch float64 crossing of checks and references."""

from __future__ import annotations

import numpy as np
import torch

from course_lib.checks.bridge import holding, numpy64, t64


def test_t64_copies_into_a_float64_tensor_and_can_record_gradients():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = t64(a, grad=True)
    assert t.dtype == torch.float64 and t.shape == (2, 3) and t.requires_grad
    a[0, 0] = 99.0  # a copy: the student's array is never shared
    assert t[0, 0].item() == 0.0
    (t ** 2).sum().backward()
    np.testing.assert_array_equal(numpy64(t.grad), 2 * np.arange(6.0).reshape(2, 3))


def test_numpy64_is_a_new_float64_array():
    t = torch.ones(3, dtype=torch.float32, requires_grad=True)
    out = numpy64(t)
    assert out.dtype == np.float64 and out.flags.writeable
    out[0] = 5.0
    assert t[0].item() == 1.0


def test_holding_sets_the_named_parameters_and_none_zeroes():
    W = np.arange(6.0).reshape(3, 2)
    layer = holding(torch.nn.Linear(2, 3).double(), weight=W, bias=None)
    np.testing.assert_array_equal(layer.weight.detach().numpy(), W)
    np.testing.assert_array_equal(layer.bias.detach().numpy(), np.zeros(3))
    x = np.array([[1.0, -1.0]])
    np.testing.assert_allclose(numpy64(layer(t64(x))), x @ W.T)  # maths: y = x W^T + 0
    assert layer.weight.requires_grad  # still a parameter torch trains and differentiates
