"""Public checks of lab 2 (why sequences need memory): bag-of-words vectors and parameter counts.

Expected values come from independent sources: scikit-learn's ``CountVectorizer`` (with a fixed
vocabulary) for bag-of-words counts, and the parameter counts of torch modules built on the
``meta`` device (shapes only, no memory) for the windowed MLP and the recurrent network.
Hidden tests call the same checks with other seeds.
"""

from __future__ import annotations

import numpy as np

from course_lib.checks.core import CheckFailed, compare, public_check

# --- references (used by the checks, and by the lab when an exercise is unfinished) ---------


def reference_bag_of_words(tokens, vocab):
    """Counts of each vocabulary word in ``tokens`` (a list of strings), computed by
    scikit-learn's ``CountVectorizer``; words outside ``vocab`` are ignored.

    Returns:
        float64 array of shape ``(len(vocab),)``; entry k counts ``vocab[k]``.
    """
    from sklearn.feature_extraction.text import CountVectorizer

    vocab = list(vocab)
    if len(set(vocab)) != len(vocab) or not vocab:
        raise ValueError(f"vocab: expected a non-empty list of distinct words, got {vocab}")
    vec = CountVectorizer(vocabulary=vocab, analyzer=lambda doc: doc)
    return vec.transform([list(tokens)]).toarray()[0].astype(np.float64)


def _count(module) -> int:
    return int(sum(p.numel() for p in module.parameters()))


def _check_sizes(**sizes):
    for name, v in sizes.items():
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
            raise ValueError(f"{name}: expected a positive int, got {v!r}")


def reference_windowed_mlp_params(T_max: int, D: int, H: int, K: int) -> int:
    """Parameters of an MLP that reads a whole padded sentence at once: the ``T_max`` input
    vectors of size D concatenated (``T_max * D`` inputs), one tanh hidden layer of H units and
    K outputs, both layers with biases. Counted on torch modules (``meta`` device)."""
    import torch

    _check_sizes(T_max=T_max, D=D, H=H, K=K)
    mlp = torch.nn.Sequential(torch.nn.Linear(T_max * D, H, device="meta"), torch.nn.Tanh(),
                              torch.nn.Linear(H, K, device="meta"))
    return _count(mlp)


def reference_rnn_params(D: int, H: int, K: int) -> int:
    """Parameters of the Elman network U (H, D), W (H, H), b_h (H,), V (K, H), b_y (K,).

    Counted on ``torch.nn.RNN(D, H)`` and ``torch.nn.Linear(H, K)`` (``meta`` device). torch's
    RNN keeps two bias vectors, ``bias_ih`` and ``bias_hh``, whose sum is b_h, so it has H
    parameters more than the model; they are subtracted."""
    import torch

    _check_sizes(D=D, H=H, K=K)
    rnn = torch.nn.RNN(D, H, device="meta")
    out = torch.nn.Linear(H, K, device="meta")
    return _count(rnn) + _count(out) - rnn.bias_hh_l0.numel()


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


@public_check("bag_of_words")
def check_bag_of_words(fn, seed: int = 0):
    """``bag_of_words(tokens, vocab) -> counts (len(vocab),)`` against scikit-learn."""
    rng = np.random.default_rng(seed)
    vocab = list(rng.permutation(_WORDS)[: int(rng.integers(8, 14))])
    cases = [
        [vocab[0], vocab[1], vocab[0], vocab[2], vocab[0]],  # repeated words
        list(rng.choice(vocab, size=int(rng.integers(5, 12)))),
        [vocab[1], "zebra", vocab[3], "quantum", vocab[1]],  # words outside the vocabulary
        [],  # the empty sentence
    ]
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
        present = np.array([w in tokens for w in vocab], dtype=np.float64)
        sorted_vocab = sorted(vocab)
        by_sorted = np.array([tokens.count(w) for w in sorted_vocab], dtype=np.float64)
        compare(f"counts for the sentence {tokens} with vocabulary {vocab}", got, expected,
                atol=0, rtol=0, alternatives={
                    "you mark presence (0/1) instead of counting repeated words": present,
                    "the entries follow the sorted vocabulary instead of the order given":
                        by_sorted,
                })


def _check_count(what, got, expected, alternatives):
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
            msg += f". Hint: that is the count when {hint}"
            break
    raise CheckFailed(msg)


@public_check("windowed_mlp_params")
def check_windowed_mlp_params(fn, seed: int = 0):
    """``windowed_mlp_params(T_max, D, H, K) -> int`` against torch modules."""
    rng = np.random.default_rng(seed)
    for _ in range(4):
        T_max, D, H, K = (int(v) for v in rng.integers(2, 60, size=4))
        expected = reference_windowed_mlp_params(T_max, D, H, K)
        got = fn(T_max, D, H, K)
        _check_count(f"T_max={T_max}, D={D}, H={H}, K={K}", got, expected, {
            "the biases are left out": T_max * D * H + H * K,
            "the input has D values instead of T_max * D (one word, not the whole window)":
                D * H + H + H * K + K,
            "the output layer is left out": T_max * D * H + H,
        })


@public_check("rnn_params")
def check_rnn_params(fn, seed: int = 0):
    """``rnn_params(D, H, K) -> int`` against torch modules (one hidden bias b_h)."""
    rng = np.random.default_rng(seed)
    for _ in range(4):
        D, H, K = (int(v) for v in rng.integers(2, 60, size=3))
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
