"""course_lib.data generators of chapter 9: corpora, tagged sentences, signals, behaviours."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib import data
from course_lib.data import text


def test_bracket_text_is_seeded_balanced_and_uses_a_small_alphabet():
    text = data.bracket_text(300, seed=3)
    assert text == data.bracket_text(300, seed=3) != data.bracket_text(300, seed=4)
    lines = text.split("\n")[:-1]
    assert len(lines) == 300 and all(line.endswith(".") for line in lines)
    for line in lines:
        depth = np.cumsum([{"(": 1, ")": -1}.get(c, 0) for c in line])
        assert depth.min() >= 0 and depth[-1] == 0 and depth.max() <= 2
    assert set(text) <= set("abcdefghijklmnopqrstuvwxyz ().\n")
    assert "(" not in data.bracket_text(50, max_depth=0)


def test_reviews_swapping_the_adjectives_flips_the_label_not_the_bag_of_words():
    texts, y, contrast = data.reviews(400, seed=1)
    assert len(texts) == len(y) == len(contrast) == 400 and contrast.mean() == 0.5
    pos, neg = set(text._REVIEW_POSITIVE), set(text._REVIEW_NEGATIVE)
    for s, label, c in zip(texts, y, contrast, strict=True):
        w = s.split()
        adjectives = [x for x in w if x in pos | neg]
        if not c:
            assert len(adjectives) == 1 and label == (adjectives[0] in pos)
            continue
        a, b = adjectives
        # the meaning of the grammar: "A , not B" -> A; "not A (,) but B" -> B
        decisive = b if "but" in w else a
        assert label == (decisive in pos)
        swapped = " ".join(b if x == a else a if x == b else x for x in w)
        assert sorted(swapped.split()) == sorted(w)  # same bag of words
    assert set(np.unique(y)) == {0, 1}


def test_tagged_sentences_are_aligned_and_ambiguous_words_take_both_tags():
    tokens, tags = data.tagged_sentences(500, seed=2)
    assert len(tokens) == len(tags) == 500
    seen = {}
    for s, t in zip(tokens, tags, strict=True):
        assert len(s) == len(t) and t.dtype == np.int64
        for w, c in zip(s, t, strict=True):
            seen.setdefault(w, set()).add(data.TAGS[c])
    for w in text._TAG_BOTH:
        assert seen[w] == {"PER", "LOC"}
    for w in text._TAG_PEOPLE:
        assert seen[w] == {"PER"}
    assert seen["in"] == {"O"}
    tokens0, _ = data.tagged_sentences(500, p_ambiguous=0.0, seed=2)
    assert not any(w in text._TAG_BOTH for s in tokens0 for w in s)


def test_sine_signals_shapes_ranges_and_noise():
    X, periods, amps = data.sine_signals(50, 40, n_components=3, noise=0.0, seed=0)
    assert X.shape == (50, 40, 1) and X.dtype == np.float32
    assert periods.shape == amps.shape == (50, 3)
    assert periods.min() >= 8 and periods.max() <= 32 and amps.min() >= 0.3 and amps.max() <= 1
    assert np.all(np.abs(X[..., 0]) <= amps.sum(axis=1, keepdims=True) + 1e-6)
    # one component without noise: x(t)^2 + (x(t + P/4))^2 would need the phase; instead check
    # that the series satisfies the sinusoid recurrence x(t+1) + x(t-1) = 2 cos(w) x(t)
    X1, P1, _ = data.sine_signals(5, 30, n_components=1, noise=0.0, seed=1)
    x = X1[..., 0].astype(np.float64)
    w = 2 * np.pi / P1
    np.testing.assert_allclose(x[:, 2:] + x[:, :-2], 2 * np.cos(w) * x[:, 1:-1], atol=1e-5)
    Xn, _, _ = data.sine_signals(50, 40, noise=0.5, seed=0)
    assert not np.allclose(Xn, data.sine_signals(50, 40, noise=0.0, seed=0)[0])


def test_behaviours_have_their_defining_features():
    X, labels = data.behaviours(400, T=32, seed=0)
    assert X.shape == (400, 32, 2) and X.dtype == np.float32 and labels.dtype == np.int64
    assert set(np.unique(labels)) == set(range(len(data.BEHAVIOURS)))
    speed, turn = X[..., 0], X[..., 1]
    rest, walk, circle, dart = (labels == k for k in range(4))
    assert np.abs(speed[rest].mean()) < 0.05
    assert speed[walk].mean() > 0.5 and np.abs(turn[walk].mean()) < 0.05
    assert np.all(np.abs(turn[circle].mean(axis=1)) > 0.2)
    assert np.all(speed[dart].max(axis=1) > 1.0) and np.all(np.median(speed[dart], axis=1) < 0.2)


@pytest.mark.parametrize("call", [
    lambda: data.bracket_text(0), lambda: data.bracket_text(5, max_depth=-1),
    lambda: data.reviews(0), lambda: data.tagged_sentences(3, p_ambiguous=1.5),
    lambda: data.sine_signals(3, 0), lambda: data.sine_signals(3, 5, noise=-1),
    lambda: data.behaviours(3, T=4), lambda: data.behaviours(2.5),
])
def test_bad_arguments_raise_value_errors(call):
    with pytest.raises(ValueError):
        call()
