"""Lab 9: sampling, perplexity, the last states, the VAE's pieces and the derived KL."""

MISTAKES = [
    # the temperature applied to the probabilities (p ** (1 / tau)) instead of the logits: the
    # same distribution on paper, but p ** 1000 underflows to 0 / 0 near temperature 0
    ("sample_with_temperature",
     {"scaled = np.asarray(logits, dtype=np.float64) / temperature":
      "scaled = np.asarray(logits, dtype=np.float64)",
      "p = p / p.sum(axis=1, keepdims=True)":
      "p = p / p.sum(axis=1, keepdims=True)\n    p = p ** (1 / temperature)\n"
      "    p = p / p.sum(axis=1, keepdims=True)"},
     "a temperature near 0"),
    # the log of a softmax instead of the log-softmax: log(0) = -inf for a target the model
    # rules out by hundreds of nats
    ("perplexity",
     {"log_norm = m[..., 0] + np.log(np.exp(logits - m).sum(axis=-1))":
      "p = np.exp(logits - m) / np.exp(logits - m).sum(axis=-1, keepdims=True)",
      "picked = np.take_along_axis(logits, targets[..., None], axis=-1)[..., 0]":
      "picked = np.take_along_axis(p, targets[..., None], axis=-1)[..., 0]",
      "np.mean(log_norm - picked)": "np.mean(-np.log(picked))"},
     "a model that is confidently wrong"),
    # squeeze() drops the batch axis too when N = 1
    ("last_states", {".squeeze(1)": ".squeeze()"}, "a batch of one sequence"),
    # sigma as the square root of the variance: exp(log_var) underflows to 0, whose square root
    # has an infinite derivative (the gradient is NaN)
    ("reparameterise", {"torch.exp(0.5 * log_var)": "torch.sqrt(torch.exp(log_var))"},
     "very small variances"),
    # log(sigma^2) recomputed from the variance: log(exp(log_var)) = log(0) = -inf
    ("kl_standard_normal", {"1 + log_var": "1 + torch.log(torch.exp(log_var))"},
     "very small variances"),
    # the variance ratio as a ratio of two exponentials: inf / inf = NaN
    ("kl_gaussians",
     {"torch.exp(log_var_q - log_var_p)": "torch.exp(log_var_q) / torch.exp(log_var_p)"},
     "very large variances"),
]
