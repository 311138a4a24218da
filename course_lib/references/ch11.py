"""References of lab 11: what its public checks compare with and what the lab falls back on when an
exercise is unfinished (``use_or_reference``). Built on masked softmax, the four attention
scores and context in torch float64, and autograd of dot-product attention (with the usual slips
of the backward pass, for the hints); none of them spells out the from-scratch NumPy code the
exercises ask for.
"""

from __future__ import annotations

import numpy as np

from course_lib import validate
from course_lib.checks.bridge import numpy64, t64
from course_lib.models.tokens import SCORES


def reference_masked_softmax(scores, mask=None):
    """Softmax over the last axis of ``scores (..., T_x)``, with the entries where ``mask``
    (broadcastable to ``scores``, True = a real input step) is False set to weight 0, computed
    by torch (``masked_fill`` with -inf, then ``torch.softmax``)."""
    return torch_masked_softmax(t64(scores), mask).numpy()


def torch_masked_softmax(r, mask=None):
    """:func:`reference_masked_softmax` on a torch tensor, keeping the autograd graph."""
    import torch

    if mask is not None:
        m = torch.as_tensor(np.asarray(mask, dtype=bool))
        r = r.masked_fill(~m, float("-inf"))
    return torch.softmax(r, dim=-1)


def reference_attention(s_prev, h, score="dot", mask=None, params=None):
    """Scores, weights and context of one attention step, computed with torch float64.

    Args:
        s_prev: decoder states (the queries), shape (N, H_s).
        h: encoder states (keys and values), shape (N, T_x, H).
        score: ``"dot"`` r = s.h; ``"scaled_dot"`` r = s.h / sqrt(H); ``"bilinear"``
            r = s^T W_A h with ``params["W_A"] (H_s, H)``; ``"additive"``
            r = v^T tanh(W_s s + W_h h) with ``params["W_s"] (A, H_s)``, ``params["W_h"] (A, H)``,
            ``params["v"] (A,)``.
        mask: optional (N, T_x) booleans, True for real input steps.

    Returns:
        ``r (N, T_x)``, ``a (N, T_x)``, ``c (N, H)``.
    """
    import torch

    if score not in SCORES:
        raise ValueError(f"score: expected one of {SCORES}, got {score!r}")
    s, hh = t64(s_prev), t64(h)
    if score in ("dot", "scaled_dot"):
        r = torch.bmm(hh, s.unsqueeze(2)).squeeze(2)
        if score == "scaled_dot":
            r = r / np.sqrt(hh.shape[-1])
    elif score == "bilinear":
        r = torch.bmm(hh, (s @ t64(params["W_A"])).unsqueeze(2)).squeeze(2)
    else:
        r = _additive_scores(s, hh, params)
    a = torch.as_tensor(reference_masked_softmax(r.numpy(), mask))
    c = torch.bmm(a.unsqueeze(1), hh).squeeze(1)
    return r.numpy(), a.numpy(), c.numpy()


def _additive_scores(s, hh, params, activation="tanh"):
    """``v^T g(W_s s + W_h h)`` (N, T_x) in torch, ``g`` the tanh or, for the checks' hints,
    ``"identity"`` or ``"sigmoid"``."""
    import torch

    g = {"tanh": torch.tanh, "identity": lambda u: u, "sigmoid": torch.sigmoid}[activation]
    e = g((s @ t64(params["W_s"]).T).unsqueeze(1) + hh @ t64(params["W_h"]).T)
    return e @ t64(params["v"])


def torch_additive_slip_scores(s_prev, h, params, activation):
    """Additive scores ``(N, T_x)`` with ``activation`` (``"identity"`` or ``"sigmoid"``) in
    place of the tanh, by torch: what a slip computes (for the checks' hints)."""
    return _additive_scores(t64(s_prev), t64(h), params, activation).numpy()


# Typical slips in the backward pass of dot-product attention, as changes of the torch graph
# that keep every value and alter only the gradients (the trick ``v.detach() + (w - w.detach())``
# has the value of v and the gradient of w). Hints only: expected values come from plain autograd.
DOT_ATTENTION_SLIPS = {
    "no_jacobian": "the softmax's Jacobian is left out (dr = da): every weight depends on every "
                   "score, so the chain rule passes da through the softmax's Jacobian; without "
                   "it even the padded steps get gradient",
    "no_centering": "dr = a * da: only the diagonal of the softmax's Jacobian is used; each weight "
                    "also depends on the scores of the other steps (the entries off the diagonal)",
    "no_weight_path": "only the path through the context is kept (dh = a dc): each h_t is also the "
                      "key of its score, so h_t and s_prev get gradient through the scores as well",
    "no_context_path": "only the path through the scores is kept: each h_t is also a value "
                       "averaged into the context c, so it gets gradient along that path as well",
    "unscaled": "the factor 1/sqrt(H) of the scaled scores is left out of the backward pass",
    "scaled": "the factor 1/sqrt(H) is applied although scaled=False",
}


def dot_attention_grads(dc, s_prev, h, mask=None, scaled=False, slip=None):
    """Gradients ``(ds_prev, dh)`` of ``sum(c * dc)`` for dot-product attention, by torch
    autograd in float64, optionally with one slip of :data:`DOT_ATTENTION_SLIPS` (a key)."""
    import torch

    s, hh = t64(s_prev).requires_grad_(), t64(h).requires_grad_()
    raw = torch.bmm(hh, s.unsqueeze(2)).squeeze(2)  # s . h_t, (N, T_x)
    k_value = 1 / np.sqrt(hh.shape[-1]) if scaled else 1.0
    k_grad = {"unscaled": 1.0, "scaled": 1 / np.sqrt(hh.shape[-1])}.get(slip, k_value)
    r = (raw * k_value).detach() + (raw * k_grad - (raw * k_grad).detach())
    a = torch_masked_softmax(r, mask)
    if slip == "no_jacobian":
        a = a.detach() + (r - r.detach())
    elif slip == "no_centering":
        a = a.detach() * (1 + r - r.detach())
    elif slip == "no_weight_path":
        a = a.detach()
    values = hh.detach() if slip == "no_context_path" else hh
    c = torch.bmm(a.unsqueeze(1), values).squeeze(1)
    (c * t64(dc)).sum().backward()
    return tuple(np.zeros(tuple(v.shape)) if v.grad is None else numpy64(v.grad)
                 for v in (s, hh))


def reference_dot_product_attention_backward(dc, s_prev, h, mask=None, scaled=False):
    """Gradients of ``sum(c * dc)`` with respect to the query and the encoder states for
    (scaled) dot-product attention, by torch autograd in float64 through the computation of
    :func:`reference_attention`.

    Args:
        dc: upstream gradient of the context, shape (N, H).
        s_prev: decoder states (the queries), shape (N, H).
        h: encoder states (keys and values), shape (N, T_x, H).
        mask: optional (N, T_x) booleans, True for real input steps.
        scaled: the scores were divided by sqrt(H).

    Returns:
        ``ds_prev (N, H)``, ``dh (N, T_x, H)``.
    """
    dims: dict[str, int] = {}
    h = validate.array("h", h, ("N", "T_x", "H"), dims)
    s_prev = validate.array("s_prev", s_prev, ("N", "H"), dims)
    dc = validate.array("dc", dc, ("N", "H"), dims)
    if mask is not None:
        mask = validate.array("mask", mask, ("N", "T_x"), dims, dtype=bool)
        if not np.all(mask.any(-1)):
            raise ValueError("mask: every row needs at least one real input step (True)")
    return dot_attention_grads(dc, s_prev, h, mask, scaled)
