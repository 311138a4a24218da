"""References of lab 12: what its public checks compare with and what the lab falls back on when an
exercise is unfinished (``use_or_reference``). Built on the feature grid, additive attention,
masked cross-entropy, the attention penalty, the decoder step (``nn.LSTMCell`` with the weights
copied in) and autograd of the penalty, in torch float64; none of them spells out the
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


# --- the decoder step and the penalty's gradients (exercises 5 and 6) -----------------------

# The usual slips of a decoder step, as changes of the torch computation (for the checks' hints).
DECODER_STEP_SLIPS = {
    "gate_order": "the gates are read in the wrong order: torch's LSTMCell stacks the rows of "
                  "W_ih, W_hh, b_ih and b_hh as input, forget, candidate (g), output",
    "no_context_input": "the context c is left out of the LSTM's input: it reads [E y_prev; c]",
    "no_cell": "the previous cell C_prev is ignored (the cell starts from zero)",
    "one_bias": "only one of the two biases b_ih and b_hh is added to the gates",
    "state_only": "the output reads only the new state s: it reads [s; c]",
}


def _torch_decoder_step(y_prev, state, h, P, slip=None):
    """One step of the captioner's decoder in torch float64 (``nn.LSTMCell`` with the weights of
    ``P`` copied in), optionally with one slip of :data:`DECODER_STEP_SLIPS` (a key)."""
    import torch

    s_prev, C_prev = (t64(x) for x in state)
    H, D, M = s_prev.shape[1], np.shape(h)[2], np.shape(P["E"])[1]
    _, a, c = (torch.as_tensor(x) for x in reference_soft_attention(
        h, state[0], P["W_h"], P["W_s"], P["b"], P["v"]))
    tokens = torch.as_tensor(np.asarray(y_prev, dtype=np.int64))
    x = torch.cat([torch.nn.functional.embedding(tokens, t64(P["E"])),
                   torch.zeros_like(c) if slip == "no_context_input" else c], 1)
    order = [0, 1, 3, 2] if slip == "gate_order" else [0, 1, 2, 3]

    def rows(name):  # the weights' four gate blocks, in the order the slip reads them
        w = t64(P[name])
        return torch.cat([w[k * H:(k + 1) * H] for k in order])

    with torch.random.fork_rng():  # the cell's initialisation leaves the caller's RNG alone
        cell = torch.nn.LSTMCell(M + D, H).double()
    with torch.no_grad():
        cell.weight_ih.copy_(rows("W_ih"))
        cell.weight_hh.copy_(rows("W_hh"))
        cell.bias_ih.copy_(rows("b_ih"))
        cell.bias_hh.copy_(0 * rows("b_hh") if slip == "one_bias" else rows("b_hh"))
        s, C = cell(x, (s_prev, torch.zeros_like(C_prev) if slip == "no_cell" else C_prev))
        V = t64(P["V"])
        out = torch.cat([s, torch.zeros_like(c) if slip == "state_only" else c], 1)
        logits = torch.nn.functional.linear(out, V, t64(P["b_y"]))
    return logits.numpy(), (s.numpy(), C.numpy()), a.numpy()


def reference_decoder_step(y_prev, state, h, P):
    """One word of the captioner's decoder, by torch in float64: soft attention over ``h`` with
    the previous state, ``nn.LSTMCell`` (the weights of ``P`` copied in) on the embedding of
    ``y_prev`` and the context, and the output layer on ``[s; c]``.

    Args:
        y_prev: previous tokens, shape (N,), int.
        state: ``(s_prev, C_prev)``, each (N, H).
        h: feature vectors, shape (N, L, D).
        P: ``E (K, M)``; attention ``W_h (A, D)``, ``W_s (A, H)``, ``b (A,)``, ``v (A,)``;
            LSTM ``W_ih (4H, M + D)``, ``W_hh (4H, H)``, ``b_ih (4H,)``, ``b_hh (4H,)`` (gate
            rows in torch's order i, f, g, o); output ``V (K, H + D)``, ``b_y (K,)``.

    Returns:
        ``(logits (N, K), (s (N, H), C (N, H)), a (N, L))``.
    """
    return _torch_decoder_step(y_prev, state, h, P)


def torch_decoder_step_slip(y_prev, state, h, P, slip):
    """What a slip of the decoder step computes (a key of :data:`DECODER_STEP_SLIPS`), by
    torch: ``(logits, (s, C), a)`` (for the checks' hints)."""
    if slip not in DECODER_STEP_SLIPS:
        raise ValueError(f"slip: expected one of {sorted(DECODER_STEP_SLIPS)}, got {slip!r}")
    return _torch_decoder_step(y_prev, state, h, P, slip)


def reference_attention_penalty_backward(r, targets, lam):
    """Gradients of the attention penalty ``lam * mean_n sum_l (1 - sum_t m_nt a[n, t, l])**2``
    with ``a = softmax(r)`` over the locations, by torch autograd in float64 through
    :func:`course_lib.models.captioning.coverage_penalty`: ``(dalpha, dr)``, each of the shape
    ``(N, T, L)`` of the scores ``r``."""
    import torch

    from course_lib.models.captioning import coverage_penalty

    scores = t64(r).requires_grad_()
    alpha = torch.softmax(scores, dim=-1)
    alpha.retain_grad()
    coverage_penalty(alpha, np.asarray(targets), lam).backward()
    return alpha.grad.numpy(), scores.grad.numpy()

