"""Public checks of lab 9 (applications: language models and sequence VAEs).

Expected values come from torch: ``torch.softmax`` for temperature sampling (compared with the
frequencies of many draws), ``torch.nn.functional.cross_entropy`` for perplexity,
``torch.distributions.Normal`` (its inverse CDF) for the reparameterisation and
``torch.distributions.kl_divergence`` for the KL term, all in float64, gradients by autograd.
Hidden tests call the same checks with other seeds.
"""

from __future__ import annotations

import numpy as np

from course_lib.checks.core import CheckFailed, compare, public_check
from course_lib.references.ch09 import (
    reference_kl_standard_normal,
    reference_perplexity,
    reference_reparameterise,
)

# --- checks ----------------------------------------------------------------------------------


def _softmax(s):
    """``torch.softmax`` over the last axis, as a float64 array (for the hints)."""
    import torch

    return torch.softmax(torch.from_numpy(np.array(s, dtype=np.float64)), dim=-1).numpy()


@public_check("sample_with_temperature")
def check_sample_with_temperature(fn, seed: int = 0):
    """``sample_with_temperature(logits (N, K), temperature, rng) -> (N,) ints``: the frequency
    of each index over many draws must match ``torch.softmax(logits / temperature)``."""
    import torch

    rng = np.random.default_rng(seed)
    K = int(rng.integers(4, 7))
    reps = 4000
    for temperature in (0.5, 2.0):
        base = rng.normal(0.0, 1.5, size=(3, K))
        base[2] = base[2] * 300 + 500  # huge logits: exp overflows without the max shift
        logits = np.repeat(base, reps, axis=0)  # (3 * reps, K): each row drawn reps times
        out = fn(logits.copy(), temperature, np.random.default_rng(seed + 1))
        if out is None:
            raise CheckFailed("your function returned None (a missing `return`?)")
        out = np.asarray(out)
        if out.shape != (len(logits),):
            raise CheckFailed(f"expected one index per row, shape ({len(logits)},), got "
                              f"{out.shape}")
        if not np.issubdtype(out.dtype, np.integer):
            raise CheckFailed(f"expected integer indices, got dtype {out.dtype}")
        if out.min() < 0 or out.max() >= K:
            raise CheckFailed(f"indices must lie in 0..{K - 1}, got {out.min()}..{out.max()}")
        again = np.asarray(fn(logits.copy(), temperature, np.random.default_rng(seed + 1)))
        if not np.array_equal(out, again):
            raise CheckFailed("two calls with generators seeded alike gave different samples: "
                              "draw your random numbers from the `rng` argument (e.g. "
                              "rng.random(...)), not from np.random")
        expected = torch.softmax(torch.tensor(base) / temperature, dim=-1).numpy()
        freq = np.stack([np.bincount(out[r * reps:(r + 1) * reps], minlength=K) / reps
                         for r in range(3)])
        tol = 5 * np.sqrt(expected * (1 - expected) / reps) + 2e-3  # 5 standard errors
        if np.all(np.abs(freq - expected) <= tol):
            continue
        row, k = np.unravel_index(int(np.argmax(np.abs(freq - expected) - tol)), freq.shape)
        msg = (f"temperature {temperature:g}: index {k} of row {row} was drawn with frequency "
               f"{freq[row, k]:.3f}, but softmax(logits / temperature) gives it "
               f"{expected[row, k]:.3f}")
        hints = {
            "the logits are multiplied by the temperature instead of divided":
                _softmax(base * temperature),
            "the temperature is ignored": _softmax(base),
            "the largest logit is always taken (greedy)": np.eye(K)[base.argmax(axis=1)],
            "every index is equally likely": np.full((3, K), 1.0 / K),
        }
        for hint, p in hints.items():
            if np.all(np.abs(freq - p) <= 5 * np.sqrt(p * (1 - p) / reps) + 2e-3):
                msg += f". Hint: your frequencies match what you get when {hint}"
                break
        raise CheckFailed(msg)


@public_check("perplexity")
def check_perplexity(fn, seed: int = 0):
    """``perplexity(logits (N, T, K), targets (N, T)) -> float`` against
    ``exp(torch.nn.functional.cross_entropy(...))``."""
    rng = np.random.default_rng(seed)
    for scale, shift in ((1.0, 0.0), (3.0, 800.0)):  # the second case overflows a naive exp
        N, T, K = (int(v) for v in rng.integers(2, 7, size=3))
        logits = rng.normal(0.0, scale, size=(N, T, K)) + shift
        targets = rng.integers(0, K, size=(N, T))
        got = fn(logits.copy(), targets.copy())
        expected = reference_perplexity(logits, targets)
        if got is not None and np.ndim(got) != 0:
            raise CheckFailed(f"return one number (the perplexity of all N*T predictions), got "
                              f"shape {np.shape(got)}")
        nll = _torch_token_nll(logits, targets)  # per token, for the hints
        case = "large logits (subtract the maximum before exp)" if shift else "ordinary logits"
        compare(f"perplexity for {case}, N={N}, T={T}, K={K}", got, np.asarray(expected),
                atol=0.0, rtol=1e-9, alternatives={
                    "the mean cross-entropy is returned without exp": np.asarray(nll.mean()),
                    "2 ** (mean cross-entropy in nats) is used; exp goes with nats":
                        np.asarray(2.0 ** nll.mean()),
                    "the cross-entropy is summed instead of averaged": np.asarray(np.exp(nll.sum())),
                    "the per-token exp(nll) is averaged (average the nll first)":
                        np.asarray(np.exp(nll).mean()),
                    "the logits are used as log-probabilities without log-softmax": np.asarray(
                        np.exp(-np.take_along_axis(logits, targets[..., None], -1).mean())),
                })


def _torch_token_nll(logits, targets) -> np.ndarray:
    """The cross-entropy of every token ``(N, T)``, from ``torch.nn.functional.cross_entropy``
    with ``reduction="none"``."""
    import torch

    K = logits.shape[-1]
    nll = torch.nn.functional.cross_entropy(
        torch.from_numpy(np.array(logits, dtype=np.float64)).reshape(-1, K),
        torch.from_numpy(np.array(targets, dtype=np.int64)).reshape(-1), reduction="none")
    return nll.reshape(np.shape(targets)).numpy()


def _latent_case(rng):
    import torch

    N, m = (int(v) for v in rng.integers(2, 6, size=2))
    mu = torch.tensor(rng.normal(size=(N, m)), requires_grad=True)
    log_var = torch.tensor(rng.normal(0.0, 0.8, size=(N, m)), requires_grad=True)
    return N, m, mu, log_var


def _grads(out, inputs, weights):
    import torch

    if not isinstance(out, torch.Tensor) or not out.requires_grad:
        raise CheckFailed("your result is not connected to mu and log_var by autograd: use torch "
                          "operations on the tensors you are given (no .numpy(), .item() or "
                          "torch.tensor(...) on them)")
    return torch.autograd.grad((out * weights).sum(), inputs, allow_unused=True)


@public_check("reparameterise")
def check_reparameterise(fn, seed: int = 0):
    """``reparameterise(mu, log_var, eps) -> z`` (torch tensors (N, m)) against the inverse CDF
    of ``torch.distributions.Normal(mu, exp(log_var / 2))``; values and gradients."""
    import torch

    rng = np.random.default_rng(seed)
    N, m, mu, log_var = _latent_case(rng)
    eps = torch.tensor(rng.normal(size=(N, m)))
    z = fn(mu, log_var, eps.clone())
    if z is None:
        raise CheckFailed("your function returned None (a missing `return`?)")
    if not isinstance(z, torch.Tensor):
        raise CheckFailed(f"return a torch tensor, got {type(z).__name__}")
    expected = reference_reparameterise(mu, log_var, eps)
    mu_, lv_, e_ = (t.detach().numpy() for t in (mu, log_var, eps))

    def z_of(log_var_):  # the reference given another log-variance, for the hints
        with torch.no_grad():
            return reference_reparameterise(mu, log_var_, eps).numpy()

    compare(f"z for N={N}, m={m}", z.detach().numpy(), expected.detach().numpy(), atol=1e-10,
            alternatives={
                "exp(log_var) (the variance) multiplies eps instead of the standard deviation "
                "exp(log_var / 2)": z_of(2 * log_var),
                "log_var itself multiplies eps": mu_ + lv_ * e_,
                "eps is ignored": mu_,
                "exp(-log_var / 2) is used (the sign of the exponent)": z_of(-log_var),
            })
    w = torch.tensor(rng.normal(size=(N, m)))
    got = _grads(z, (mu, log_var), w)
    exp_g = torch.autograd.grad((expected * w).sum(), (mu, log_var))
    for name, g, e in zip(("mu", "log_var"), got, exp_g, strict=True):
        if g is None:
            raise CheckFailed(f"z does not depend on {name} through autograd")
        compare(f"gradient of sum(w * z) with respect to {name}", g.numpy(), e.numpy(),
                atol=1e-10)


@public_check("kl_standard_normal")
def check_kl_standard_normal(fn, seed: int = 0):
    """``kl_standard_normal(mu, log_var) -> (N,)`` against
    ``torch.distributions.kl_divergence(Normal(mu, sigma), Normal(0, 1)).sum(-1)``; values
    and gradients."""
    import torch

    rng = np.random.default_rng(seed)
    N, m, mu, log_var = _latent_case(rng)
    kl = fn(mu, log_var)
    if kl is None:
        raise CheckFailed("your function returned None (a missing `return`?)")
    if not isinstance(kl, torch.Tensor):
        raise CheckFailed(f"return a torch tensor, got {type(kl).__name__}")
    if kl.shape != (N,):
        hint = (" (one KL per example: sum over the latent axis only, not over the batch)"
                if kl.ndim == 0 else " (sum over the latent axis, dim=-1)"
                if kl.shape == (N, m) else "")
        raise CheckFailed(f"KL has shape {tuple(kl.shape)}, expected ({N},){hint}")
    expected = reference_kl_standard_normal(mu, log_var)
    # the hints: maths on torch's KL (its m terms each hold a + 1/2), and torch's KL given
    # log_var * 2 (what reading log_var as log(sigma) computes)
    kl_ref = expected.detach().numpy()
    with torch.no_grad():
        kl_log_sigma = reference_kl_standard_normal(mu, 2 * log_var).numpy()
    compare(f"KL for N={N}, m={m}", kl.detach().numpy(), kl_ref, atol=1e-10,
            alternatives={
                "the factor 1/2 is missing": 2 * kl_ref,
                "the sign is flipped": -kl_ref,
                "the terms are averaged over the latent axis instead of summed": kl_ref / m,
                "log_var is treated as log(sigma) instead of log(sigma^2)": kl_log_sigma,
                "the constant 1 is missing": kl_ref + 0.5 * m,
            })
    w = torch.tensor(rng.normal(size=N))
    got = _grads(kl, (mu, log_var), w)
    exp_g = torch.autograd.grad((expected * w).sum(), (mu, log_var))
    for name, g, e in zip(("mu", "log_var"), got, exp_g, strict=True):
        if g is None:
            raise CheckFailed(f"the KL does not depend on {name} through autograd")
        compare(f"gradient of sum(w * KL) with respect to {name}", g.numpy(), e.numpy(),
                atol=1e-10)
