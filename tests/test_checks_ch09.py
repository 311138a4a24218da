"""Checks of lab 9: correct implementations pass, the usual mistakes fail with their hint,
stubs report "not implemented yet". The correct versions are the master lab's own solution cells
(tests/labs.py); the mistakes are written here."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from labs import fails_with, master_functions, stub

from course_lib.checks import ch09
from course_lib.checks.ch09 import (
    check_kl_gaussians,
    check_kl_standard_normal,
    check_last_states,
    check_perplexity,
    check_reparameterise,
    check_sample_with_temperature,
)
from course_lib.references.ch09 import (
    reference_kl_gaussians,
    reference_kl_standard_normal,
    reference_last_states,
    reference_perplexity,
    reference_reparameterise,
    reference_sample_with_temperature,
)


def _softmax(s):
    s = s - s.max(axis=-1, keepdims=True)
    e = np.exp(s)
    return e / e.sum(axis=-1, keepdims=True)


MASTER = master_functions("ch09")  # the master lab's solution cells
sample_ok = MASTER["sample_with_temperature"]
perplexity_ok = MASTER["perplexity"]
reparameterise_ok = MASTER["reparameterise"]
kl_ok = MASTER["kl_standard_normal"]
last_ok = MASTER["last_states"]
kl_gauss_ok = MASTER["kl_gaussians"]


@pytest.mark.parametrize("seed", [0, 7, 123])
def test_correct_implementations_pass(seed):
    assert check_sample_with_temperature(sample_ok, seed=seed, quiet=True)
    assert check_perplexity(perplexity_ok, seed=seed, quiet=True)
    assert check_reparameterise(reparameterise_ok, seed=seed, quiet=True)
    assert check_kl_standard_normal(kl_ok, seed=seed, quiet=True)
    assert check_last_states(last_ok, seed=seed, quiet=True)
    assert check_kl_gaussians(kl_gauss_ok, seed=seed, quiet=True)


@pytest.mark.parametrize("seed", [0, 7, 123])
def test_correct_implementations_pass_the_other_kinds_of_case(seed):
    assert check_sample_with_temperature(sample_ok, seed=seed, cold=True, quiet=True)
    assert check_perplexity(perplexity_ok, seed=seed, confident=True, quiet=True)
    assert check_last_states(last_ok, seed=seed, single=True, quiet=True)
    assert check_reparameterise(reparameterise_ok, seed=seed, tiny=True, quiet=True)
    assert check_kl_standard_normal(kl_ok, seed=seed, tiny=True, quiet=True)
    assert check_kl_gaussians(kl_gauss_ok, seed=seed, huge=True, quiet=True)


CHECKS = (check_sample_with_temperature, check_perplexity, check_reparameterise,
          check_kl_standard_normal, check_last_states, check_kl_gaussians)


def test_stubs_are_not_implemented(capsys):
    for check in CHECKS:
        result = check(stub, quiet=True)
        assert not result and not result.implemented
        assert check(stub) is None  # printed, never raised
    assert capsys.readouterr().out.count("not implemented yet") == len(CHECKS)


def _wrapped(reference):  # handed in as it is, a check refuses a reference
    return lambda *args, **kwargs: reference(*args, **kwargs)


def test_references_pass_their_own_checks():
    assert check_sample_with_temperature(_wrapped(reference_sample_with_temperature), quiet=True)
    assert check_perplexity(_wrapped(reference_perplexity), quiet=True)
    assert check_reparameterise(_wrapped(reference_reparameterise), quiet=True)
    assert check_kl_standard_normal(_wrapped(reference_kl_standard_normal), quiet=True)
    assert check_last_states(_wrapped(reference_last_states), quiet=True)
    assert check_kl_gaussians(_wrapped(reference_kl_gaussians), quiet=True)
    result = check_perplexity(reference_perplexity, quiet=True)
    assert not result and "the course's reference" in " ".join(result.messages)


def test_perplexity_of_uniform_logits_is_K():
    K = 7
    assert reference_perplexity(np.zeros((2, 3, K)), np.zeros((2, 3), dtype=int)) == \
        pytest.approx(K, rel=1e-12)


def test_sampling_mistakes():
    fails_with(check_sample_with_temperature,
                lambda s, t, rng: sample_ok(np.asarray(s) * t * t, t, rng), "multiplied")
    fails_with(check_sample_with_temperature,
                lambda s, t, rng: sample_ok(s, 1.0, rng), "temperature is ignored")
    fails_with(check_sample_with_temperature,
                lambda s, t, rng: np.argmax(s, axis=1), "greedy")
    fails_with(check_sample_with_temperature,
                lambda s, t, rng: sample_ok(s, t, np.random.default_rng()), "rng")
    fails_with(check_sample_with_temperature,
                lambda s, t, rng: sample_ok(s, t, rng)[:-1], "one index per row")

    def no_shift(logits, t, rng):
        with np.errstate(over="ignore", invalid="ignore"):
            e = np.exp(np.asarray(logits) / t)
            p = e / e.sum(axis=1, keepdims=True)
        return np.array([rng.choice(p.shape[1], p=row) for row in p])

    assert not check_sample_with_temperature(no_shift, quiet=True)


def test_perplexity_mistakes():
    def nll(logits, targets):
        return np.log(perplexity_ok(logits, targets))

    fails_with(check_perplexity, nll, "without exp")
    fails_with(check_perplexity, lambda s, t: 2.0 ** nll(s, t), "2 **")
    fails_with(check_perplexity, lambda s, t: np.exp(nll(s, t) * t.size), "summed")

    def no_shift(logits, targets):
        with np.errstate(over="ignore", invalid="ignore"):
            p = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
            return float(np.exp(-np.log(np.take_along_axis(p, targets[..., None], -1)).mean()))

    text = fails_with(check_perplexity, no_shift, "large logits")
    assert "NaN" in text or "infinity" in text
    fails_with(check_perplexity, lambda s, t: np.full(t.shape, perplexity_ok(s, t)), "one number")


def test_reparameterise_mistakes():
    fails_with(check_reparameterise, lambda m, lv, e: m + torch.exp(lv) * e, "variance")
    fails_with(check_reparameterise, lambda m, lv, e: m + lv * e, "log_var itself")
    fails_with(check_reparameterise, lambda m, lv, e: m.clone(), "eps is ignored")
    fails_with(check_reparameterise,
                lambda m, lv, e: torch.tensor(reparameterise_ok(m, lv, e).detach().numpy()),
                "autograd")
    fails_with(check_reparameterise,
                lambda m, lv, e: reparameterise_ok(m, lv, e).detach().numpy(), "torch tensor")


def test_kl_mistakes():
    def terms(m, lv):
        return 1 + lv - m**2 - torch.exp(lv)

    fails_with(check_kl_standard_normal, lambda m, lv: -terms(m, lv).sum(-1), "1/2")
    fails_with(check_kl_standard_normal, lambda m, lv: 0.5 * terms(m, lv).sum(-1), "sign")
    fails_with(check_kl_standard_normal, lambda m, lv: -0.5 * terms(m, lv).mean(-1), "averaged")
    fails_with(check_kl_standard_normal,
                lambda m, lv: -0.5 * (1 + 2 * lv - m**2 - torch.exp(2 * lv)).sum(-1), "log(sigma)")
    fails_with(check_kl_standard_normal, lambda m, lv: kl_ok(m, lv).sum(), "not over the batch")
    fails_with(check_kl_standard_normal, lambda m, lv: -0.5 * terms(m, lv), "latent axis")
    fails_with(check_kl_standard_normal,
                lambda m, lv: torch.tensor(kl_ok(m, lv).detach().numpy()), "autograd")


def test_checks_never_raise_on_broken_code(capsys):
    def broken(*args):
        return 1 / 0

    for check in CHECKS:
        assert check(broken) is None
        assert check("not a function") is None
    out = capsys.readouterr().out
    assert out.count("ZeroDivisionError") == len(CHECKS)


def test_last_states_mistakes():
    fails_with(check_last_states, lambda h, lengths: h[:, -1], "padding")
    fails_with(check_last_states,
               lambda h, lengths: h[torch.arange(len(h)), (lengths - 2).clamp(min=0)],
               "one step too early")
    fails_with(check_last_states, lambda h, lengths: h[:, 0], "first state")
    fails_with(check_last_states, lambda h, lengths: last_ok(h, lengths).detach(), "autograd")
    fails_with(check_last_states, lambda h, lengths: last_ok(h, lengths).detach().numpy(),
               "torch tensor")
    fails_with(check_last_states, lambda h, lengths: last_ok(h, lengths)[None], "shape")
    # squeeze() drops the batch axis of a batch of one: only the hidden case shows it
    squeezed = lambda h, lengths: last_ok(h, lengths).squeeze()  # noqa: E731
    assert check_last_states(squeezed, quiet=True)
    fails_with(lambda fn, quiet: check_last_states(fn, single=True, quiet=quiet), squeezed,
               "a batch of one sequence", "shape")


def test_kl_gaussians_mistakes():
    fails_with(check_kl_gaussians, lambda mq, lq, mp, lp: kl_gauss_ok(mp, lp, mq, lq), "reversed")
    fails_with(check_kl_gaussians, lambda *a: 2 * kl_gauss_ok(*a), "1/2")
    fails_with(check_kl_gaussians, lambda *a: -kl_gauss_ok(*a), "sign")
    fails_with(check_kl_gaussians,
               lambda mq, lq, mp, lp: kl_gauss_ok(mq, lq, mp, 0 * lp), "prior's variance is taken")
    fails_with(check_kl_gaussians,
               lambda mq, lq, mp, lp: kl_gauss_ok(mq, 2 * lq, mp, 2 * lp), "log(sigma)")
    fails_with(check_kl_gaussians,
               lambda mq, lq, mp, lp: 0.5 * (torch.exp(lq - lp) + (mq - mp) ** 2 - 1 + lp - lq
                                             ).sum(-1), "not divided by the prior's variance")
    fails_with(check_kl_gaussians, lambda *a: kl_gauss_ok(*a).sum(), "shape")
    fails_with(check_kl_gaussians, lambda *a: kl_gauss_ok(*a).detach(), "autograd")
    fails_with(check_kl_gaussians, lambda mq, lq, mp, lp: kl_gauss_ok(mq, lq, mp.detach(), lp),
               "mu_p")


def test_kl_gaussians_reduces_to_the_standard_normal_case_and_vanishes_for_q_equal_p():
    """Maths the derivation's result must satisfy, on the reference (so the check compares
    with the right thing)."""
    rng = np.random.default_rng(3)
    mu, lv = (torch.tensor(rng.normal(size=(4, 3))) for _ in range(2))
    zero = torch.zeros_like(mu)
    assert torch.allclose(reference_kl_gaussians(mu, lv, zero, zero),
                          reference_kl_standard_normal(mu, lv), atol=1e-12)
    assert torch.allclose(reference_kl_gaussians(mu, lv, mu, lv),
                          torch.zeros(4, dtype=torch.float64), atol=1e-12)


def test_the_entropy_form_of_the_kl_is_torch_kl_and_stays_finite_for_tiny_variances():
    rng = np.random.default_rng(4)
    mu, lv = (torch.tensor(rng.normal(size=(5, 3))) for _ in range(2))
    assert torch.allclose(ch09._kl_by_entropy(mu, lv), reference_kl_standard_normal(mu, lv),
                          atol=1e-12)
    tiny = torch.tensor(rng.uniform(-800, -750, size=(5, 3)))
    # exp(log_var) = 0 in float64: the closed form is 0.5 * sum(mu^2 - 1 - log_var)
    by_maths = 0.5 * (mu**2 - 1 - tiny).sum(-1)
    assert torch.isinf(reference_kl_standard_normal(mu, tiny)).all()  # why the check needs it
    assert torch.allclose(ch09._kl_by_entropy(mu, tiny), by_maths, rtol=1e-12)


def test_the_numerically_fragile_forms_fail_only_the_hidden_cases():
    """The mistakes of tests/mistakes/ch09.py in their plain form: each passes the public check
    and fails its case of another kind."""
    def sqrt_sigma(mu, lv, eps):
        return mu + torch.sqrt(torch.exp(lv)) * eps

    def log_of_var(mu, lv):
        return -0.5 * (1 + torch.log(torch.exp(lv)) - mu**2 - torch.exp(lv)).sum(-1)

    for check, fn, kind in ((check_reparameterise, sqrt_sigma, "tiny"),
                            (check_kl_standard_normal, log_of_var, "tiny")):
        assert check(fn, quiet=True)
        fails_with(lambda f, quiet, c=check, k=kind: c(f, quiet=quiet, **{k: True}), fn,
                   "very small variances")
