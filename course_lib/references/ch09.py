"""References of lab 9: what its public checks compare with and what the lab falls back on when an
exercise is unfinished (``use_or_reference``). Built on sampling, perplexity, reparameterisation,
the Gaussian KL divergences and a one-hot read-out of the last states in torch; none of them
spells out the code the exercises ask for.
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


def reference_kl_gaussians(mu_q, log_var_q, mu_p, log_var_p):
    """``KL(N(mu_q, diag exp(log_var_q)) || N(mu_p, diag exp(log_var_p)))`` per row: a tensor
    ``(N,)``, from ``torch.distributions.kl_divergence`` (the prior's tensors broadcast)."""
    import torch
    from torch.distributions import Normal, kl_divergence

    q = Normal(mu_q, torch.exp(0.5 * log_var_q))
    p = Normal(mu_p, torch.exp(0.5 * log_var_p))
    return kl_divergence(q, p).sum(dim=-1)


def reference_last_states(h, lengths):
    """The state of each sequence at its own last step, ``h[n, lengths[n] - 1]``: a tensor
    ``(N, H)`` from ``h (N, T, H)`` and ``lengths (N,)``, read through a one-hot mask over the
    steps (``torch.nn.functional.one_hot``)."""
    import torch

    at_last = torch.nn.functional.one_hot(torch.as_tensor(lengths) - 1, h.shape[1]).to(h.dtype)
    return torch.einsum("nt,nth->nh", at_last, h)
