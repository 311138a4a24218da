"""Checks of lab 5: hand-set step-unit RNNs that compute parity and binary addition exactly pass;
networks with the usual mistakes fail with their hint."""

from __future__ import annotations

import numpy as np
import pytest
from labs import stub

from course_lib import data
from course_lib.checks.ch05 import check_adder_rnn, check_parity_rnn, step_rnn_forward

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


def message(result):
    return " ".join(result.messages)


@pytest.mark.parametrize("seed", SEEDS)
def test_correct_networks_pass(seed):
    assert check_parity_rnn(parity_params, seed=seed, quiet=True)
    assert check_adder_rnn(adder_params, seed=seed, quiet=True)


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


def test_stub_reports_not_implemented():
    result = check_adder_rnn(stub, quiet=True)
    assert not result and not result.implemented
