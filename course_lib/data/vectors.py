"""Fixed-size inputs: scikit-learn's bundled digits (chapters 1, 2 and 9) and two separable
clouds of points for the perceptron (chapter 1)."""

from __future__ import annotations

import numpy as np

from course_lib import validate


def load_digits(
    classes: tuple[int, ...] | None = None, test_fraction: float = 0.25, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's bundled 8x8 handwritten digits (1797 images), split into train and test.

    Pixels are scaled from 0..16 to 0..1. The split is stratified-free but seeded: the same seed
    gives the same split on every machine.

    Args:
        classes: keep only these digit classes (labels are re-numbered 0..len(classes)-1 in the
            given order); ``None`` keeps all ten.
        test_fraction: share of examples held out, in (0, 1).
        seed: seed of the shuffle.

    Returns:
        ``X_train (N, 64)``, ``y_train (N,)``, ``X_test (M, 64)``, ``y_test (M,)``; X float64.
    """
    from sklearn.datasets import load_digits as _sk_load_digits

    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction: expected a number in (0, 1), got {test_fraction!r}")
    digits = _sk_load_digits()
    X = digits.data.astype(np.float64) / 16.0
    y = digits.target.astype(np.int64)
    if classes is not None:
        classes = tuple(int(c) for c in classes)
        if len(classes) < 2 or len(set(classes)) != len(classes):
            raise ValueError(f"classes: expected at least two distinct digits, got {classes}")
        if not all(0 <= c <= 9 for c in classes):
            raise ValueError(f"classes: expected digits 0..9, got {classes}")
        keep = np.isin(y, classes)
        X, y = X[keep], y[keep]
        y = np.array([classes.index(c) for c in y], dtype=np.int64)
    order = np.random.default_rng(seed).permutation(len(y))
    n_test = min(max(1, int(round(test_fraction * len(y)))), len(y) - 1)  # both parts non-empty
    test, train = order[:n_test], order[n_test:]
    return X[train], y[train], X[test], y[test]


def two_blobs(
    n: int = 100, margin: float = 0.5, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Two linearly separable clouds of 2-D points, labelled -1 and +1 (perceptron data).

    The clouds sit on either side of a tilted line that misses the origin (so a bias is
    needed), and every point closer than ``margin`` to that line is pushed out, so a separating
    line with that margin exists and the perceptron rule converges (Novikoff's theorem).

    Returns:
        ``X (n, 2)`` float64 and ``y (n,)`` with values in {-1, +1}.
    """
    n = validate.positive("n", n, integer=True)
    if n < 2:
        raise ValueError(f"n: expected at least 2 points, got {n}")
    if not margin >= 0:
        raise ValueError(f"margin: expected a number >= 0, got {margin!r}")
    rng = np.random.default_rng(seed)
    y = np.where(np.arange(n) % 2 == 0, 1, -1).astype(np.int64)
    normal = np.array([np.cos(np.pi / 6), np.sin(np.pi / 6)])
    anchor = np.array([1.5, 1.0])  # a point on the true separating line
    X = anchor + rng.normal(0.0, 1.0, size=(n, 2)) + 1.0 * y[:, None] * normal
    dist = (X - anchor) @ normal * y  # signed distance on the correct side
    push = np.maximum(margin - dist, 0.0)
    X = X + (push * y)[:, None] * normal
    return X, y
