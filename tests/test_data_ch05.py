"""course_lib.data: binary addition and parity sequences, checked against Python integers."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib import data


def _value(bits):
    return sum(int(b) << i for i, b in enumerate(bits))


def test_binary_addition_encodes_the_sum():
    X, y = data.binary_addition(50, 12, seed=1)
    assert X.shape == (50, 13, 2) and y.shape == (50, 13)
    assert X.dtype == y.dtype == np.float32
    assert np.all(X[:, -1] == 0)  # the extra step has zero inputs
    for n in range(50):
        assert _value(X[n, :, 0]) + _value(X[n, :, 1]) == _value(y[n])


def test_binary_addition_is_seeded_and_varied():
    X1, _ = data.binary_addition(30, 8, seed=2)
    X2, _ = data.binary_addition(30, 8, seed=2)
    X3, _ = data.binary_addition(30, 8, seed=3)
    np.testing.assert_array_equal(X1, X2)
    assert not np.array_equal(X1, X3)
    assert 0.3 < X1[:, :8].mean() < 0.7


def test_parity_sequences():
    X, y = data.parity_sequences(40, 17, seed=0)
    assert X.shape == (40, 17, 1) and y.shape == (40, 17)
    for n in range(40):
        for t in range(17):
            assert y[n, t] == int(X[n, : t + 1, 0].sum()) % 2


@pytest.mark.parametrize("call", [lambda: data.binary_addition(0, 4), lambda: data.binary_addition(3, 0),
                                  lambda: data.parity_sequences(3, 0), lambda: data.parity_sequences(2.5, 3)])
def test_bad_arguments_raise(call):
    with pytest.raises(ValueError):
        call()
