"""course_lib.data.toy_translation: the invented translation task of chapters 10 and 11."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib import data


def _translate_by_hand(words: list[str]) -> list[str]:
    """The rule, written independently: look each word up, then swap neighbouring pairs."""
    lexicon = dict(zip(data.TRANSLATION_SRC_WORDS, data.TRANSLATION_TGT_WORDS, strict=True))
    out = [lexicon[w] for w in words]
    for i in range(0, len(out) - 1, 2):
        out[i], out[i + 1] = out[i + 1], out[i]
    return out


def test_shapes_dtypes_padding_and_end_token():
    src, tgt, sv, tv = data.toy_translation(200, 3, 9, seed=0)
    assert src.shape == (200, 9) and tgt.shape == (200, 10)
    assert src.dtype == tgt.dtype == np.int64
    assert sv[:3] == tv[:3] == ("<pad>", "<s>", "</s>")
    lengths = (src > 0).sum(1)
    assert lengths.min() == 3 and lengths.max() == 9
    for s, t, L in zip(src, tgt, lengths, strict=True):
        assert np.all(s[:L] >= 3) and np.all(s[L:] == 0)  # words, then padding only
        assert np.all(t[:L] >= 3) and t[L] == 2 and np.all(t[L + 1:] == 0)


def test_targets_follow_the_rule():
    src, tgt, sv, tv = data.toy_translation(300, 1, 8, seed=3)
    for s, t in zip(src, tgt, strict=True):
        words = [sv[i] for i in s if i > 0]
        assert [tv[i] for i in t if i > 2] == _translate_by_hand(words)


def test_odd_and_even_lengths_and_a_fixed_example():
    assert _translate_by_hand(["ka", "lo", "mi"]) == ["moon", "sun", "tree"]
    src, tgt, sv, tv = data.toy_translation(500, 1, 1, seed=0)
    assert np.array_equal(tgt[:, 0] - 3, src[:, 0] - 3)  # one word: no swap
    assert set(np.unique(src[:, 0])) == set(range(3, 13))  # every word occurs


def test_seeded():
    a = data.toy_translation(50, seed=5)
    b = data.toy_translation(50, seed=5)
    c = data.toy_translation(50, seed=6)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize("kwargs", [{"n": 0}, {"n": 2.5}, {"min_len": 0}, {"max_len": -1},
                                    {"min_len": 5, "max_len": 4}])
def test_bad_arguments(kwargs):
    args = {"n": 10, "min_len": 3, "max_len": 6, **kwargs}
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        data.toy_translation(**args)
