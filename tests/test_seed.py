"""course_lib.seed.set_seed: one call makes Python, NumPy and torch draws repeatable."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from course_lib import set_seed


def _draws(seed: int):
    rng = set_seed(seed)
    return (
        random.random(),
        np.random.rand(3),
        torch.rand(3, dtype=torch.float64).numpy(),
        rng.normal(size=3),
    )


def test_same_seed_gives_identical_draws_everywhere():
    a, b = _draws(7), _draws(7)
    assert a[0] == b[0]
    for x, y in zip(a[1:], b[1:], strict=True):
        np.testing.assert_array_equal(x, y)


def test_different_seeds_give_different_draws():
    a, b = _draws(1), _draws(2)
    assert a[0] != b[0]
    for x, y in zip(a[1:], b[1:], strict=True):
        assert not np.array_equal(x, y)


def test_returned_generator_is_a_fresh_generator_seeded_with_seed():
    rng = set_seed(3)
    assert isinstance(rng, np.random.Generator)
    np.testing.assert_array_equal(rng.normal(size=4), np.random.default_rng(3).normal(size=4))


def test_numpy_integer_seed_acts_like_the_int():
    a, b = _draws(5), _draws(np.int64(5))
    assert a[0] == b[0]
    for x, y in zip(a[1:], b[1:], strict=True):
        np.testing.assert_array_equal(x, y)


def test_torch_threads_are_set():
    before = torch.get_num_threads()
    try:
        set_seed(0, threads=2)
        assert torch.get_num_threads() == 2
        set_seed(0)  # the default pins one thread
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_course_max_threads_caps_the_threads_a_page_asks_for(monkeypatch):
    before = torch.get_num_threads()
    try:
        monkeypatch.setenv("COURSE_MAX_THREADS", "1")
        set_seed(0, threads=2)
        assert torch.get_num_threads() == 1
        monkeypatch.setenv("COURSE_MAX_THREADS", "not a number")  # ignored, not an error
        set_seed(0, threads=2)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("seed", [-1, 1.5, "0", None, True, 2**32, [1]])
def test_bad_seed_raises_value_error_naming_seed(seed):
    with pytest.raises(ValueError, match="seed"):
        set_seed(seed)


def test_largest_numpy_seed_is_accepted():
    set_seed(2**32 - 1)


@pytest.mark.parametrize("threads", [0, -2, 1.0, "1", True])
def test_bad_threads_raise_value_error_naming_threads(threads):
    with pytest.raises(ValueError, match="threads"):
        set_seed(0, threads=threads)


def test_course_threads_imitates_another_thread_count(monkeypatch):
    before = torch.get_num_threads()
    try:
        monkeypatch.setenv("COURSE_THREADS", "2")
        set_seed(0)  # asks for one thread, gets two
        assert torch.get_num_threads() == 2
        monkeypatch.setenv("COURSE_MAX_THREADS", "1")  # an explicit imitation beats the cap
        set_seed(0)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_course_seed_shifts_every_seed(monkeypatch):
    monkeypatch.setenv("COURSE_SEED", "3")
    shifted = _draws(0)
    monkeypatch.delenv("COURSE_SEED")
    plain = _draws(3)
    assert shifted[0] == plain[0]
    for x, y in zip(shifted[1:], plain[1:], strict=True):
        np.testing.assert_array_equal(x, y)
