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

    hh, s = t64(h), t64(s_prev)
    e = torch.tanh(hh @ t64(W_h).T + (s @ t64(W_s).T).unsqueeze(1) + t64(b))
    r = e @ t64(v)
    a = torch.softmax(r, dim=1)
    c = torch.bmm(a.unsqueeze(1), hh).squeeze(1)
    return r.numpy(), a.numpy(), c.numpy()


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
