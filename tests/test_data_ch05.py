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


def _rows(X):
    """The inputs of each example as a hashable tuple."""
    return [tuple(int(v) for v in row.reshape(-1)) for row in X]


@pytest.mark.parametrize("n_train, n_test, n_bits", [(50, 200, 4), (300, 500, 6), (1000, 1000, 16)])
def test_binary_addition_split_is_disjoint(n_train, n_test, n_bits):
    (X, y), (Xt, yt) = data.binary_addition_split(n_train, n_test, n_bits, seed=3)
    assert X.shape == (n_train, n_bits + 1, 2) and y.shape == (n_train, n_bits + 1)
    assert Xt.shape == (n_test, n_bits + 1, 2) and yt.shape == (n_test, n_bits + 1)
    train, test = _rows(X), _rows(Xt)
    assert len(set(train)) == n_train and len(set(test)) == n_test  # no repeats inside a set
    assert not set(train) & set(test)  # and none shared
    for A, Y in ((X, y), (Xt, yt)):
        assert np.all(A[:, -1] == 0)
        for k in range(len(A)):
            assert _value(A[k, :, 0]) + _value(A[k, :, 1]) == _value(Y[k])


def test_binary_addition_split_is_seeded():
    a = data.binary_addition_split(40, 60, 5, seed=7)
    b = data.binary_addition_split(40, 60, 5, seed=7)
    c = data.binary_addition_split(40, 60, 5, seed=8)
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u[0], v[0])
    assert not np.array_equal(a[0][0], c[0][0])


def test_binary_addition_split_small_space_uses_what_exists():
    all_pairs = {(a, b) for a in range(4) for b in range(4)}  # the 16 additions of 2-bit numbers
    (X, _), (Xt, _) = data.binary_addition_split(10, 500, 2, seed=0)
    assert len(X) == 10 and len(Xt) == 6  # the test set is every addition not trained on
    pairs = [(_value(x[:, 0]), _value(x[:, 1])) for x in np.concatenate([X, Xt])]
    assert len(pairs) == 16 and set(pairs) == all_pairs
    (X, _), (Xt, yt) = data.binary_addition_split(4, 3, 1, seed=0)  # all 4 one-bit additions
    assert len(X) == 4 and Xt.shape == (0, 2, 2) and yt.shape == (0, 2)
    with pytest.raises(ValueError, match="only 4"):
        data.binary_addition_split(5, 1, 1)


def test_parity_split():
    (X, y), (Xt, yt) = data.parity_split(100, 400, 9, seed=1)
    assert X.shape == (100, 9, 1) and Xt.shape == (400, 9, 1)
    train, test = _rows(X), _rows(Xt)
    assert len(set(train)) == 100 and len(set(test)) == 400 and not set(train) & set(test)
    for A, Y in ((X, y), (Xt, yt)):
        for k in range(len(A)):
            assert list(Y[k]) == [int(A[k, : t + 1, 0].sum()) % 2 for t in range(9)]
    (X, _), (Xt, _) = data.parity_split(5, 100, 3, seed=2)  # 8 strings of 3 bits exist
    assert len(Xt) == 3 and set(_rows(X)) | set(_rows(Xt)) == {
        (a, b, c) for a in (0, 1) for b in (0, 1) for c in (0, 1)}
    with pytest.raises(ValueError):
        data.parity_split(9, 1, 3)


@pytest.mark.parametrize("width", [6, 40])  # enumerated, and drawn with repeats discarded
def test_distinct_bit_strings(width):
    rows = data.distinct_bit_strings(60, width, seed=4)
    assert rows.shape == (60, width) and set(np.unique(rows)) <= {0, 1}
    assert len({tuple(r) for r in rows}) == 60
    assert 0.35 < rows.mean() < 0.65
    np.testing.assert_array_equal(rows, data.distinct_bit_strings(60, width, seed=4))


def test_distinct_bit_strings_all_of_them():
    rows = data.distinct_bit_strings(16, 4, seed=0)
    assert sorted(_value(r) for r in rows) == list(range(16))
    with pytest.raises(ValueError):
        data.distinct_bit_strings(17, 4)
    with pytest.raises(ValueError):
        data.distinct_bit_strings(-1, 4)
