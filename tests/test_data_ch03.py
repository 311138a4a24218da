"""Tests of the generator added for chapter 3: course_lib.data.counting_sequences."""

import numpy as np
import pytest

from course_lib import data


def test_counting_sequences_shapes_and_labels():
    X, lengths, counts = data.counting_sequences(200, T_max=9, n_symbols=4, T_min=2, seed=3)
    assert X.shape == (200, 9, 4) and X.dtype == np.float32
    assert lengths.shape == counts.shape == (200,)
    assert lengths.min() >= 2 and lengths.max() <= 9
    for x, length, count in zip(X, lengths, counts, strict=True):
        # one-hot at the real steps, zeros after the end
        assert np.all(x[:length].sum(axis=1) == 1)
        assert np.all(x[length:] == 0)
        # the label counts symbol 0 among the real steps, recomputed from the one-hot rows
        assert count == sum(int(np.argmax(row) == 0) for row in x[:length])
    assert len(np.unique(lengths)) == 8  # every length 2..9 occurs in 200 draws


def test_counting_sequences_is_seeded():
    a = data.counting_sequences(20, T_max=5, seed=1)
    b = data.counting_sequences(20, T_max=5, seed=1)
    c = data.counting_sequences(20, T_max=5, seed=2)
    assert all(np.array_equal(u, v) for u, v in zip(a, b, strict=True))
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize("kwargs, match", [
    (dict(n=0, T_max=5), "n:"),
    (dict(n=3, T_max=0), "T_max:"),
    (dict(n=3, T_max=4, T_min=5), "T_min:"),
    (dict(n=3, T_max=4, n_symbols=1), "n_symbols:"),
])
def test_counting_sequences_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        data.counting_sequences(**kwargs)
