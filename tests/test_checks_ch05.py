"""Checks of lab 5: hand-set step-unit RNNs that compute parity and binary addition exactly pass;
networks with the usual mistakes fail with their hint."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from labs import fails_with, master_functions, stub

from course_lib import data
from course_lib.checks.ch05 import (
    check_adder_rnn,
    check_parity_rnn,
    check_times3_rnn,
    step_rnn_forward,
)

SEEDS = (0, 1, 5, 777)


def parity_params():
    # h1 = [x + p > 0.5] (OR), h2 = [x + p > 1.5] (AND), p = h1 - h2 (XOR of bit and old parity)
    return {"U": np.array([[1.0], [1.0]]), "W": np.array([[1.0, -1.0], [1.0, -1.0]]),
            "b_h": np.array([-0.5, -1.5]), "V": np.array([[1.0, -1.0]]), "b_y": np.array([0.0])}


def adder_params():
    # h_k = [a + b + carry > k - 0.5], carry = h2, sum bit = h1 - h2 + h3
    return {"U": np.ones((3, 2)), "W": np.array([[0.0, 1.0, 0.0]] * 3),
            "b_h": np.array([-0.5, -1.5, -2.5]), "V": np.array([[1.0, -1.0, 1.0]]),
            "b_y": np.array([0.0])}


def times3_params():
    # the master lab's solution: 3a = a + 2a, bits a_t + a_(t-1) + carry, a unit keeps a_t
    return master_functions("ch05")["times3_rnn"]()


def without_margin(params):
    """The same network with each bias moved onto its count: -(k - 1/2) -> -(k - 1)."""
    return {**params, "b_h": np.asarray(params["b_h"]) + 0.5}


def message(result):
    return " ".join(result.messages)


@pytest.mark.parametrize("seed", SEEDS)
def test_correct_networks_pass(seed):
    assert check_parity_rnn(parity_params, seed=seed, quiet=True)
    assert check_adder_rnn(adder_params, seed=seed, quiet=True)
    assert check_times3_rnn(times3_params, seed=seed, quiet=True)


@pytest.mark.parametrize("seed", SEEDS)
def test_networks_with_a_margin_pass_with_noisy_bits(seed):
    assert check_parity_rnn(parity_params, seed=seed, noise=0.2, quiet=True)
    assert check_adder_rnn(adder_params, seed=seed, noise=0.2, quiet=True)
    assert check_times3_rnn(times3_params, seed=seed, noise=0.2, quiet=True)


@pytest.mark.parametrize("check, params", [(check_parity_rnn, parity_params),
                                           (check_adder_rnn, adder_params),
                                           (check_times3_rnn, times3_params)])
def test_networks_without_a_margin_pass_exact_bits_and_fail_noisy_ones(check, params):
    def edge():
        return without_margin(params())

    assert check(edge, quiet=True)
    fails_with(functools.partial(check, noise=0.2), edge, "leave every unit a margin")


def test_a_scaled_network_keeps_its_margin_with_noisy_bits():
    """Weights and biases times 4: the same network, its margin 2 for input moves of up to
    0.8; the check asks for a margin, not for weights of size 1."""
    wide = parity_params()
    wide["U"], wide["W"] = 4 * wide["U"], 4 * wide["W"]
    wide["b_h"] = 4 * wide["b_h"]
    assert check_parity_rnn(lambda: wide, noise=0.2, quiet=True)


def test_times3_agrees_with_integer_arithmetic():
    a = [0, 1, 3, 5, 255, 2**40 + 7]
    n_bits = 42
    x = np.zeros((len(a), n_bits + 2, 1))
    x[:, :n_bits, 0] = [[(v >> i) & 1 for i in range(n_bits)] for v in a]
    out = step_rnn_forward(x, times3_params())
    got = [int(sum(int(b) << i for i, b in enumerate(row))) for row in out]
    assert got == [3 * v for v in a]


def test_times3_mistakes():
    p = times3_params()
    p["W"] = np.zeros((4, 4))  # no memory: the output is the current bit
    fails_with(check_times3_rnn, lambda: p, "the input bit")
    q = {"U": np.array([[1.0]]), "W": np.array([[0.0]]), "b_h": np.array([-0.5]),
         "V": np.array([[0.0]]), "b_y": np.array([0.0])}
    q["V"] = np.array([[1.0]])  # outputs a_t: 1 * a
    fails_with(check_times3_rnn, lambda: q, "1 * a")
    r = {"U": np.array([[1.0], [0.0]]), "W": np.array([[0.0, 0.0], [1.0, 0.0]]),
         "b_h": np.array([-0.5, -0.5]), "V": np.array([[0.0, 1.0]]), "b_y": np.array([0.0])}
    fails_with(check_times3_rnn, lambda: r, "2 * a")  # a delayed
    xor = {"U": np.array([[1.0], [1.0], [1.0]]),
           "W": np.array([[0.0, 0.0, 1.0], [0.0, 0.0, 1.0], [0.0, 0.0, 0.0]]),
           "b_h": np.array([-0.5, -1.5, -0.5]), "V": np.array([[1.0, -1.0, 0.0]]),
           "b_y": np.array([0.0])}  # a_t XOR a_(t-1): the carry ignored
    fails_with(check_times3_rnn, lambda: xor, "carry is ignored")
    bad_shape = times3_params()
    bad_shape["U"] = np.ones((4, 2))
    fails_with(check_times3_rnn, lambda: bad_shape,
               "U: shape (4, 2), expected (4, 1)")


def test_hand_set_networks_agree_with_the_data_generators():
    X, y = data.parity_sequences(20, 50, seed=3)
    np.testing.assert_array_equal(step_rnn_forward(X, parity_params()), y)
    X, y = data.binary_addition(20, 30, seed=3)
    np.testing.assert_array_equal(step_rnn_forward(X, adder_params()), y)


def test_parity_mistakes():
    p = parity_params()
    p["W"] = np.zeros((2, 2))  # no memory: the output is the current bit
    result = check_parity_rnn(lambda: p, quiet=True)
    assert not result and "current bit" in message(result)
    q = parity_params()
    q["b_y"] = np.array([1.0])
    q["V"] = -q["V"]  # 1 - parity
    result = check_parity_rnn(lambda: q, quiet=True)
    assert not result and "flipped" in message(result)
    r = {"U": np.array([[1.0]]), "W": np.array([[1.0]]), "b_h": np.array([-0.5]),
         "V": np.array([[1.0]]), "b_y": np.array([0.0])}  # OR of the bits so far
    result = check_parity_rnn(lambda: r, quiet=True)
    assert not result and "OR" in message(result)


def test_adder_mistakes():
    p = adder_params()
    p["W"] = np.zeros((3, 3))  # carry ignored
    result = check_adder_rnn(lambda: p, quiet=True)
    assert not result and "carry is ignored" in message(result)
    q = adder_params()
    q["V"] = np.array([[0.0, 1.0, 0.0]])  # outputs the carry
    result = check_adder_rnn(lambda: q, quiet=True)
    assert not result and "the output is the carry" in message(result)


def test_bad_returns_are_diagnosed():
    result = check_parity_rnn(lambda: None, quiet=True)
    assert not result and "return a dict" in message(result)
    p = parity_params()
    del p["b_y"]
    result = check_parity_rnn(lambda: p, quiet=True)
    assert not result and "lacks" in message(result)
    p = parity_params()
    p["U"] = np.ones((2, 2))
    result = check_parity_rnn(lambda: p, quiet=True)
    assert not result and "U: shape (2, 2), expected (2, 1)" in message(result)


@pytest.mark.parametrize("check", [check_parity_rnn, check_adder_rnn, check_times3_rnn])
def test_stub_reports_not_implemented(check):
    result = check(stub, quiet=True)
    assert not result and not result.implemented
