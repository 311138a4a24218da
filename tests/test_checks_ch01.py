"""course_lib.checks.ch01: the lab 1 checks pass correct implementations, fail the usual wrong
ones with the right hint, and the references agree with the maths and numerical gradients.

The correct implementations are the master lab's own solution cells (tests/labs.py); expected
gradients come from course_lib.gradcheck's central differences.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from labs import fails_with, master_functions, stub

from course_lib.checks import ch01
from course_lib.gradcheck import numerical_gradient
from course_lib.references import ch01 as refs

SEEDS = [0, 1, 2, 3, 4, 5, 6, 7]
WRONG_SEEDS = [0, 1, 2, 3]

# ------------------------------------------------------------ correct code: the master lab's


MASTER = master_functions("ch01")  # the master lab's solution cells
perceptron_update = MASTER["perceptron_update"]
mlp_forward = MASTER["mlp_forward"]
mlp_backward = MASTER["mlp_backward"]
directional_derivative = MASTER["directional_derivative"]


def _failure(result) -> str:
    assert result is not None
    assert not result, f"a wrong implementation passed: {result.messages}"
    assert result.implemented
    (msg,) = result.messages
    return msg


# ---------------------------------------------------------------------------------- correct pass


@pytest.mark.parametrize("seed", SEEDS)
def test_correct_perceptron_update_passes(seed):
    result = ch01.check_perceptron_update(perceptron_update, seed=seed, quiet=True)
    assert result, result.messages


@pytest.mark.parametrize("seed", SEEDS)
def test_correct_mlp_forward_and_backward_pass(seed):
    assert ch01.check_mlp_forward(mlp_forward, seed=seed, quiet=True)
    result = ch01.check_mlp_backward(mlp_backward, mlp_forward, seed=seed, quiet=True)
    assert result, result.messages


@pytest.mark.parametrize("seed", SEEDS + list(range(100, 116)))
def test_correct_directional_derivative_passes(seed):
    result = ch01.check_directional_derivative(directional_derivative, seed=seed, quiet=True)
    assert result, result.messages


def test_checks_accept_equivalent_correct_variants():
    def perceptron_list(w, b, x, y, lr=1.0):  # a list instead of a tuple, np.float64 bias
        mistake = y * (w @ x + b) <= 0
        return [w + mistake * lr * y * x, np.float64(b + mistake * lr * y)]

    def forward_tuple_cache(X, params):
        scores, cache = mlp_forward(X, params)
        return scores.tolist(), cache  # a nested list is still the right numbers

    def dd_other_order(f, x, d, eps):
        return (f(x + d * eps) - f(x - d * eps)) / eps / 2

    for seed in WRONG_SEEDS:
        assert ch01.check_perceptron_update(perceptron_list, seed=seed, quiet=True)
        assert ch01.check_mlp_forward(forward_tuple_cache, seed=seed, quiet=True)
        assert ch01.check_directional_derivative(dd_other_order, seed=seed, quiet=True)


def test_loud_checks_print_one_passed_line(capsys):
    ch01.check_perceptron_update(perceptron_update)
    ch01.check_mlp_forward(mlp_forward)
    ch01.check_mlp_backward(mlp_backward, mlp_forward)
    ch01.check_directional_derivative(directional_derivative)
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "\u2714 perceptron_update: all checks passed.",
        "\u2714 mlp_forward: all checks passed.",
        "\u2714 mlp_backward: all checks passed.",
        "\u2714 directional_derivative: all checks passed.",
    ]


# ---------------------------------------------------------------------------------- stubs


def test_stubs_report_not_implemented_and_do_not_raise(capsys):
    for check, args in [
        (ch01.check_perceptron_update, ()),
        (ch01.check_mlp_forward, ()),
        (ch01.check_mlp_backward, (mlp_forward,)),
        (ch01.check_mlp_backward, (stub,)),  # both exercises still at their stubs
        (ch01.check_directional_derivative, ()),
    ]:
        result = check(stub, *args, quiet=True)
        assert not result and not result.implemented
        assert "not implemented yet" in result.messages[0]
        assert check(stub, *args) is None
        assert "not implemented yet" in capsys.readouterr().out


def test_backward_with_a_stub_forward_says_the_forward_is_missing():
    # the backward pass is written (and would crash on a None cache); the forward is a stub
    msg = _failure(ch01.check_mlp_backward(mlp_backward, stub, quiet=True))
    assert "mlp_forward is not implemented yet" in msg


# ---------------------------------------------------------------------------------- perceptron


def _no_bias_update(w, b, x, y, lr=1.0):
    if y * (w @ x + b) <= 0:
        return w + lr * y * x, b
    return w.copy(), b


def _bias_left_out_of_test(w, b, x, y, lr=1.0):
    if y * (w @ x) <= 0:
        return w + lr * y * x, b + lr * y
    return w.copy(), b


def _sign_flipped(w, b, x, y, lr=1.0):
    if y * (w @ x + b) <= 0:
        return w - lr * y * x, b - lr * y
    return w.copy(), b


def _always_update(w, b, x, y, lr=1.0):
    return w + lr * y * x, b + lr * y


def _strict_inequality(w, b, x, y, lr=1.0):
    if y * (w @ x + b) < 0:
        return w + lr * y * x, b + lr * y
    return w.copy(), b


def _no_learning_rate(w, b, x, y, lr=1.0):
    if y * (w @ x + b) <= 0:
        return w + y * x, b + y
    return w.copy(), b


def _bias_sign_flipped(w, b, x, y, lr=1.0):
    if y * (w @ x + b) <= 0:
        return w + lr * y * x, b - lr * y
    return w.copy(), b


def _in_place(w, b, x, y, lr=1.0):
    if y * (w @ x + b) <= 0:
        w += lr * y * x
        b += lr * y
    return w, b


def _returns_w_only(w, b, x, y, lr=1.0):
    return perceptron_update(w, b, x, y, lr)[0]


@pytest.mark.parametrize("seed", WRONG_SEEDS)
@pytest.mark.parametrize(
    "wrong, hint",
    [
        (_no_bias_update, "Hint: your values match what you get when the bias is not updated"),
        (_bias_left_out_of_test, "the bias b is left out of the test y (w.x + b) <= 0"),
        (_sign_flipped, "the sign of the update is flipped"),
        (_always_update, "the update is applied to correctly classified points"),
        (_strict_inequality, "misclassified (or on the line)"),
        (_no_learning_rate, "the learning rate is left out"),
        (_bias_sign_flipped, "the bias update has the wrong sign"),
        (_in_place, "changed the input w in place"),
        (_returns_w_only, "return a tuple (w_new, b_new)"),
    ],
)
def test_wrong_perceptron_updates_fail_with_their_hint(wrong, hint, seed):
    msg = _failure(ch01.check_perceptron_update(wrong, seed=seed, quiet=True))
    assert msg.startswith("perceptron_update: not yet right.")
    assert hint in msg


def test_strict_inequality_is_caught_on_the_boundary_case():
    msg = _failure(ch01.check_perceptron_update(_strict_inequality, quiet=True))
    assert "y = +1, lr = 0.50" in msg  # the case with w = 0, b = 0 and y = +1
    assert "w is left unchanged" in msg


# ---------------------------------------------------------------------------------- mlp forward


def _shapes(seed):
    """(N, D, H, K) as the checks draw them (their first draw from default_rng(seed))."""
    return tuple(int(v) for v in np.random.default_rng(seed).integers(2, 7, size=4))


def _forward_variant(kind):
    def forward(X, p):
        A = X @ p["W1"] + (0 if kind == "no b1" else p["b1"])
        if kind == "no relu":
            H = A
        elif kind == "sigmoid":
            H = 1 / (1 + np.exp(-A))
        else:
            H = np.maximum(A, 0)
        S = H @ p["W2"] + (0 if kind == "no b2" else p["b2"])
        if kind == "relu on scores":
            S = np.maximum(S, 0)
        if kind == "scores only":
            return S
        if kind == "transposed":
            return S.T, None
        return S, (X, A, H, p)

    return forward


@pytest.mark.parametrize("seed", WRONG_SEEDS)
@pytest.mark.parametrize(
    "kind, hint",
    [
        ("no relu", "Hint: your values match what you get when the ReLU is left out"),
        ("no b1", "the first bias b1 is left out"),
        ("no b2", "the second bias b2 is left out"),
        ("sigmoid", "a sigmoid is used instead of the ReLU"),
        ("relu on scores", "the ReLU is also applied to the scores"),
        ("scores only", "return a tuple (scores, cache)"),
    ],
)
def test_wrong_mlp_forwards_fail_with_their_hint(kind, hint, seed):
    msg = _failure(ch01.check_mlp_forward(_forward_variant(kind), seed=seed, quiet=True))
    assert hint in msg


def test_transposed_scores_are_diagnosed():
    N, _, _, K = _shapes(0)
    assert N != K  # so the transposed scores have the other shape
    msg = _failure(ch01.check_mlp_forward(_forward_variant("transposed"), seed=0, quiet=True))
    assert "transposed" in msg


# ---------------------------------------------------------------------------------- mlp backward


def _backward_variant(kind):
    def backward(dscores, cache):
        X, A, H, p = cache
        dH = dscores @ p["W2"].T
        dA = dH if kind == "no mask" else dH * (A > 0)
        grads = {"W1": X.T @ dA, "b1": dA.sum(axis=0), "W2": H.T @ dscores,
                 "b2": dscores.sum(axis=0)}
        if kind == "b not summed":
            grads["b1"], grads["b2"] = dA, dscores
        if kind == "sign":
            grads = {k: -v for k, v in grads.items()}
        if kind == "W2 transposed":
            grads["W2"] = dscores.T @ H
        if kind == "missing b2":
            del grads["b2"]
        if kind == "list":
            return [grads[k] for k in ("W1", "b1", "W2", "b2")]
        return grads

    return backward


@pytest.mark.parametrize("seed", WRONG_SEEDS)
@pytest.mark.parametrize(
    "kind, hint",
    [
        ("no mask", "dW1: "),
        ("b not summed", "sum the per-example gradients over the batch axis (axis 0)"),
        ("sign", "Hint: the sign is flipped"),
        ("missing b2", "lacks the key(s) ['b2']"),
        ("list", "return a dict with keys ['W1', 'b1', 'W2', 'b2'], got list"),
    ],
)
def test_wrong_mlp_backwards_fail_with_their_hint(kind, hint, seed):
    result = ch01.check_mlp_backward(_backward_variant(kind), mlp_forward, seed=seed, quiet=True)
    msg = _failure(result)
    assert hint in msg
    if kind == "no mask":
        assert "the ReLU's derivative (the mask h > 0) is left out" in msg


def test_transposed_dW2_is_diagnosed_for_square_and_non_square_W2():
    seeds = {}
    for seed in range(200):
        N, D, H, K = _shapes(seed)
        seeds.setdefault(H == K, seed)
        if len(seeds) == 2:
            break
    # H != K: the shapes give it away
    msg = _failure(ch01.check_mlp_backward(_backward_variant("W2 transposed"), mlp_forward,
                                           seed=seeds[False], quiet=True))
    assert msg.startswith("mlp_backward: not yet right. dW2: shape") and "transposed" in msg
    # H == K: same shape, the values match the transposed product
    msg = _failure(ch01.check_mlp_backward(_backward_variant("W2 transposed"), mlp_forward,
                                           seed=seeds[True], quiet=True))
    assert "dW2" in msg and "the hidden activations are not transposed correctly" in msg


@pytest.mark.parametrize("kind", ["no relu", "transposed", "no b2"])
def test_backward_check_asks_to_fix_a_wrong_forward_first(kind):
    result = ch01.check_mlp_backward(mlp_backward, _forward_variant(kind), quiet=True)
    assert "mlp_forward does not pass its check yet; fix it first" in _failure(result)


# ---------------------------------------------------------------------------------- directional


def _dd_forward(f, x, d, eps=1e-6):
    return (f(x + eps * d) - f(x)) / eps


def _dd_no_half(f, x, d, eps=1e-6):
    return (f(x + eps * d) - f(x - eps * d)) / eps


def _dd_sign(f, x, d, eps=1e-6):
    return (f(x - eps * d) - f(x + eps * d)) / (2 * eps)


def _dd_in_place(f, x, d, eps=1e-6):
    x += eps * d
    fp = f(x)
    x -= 2 * eps * d
    fm = f(x)
    return (fp - fm) / (2 * eps)


def _dd_none(f, x, d, eps=1e-6):
    (f(x + eps * d) - f(x - eps * d)) / (2 * eps)  # noqa: B018 - the missing return


def _dd_nan(f, x, d, eps=1e-6):
    return float("nan")


def _dd_gradient_not_projected(f, x, d, eps=1e-6):
    return (f(x + eps) - f(x - eps)) / (2 * eps)  # along (1, ..., 1) instead of d


@pytest.mark.parametrize("seed", WRONG_SEEDS)
@pytest.mark.parametrize(
    "wrong, hint",
    [
        (_dd_forward, "that is the one-sided difference"),
        (_dd_no_half, "Hint: off by a factor of 2 (divide by 2*eps)"),
        (_dd_sign, "Hint: the sign is flipped"),
        (_dd_in_place, "changed x or d in place"),
        (_dd_none, "returned None"),
        (_dd_nan, "yours nan"),
        (_dd_gradient_not_projected, "trial 1: yours"),
    ],
)
def test_wrong_directional_derivatives_fail_with_their_hint(wrong, hint, seed):
    msg = _failure(ch01.check_directional_derivative(wrong, seed=seed, quiet=True))
    assert hint in msg


# ---------------------------------------------------------------------------------- references


def test_reference_perceptron_update_equals_the_rule():
    rng = np.random.default_rng(42)
    cases = []
    for _ in range(30):
        D = int(rng.integers(1, 6))
        cases.append((rng.normal(size=D), float(rng.normal()), rng.normal(size=D),
                      int(rng.choice([-1, 1])), float(rng.uniform(0.05, 3.0))))
    cases.append((np.zeros(3), 0.0, np.array([1.0, 2.0, 3.0]), -1, 0.5))  # on the line
    cases.append((np.array([1.0, 0.0]), -1.0, np.array([1.0, 5.0]), 1, 1.0))  # w.x + b = 0
    n_updates = 0
    for w, b, x, y, lr in cases:
        w_ref, b_ref = refs.reference_perceptron_update(w, b, x, y, lr)
        if y * (w @ x + b) <= 0:  # the rule: move towards a misclassified point
            w_exp, b_exp = w + lr * y * x, b + lr * y
            n_updates += 1
        else:
            w_exp, b_exp = w, b
        np.testing.assert_allclose(w_ref, w_exp, rtol=0, atol=1e-12)
        assert b_ref == pytest.approx(b_exp, abs=1e-12)
        assert isinstance(b_ref, float) and w_ref.shape == w.shape
    assert 5 < n_updates < len(cases) - 5  # both branches were exercised


def test_reference_perceptron_update_does_not_modify_its_inputs():
    w, x = np.array([1.0, -1.0]), np.array([-2.0, 1.0])
    refs.reference_perceptron_update(w, 0.0, x, 1, 1.0)
    np.testing.assert_array_equal(w, [1.0, -1.0])
    np.testing.assert_array_equal(x, [-2.0, 1.0])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_reference_mlp_forward_equals_the_maths(seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(5, 4))
    params = ch01.make_mlp_params(4, 3, 2, rng)
    scores, (X_cache, p_cache) = refs.reference_mlp_forward(X, params)
    np.testing.assert_allclose(scores, mlp_forward(X, params)[0], rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(X_cache, X)
    assert set(p_cache) == {"W1", "b1", "W2", "b2"}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_reference_mlp_backward_equals_numerical_gradients(seed):
    rng = np.random.default_rng(seed)
    N, D, H, K = 4, 3, 5, 2
    X = rng.normal(size=(N, D))
    params = ch01.make_mlp_params(D, H, K, rng)
    dscores = rng.normal(size=(N, K))
    _, cache = refs.reference_mlp_forward(X, params)
    grads = refs.reference_mlp_backward(dscores, cache)
    assert set(grads) == {"W1", "b1", "W2", "b2"}
    for k in ("W1", "b1", "W2", "b2"):
        def loss():
            S = np.maximum(X @ params["W1"] + params["b1"], 0) @ params["W2"] + params["b2"]
            return float(np.sum(S * dscores))

        numeric = numerical_gradient(loss, params[k])
        assert grads[k].shape == params[k].shape
        np.testing.assert_allclose(grads[k], numeric, rtol=1e-6, atol=1e-8)


def test_make_mlp_params_shapes_and_determinism():
    p = ch01.make_mlp_params(4, 3, 2, np.random.default_rng(0))
    q = ch01.make_mlp_params(4, 3, 2, np.random.default_rng(0))
    assert {k: v.shape for k, v in p.items()} == {"W1": (4, 3), "b1": (3,), "W2": (3, 2),
                                                  "b2": (2,)}
    for k in p:
        assert p[k].dtype == np.float64
        np.testing.assert_array_equal(p[k], q[k])
    big = ch01.make_mlp_params(50, 50, 50, np.random.default_rng(1), scale=0.1)
    assert 0.08 < big["W1"].std() < 0.12  # the scale is the standard deviation


# ------------------------------------------------- hidden cases of another kind (issue 20)

softmax_jacobian = MASTER["softmax_jacobian"]


def _fails(check, fn, *fragments, **case):
    """``check(fn, **case)`` rejects ``fn`` with a message holding every fragment."""
    return fails_with(functools.partial(check, **case), fn, *fragments)


def test_on_line_cases_lie_exactly_on_the_line_with_both_labels():
    cases = ch01._on_line_cases(np.random.default_rng(3))
    assert {y for *_, y, _, _ in cases} == {-1, 1}
    for w, b, x, _, _, _ in cases:
        assert w @ x + b == 0.0 and np.any(w != 0)


@pytest.mark.parametrize("seed", SEEDS)
def test_the_master_passes_the_hidden_cases(seed):
    assert ch01.check_perceptron_update(perceptron_update, seed=seed, on_line=True, quiet=True)
    assert ch01.check_mlp_forward(mlp_forward, seed=seed, N=1, quiet=True)
    assert ch01.check_mlp_backward(mlp_backward, mlp_forward, seed=seed, dead_units=True,
                                   quiet=True)
    for eps in (0.1, 0.02, 1e-3):
        assert ch01.check_directional_derivative(directional_derivative, seed=seed, eps=eps,
                                                 quiet=True)
    for offset in (0.0, 1000.0, -1000.0, 1e5):
        assert ch01.check_softmax_jacobian(softmax_jacobian, seed=seed, offset=offset, quiet=True)


def _predict_then_compare(w, b, x, y, lr=1.0):  # sign(0) taken as -1
    if (1 if w @ x + b > 0 else -1) != y:
        return w + lr * y * x, b + lr * y
    return w.copy(), b


def test_predict_then_compare_passes_the_public_case_and_fails_on_the_line():
    assert ch01.check_perceptron_update(_predict_then_compare, quiet=True)
    _fails(ch01.check_perceptron_update, _predict_then_compare, "y = -1",
           "w is left unchanged", on_line=True)


def test_squeezed_scores_fail_for_a_batch_of_one():
    def squeezed(X, params):
        scores, cache = mlp_forward(X, params)
        return scores.squeeze(), cache

    assert ch01.check_mlp_forward(squeezed, quiet=True)
    _fails(ch01.check_mlp_forward, squeezed, "N=1", "shape", N=1)


def _mask_at_zero(dscores, cache):
    X, A, H, p = cache
    dA = dscores @ p["W2"].T * (A >= 0)
    return {"W1": X.T @ dA, "b1": dA.sum(axis=0), "W2": H.T @ dscores, "b2": dscores.sum(axis=0)}


def test_mask_at_zero_passes_the_public_case_and_fails_on_dead_units_with_its_hint():
    assert ch01.check_mlp_backward(_mask_at_zero, mlp_forward, quiet=True)
    for seed in (0, 1, 2):
        _fails(functools.partial(ch01.check_mlp_backward, forward=mlp_forward), _mask_at_zero,
               "taken as 1 (A >= 0)", seed=seed, dead_units=True)


def test_backward_check_finds_the_forward_beside_the_function():
    assert ch01.check_mlp_backward(mlp_backward, quiet=True)  # mlp_forward from its namespace
    alone = eval("lambda dscores, cache: {}", {})  # noqa: S307 - a namespace without mlp_forward
    msg = _failure(ch01.check_mlp_backward(alone, quiet=True))
    assert "pass your mlp_forward as the second argument" in msg


def test_dead_units_have_exactly_zero_pre_activations():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(4, 3))
    params = ch01.make_mlp_params(3, 5, 2, rng)
    params["W1"][:, [1, 3]] = 0.0
    params["b1"][[1, 3]] = 0.0
    _, (_, A, _, _) = mlp_forward(X, params)
    assert np.all(A[:, [1, 3]] == 0.0)
    grads = refs.reference_mlp_backward(rng.normal(size=(4, 2)), (X, params))
    assert np.all(grads["W1"][:, [1, 3]] == 0.0)  # torch: the ReLU's derivative at 0 is 0


def test_the_exact_central_difference_of_a_cubic_is_the_maths():
    rng = np.random.default_rng(5)
    D, f, central, grad = ch01._cubic_along(rng)
    x, d = rng.normal(size=D), rng.normal(size=D)
    for eps in (0.3, 0.1, 0.02):
        direct = (f(x + eps * d) - f(x - eps * d)) / (2 * eps)
        assert central(x, d, eps) == pytest.approx(direct, rel=1e-12, abs=1e-12)
    assert grad(x) @ d == pytest.approx(
        float(numerical_gradient(lambda: f(x), x) @ d), rel=1e-6)


def test_a_hard_coded_step_passes_the_public_case_and_fails_another_step():
    def typed_step(f, x, d, eps=1e-6):
        return (f(x + 1e-5 * d) - f(x - 1e-5 * d)) / 2e-5

    assert ch01.check_directional_derivative(typed_step, quiet=True)
    _fails(ch01.check_directional_derivative, typed_step, "eps = 0.1",
           "use the step eps that the caller passes", eps=0.1)


def _jacobian_variant(kind):
    def jac(s):
        e = np.exp(s) if kind == "no shift" else np.exp(s - s.max())
        p = e / e.sum()
        if kind == "diagonal only":
            return np.diag(p * (1 - p))
        if kind == "plus":
            return np.diag(p) + np.outer(p, p)
        if kind == "no diagonal":
            return -np.outer(p, p)
        if kind == "in place":
            s -= s.max()
        return np.diag(p) - np.outer(p, p)

    return jac


@pytest.mark.parametrize("kind, hint", [
    ("diagonal only", "only the diagonal"),
    ("plus", "the outer product p p^T is added instead of subtracted"),
    ("no diagonal", "the diagonal term is left out"),
    ("in place", "changed s in place"),
])
def test_wrong_jacobians_fail_with_their_hint(kind, hint):
    for seed in WRONG_SEEDS:
        _fails(ch01.check_softmax_jacobian, _jacobian_variant(kind), hint, seed=seed)


@pytest.mark.parametrize("offset", [1000.0, -1000.0])
def test_unshifted_softmax_passes_the_public_case_and_fails_large_scores(offset):
    assert ch01.check_softmax_jacobian(_jacobian_variant("no shift"), quiet=True)
    with np.errstate(all="ignore"):
        _fails(ch01.check_softmax_jacobian, _jacobian_variant("no shift"), "NaN or infinity",
               offset=offset)


def test_an_overflow_raised_as_an_error_is_explained():
    with np.errstate(over="raise"):
        _fails(ch01.check_softmax_jacobian, _jacobian_variant("no shift"), "overflow",
               "a constant is subtracted", offset=1000.0)


def test_softmax_jacobian_stub_and_loud_check(capsys):
    result = ch01.check_softmax_jacobian(stub, quiet=True)
    assert not result and not result.implemented
    ch01.check_softmax_jacobian(softmax_jacobian)
    assert capsys.readouterr().out == "\u2714 softmax_jacobian: all checks passed.\n"


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_reference_softmax_jacobian_equals_numerical_differentiation(seed):
    rng = np.random.default_rng(seed)
    s = rng.normal(size=5)

    def softmax_entry(i):
        return lambda: float(np.exp(s[i]) / np.exp(s).sum())

    J = refs.reference_softmax_jacobian(s)
    numeric = np.stack([numerical_gradient(softmax_entry(i), s) for i in range(5)])
    np.testing.assert_allclose(J, numeric, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(J.sum(axis=0), 0, atol=1e-12)  # the p's add up to 1
    with pytest.raises(ValueError, match="vector"):
        refs.reference_softmax_jacobian(np.zeros((2, 2)))
