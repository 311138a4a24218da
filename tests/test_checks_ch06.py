"""Tests of lab 6's checks: correct NumPy implementations pass (and equal torch float64 to
1e-10, and a numerical Jacobian), the typical mistakes fail with their hint, and a stub or a
crashing function is reported without raising."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch
from labs import fails_with, master_functions, stub

from course_lib.checks import ch06
from course_lib.gradcheck import numerical_gradient
from course_lib.references import ch06 as refs

SEEDS = (0, 1, 7, 1234)


# --- correct NumPy implementations (as a student would write them) --------------------------

MASTER = master_functions("ch06")  # the master lab's solution cells
jacobian_product = MASTER["jacobian_product"]
gradient_norms = MASTER["gradient_norms"]
clip_grad_norm = MASTER["clip_grad_norm"]
orthogonal_init = MASTER["orthogonal_init"]


def gram_schmidt_orthogonal_init(A, gain=1.0):
    """A different correct algorithm (classical Gram-Schmidt on the columns, of A.T when A is
    wide): same Q."""
    wide = A.shape[0] < A.shape[1]
    A = A.T if wide else A
    Q = np.zeros_like(A)
    for j in range(A.shape[1]):
        v = A[:, j] - Q[:, :j] @ (Q[:, :j].T @ A[:, j])
        Q[:, j] = v / np.linalg.norm(v)
    return gain * (Q.T if wide else Q)


# --- the references agree with independent computations ---------------------------------------

def test_reference_jacobian_matches_numerical_jacobian():
    rng = np.random.default_rng(3)
    T, D, H, x, h0, p = ch06._rnn_case(rng, scale=1.0)
    k = 2

    def h_T():  # reads hk_var below, which numerical_gradient perturbs in place
        h = hk_var
        for t in range(k, T):
            h = np.tanh(p["U"] @ x[t] + p["W"] @ h + p["b_h"])
        return h

    hk_var = np.array(h0, dtype=np.float64)
    for t in range(k):  # the state h(k), in NumPy (the library holds no NumPy RNN)
        hk_var = np.tanh(p["U"] @ x[t] + p["W"] @ hk_var + p["b_h"])
    J_num = np.stack([numerical_gradient(lambda j=j: h_T()[j], hk_var) for j in range(H)])
    J_ref = refs.reference_jacobian_product(x, h0, p["U"], p["W"], p["b_h"], k)
    assert np.max(np.abs(J_num - J_ref)) < 1e-7 * np.max(np.abs(J_ref))
    assert np.allclose(jacobian_product(x, h0, p["U"], p["W"], p["b_h"], k), J_ref, atol=1e-10)


@pytest.mark.parametrize("activation", refs.ACTIVATIONS)
def test_numpy_gradient_norms_equal_torch(activation):
    rng = np.random.default_rng(5)
    T, D, H, x, h0, p = ch06._rnn_case(rng, scale=1.5)
    g_T = rng.normal(size=H)
    ref = refs.reference_gradient_norms(x, h0, p["U"], p["W"], p["b_h"], g_T, activation)
    assert ref.shape == (T + 1,)
    assert ref[-1] == pytest.approx(np.linalg.norm(g_T), rel=1e-12)
    assert np.allclose(gradient_norms(x, h0, p["U"], p["W"], p["b_h"], g_T, activation), ref,
                       atol=1e-10, rtol=0)


def test_gradient_norm_bound_of_pascanu_et_al():
    """|dh(t)/dh(k)| <= (gamma * sigma_max(W))^(t-k): the bound behind the sufficient condition."""
    rng = np.random.default_rng(11)
    T, D, H, x, h0, p = ch06._rnn_case(rng, scale=1.3)
    s = np.linalg.norm(p["W"], 2)
    for k in range(T + 1):
        J = refs.reference_jacobian_product(x, h0, p["U"], p["W"], p["b_h"], k)
        assert np.linalg.norm(J, 2) <= s ** (T - k) * (1 + 1e-12)


def test_reference_clip_equals_torch_and_leaves_input():
    rng = np.random.default_rng(0)
    grads = [rng.normal(0, 4, (3, 2)), rng.normal(0, 4, 5)]
    before = [g.copy() for g in grads]
    clipped, total = refs.reference_clip_grad_norm(grads, 1.0)
    assert all(np.array_equal(a, b) for a, b in zip(grads, before, strict=True))
    assert total == pytest.approx(np.sqrt(sum(np.sum(g ** 2) for g in grads)), rel=1e-12)
    assert np.sqrt(sum(np.sum(c ** 2) for c in clipped)) == pytest.approx(1.0, abs=1e-6)
    mine, mine_total = clip_grad_norm(grads, 1.0)
    assert mine_total == pytest.approx(total, rel=1e-14)
    for a, b in zip(mine, clipped, strict=True):
        assert np.allclose(a, b, atol=1e-15, rtol=1e-13)


def test_torch_orthogonal_draw_is_reproduced_from_A():
    A, Q = refs.torch_orthogonal_draw(6, seed=42, gain=1.5)
    assert np.allclose(refs.reference_orthogonal_init(A, 1.5), Q, atol=1e-12)
    assert np.allclose(orthogonal_init(A, 1.5), Q, atol=1e-10)
    assert np.allclose(gram_schmidt_orthogonal_init(A, 1.5), Q, atol=1e-10)
    assert np.allclose(Q.T @ Q, 2.25 * np.eye(6), atol=1e-12)


# --- correct implementations pass -------------------------------------------------------------

@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("check, fn", [
    (ch06.check_jacobian_product, jacobian_product),
    (ch06.check_gradient_norms, gradient_norms),
    (ch06.check_clip_grad_norm, clip_grad_norm),
    (ch06.check_orthogonal_init, orthogonal_init),
    (ch06.check_orthogonal_init, gram_schmidt_orthogonal_init),
    (ch06.check_jacobian_product, refs.reference_jacobian_product),
    (ch06.check_gradient_norms, refs.reference_gradient_norms),
    (ch06.check_clip_grad_norm, refs.reference_clip_grad_norm),
    (ch06.check_orthogonal_init, refs.reference_orthogonal_init),
])
def test_correct_passes(check, fn, seed):
    if fn.__module__ == refs.__name__:  # a check refuses a reference handed in as it is
        fn = (lambda reference: lambda *args, **kwargs: reference(*args, **kwargs))(fn)
    result = check(fn, seed=seed, quiet=True)
    assert result, result.messages


# --- typical mistakes fail with their hint --------------------------------------------------

def _jac_variant(step):
    def fn(x, h0, U, W, b_h, k, alpha=1.0):  # the Elman network's slips (alpha ignored)
        h, hs, As = h0, [h0], [None]
        for t in range(len(x)):
            a = U @ x[t] + W @ h + b_h
            h = np.tanh(a)
            hs.append(h)
            As.append(a)
        J = np.eye(len(h0))
        for i in range(k + 1, len(x) + 1):
            J = step(J, i, hs, As, W)
        return J
    return fn


JAC_MISTAKES = {
    "wrong order": _jac_variant(lambda J, i, hs, As, W: J @ np.diag(1 - hs[i] ** 2) @ W),
    "W is transposed": _jac_variant(lambda J, i, hs, As, W: np.diag(1 - hs[i] ** 2) @ W.T @ J),
    "previous state": _jac_variant(lambda J, i, hs, As, W: np.diag(1 - hs[i - 1] ** 2) @ W @ J),
    "pre-activation": _jac_variant(lambda J, i, hs, As, W: np.diag(1 - As[i] ** 2) @ W @ J),
    "left out": _jac_variant(lambda J, i, hs, As, W: W @ J),
    "swapped": _jac_variant(lambda J, i, hs, As, W: W @ np.diag(1 - hs[i] ** 2) @ J),
}


@pytest.mark.parametrize("hint", list(JAC_MISTAKES))
def test_jacobian_mistakes(hint):
    result = ch06.check_jacobian_product(JAC_MISTAKES[hint], quiet=True)
    assert not result and result.implemented
    assert hint in result.messages[0], result.messages


def test_gradient_norm_mistakes():
    def reversed_order(*args, **kw):
        return gradient_norms(*args, **kw)[::-1]

    def no_transpose(x, h0, U, W, b_h, g_T, activation="tanh"):
        return _manual_norms(x, h0, U, W, b_h, g_T, activation, transpose=False)

    def no_derivative(x, h0, U, W, b_h, g_T, activation="tanh"):
        return _manual_norms(x, h0, U, W, b_h, g_T, activation, derivative=False)

    for fn, hint in ((reversed_order, "reverse order"), (no_transpose, "not transposed"),
                     (no_derivative, "derivative is left out")):
        result = ch06.check_gradient_norms(fn, quiet=True)
        assert not result and result.implemented
        assert hint in result.messages[0], result.messages


def _manual_norms(x, h0, U, W, b_h, g_T, activation, transpose=True, derivative=True):
    act = {"tanh": np.tanh, "sigmoid": lambda a: 1 / (1 + np.exp(-a)),
           "relu": lambda a: np.maximum(a, 0)}[activation]
    h, hs, As = h0, [h0], [None]
    for t in range(len(x)):
        a = U @ x[t] + W @ h + b_h
        h = act(a)
        hs.append(h)
        As.append(a)
    g, out = np.array(g_T, dtype=float), [np.linalg.norm(g_T)]
    for i in range(len(x), 0, -1):
        d = {"tanh": 1 - hs[i] ** 2, "sigmoid": hs[i] * (1 - hs[i]),
             "relu": (As[i] > 0).astype(float)}[activation] if derivative else 1.0
        g = (W.T if transpose else W) @ (g * d)
        out.append(np.linalg.norm(g))
    return np.array(out[::-1])


def test_gradient_norms_checks_every_activation():
    """An implementation that ignores the activation argument (always tanh) fails."""
    def tanh_only(x, h0, U, W, b_h, g_T, activation="tanh"):
        return gradient_norms(x, h0, U, W, b_h, g_T, "tanh")

    result = ch06.check_gradient_norms(tanh_only, quiet=True)
    assert not result and "sigmoid" in result.messages[0]


CLIP_MISTAKES = {
    "each array is clipped by its own norm": lambda grads, c: (
        [g * min(1.0, c / (np.linalg.norm(g) + 1e-6)) for g in grads],
        float(np.sqrt(sum(np.sum(g ** 2) for g in grads)))),
    "without torch's + 1e-6": lambda grads, c: (
        [g * min(1.0, c / np.sqrt(sum(np.sum(h ** 2) for h in grads))) for g in grads],
        float(np.sqrt(sum(np.sum(g ** 2) for g in grads)))),
    "even when they are smaller": lambda grads, c: (
        [g * c / (np.sqrt(sum(np.sum(h ** 2) for h in grads)) + 1e-6) for g in grads],
        float(np.sqrt(sum(np.sum(g ** 2) for g in grads)))),
    "clip_grad_value_": lambda grads, c: (
        [np.clip(g, -c, c) for g in grads], float(np.sqrt(sum(np.sum(g ** 2) for g in grads)))),
    "squared norm": lambda grads, c: (
        clip_grad_norm(grads, c)[0], float(sum(np.sum(g ** 2) for g in grads))),
    "norm after clipping": lambda grads, c: (
        clip_grad_norm(grads, c)[0], min(clip_grad_norm(grads, c)[1], c)),
}


@pytest.mark.parametrize("hint", list(CLIP_MISTAKES))
def test_clip_mistakes(hint):
    result = ch06.check_clip_grad_norm(CLIP_MISTAKES[hint], quiet=True)
    assert not result and result.implemented
    assert hint in result.messages[0], result.messages


def test_clip_in_place_is_reported():
    def in_place(grads, c):
        total = float(np.sqrt(sum(np.sum(g ** 2) for g in grads)))
        for g in grads:
            g *= min(1.0, c / (total + 1e-6))
        return grads, total

    result = ch06.check_clip_grad_norm(in_place, quiet=True)
    assert not result and "in place" in result.messages[0]


def test_clip_equals_torch_on_parameters_of_a_model():
    """The graded function applied to a real model's gradients equals clip_grad_norm_."""
    torch.manual_seed(0)
    model = torch.nn.RNN(3, 5, batch_first=True, dtype=torch.float64)
    out, _ = model(torch.randn(4, 7, 3, dtype=torch.float64))
    (out ** 2).sum().mul(50).backward()
    grads = [p.grad.numpy().copy() for p in model.parameters()]
    mine, total = clip_grad_norm(grads, 0.3)
    torch_total = torch.nn.utils.clip_grad_norm_(model.parameters(), 0.3)
    assert total == pytest.approx(float(torch_total), rel=1e-14)
    for a, p in zip(mine, model.parameters(), strict=True):
        assert np.allclose(a, p.grad.numpy(), atol=1e-15, rtol=1e-13)


ORTHO_MISTAKES = {
    "signs are not fixed": lambda A, gain=1.0: gain * np.linalg.qr(A)[0],
    "gain is left out": lambda A, gain=1.0: orthogonal_init(A, 1.0),
    "return R": lambda A, gain=1.0: gain * np.linalg.qr(A)[1],
    "only normalised": lambda A, gain=1.0: gain * A / np.linalg.norm(A, axis=0),
}


@pytest.mark.parametrize("hint", list(ORTHO_MISTAKES))
def test_orthogonal_mistakes(hint):
    # the sign mistake goes unnoticed only when every diagonal entry of R happens to be
    # positive; over four seeds that is practically impossible
    results = [ch06.check_orthogonal_init(ORTHO_MISTAKES[hint], seed=s, quiet=True)
               for s in (0, 1, 2, 3)]
    assert not any(results)
    assert any(hint in r.messages[0] for r in results), [r.messages for r in results]


# --- robustness: stubs and crashes never raise ----------------------------------------------

@pytest.mark.parametrize("check", [ch06.check_jacobian_product, ch06.check_gradient_norms,
                                   ch06.check_clip_grad_norm, ch06.check_orthogonal_init])
def test_stub_and_crash(check, capsys):
    def crash(*args, **kwargs):
        return 1 / 0

    r = check(stub, quiet=True)
    assert not r and not r.implemented
    check(stub)
    assert "not implemented yet" in capsys.readouterr().out
    r = check(crash, quiet=True)
    assert not r and "ZeroDivisionError" in r.messages[0]
    r = check(lambda *a, **k: None, quiet=True)
    assert not r


# --- the cases of another kind that the hidden tests use (issue 20) ---------------------------

def _leaky_state_numpy(x, h0, U, W, b_h, alpha, k, h_k=None):
    """h(T) of the leaky RNN from h(k) (h(0) = h0 when h_k is None), in NumPy for the test."""
    h = np.array(h0 if h_k is None else h_k, dtype=np.float64)
    for t in range(0 if h_k is None else k, len(x)):
        h = (1 - alpha) * h + alpha * np.tanh(U @ x[t] + W @ h + b_h)
    return h


@pytest.mark.parametrize("per_unit", [False, True])
def test_leaky_reference_matches_numerical_jacobian(per_unit):
    rng = np.random.default_rng(4)
    T, D, H, x, h0, p = ch06._rnn_case(rng, scale=1.2)
    alpha = rng.uniform(0.05, 1.0, H) if per_unit else 0.3
    k = 2
    h_k = _leaky_state_numpy(x[:k], h0, p["U"], p["W"], p["b_h"], alpha, 0)
    hk_var = h_k.copy()
    J_num = np.stack([numerical_gradient(
        lambda j=j: _leaky_state_numpy(x, h0, p["U"], p["W"], p["b_h"], alpha, k, hk_var)[j],
        hk_var) for j in range(H)])
    J_ref = refs.reference_jacobian_product(x, h0, p["U"], p["W"], p["b_h"], k, alpha)
    assert np.max(np.abs(J_num - J_ref)) < 1e-7 * np.max(np.abs(J_ref))
    assert np.allclose(jacobian_product(x, h0, p["U"], p["W"], p["b_h"], k, alpha), J_ref,
                       atol=1e-10)


def test_leaky_jacobian_at_rate_one_is_the_elman_networks():
    rng = np.random.default_rng(8)
    T, D, H, x, h0, p = ch06._rnn_case(rng)
    assert np.array_equal(refs.reference_jacobian_product(x, h0, p["U"], p["W"], p["b_h"], 1),
                          refs.reference_jacobian_product(x, h0, p["U"], p["W"], p["b_h"], 1,
                                                          np.ones(H)))


@pytest.mark.parametrize("seed", SEEDS)
def test_cases_of_another_kind_pass_for_correct_code(seed):
    for check, fn, case in ((ch06.check_jacobian_product, jacobian_product, "per_unit"),
                            (ch06.check_gradient_norms, gradient_norms, "at_rest"),
                            (ch06.check_clip_grad_norm, clip_grad_norm, "at_threshold"),
                            (ch06.check_orthogonal_init, orthogonal_init, "non_square"),
                            (ch06.check_orthogonal_init, gram_schmidt_orthogonal_init,
                             "non_square")):
        result = check(fn, seed=seed, quiet=True, **{case: True})
        assert result, result.messages


def _leaky_variant(step):
    def fn(x, h0, U, W, b_h, k, alpha=1.0):
        alpha = np.broadcast_to(np.asarray(alpha, dtype=np.float64), np.shape(h0))
        h, hs, cs = np.array(h0, dtype=np.float64), [h0], [None]
        for t in range(len(x)):
            c = np.tanh(U @ x[t] + W @ h + b_h)
            h = (1 - alpha) * h + alpha * c
            hs.append(h)
            cs.append(c)
        J = np.eye(len(h0))
        for i in range(k + 1, len(x) + 1):
            J = step(alpha, hs[i], cs[i], W) @ J
        return J
    return fn


LEAKY_MISTAKES = {
    "at the leaky state h(i)": _leaky_variant(
        lambda al, h, c, W: np.diag(1 - al) + (al * (1 - h ** 2))[:, None] * W),
    "bypasses tanh, is missing": _leaky_variant(
        lambda al, h, c, W: (al * (1 - c ** 2))[:, None] * W),
    "alpha is missing": _leaky_variant(
        lambda al, h, c, W: np.diag(1 - al) + (1 - c ** 2)[:, None] * W),
}


@pytest.mark.parametrize("hint", list(LEAKY_MISTAKES))
def test_leaky_mistakes(hint):
    fails_with(ch06.check_jacobian_product, LEAKY_MISTAKES[hint], hint)


def test_rates_on_the_columns_pass_one_rate_and_fail_one_per_unit():
    columns = _leaky_variant(lambda al, h, c, W: np.diag(1 - al) + al * (1 - c ** 2)[:, None] * W)
    assert ch06.check_jacobian_product(columns, quiet=True)
    fails_with(functools.partial(ch06.check_jacobian_product, per_unit=True), columns,
               "scale the columns of W")


def test_relu_slope_one_at_zero_passes_random_inputs_and_fails_at_rest():
    def at_zero_one(x, h0, U, W, b_h, g_T, activation="tanh"):
        if activation != "relu":
            return gradient_norms(x, h0, U, W, b_h, g_T, activation)
        return _manual_norms_relu_ge(x, h0, U, W, b_h, g_T)

    assert ch06.check_gradient_norms(at_zero_one, quiet=True)
    fails_with(functools.partial(ch06.check_gradient_norms, at_rest=True), at_zero_one,
               "exactly 0 is taken as 1")


def _manual_norms_relu_ge(x, h0, U, W, b_h, g_T):
    h, As = h0, [None]
    for t in range(len(x)):
        a = U @ x[t] + W @ h + b_h
        h = np.maximum(a, 0)
        As.append(a)
    g, out = np.array(g_T, dtype=float), [np.linalg.norm(g_T)]
    for i in range(len(x), 0, -1):
        g = W.T @ (g * (As[i] >= 0))
        out.append(np.linalg.norm(g))
    return np.array(out[::-1])


def test_at_rest_cases_start_at_exactly_zero_and_reach_step_one():
    """The ReLU case of at_rest: torch's norms[0] is exactly 0 (slope 0 at a = 0) while the
    signal reaching step 1 is not, so a slope of 1 at 0 shows."""
    seen = []

    def spy(x, h0, U, W, b_h, g_T, activation="tanh"):
        if activation == "relu":
            seen.append(refs.reference_gradient_norms(x, h0, U, W, b_h, g_T, "relu"))
            assert not np.any(U @ x[0] + W @ h0 + b_h)
        return gradient_norms(x, h0, U, W, b_h, g_T, activation)

    assert ch06.check_gradient_norms(spy, at_rest=True, quiet=True)
    assert seen[0][0] == 0.0 and seen[0][1] > 1e-3


def test_clip_with_a_branch_passes_random_norms_and_fails_at_the_threshold():
    def branch(grads, c):
        total = float(np.sqrt(sum(np.sum(g ** 2) for g in grads)))
        scale = c / (total + 1e-6) if total > c else 1.0
        return [g * scale for g in grads], total

    assert ch06.check_clip_grad_norm(branch, quiet=True)
    fails_with(functools.partial(ch06.check_clip_grad_norm, at_threshold=True), branch,
               "returned unscaled")


def test_threshold_case_norm_is_exact_for_torch_and_numpy():
    rng = np.random.default_rng(3)
    for _ in range(5):
        grads, max_norm = ch06._integer_norm_grads(rng)
        _, torch_total = refs.reference_clip_grad_norm(grads, max_norm)
        assert torch_total == max_norm
        assert np.linalg.norm(np.concatenate([g.ravel() for g in grads])) == max_norm
        assert np.sqrt(sum(np.linalg.norm(g) ** 2 for g in grads)) == max_norm


def test_orthogonal_without_the_transpose_passes_square_and_fails_wide():
    def qr_as_it_is(A, gain=1.0):
        Q, R = np.linalg.qr(A)
        return gain * Q * np.sign(np.diag(R))

    assert ch06.check_orthogonal_init(qr_as_it_is, quiet=True)
    fails_with(functools.partial(ch06.check_orthogonal_init, non_square=True), qr_as_it_is,
               "shape")

    def not_transposed_back(A, gain=1.0):
        if A.shape[0] < A.shape[1]:
            return qr_as_it_is(A.T, gain)
        return qr_as_it_is(A, gain)

    fails_with(functools.partial(ch06.check_orthogonal_init, non_square=True),
               not_transposed_back, "transposed")


@pytest.mark.parametrize("shape", [(3, 7), (7, 3), (5, 5)])
def test_torch_orthogonal_draw_non_square(shape):
    A, Q = refs.torch_orthogonal_draw(shape, seed=11, gain=0.7)
    assert A.shape == Q.shape == shape
    assert np.allclose(refs.reference_orthogonal_init(A, 0.7), Q, atol=1e-12)
    assert np.allclose(orthogonal_init(A, 0.7), Q, atol=1e-10)
    small = min(shape)
    gram = Q.T @ Q if shape[0] >= shape[1] else Q @ Q.T
    assert np.allclose(gram, 0.49 * np.eye(small), atol=1e-12)
