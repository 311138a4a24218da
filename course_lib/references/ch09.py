"""References of lab 9: what its public checks compare with and what the lab falls back on when an
exercise is unfinished (``use_or_reference``). Built on sampling, perplexity, reparameterisation
and the Gaussian KL divergence in torch; none of them spells out the from-scratch NumPy code the
exercises ask for.
"""

from __future__ import annotations

import numpy as np

from course_lib.checks.bridge import t64


def reference_sample_with_temperature(logits, temperature, rng):
    """One index per row of ``logits (N, K)`` drawn from ``softmax(logits / temperature)`` with
    ``torch.multinomial`` (seeded from ``rng``): returns an int64 array ``(N,)``."""
    import torch

    g = torch.Generator().manual_seed(int(rng.integers(2**31)))
    p = torch.softmax(t64(logits) / temperature, dim=-1)
    return torch.multinomial(p, 1, generator=g)[:, 0].numpy()


def reference_perplexity(logits, targets):
    """``exp`` of the mean cross-entropy of ``targets (N, T)`` under ``logits (N, T, K)``,
    from ``torch.nn.functional.cross_entropy``: a float."""
    import torch

    # copies: a read-only view (np.broadcast_to) would make torch warn that it is not writable
    logits = t64(logits)
    targets = torch.as_tensor(np.array(targets, dtype=np.int64))
    nll = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                            targets.reshape(-1))
    return float(torch.exp(nll))


def reference_reparameterise(mu, log_var, eps):
    """``z`` whose standard score is ``eps`` under ``Normal(mu, exp(log_var / 2))``, computed
    with that distribution's inverse CDF (differentiable in ``mu`` and ``log_var``)."""
    import torch
    from torch.distributions import Normal

    q = Normal(mu, torch.exp(0.5 * log_var))
    return q.icdf(Normal(torch.zeros_like(eps), torch.ones_like(eps)).cdf(eps))


def reference_kl_standard_normal(mu, log_var):
    """``KL(N(mu, diag exp(log_var)) || N(0, I))`` per row of ``mu (N, m)``: a tensor ``(N,)``,
    from ``torch.distributions.kl_divergence``."""
    import torch
    from torch.distributions import Normal, kl_divergence

    q = Normal(mu, torch.exp(0.5 * log_var))
    prior = Normal(torch.zeros_like(mu), torch.ones_like(mu))
    return kl_divergence(q, prior).sum(dim=-1)
