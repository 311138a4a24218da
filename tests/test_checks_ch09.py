"""Checks of lab 9: correct implementations pass, the usual mistakes fail with their hint,
stubs report "not implemented yet". The correct versions are the master lab's own solution cells
(tests/labs.py); the mistakes are written here."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from labs import fails_with, master_functions, stub

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


MASTER = master_functions("ch09")  # the master lab's solution cells
sample_ok = MASTER["sample_with_temperature"]
perplexity_ok = MASTER["perplexity"]
reparameterise_ok = MASTER["reparameterise"]
kl_ok = MASTER["kl_standard_normal"]


@pytest.mark.parametrize("seed", [0, 7, 123])
def test_correct_implementations_pass(seed):
    assert check_sample_with_temperature(sample_ok, seed=seed, quiet=True)
    assert check_perplexity(perplexity_ok, seed=seed, quiet=True)
    assert check_reparameterise(reparameterise_ok, seed=seed, quiet=True)
    assert check_kl_standard_normal(kl_ok, seed=seed, quiet=True)


def test_stubs_are_not_implemented(capsys):
    for check in (check_sample_with_temperature, check_perplexity, check_reparameterise,
                  check_kl_standard_normal):
        result = check(stub, quiet=True)
        assert not result and not result.implemented
        assert check(stub) is None  # printed, never raised
    assert capsys.readouterr().out.count("not implemented yet") == 4


def _wrapped(reference):  # handed in as it is, a check refuses a reference
    return lambda *args, **kwargs: reference(*args, **kwargs)


def test_references_pass_their_own_checks():
    assert check_sample_with_temperature(_wrapped(reference_sample_with_temperature), quiet=True)
    assert check_perplexity(_wrapped(reference_perplexity), quiet=True)
    assert check_reparameterise(_wrapped(reference_reparameterise), quiet=True)
    assert check_kl_standard_normal(_wrapped(reference_kl_standard_normal), quiet=True)
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

    for check in (check_sample_with_temperature, check_perplexity, check_reparameterise,
                  check_kl_standard_normal):
        assert check(broken) is None
        assert check("not a function") is None
    out = capsys.readouterr().out
    assert out.count("ZeroDivisionError") == 4
