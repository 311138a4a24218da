"""Tests of lab 2's checks and references (course_lib.checks.ch02).

The correct implementations are the master lab's own solution cells, read from
solutions/ch02/ch02_lab.ipynb. Expected values come from scikit-learn and from torch modules;
the typical mistakes must fail with their hint.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from labs import solution_functions, stub

from course_lib.checks import ch02
from course_lib.checks.ch02 import (
    check_bag_of_words,
    check_mlp_overtakes_rnn,
    check_rnn_params,
    check_windowed_mlp_params,
)
from course_lib.references.ch02 import (
    reference_bag_of_words,
    reference_mlp_overtakes_rnn,
    reference_rnn_params,
    reference_windowed_mlp_params,
)

SOL = solution_functions("ch02")


def _messages(result) -> str:
    return " ".join(result.messages)


@pytest.mark.parametrize("seed", [0, 1, 2, 99])
def test_solutions_pass_their_checks(seed):
    assert check_bag_of_words(SOL["bag_of_words"], seed=seed, quiet=True)
    assert check_windowed_mlp_params(SOL["windowed_mlp_params"], seed=seed, quiet=True)
    assert check_rnn_params(SOL["rnn_params"], seed=seed, quiet=True)


def test_bag_of_words_collision_of_opposite_sentences():
    a = "the food was good not bad at all".split()
    b = "the food was bad not good at all".split()
    vocab = sorted(set(a))
    for fn in (SOL["bag_of_words"], reference_bag_of_words):
        assert np.array_equal(fn(a, vocab), fn(b, vocab))
        assert not np.array_equal(fn(a, vocab), fn(a[:-1], vocab))  # the test can fail
    assert reference_bag_of_words(["x", "y", "x", "z"], ["z", "x", "w"]).tolist() == [1, 2, 0]


def test_parameter_counts_equal_torch_modules_with_real_weights():
    """The meta-device references equal the counts of ordinary torch modules."""
    T_max, D, H, K = 7, 11, 5, 3
    mlp = torch.nn.Sequential(torch.nn.Linear(T_max * D, H), torch.nn.Tanh(),
                              torch.nn.Linear(H, K))
    assert reference_windowed_mlp_params(T_max, D, H, K) == sum(p.numel() for p in
                                                                mlp.parameters())
    rnn, out = torch.nn.RNN(D, H), torch.nn.Linear(H, K)
    torch_count = sum(p.numel() for m in (rnn, out) for p in m.parameters())
    assert reference_rnn_params(D, H, K) == torch_count - H  # one hidden bias, not two
    assert SOL["rnn_params"](D, H, K) == reference_rnn_params(D, H, K)
    assert SOL["windowed_mlp_params"](T_max, D, H, K) == reference_windowed_mlp_params(
        T_max, D, H, K)


def _bow_mistake(kind):
    def fn(tokens, vocab):
        if kind == "presence":
            return np.array([float(w in tokens) for w in vocab])
        if kind == "sorted":
            return np.array([float(tokens.count(w)) for w in sorted(vocab)])
        if kind == "keyerror":
            index = {w: k for k, w in enumerate(vocab)}
            out = np.zeros(len(vocab))
            for w in tokens:
                out[index[w]] += 1
            return out
        raise AssertionError(kind)
    return fn


@pytest.mark.parametrize("kind, hint", [
    ("presence", "presence (0/1)"),
    ("sorted", "sorted vocabulary"),
    ("keyerror", "must be skipped"),
])
def test_bag_of_words_mistakes_are_named(kind, hint):
    result = check_bag_of_words(_bow_mistake(kind), quiet=True)
    assert not result and result.implemented
    assert hint in _messages(result), _messages(result)


@pytest.mark.parametrize("fn, hint", [
    (lambda T, D, H, K: T * D * H + H * K, "the biases are left out"),
    (lambda T, D, H, K: D * H + H + H * K + K, "instead of T_max * D"),
    (lambda T, D, H, K: T * D * H + H, "the output layer is left out"),
    (lambda T, D, H, K: 2.5, "not a whole number"),
])
def test_mlp_count_mistakes_are_named(fn, hint):
    result = check_windowed_mlp_params(fn, quiet=True)
    assert not result and hint in _messages(result), _messages(result)


@pytest.mark.parametrize("fn, hint", [
    (lambda D, H, K: H * D + H + K * H + K, "W (H x H) is left out"),
    (lambda D, H, K: H * D + H * H + K * H, "the biases are left out"),
    (lambda D, H, K: H * D + H * H + 2 * H + K * H + K, "two hidden biases"),
    (lambda D, H, K: 2 * H * D + H + K * H + K, "H x D instead of H x H"),
    (lambda D, H, K: H * D + H * H + H, "V, b_y is left out"),
])
def test_rnn_count_mistakes_are_named(fn, hint):
    result = check_rnn_params(fn, quiet=True)
    assert not result and hint in _messages(result), _messages(result)


@pytest.mark.parametrize("check", [check_bag_of_words, check_windowed_mlp_params,
                                   check_rnn_params])
def test_stub_and_crash_never_raise(check, capsys):
    result = check(stub, quiet=True)
    assert not result and not result.implemented
    assert check(stub) is None and "not implemented yet" in capsys.readouterr().out
    assert "ZeroDivisionError" in _messages(check(lambda *a: 1 / 0, quiet=True))
    assert "None" in _messages(check(lambda *a: None, quiet=True))


def test_references_reject_bad_input():
    with pytest.raises(ValueError, match="vocab"):
        reference_bag_of_words(["a"], ["a", "a"])
    with pytest.raises(ValueError, match="T_max"):
        reference_windowed_mlp_params(0, 3, 4, 2)
    with pytest.raises(ValueError, match="H"):
        reference_rnn_params(3, 2.5, 2)


# ------------------------------------------------- hidden cases of another kind (issue 20)


def _uint8_counts(tokens, vocab):
    index = {w: k for k, w in enumerate(vocab)}
    counts = np.zeros(len(vocab), dtype=np.uint8)
    for w in tokens:
        if w in index:
            counts[index[w]] += 1
    return counts


def _int32(fn):
    def sized(*sizes):
        return fn(*np.array(sizes, dtype=np.int32))
    return sized


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_solutions_pass_the_large_cases(seed):
    assert check_bag_of_words(SOL["bag_of_words"], seed=seed, large=True, quiet=True)
    assert check_windowed_mlp_params(SOL["windowed_mlp_params"], seed=seed, large=True,
                                     quiet=True)
    assert check_rnn_params(SOL["rnn_params"], seed=seed, large=True, quiet=True)


def test_byte_counts_pass_the_public_case_and_fail_a_large_vocabulary():
    assert check_bag_of_words(_uint8_counts, quiet=True)
    with np.errstate(over="ignore"):
        msg = _messages(check_bag_of_words(_uint8_counts, large=True, quiet=True))
    assert "not yet right" in msg and "a vocabulary of" in msg


def test_large_cases_reach_beyond_32_bit_integers():
    rng = np.random.default_rng(0)
    D, H = ch02._large_sizes(rng, 2)
    assert reference_rnn_params(D, H, 2) > 2 ** 31
    assert reference_windowed_mlp_params(2, D, H, 2) > 2 ** 31
    vocab, cases = ch02._large_vocabulary_cases(rng)
    assert len(vocab) >= 3000 and max(max(reference_bag_of_words(c, vocab)) for c in cases) > 255


def test_32_bit_counts_pass_the_public_case_and_fail_a_large_vocabulary():
    with np.errstate(over="ignore"):
        for check, fn in ((check_windowed_mlp_params, SOL["windowed_mlp_params"]),
                          (check_rnn_params, SOL["rnn_params"])):
            assert check(_int32(fn), quiet=True)
            result = check(_int32(fn), large=True, quiet=True)
            assert not result and "expected" in _messages(result)


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 99])
def test_overtakes_solution_passes_with_and_without_ties(seed):
    assert check_mlp_overtakes_rnn(SOL["mlp_overtakes_rnn"], seed=seed, quiet=True)
    assert check_mlp_overtakes_rnn(SOL["mlp_overtakes_rnn"], seed=seed, ties=True, quiet=True)


def test_reference_overtakes_equals_the_maths():
    # T_max D H + H + H K + K > H D + H^2 + H + K H + K  <=>  T_max > 1 + H / D
    for D in (1, 2, 3, 7):
        for H in (1, 2, 5, 6, 14, 21):
            expected = next(T for T in range(1, 100) if T * D * H > H * D + H * H)
            assert reference_mlp_overtakes_rnn(D, H, 3) == expected
    with pytest.raises(ValueError, match="not larger"):
        reference_mlp_overtakes_rnn(1, 50, 2, limit=10)


def test_public_overtakes_case_has_no_ties_and_the_hidden_one_has():
    import re
    public = _messages(check_mlp_overtakes_rnn(lambda D, H, K: -1, quiet=True))
    D, H = (int(v) for v in re.search(r"D=(\d+), H=(\d+)", public).groups())
    assert H < D  # the first public case: word vectors wider than the hidden layer
    hidden = _messages(check_mlp_overtakes_rnn(lambda D, H, K: -1, ties=True, quiet=True))
    D, H = (int(v) for v in re.search(r"D=(\d+), H=(\d+)", hidden).groups())
    assert H % D == 0


@pytest.mark.parametrize("fn, hint, ties", [
    (lambda D, H, K: int(np.ceil(1 + H / D)), "both counts are equal counts as larger", True),
    (lambda D, H, K: H // D + 1, "both counts are equal counts as larger", False),
    (lambda D, H, K: 2, "the recurrent matrix W (H x H) is left out", False),
    (lambda D, H, K: 1 + H / D, "not a whole number", False),
])
def test_overtakes_mistakes_are_named(fn, hint, ties):
    result = check_mlp_overtakes_rnn(fn, ties=ties, quiet=True)
    assert not result and result.implemented and hint in _messages(result), _messages(result)


def test_rounded_up_bound_passes_the_public_case():
    assert check_mlp_overtakes_rnn(lambda D, H, K: int(np.ceil(1 + H / D)), quiet=True)


def test_overtakes_stub_never_raises(capsys):
    result = check_mlp_overtakes_rnn(stub, quiet=True)
    assert not result and not result.implemented
    assert check_mlp_overtakes_rnn(stub) is None and "not implemented yet" in capsys.readouterr().out
