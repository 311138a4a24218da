"""References of lab 12: what its public checks compare with and what the lab falls back on when an
exercise is unfinished (``use_or_reference``). Built on the feature grid, additive attention,
masked cross-entropy and the attention penalty in torch float64; none of them spells out the
from-scratch NumPy code the exercises ask for.
"""

from __future__ import annotations

import numpy as np

from course_lib.checks.bridge import t64
from course_lib.models.tokens import PAD


def reference_feature_grid(fmap):
    """``fmap (N, C, G_h, G_w)`` -> ``(N, L, C)``, location ``l = i * G_w + j`` (row by row),
    by torch's ``flatten(2).transpose(1, 2)``."""
    return t64(fmap).flatten(2).transpose(1, 2).numpy()


def reference_soft_attention(h, s_prev, W_h, W_s, b, v):
    """Additive attention over ``L`` locations, computed by torch in float64.

    ``r[n, l] = v . tanh(W_h h[n, l] + W_s s_prev[n] + b)``, ``a = softmax over l``,
    ``c[n] = sum_l a[n, l] h[n, l]``. Shapes: ``h (N, L, D)``, ``s_prev (N, H)``,
    ``W_h (A, D)``, ``W_s (A, H)``, ``b (A,)``, ``v (A,)`` -> ``r, a (N, L)``, ``c (N, D)``.
    """
    import torch

    hh = t64(h)
    r = _hidden(h, s_prev, W_h, W_s, b) @ t64(v)
    a = torch.softmax(r, dim=1)
    c = torch.bmm(a.unsqueeze(1), hh).squeeze(1)
    return r.numpy(), a.numpy(), c.numpy()


def _hidden(h, s_prev, W_h, W_s, b, activation="tanh"):
    """``g(W_h h + W_s s_prev + b)`` (N, L, A) in torch, ``g`` the tanh or, for the checks'
    hints, ``"identity"`` or ``"sigmoid"``."""
    import torch

    g = {"tanh": torch.tanh, "identity": lambda u: u, "sigmoid": torch.sigmoid}[activation]
    return g(t64(h) @ t64(W_h).T + (t64(s_prev) @ t64(W_s).T).unsqueeze(1) + t64(b))


def torch_soft_attention_slip(h, s_prev, W_h, W_s, b, v, slip):
    """What a slip of soft attention computes, by torch (for the checks' hints): the scores
    ``(N, L)`` with ``slip`` ``"identity"`` or ``"sigmoid"`` in place of the tanh, or with
    ``"softmax_hidden"`` the weights of a softmax over the A hidden units taken before ``v``."""
    import torch

    if slip == "softmax_hidden":
        return (torch.softmax(_hidden(h, s_prev, W_h, W_s, b), dim=2) @ t64(v)).numpy()
    return (_hidden(h, s_prev, W_h, W_s, b, slip) @ t64(v)).numpy()


def torch_token_nll(logits, targets, dim=-1):
    """The cross-entropy of every token ``(N, T)`` (padding too) from torch's log-softmax over
    ``dim`` (the vocabulary; ``dim=1``, over time, is a slip the hints name)."""
    import torch

    logp = torch.log_softmax(t64(logits), dim=dim)
    index = torch.as_tensor(np.asarray(targets, dtype=np.int64))[..., None]
    return (-logp.gather(-1, index)[..., 0]).numpy()


def torch_penalty_without_square(alpha, targets, lam):
    """The attention penalty with ``|1 - coverage|`` in place of its square, by torch (a slip
    the hints name); a float."""
    import torch

    mask = t64(np.asarray(targets) != PAD)
    coverage = (t64(alpha) * mask.unsqueeze(2)).sum(1)
    return float(lam * torch.abs(1 - coverage).sum(1).mean())


def reference_masked_cross_entropy(logits, targets):
    """Mean cross-entropy over the real tokens (``targets != PAD``) of ``logits (N, T, K)``,
    by ``torch.nn.functional.cross_entropy(..., ignore_index=PAD)``; a float."""
    import torch

    logits = t64(logits)
    return float(torch.nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), torch.as_tensor(targets).reshape(-1),
        ignore_index=PAD))


def reference_attention_penalty(alpha, targets, lam):
    """``lam * mean_n sum_l (1 - sum_t m_nt alpha[n, t, l])**2`` over the real steps,
    by :func:`course_lib.models.captioning.coverage_penalty` in float64; a float."""
    from course_lib.models.captioning import coverage_penalty

    return float(coverage_penalty(t64(alpha), np.asarray(targets), lam))
