"""Public checks of lab 9 (applications: language models and sequence VAEs).

Expected values come from torch: ``torch.softmax`` for temperature sampling (compared with the
frequencies of many draws), ``torch.nn.functional.cross_entropy`` for perplexity,
``torch.distributions.Normal`` (its inverse CDF) for the reparameterisation and
``torch.distributions.kl_divergence`` for the KL terms, the final state of a packed
``torch.nn.GRU`` run for the state at each sequence's last step, all in float64, gradients by
autograd. Hidden tests call the same checks with other seeds and, through a keyword, with cases
of another kind (a temperature near 0, a confidently wrong prediction, a batch of one sequence,
very small or very large variances).
"""

from __future__ import annotations

import numpy as np

from course_lib.checks.core import CheckFailed, compare, public_check
from course_lib.references.ch09 import (
    reference_kl_gaussians,
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
def check_sample_with_temperature(fn, seed: int = 0, cold: bool = False):
    """``sample_with_temperature(logits (N, K), temperature, rng) -> (N,) ints``: the frequency
    of each index over many draws must match ``torch.softmax(logits / temperature)``.
    ``cold=True``: a temperature near 0 on rows of close logits, where the distribution is
    nearly one-hot and raising the probabilities to the power 1 / temperature underflows."""
    import torch

    rng = np.random.default_rng(seed)
    K = int(rng.integers(5, 8) if cold else rng.integers(4, 7))
    reps = 4000
    for temperature in (1e-3,) if cold else (0.5, 2.0):
        base = rng.normal(0.0, 1.5, size=(3, K))
        if cold:  # close logits: every softmax(logits) probability is below one half
            base = base * 0.1
        else:
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
def check_perplexity(fn, seed: int = 0, confident: bool = False):
    """``perplexity(logits (N, T, K), targets (N, T)) -> float`` against
    ``exp(torch.nn.functional.cross_entropy(...))``. ``confident=True``: a model that is
    confidently wrong about a few tokens (their target's logit hundreds below the largest), whose
    softmax probability underflows to 0 although its log-softmax is finite."""
    rng = np.random.default_rng(seed)
    cases = ((1.0, 0.0),) if confident else ((1.0, 0.0), (3.0, 800.0))
    for scale, shift in cases:  # the second case overflows a naive exp
        N, T, K = (int(v) for v in rng.integers(2, 7, size=3))
        logits = rng.normal(0.0, scale, size=(N, T, K)) + shift
        targets = rng.integers(0, K, size=(N, T))
        if confident:  # two tokens whose target the model rules out by 750 to 800 nats
            for n, t in ((0, 0), (N - 1, T - 1)):
                logits[n, t, targets[n, t]] = logits[n, t].max() - rng.uniform(750, 800)
        got = fn(logits.copy(), targets.copy())
        expected = reference_perplexity(logits, targets)
        if got is not None and np.ndim(got) != 0:
            raise CheckFailed(f"return one number (the perplexity of all N*T predictions), got "
                              f"shape {np.shape(got)}")
        nll = _torch_token_nll(logits, targets)  # per token, for the hints
        case = ("large logits (subtract the maximum before exp)" if shift else
                "a confidently wrong model (take the log-softmax, not the log of a softmax)"
                if confident else "ordinary logits")
        with np.errstate(over="ignore"):  # the hints of a sum overflow for a wrong model
            alternatives = {
                "the mean cross-entropy is returned without exp": np.asarray(nll.mean()),
                "2 ** (mean cross-entropy in nats) is used; exp goes with nats":
                    np.asarray(2.0 ** nll.mean()),
                "the cross-entropy is summed instead of averaged": np.asarray(np.exp(nll.sum())),
                "the per-token exp(nll) is averaged (average the nll first)":
                    np.asarray(np.exp(nll).mean()),
                "the logits are used as log-probabilities without log-softmax": np.asarray(
                    np.exp(-np.take_along_axis(logits, targets[..., None], -1).mean())),
            }
        compare(f"perplexity for {case}, N={N}, T={T}, K={K}", got, np.asarray(expected),
                atol=0.0, rtol=1e-9, alternatives=alternatives)


def _torch_token_nll(logits, targets) -> np.ndarray:
    """The cross-entropy of every token ``(N, T)``, from ``torch.nn.functional.cross_entropy``
    with ``reduction="none"``."""
    import torch

    K = logits.shape[-1]
    nll = torch.nn.functional.cross_entropy(
        torch.from_numpy(np.array(logits, dtype=np.float64)).reshape(-1, K),
        torch.from_numpy(np.array(targets, dtype=np.int64)).reshape(-1), reduction="none")
    return nll.reshape(np.shape(targets)).numpy()


def _latent_case(rng, tiny: bool = False):
    """``mu, log_var (N, m)``; ``tiny``: log-variances from -800 to -750, variances below the
    smallest float64 (``exp(log_var)`` is 0) whose standard deviations are still floats."""
    import torch

    N, m = (int(v) for v in rng.integers(2, 6, size=2))
    mu = torch.tensor(rng.normal(size=(N, m)), requires_grad=True)
    lv = rng.uniform(-800.0, -750.0, size=(N, m)) if tiny else rng.normal(0.0, 0.8, size=(N, m))
    log_var = torch.tensor(lv, requires_grad=True)
    return N, m, mu, log_var


def _grads(out, inputs, weights):
    import torch

    if not isinstance(out, torch.Tensor) or not out.requires_grad:
        raise CheckFailed("your result is not connected to mu and log_var by autograd: use torch "
                          "operations on the tensors you are given (no .numpy(), .item() or "
                          "torch.tensor(...) on them)")
    return torch.autograd.grad((out * weights).sum(), inputs, allow_unused=True)


def _compare_gradients(out, expected, inputs, names, w, what, symbol, subject):
    """The gradients of ``sum(w * out)`` with respect to each of ``inputs`` against those of
    ``sum(w * expected)`` (autograd through the reference)."""
    import torch

    got = _grads(out, inputs, w)
    exp_g = torch.autograd.grad((expected * w).sum(), inputs)
    for name, g, e in zip(names, got, exp_g, strict=True):
        if g is None:
            raise CheckFailed(f"{subject} does not depend on {name} through autograd")
        compare(f"gradient of sum(w * {symbol}) with respect to {name} ({what})", g.numpy(),
                e.numpy(), atol=1e-10)


@public_check("reparameterise")
def check_reparameterise(fn, seed: int = 0, tiny: bool = False):
    """``reparameterise(mu, log_var, eps) -> z`` (torch tensors (N, m)) against the inverse CDF
    of ``torch.distributions.Normal(mu, exp(log_var / 2))``; values and gradients. ``tiny=True``:
    variances too small for a float64 (``exp(log_var)`` underflows to 0; the standard deviation
    ``exp(log_var / 2)`` does not)."""
    import torch

    rng = np.random.default_rng(seed)
    N, m, mu, log_var = _latent_case(rng, tiny)
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

    what = "very small variances" if tiny else f"N={N}, m={m}"
    compare(f"z for {what}", z.detach().numpy(), expected.detach().numpy(), atol=1e-10,
            alternatives={} if tiny else {
                "exp(log_var) (the variance) multiplies eps instead of the standard deviation "
                "exp(log_var / 2)": z_of(2 * log_var),
                "log_var itself multiplies eps": mu_ + lv_ * e_,
                "eps is ignored": mu_,
                "exp(-log_var / 2) is used (the sign of the exponent)": z_of(-log_var),
            })
    w = torch.tensor(rng.normal(size=(N, m)))
    _compare_gradients(z, expected, (mu, log_var), ("mu", "log_var"), w, what, "z", "z")


def _kl_by_entropy(mu, log_var):
    """``KL(q || N(0, I))`` per row as the cross-entropy of ``q`` to the prior minus
    ``q.entropy()`` (``torch.distributions.Normal``, whose entropy works with the standard
    deviation). It stays right for variances that underflow, where ``kl_divergence`` (built on
    the variance ratio) returns infinity."""
    import math

    import torch
    from torch.distributions import Normal

    q = Normal(mu, torch.exp(0.5 * log_var))
    cross = 0.5 * math.log(2 * math.pi) + 0.5 * (mu**2 + q.scale**2)
    return (cross - q.entropy()).sum(dim=-1)


@public_check("kl_standard_normal")
def check_kl_standard_normal(fn, seed: int = 0, tiny: bool = False):
    """``kl_standard_normal(mu, log_var) -> (N,)`` against
    ``torch.distributions.kl_divergence(Normal(mu, sigma), Normal(0, 1)).sum(-1)``; values
    and gradients. ``tiny=True``: variances that underflow to 0 (``exp(log_var)``), compared with
    the cross-entropy minus ``Normal.entropy()``, where the KL is finite (about -log_var / 2 per
    dimension) and a ``log(exp(log_var))`` is minus infinity."""
    import torch

    rng = np.random.default_rng(seed)
    N, m, mu, log_var = _latent_case(rng, tiny)
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
    expected = _kl_by_entropy(mu, log_var) if tiny else reference_kl_standard_normal(mu, log_var)
    # the hints: maths on torch's KL (its m terms each hold a + 1/2), and torch's KL given
    # log_var * 2 (what reading log_var as log(sigma) computes)
    kl_ref = expected.detach().numpy()
    with torch.no_grad():
        kl_log_sigma = None if tiny else reference_kl_standard_normal(mu, 2 * log_var).numpy()
    what = "very small variances" if tiny else f"N={N}, m={m}"
    compare(f"KL for {what}", kl.detach().numpy(), kl_ref, atol=1e-10,
            alternatives={} if tiny else {
                "the factor 1/2 is missing": 2 * kl_ref,
                "the sign is flipped": -kl_ref,
                "the terms are averaged over the latent axis instead of summed": kl_ref / m,
                "log_var is treated as log(sigma) instead of log(sigma^2)": kl_log_sigma,
                "the constant 1 is missing": kl_ref + 0.5 * m,
            })
    w = torch.tensor(rng.normal(size=N))
    _compare_gradients(kl, expected, (mu, log_var), ("mu", "log_var"), w, what, "KL", "the KL")


@public_check("kl_gaussians")
def check_kl_gaussians(fn, seed: int = 0, huge: bool = False):
    """``kl_gaussians(mu_q, log_var_q, mu_p, log_var_p) -> (N,)`` (torch tensors ``(N, m)``)
    against ``torch.distributions.kl_divergence(Normal(mu_q, sigma_q), Normal(mu_p,
    sigma_p)).sum(-1)``; values and the gradients with respect to all four. ``huge=True``:
    variances too large for a float64 (``exp(log_var)`` is infinite) whose ratio is moderate."""
    import torch

    rng = np.random.default_rng(seed)
    N, m = (int(v) for v in rng.integers(2, 6, size=2))

    def leaf(a):
        return torch.tensor(a, requires_grad=True)

    if huge:
        lv_p = rng.uniform(720.0, 760.0, size=(N, m))
        lv_q = lv_p + rng.normal(0.0, 1.0, size=(N, m))
    else:
        lv_p, lv_q = rng.normal(0.0, 0.8, size=(2, N, m))
    mu_q, mu_p = rng.normal(0.0, 1.0, size=(2, N, m))
    inputs = tuple(leaf(a) for a in (mu_q, lv_q, mu_p, lv_p))
    kl = fn(*inputs)
    if kl is None:
        raise CheckFailed("your function returned None (a missing `return`?)")
    if not isinstance(kl, torch.Tensor):
        raise CheckFailed(f"return a torch tensor, got {type(kl).__name__}")
    if kl.shape != (N,):
        raise CheckFailed(f"KL has shape {tuple(kl.shape)}, expected ({N},): one value per "
                          "row, summed over the m latent dimensions")
    expected = reference_kl_gaussians(*inputs)
    kl_ref = expected.detach().numpy()
    # the hints: torch's KL given other arguments (the reversed direction, the prior's variance
    # read as 1, log-variances read as log-sigmas) and maths on it
    with torch.no_grad():
        def kl_of(*args):
            return reference_kl_gaussians(*args).numpy()

        zeros = torch.zeros_like(inputs[3])
        alternatives = {} if huge else {
            "the direction is reversed: this is KL(p || q), not KL(q || p)":
                kl_of(inputs[2], inputs[3], inputs[0], inputs[1]),
            "the factor 1/2 is missing": 2 * kl_ref,
            "the sign is flipped": -kl_ref,
            "the prior's variance is taken as 1 (it is exp(log_var_p))":
                kl_of(inputs[0], inputs[1], inputs[2], zeros),
            "the log-variances are treated as log(sigma) instead of log(sigma^2)":
                kl_of(inputs[0], 2 * inputs[1], inputs[2], 2 * inputs[3]),
            "the squared difference of the means is not divided by the prior's variance":
                kl_ref + 0.5 * ((mu_q - mu_p) ** 2 * (1 - np.exp(-lv_p))).sum(-1),
        }
    what = "very large variances" if huge else f"N={N}, m={m}"
    compare(f"KL for {what}", kl.detach().numpy(), kl_ref, atol=1e-10,
            alternatives=alternatives)
    w = torch.tensor(rng.normal(size=N))
    _compare_gradients(kl, expected, inputs, ("mu_q", "log_var_q", "mu_p", "log_var_p"), w, what,
                       "KL", "the KL")


@public_check("last_states")
def check_last_states(fn, seed: int = 0, single: bool = False):
    """``last_states(h (N, T, H), lengths (N,)) -> (N, H)``: the outputs of a float64
    ``torch.nn.GRU`` run over a padded batch, and the state of each sequence at its own last
    step, against the final state ``h_n`` of the same GRU run on the packed batch
    (``torch.nn.utils.rnn.pack_padded_sequence``), which never sees the padding; then the
    gradient with respect to ``h``. ``single=True``: a batch of one sequence."""
    import torch
    from torch.nn.utils.rnn import pack_padded_sequence

    rng = np.random.default_rng(seed)
    N = 1 if single else int(rng.integers(3, 7))
    T, D, H = int(rng.integers(4, 8)), int(rng.integers(2, 5)), int(rng.integers(3, 6))
    lengths = rng.integers(1, T + 1, size=N)
    if not single:  # a full row, a row of one step and rows in between
        lengths[:2] = T, 1
        rng.shuffle(lengths)
    else:
        lengths[:] = rng.integers(2, T)
    with torch.random.fork_rng():  # leaves the lab's random state as it was
        torch.manual_seed(seed)
        gru = torch.nn.GRU(D, H, batch_first=True).double()
    x = torch.tensor(rng.normal(size=(N, T, D)))  # the steps after each length are padding
    lengths_t = torch.tensor(lengths, dtype=torch.int64)
    with torch.no_grad():
        h = gru(x)[0]
        _, h_n = gru(pack_padded_sequence(x, lengths_t, batch_first=True, enforce_sorted=False))
    expected = h_n[0].numpy()
    h = h.clone().requires_grad_(True)
    out = fn(h, lengths_t.clone())
    if out is None:
        raise CheckFailed("your function returned None (a missing `return`?)")
    if not isinstance(out, torch.Tensor):
        raise CheckFailed(f"return a torch tensor, got {type(out).__name__}")
    what = "a batch of one sequence" if single else f"N={N} sequences of lengths {list(lengths)}"
    if tuple(out.shape) != (N, H):
        raise CheckFailed(f"{what}: the states have shape {tuple(out.shape)}, expected "
                          f"({N}, {H}), one state of size H per sequence")
    hv = h.detach().numpy()
    rows = np.arange(N)
    compare(f"{what}, T={T}, H={H}: the states", out.detach().numpy(), expected, atol=1e-10,
            alternatives={
                "the state after the last step of the batch is taken (h[:, -1]): it has read "
                "the padding of the shorter sequences": hv[:, -1],
                "the state one step too early is taken (the step before the last word)":
                    hv[rows, np.maximum(lengths - 2, 0)],
                "the first state is taken": hv[:, 0],
            })
    w = torch.tensor(rng.normal(size=(N, H)))
    got = _grads(out, (h,), w)[0]
    exp_g = np.zeros_like(hv)
    exp_g[rows, lengths - 1] = w.numpy()  # d sum(w * h[n, L_n - 1]) / dh
    if got is None:
        raise CheckFailed("the states do not depend on h through autograd")
    compare(f"{what}: gradient of sum(w * states) with respect to h", got.numpy(), exp_g,
            atol=1e-12)
