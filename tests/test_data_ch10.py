"""course_lib.data.number_words: numbers in words to digits, the task of chapter 10."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib import data

_SMALL = {w: i + 1 for i, w in enumerate(data.NUMBER_WORDS[:19])}
_TENS = {w: 10 * (i + 2) for i, w in enumerate(data.NUMBER_WORDS[19:27])}


def _parse(words: list[str]) -> int:
    """Words back to the number, written independently of the generator: add small numbers
    and tens, multiply by 100 at "hundred", close a group at "thousand" or "million"."""
    total, group = 0, 0
    for w in words:
        if w in _SMALL:
            group += _SMALL[w]
        elif w in _TENS:
            group += _TENS[w]
        elif w == "hundred":
            group *= 100
        else:
            total += group * {"thousand": 1000, "million": 10**6}[w]
            group = 0
    return total + group


def test_known_numbers():
    assert data.number_to_words(7) == ["seven"]
    assert data.number_to_words(17) == ["seventeen"]
    assert data.number_to_words(5007) == ["five", "thousand", "seven"]
    assert " ".join(data.number_to_words(2307660)) == \
        "two million three hundred seven thousand six hundred sixty"
    assert len(data.number_to_words(777_777_777)) == 14  # the longest sentence


def test_sources_say_the_numbers_and_targets_spell_their_digits():
    src, tgt, sv, tv, values = data.number_words(400, 9, seed=0)
    assert src.dtype == tgt.dtype == values.dtype == np.int64
    assert tgt.shape == (400, 10) and sv[:3] == tv[:3] == ("<pad>", "<s>", "</s>")
    assert tv[3:] == tuple("0123456789")
    for s, t, v in zip(src, tgt, values, strict=True):
        L = int((s > 0).sum())
        assert np.all(s[:L] >= 3) and np.all(s[L:] == 0)  # words, then padding only
        assert _parse([sv[i] for i in s[:L]]) == v
        digits = [tv[i] for i in t if i > 2]
        assert "".join(digits) == str(v)
        assert t[len(digits)] == 2 and np.all(t[len(digits) + 1:] == 0)


def test_digit_counts_are_uniform_and_bounded():
    _, _, _, _, values = data.number_words(9000, 6, seed=2)
    counts = np.bincount([len(str(v)) for v in values], minlength=7)[1:]
    assert counts.sum() == 9000 and values.min() >= 1 and values.max() < 10**6
    assert np.all(np.abs(counts / 9000 - 1 / 6) < 0.02)  # binomial sd ~ 0.004


def test_seeded():
    a, b, c = (data.number_words(50, seed=s) for s in (5, 5, 6))
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[4], b[4])
    assert not np.array_equal(a[4], c[4])


@pytest.mark.parametrize("kwargs", [{"n": 0}, {"n": 2.5}, {"max_digits": 0},
                                    {"max_digits": 10}])
def test_bad_arguments(kwargs):
    args = {"n": 10, "max_digits": 6, **kwargs}
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        data.number_words(**args)


@pytest.mark.parametrize("value", [0, 10**9, 3.0, True])
def test_number_to_words_rejects(value):
    with pytest.raises(ValueError, match="value"):
        data.number_to_words(value)
