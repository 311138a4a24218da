"""Checks of lab 9: correct implementations pass, the usual mistakes fail with their hint,
stubs report "not implemented yet". The correct versions here are written independently of the
checks' torch references (plain NumPy inverse-CDF sampling, log-sum-exp, the closed-form KL)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from course_lib.checks.ch09 import (
    check_kl_standard_normal,
    check_perplexity,
    check_reparameterise,
    check_sample_with_temperature,
)
from course_lib.references.ch09 import (
    reference_kl_standard_normal,
    reference_perplexity,
    reference_reparameterise,
    reference_sample_with_temperature,
)


def _softmax(s):
    s = s - s.max(axis=-1, keepdims=True)
    e = np.exp(s)
    return e / e.sum(axis=-1, keepdims=True)


def sample_ok(logits, temperature, rng):
    p = _softmax(np.asarray(logits) / temperature)
    u = rng.random((len(p), 1))
    return np.minimum((u > np.cumsum(p, axis=1)).sum(axis=1), p.shape[1] - 1)


def perplexity_ok(logits, targets):
    m = logits.max(axis=-1, keepdims=True)
    log_z = m[..., 0] + np.log(np.exp(logits - m).sum(axis=-1))
    picked = np.take_along_axis(logits, targets[..., None], axis=-1)[..., 0]
    return float(np.exp(np.mean(log_z - picked)))


def reparameterise_ok(mu, log_var, eps):
    return mu + torch.exp(0.5 * log_var) * eps


def kl_ok(mu, log_var):
    return -0.5 * (1 + log_var - mu**2 - torch.exp(log_var)).sum(dim=-1)


def _fails_with(check, fn, hint, *args):
    result = check(fn, *args, quiet=True)
    assert not result
    text = " ".join(result.messages)
    assert hint in text, text
    return text


def _stub(*args, **kwargs):
    raise NotImplementedError()


@pytest.mark.parametrize("seed", [0, 7, 123])
def test_correct_implementations_pass(seed):
    assert check_sample_with_temperature(sample_ok, seed=seed, quiet=True)
    assert check_perplexity(perplexity_ok, seed=seed, quiet=True)
    assert check_reparameterise(reparameterise_ok, seed=seed, quiet=True)
    assert check_kl_standard_normal(kl_ok, seed=seed, quiet=True)


def test_stubs_are_not_implemented(capsys):
    for check in (check_sample_with_temperature, check_perplexity, check_reparameterise,
                  check_kl_standard_normal):
        result = check(_stub, quiet=True)
        assert not result and not result.implemented
        assert check(_stub) is None  # printed, never raised
    assert capsys.readouterr().out.count("not implemented yet") == 4


def test_references_pass_their_own_checks():
    assert check_sample_with_temperature(reference_sample_with_temperature, quiet=True)
    assert check_perplexity(reference_perplexity, quiet=True)
    assert check_reparameterise(reference_reparameterise, quiet=True)
    assert check_kl_standard_normal(reference_kl_standard_normal, quiet=True)


def test_perplexity_of_uniform_logits_is_K():
    K = 7
    assert reference_perplexity(np.zeros((2, 3, K)), np.zeros((2, 3), dtype=int)) == \
        pytest.approx(K, rel=1e-12)


def test_sampling_mistakes():
    _fails_with(check_sample_with_temperature,
                lambda s, t, rng: sample_ok(np.asarray(s) * t * t, t, rng), "multiplied")
    _fails_with(check_sample_with_temperature,
                lambda s, t, rng: sample_ok(s, 1.0, rng), "temperature is ignored")
    _fails_with(check_sample_with_temperature,
                lambda s, t, rng: np.argmax(s, axis=1), "greedy")
    _fails_with(check_sample_with_temperature,
                lambda s, t, rng: sample_ok(s, t, np.random.default_rng()), "rng")
    _fails_with(check_sample_with_temperature,
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

    _fails_with(check_perplexity, nll, "without exp")
    _fails_with(check_perplexity, lambda s, t: 2.0 ** nll(s, t), "2 **")
    _fails_with(check_perplexity, lambda s, t: np.exp(nll(s, t) * t.size), "summed")

    def no_shift(logits, targets):
        with np.errstate(over="ignore", invalid="ignore"):
            p = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
            return float(np.exp(-np.log(np.take_along_axis(p, targets[..., None], -1)).mean()))

    text = _fails_with(check_perplexity, no_shift, "large logits")
    assert "NaN" in text or "infinity" in text
    _fails_with(check_perplexity, lambda s, t: np.full(t.shape, perplexity_ok(s, t)), "one number")


def test_reparameterise_mistakes():
    _fails_with(check_reparameterise, lambda m, lv, e: m + torch.exp(lv) * e, "variance")
    _fails_with(check_reparameterise, lambda m, lv, e: m + lv * e, "log_var itself")
    _fails_with(check_reparameterise, lambda m, lv, e: m.clone(), "eps is ignored")
    _fails_with(check_reparameterise,
                lambda m, lv, e: torch.tensor(reparameterise_ok(m, lv, e).detach().numpy()),
                "autograd")
    _fails_with(check_reparameterise,
                lambda m, lv, e: reparameterise_ok(m, lv, e).detach().numpy(), "torch tensor")


def test_kl_mistakes():
    def terms(m, lv):
        return 1 + lv - m**2 - torch.exp(lv)

    _fails_with(check_kl_standard_normal, lambda m, lv: -terms(m, lv).sum(-1), "1/2")
    _fails_with(check_kl_standard_normal, lambda m, lv: 0.5 * terms(m, lv).sum(-1), "sign")
    _fails_with(check_kl_standard_normal, lambda m, lv: -0.5 * terms(m, lv).mean(-1), "averaged")
    _fails_with(check_kl_standard_normal,
                lambda m, lv: -0.5 * (1 + 2 * lv - m**2 - torch.exp(2 * lv)).sum(-1), "log(sigma)")
    _fails_with(check_kl_standard_normal, lambda m, lv: kl_ok(m, lv).sum(), "not over the batch")
    _fails_with(check_kl_standard_normal, lambda m, lv: -0.5 * terms(m, lv), "latent axis")
    _fails_with(check_kl_standard_normal,
                lambda m, lv: torch.tensor(kl_ok(m, lv).detach().numpy()), "autograd")


def test_checks_never_raise_on_broken_code(capsys):
    def broken(*args):
        return 1 / 0

    for check in (check_sample_with_temperature, check_perplexity, check_reparameterise,
                  check_kl_standard_normal):
        assert check(broken) is None
        assert check("not a function") is None
    out = capsys.readouterr().out
    assert out.count("ZeroDivisionError") == 4
