"""Tests of the moving-shapes generator (chapter 8)."""

import numpy as np
import pytest

from course_lib import data


def test_moving_shapes_shape_values_and_seed():
    v = data.moving_shapes(5, T=8, size=12, shape_size=3, seed=1)
    assert v.shape == (5, 8, 1, 12, 12) and v.dtype == np.float32
    assert set(np.unique(v)) == {0.0, 1.0}
    assert np.all(v.sum(axis=(2, 3, 4)) == 9)  # the whole square is visible in every frame
    assert np.array_equal(v, data.moving_shapes(5, T=8, size=12, shape_size=3, seed=1))
    assert not np.array_equal(v, data.moving_shapes(5, T=8, size=12, shape_size=3, seed=2))


def test_moving_shapes_move_by_their_velocity():
    v = data.moving_shapes(20, T=6, size=16, shape_size=4, seed=3)
    tops = np.array([[np.argwhere(f[0])[0] for f in video] for video in v])  # (n, T, 2)
    steps = np.abs(np.diff(tops, axis=1))
    assert steps.max() <= 2 and np.all(steps.sum(-1) > 0)  # moves every frame, at most 2 px


@pytest.mark.parametrize("kwargs", [dict(n=0), dict(n=2, T=1), dict(n=2, size=4, shape_size=4),
                                    dict(n=2.5)])
def test_moving_shapes_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        data.moving_shapes(**kwargs)


def test_past_future_xor_tags_are_the_xor_of_the_neighbours():
    from course_lib.data.ch08_tagging import past_future_xor

    x, y = past_future_xor(50, 7, seed=3)
    assert x.shape == (50, 7, 1) and x.dtype == np.float32 and y.shape == (50, 7)
    assert y.dtype == np.int64 and set(np.unique(x)) == {0.0, 1.0}
    bits = x[..., 0].astype(int)
    for n in range(50):
        for t in range(7):  # the definition, step by step, with zero bits outside the sequence
            before = bits[n, t - 1] if t > 0 else 0
            after = bits[n, t + 1] if t < 6 else 0
            assert y[n, t] == before ^ after
    assert np.array_equal(x, past_future_xor(50, 7, seed=3)[0])
    assert not np.array_equal(x, past_future_xor(50, 7, seed=4)[0])


@pytest.mark.parametrize("kwargs", [dict(n=0, T=5), dict(n=3, T=1), dict(n=2.5, T=4)])
def test_past_future_xor_rejects_bad_arguments(kwargs):
    from course_lib.data.ch08_tagging import past_future_xor

    with pytest.raises(ValueError):
        past_future_xor(**kwargs)
