"""course_lib.data: the bundled digits and the seeded two-blob generator."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits as sk_load_digits
from sklearn.linear_model import Perceptron

from course_lib import data

# ---------------------------------------------------------------------------------- digits


@pytest.fixture(scope="module")
def sk_digits():
    d = sk_load_digits()
    return d.data, d.target


def _rows_to_set(X):
    return {row.tobytes() for row in X}


def test_digits_shapes_dtypes_and_range():
    X_tr, y_tr, X_te, y_te = data.load_digits(seed=0)
    assert X_tr.shape[1] == X_te.shape[1] == 64
    assert X_tr.shape[0] == y_tr.shape[0] and X_te.shape[0] == y_te.shape[0]
    assert X_tr.shape[0] + X_te.shape[0] == 1797
    assert X_te.shape[0] == round(0.25 * 1797)
    assert X_tr.dtype == X_te.dtype == np.float64
    assert np.issubdtype(y_tr.dtype, np.integer) and np.issubdtype(y_te.dtype, np.integer)
    for X in (X_tr, X_te):
        assert X.min() >= 0.0 and X.max() <= 1.0
    assert X_tr.max() == 1.0  # 16/16: the scaling uses the full range
    assert set(np.unique(np.concatenate([y_tr, y_te]))) == set(range(10))


def test_digits_pixels_are_sklearn_pixels_over_16(sk_digits):
    X_sk, y_sk = sk_digits
    X_tr, y_tr, X_te, y_te = data.load_digits(seed=0)
    X = np.concatenate([X_tr, X_te]) * 16.0
    y = np.concatenate([y_tr, y_te])
    # every (image, label) pair is one of sklearn's, and the multiset of labels is the same
    pairs_sk = sorted(zip(map(bytes, X_sk.astype(np.float64)), y_sk, strict=True))
    pairs = sorted(zip(map(bytes, X), y, strict=True))
    assert pairs == pairs_sk


def test_digits_class_filter_renumbers_in_the_given_order(sk_digits):
    X_sk, y_sk = sk_digits
    X_tr, y_tr, X_te, y_te = data.load_digits(classes=(8, 3), seed=1)
    X = np.concatenate([X_tr, X_te]) * 16.0
    y = np.concatenate([y_tr, y_te])
    assert set(np.unique(y)) == {0, 1}
    assert len(y) == int(np.sum(y_sk == 8) + np.sum(y_sk == 3))
    # label 0 stands for the digit 8, label 1 for the digit 3
    assert _rows_to_set(X[y == 0]) == _rows_to_set(X_sk[y_sk == 8].astype(np.float64))
    assert _rows_to_set(X[y == 1]) == _rows_to_set(X_sk[y_sk == 3].astype(np.float64))


def test_digits_same_seed_same_split_other_seed_other_split():
    a = data.load_digits(seed=4)
    b = data.load_digits(seed=4)
    c = data.load_digits(seed=5)
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a[0], c[0])


def test_digits_train_and_test_are_disjoint(sk_digits):
    X_sk, _ = sk_digits
    assert len(_rows_to_set(X_sk)) == len(X_sk)  # sklearn's images are distinct, so ...
    X_tr, _, X_te, _ = data.load_digits(seed=0)
    tr, te = _rows_to_set(X_tr), _rows_to_set(X_te)
    assert not tr & te  # ... no image may be in both parts
    assert len(tr) == len(X_tr) and len(te) == len(X_te)  # nor twice in one part


def test_digits_test_fraction():
    _, y_tr, _, y_te = data.load_digits(classes=(0, 1), test_fraction=0.5, seed=0)
    n = len(y_tr) + len(y_te)
    assert len(y_te) == round(n / 2)


def test_digits_extreme_test_fraction_keeps_both_parts_non_empty():
    _, y_tr, _, y_te = data.load_digits(classes=(0, 1), test_fraction=0.9999, seed=0)
    assert len(y_tr) >= 1 and len(y_te) >= 1
    _, y_tr, _, y_te = data.load_digits(classes=(0, 1), test_fraction=1e-6, seed=0)
    assert len(y_tr) >= 1 and len(y_te) >= 1


@pytest.mark.parametrize("fraction", [0, 1, -0.1, 1.5])
def test_digits_bad_test_fraction(fraction):
    with pytest.raises(ValueError, match=r"^test_fraction:"):
        data.load_digits(test_fraction=fraction)


@pytest.mark.parametrize("classes", [(3,), (3, 3), (1, 10), (-1, 2), ()])
def test_digits_bad_classes(classes):
    with pytest.raises(ValueError, match=r"^classes:"):
        data.load_digits(classes=classes)


# ---------------------------------------------------------------------------------- two blobs


def _best_margin(X, y, n_angles=7200):
    """Largest margin of a separating line, by brute force over line directions (maths, not
    the generator's own construction): for a unit normal u the best offset leaves a gap of
    min_{y=+1} u.x - max_{y=-1} u.x, and the margin is half of it.

    Returns the best margin on the grid and how much the grid can miss: a direction at most
    delta = pi / n_angles off changes every u.x by at most delta * |x|."""
    th = np.linspace(0.0, 2 * np.pi, n_angles, endpoint=False)
    proj = X @ np.stack([np.cos(th), np.sin(th)])  # (n, angles)
    gap = proj[y == 1].min(axis=0) - proj[y == -1].max(axis=0)
    return gap.max() / 2, np.pi / n_angles * np.linalg.norm(X, axis=1).max()


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_two_blobs_shapes_labels_and_balance(seed):
    X, y = data.two_blobs(n=101, seed=seed)
    assert X.shape == (101, 2) and X.dtype == np.float64
    assert y.shape == (101,) and np.issubdtype(y.dtype, np.integer)
    assert set(np.unique(y)) == {-1, 1}
    assert abs(int(np.sum(y == 1)) - int(np.sum(y == -1))) <= 1
    assert np.all(np.isfinite(X))


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("margin", [0.3, 0.5, 1.0])
def test_two_blobs_are_separable_by_sklearn_perceptron(seed, margin):
    # Novikoff: on separable data the perceptron makes finitely many mistakes
    X, y = data.two_blobs(n=80, margin=margin, seed=seed)
    clf = Perceptron(max_iter=1000, tol=None, random_state=0).fit(X, y)
    assert clf.score(X, y) == 1.0


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("margin", [0.0, 0.3, 0.5, 1.0])
def test_two_blobs_have_a_separating_line_with_at_least_the_margin(seed, margin):
    X, y = data.two_blobs(n=80, margin=margin, seed=seed)
    best, grid_error = _best_margin(X, y)
    assert grid_error < 1e-2
    assert best >= margin - grid_error


def test_best_margin_helper_on_a_known_configuration():
    # the hulls of the two classes, segments (1, 0)-(3, 1) and (-1, 0)-(-3, -1), are 2 apart
    # (closest at (1, 0) and (-1, 0)): the best line is x1 = 0 with margin 1
    X = np.array([[1.0, 0.0], [3.0, 1.0], [-1.0, 0.0], [-3.0, -1.0]])
    y = np.array([1, 1, -1, -1])
    best, grid_error = _best_margin(X, y)
    assert best == pytest.approx(1.0, abs=1e-12)
    xor = np.array([[1.0, 1.0], [-1.0, -1.0], [1.0, -1.0], [-1.0, 1.0]])
    assert _best_margin(xor, np.array([1, 1, -1, -1]))[0] < 0  # XOR: not separable


def test_two_blobs_need_a_bias():
    # no line through the origin separates them (the data sit off the origin)
    X, y = data.two_blobs(n=100, margin=0.5, seed=0)
    th = np.linspace(0.0, 2 * np.pi, 7200, endpoint=False)
    signed = y[:, None] * (X @ np.stack([np.cos(th), np.sin(th)]))
    assert signed.min(axis=0).max() < 0


def test_two_blobs_deterministic_by_seed():
    a, b, c = (data.two_blobs(n=30, seed=s) for s in (9, 9, 10))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"n": 0}, "n"),
        ({"n": 1}, "n"),
        ({"n": -5}, "n"),
        ({"n": 2.5}, "n"),
        ({"n": "10"}, "n"),
        ({"margin": -0.1}, "margin"),
        ({"margin": np.nan}, "margin"),
    ],
)
def test_two_blobs_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=rf"^{name}:"):
        data.two_blobs(**kwargs)
