"""Public checks of lab 2 (why sequences need memory): bag-of-words vectors and parameter counts.

Expected values come from independent sources: scikit-learn's ``CountVectorizer`` (with a fixed
vocabulary) for bag-of-words counts, and the parameter counts of torch modules built on the
``meta`` device (shapes only, no memory) for the windowed MLP and the recurrent network; the
length at which the MLP overtakes the recurrent network is found by counting both on torch
modules for T_max = 1, 2, ... until the MLP's is larger. Hidden tests call the same checks with
other seeds and with cases the public example does not show, each behind a keyword whose default
is the public case: a large vocabulary with a word repeated hundreds of times and counts beyond
2**31 (``large``), a hidden size that is a multiple of the word vector's (``ties``).
"""

from __future__ import annotations

import numpy as np

from course_lib.checks.core import CheckFailed, compare, public_check
from course_lib.references.ch02 import (
    reference_bag_of_words,
    reference_mlp_overtakes_rnn,
    reference_rnn_params,
    reference_windowed_mlp_params,
)

# --- checks ----------------------------------------------------------------------------------

_WORDS = ("the", "food", "was", "good", "not", "bad", "at", "all", "it", "snowing", "on",
          "monday", "rain", "i", "like", "dislike", "very", "movie", "plot", "boring")


def _as_vector(out, n):
    if out is None:
        raise CheckFailed("your function returned None (a missing `return`?)")
    try:
        arr = np.asarray(out, dtype=np.float64)
    except (TypeError, ValueError):
        raise CheckFailed(f"return a NumPy array of {n} counts, got {type(out).__name__}") from None
    return arr


def _large_vocabulary_cases(rng):
    """A vocabulary of thousands of words and long sentences in which one word occurs hundreds
    of times (more than a byte counts)."""
    K = int(rng.integers(3000, 6000))
    vocab = [f"w{k:05d}" for k in rng.permutation(K)]
    cases = []
    for _ in range(2):
        often = vocab[int(rng.integers(K))]
        tokens = [often] * int(rng.integers(260, 400)) + list(rng.choice(vocab, size=500))
        tokens += ["zebra"] * 3
        cases.append([str(t) for t in rng.permutation(tokens)])
    return vocab, cases


@public_check("bag_of_words")
def check_bag_of_words(fn, seed: int = 0, large: bool = False):
    """``bag_of_words(tokens, vocab) -> counts (len(vocab),)`` against scikit-learn.
    ``large=True``: a vocabulary of thousands of words and a word repeated hundreds of times."""
    rng = np.random.default_rng(seed)
    vocab = list(rng.permutation(_WORDS)[: int(rng.integers(8, 14))])
    cases = [
        [vocab[0], vocab[1], vocab[0], vocab[2], vocab[0]],  # repeated words
        list(rng.choice(vocab, size=int(rng.integers(5, 12)))),
        [vocab[1], "zebra", vocab[3], "quantum", vocab[1]],  # words outside the vocabulary
        [],  # the empty sentence
    ]
    if large:
        vocab, cases = _large_vocabulary_cases(rng)
    for tokens in cases:
        tokens_in, vocab_in = list(tokens), list(vocab)
        try:
            out = fn(tokens_in, vocab_in)
        except KeyError as exc:
            raise CheckFailed(f"your code raised KeyError {exc} for the sentence {tokens}: words "
                              "that are not in the vocabulary must be skipped") from None
        if tokens_in != tokens or vocab_in != vocab:
            raise CheckFailed("your function changed its input lists in place")
        expected = reference_bag_of_words(tokens, vocab)
        got = _as_vector(out, len(vocab))
        # the hints, from the reference: presence is count > 0; the sorted order is the
        # reference's counts over the sorted vocabulary
        present = (np.asarray(expected) > 0).astype(np.float64)
        by_sorted = np.asarray(reference_bag_of_words(tokens, sorted(vocab)), dtype=np.float64)
        what = (f"counts for the sentence {tokens} with vocabulary {vocab}" if not large else
                f"counts for a sentence of {len(tokens)} words with a vocabulary of {len(vocab)}")
        compare(what, got, expected,
                atol=0, rtol=0, alternatives={
                    "you mark presence (0/1) instead of counting repeated words": present,
                    "the entries follow the sorted vocabulary instead of the order given":
                        by_sorted,
                })


def _check_count(what, got, expected, alternatives, lead="that is the count when"):
    if got is None:
        raise CheckFailed("your function returned None (a missing `return`?)")
    if isinstance(got, float) and not float(got).is_integer():
        raise CheckFailed(f"{what}: got {got}, which is not a whole number of parameters")
    try:
        got = int(got)
    except (TypeError, ValueError):
        raise CheckFailed(f"{what}: return an int, got {type(got).__name__}") from None
    if got == expected:
        return
    msg = f"{what}: yours {got:,d}, expected {expected:,d}"
    for hint, alt in alternatives.items():
        if got == alt:
            msg += f". Hint: {lead} {hint}"
            break
    raise CheckFailed(msg)


def _large_sizes(rng, n: int):
    """``n`` sizes of a model with a vocabulary of tens of thousands of one-hot words and a wide
    hidden layer: products beyond 2**31."""
    return [int(rng.integers(30_000, 80_000)), *(int(v) for v in rng.integers(30_000, 50_000,
                                                                                size=n - 1))]


@public_check("windowed_mlp_params")
def check_windowed_mlp_params(fn, seed: int = 0, large: bool = False):
    """``windowed_mlp_params(T_max, D, H, K) -> int`` against torch modules. ``large=True``: a
    large vocabulary and hidden layer, billions of parameters."""
    rng = np.random.default_rng(seed)
    for _ in range(4):
        T_max, D, H, K = (int(v) for v in rng.integers(2, 60, size=4))
        if large:
            D, H = _large_sizes(rng, 2)
        expected = reference_windowed_mlp_params(T_max, D, H, K)
        got = fn(T_max, D, H, K)
        _check_count(f"T_max={T_max}, D={D}, H={H}, K={K}", got, expected, {
            "the biases are left out": expected - H - K,
            "the input has D values instead of T_max * D (one word, not the whole window)":
                reference_windowed_mlp_params(1, D, H, K),
            "the output layer is left out": expected - H * K - K,
        })


@public_check("rnn_params")
def check_rnn_params(fn, seed: int = 0, large: bool = False):
    """``rnn_params(D, H, K) -> int`` against torch modules (one hidden bias b_h).
    ``large=True``: a large vocabulary and hidden layer, billions of parameters."""
    rng = np.random.default_rng(seed)
    for _ in range(4):
        D, H, K = (int(v) for v in rng.integers(2, 60, size=3))
        if large:
            D, H = _large_sizes(rng, 2)
        expected = reference_rnn_params(D, H, K)
        got = fn(D, H, K)
        _check_count(f"D={D}, H={H}, K={K}", got, expected, {
            "the recurrent matrix W (H x H) is left out": expected - H * H,
            "the biases are left out": expected - H - K,
            "there are two hidden biases, as in torch's nn.RNN (the model has one, b_h)":
                expected + H,
            "W is taken as H x D instead of H x H": expected - H * H + H * D,
            "the output layer V, b_y is left out": expected - K * H - K,
        })


@public_check("mlp_overtakes_rnn")
def check_mlp_overtakes_rnn(fn, seed: int = 0, ties: bool = False):
    """``mlp_overtakes_rnn(D, H, K) -> int``, the smallest T_max at which the windowed MLP has
    more parameters than the recurrent network, against the torch counts tried for T_max = 1,
    2, ... By default H is not a multiple of D; ``ties=True``: it is (then at one length both
    counts are equal, and the MLP is larger only from the next)."""
    rng = np.random.default_rng(seed)
    for trial in range(4):
        D = int(rng.integers(2, 12))
        if ties:
            H = D * int(rng.integers(1, 8)) if trial else D  # H = D too
        elif trial == 0:
            H = int(rng.integers(1, D))  # word vectors wider than the hidden layer
        else:
            H = D * int(rng.integers(1, 6)) + int(rng.integers(1, D))
        K = int(rng.integers(1, 60))
        expected = reference_mlp_overtakes_rnn(D, H, K)
        got = fn(D, H, K)
        _check_count(f"D={D}, H={H}, K={K}", got, expected, {
            "the bound is rounded down, or a length at which both counts are equal counts as "
            "larger (the inequality is strict: the MLP must have more parameters)": expected - 1,
            # without W both counts differ only in the input layer: T_max D H > D H from T_max = 2
            "the recurrent matrix W (H x H) is left out of the RNN's count": 2,
        }, lead="that is the length when")
