"""References of lab 2: what its public checks compare with and what the lab falls back on when an
exercise is unfinished (``use_or_reference``). Built on scikit-learn's ``CountVectorizer`` for
the bag of words, parameter counts of torch modules on the ``meta`` device (and, for the length
at which the windowed MLP overtakes the recurrent network, those counts tried for T_max = 1, 2,
...); none of them spells out the from-scratch NumPy code or the closed form the exercises ask
for.
"""

from __future__ import annotations

import numpy as np


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


def reference_mlp_overtakes_rnn(D: int, H: int, K: int, limit: int = 10_000) -> int:
    """The smallest ``T_max >= 1`` at which the windowed MLP (:func:`reference_windowed_mlp_params`)
    has strictly more parameters than the Elman network (:func:`reference_rnn_params`), found by
    counting both on torch modules for T_max = 1, 2, ... (no closed form); raises ``ValueError``
    when the MLP is not larger by ``limit``."""
    _check_sizes(D=D, H=H, K=K)
    rnn = reference_rnn_params(D, H, K)
    for T_max in range(1, limit + 1):
        if reference_windowed_mlp_params(T_max, D, H, K) > rnn:
            return T_max
    raise ValueError(f"the MLP is not larger than the RNN up to T_max = {limit} (D={D}, H={H})")
