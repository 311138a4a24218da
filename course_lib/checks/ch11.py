"""Public checks of lab 11 (attention) and the torch references they compare with (the
encoder–decoder of chapters 10 to 12 lives in :mod:`course_lib.seq2seq`).

Expected values come from torch in float64 (``torch.softmax``, ``masked_fill``, ``bmm``,
``scaled_dot_product_attention``), never from the from-scratch NumPy code students write.
Hidden tests call the same checks with other seeds.
"""

from __future__ import annotations

import numpy as np

from course_lib.checks.core import CheckFailed, compare, public_check

# The encoder–decoder moved to course_lib.seq2seq; re-exported here for lab 11 and its page.
from course_lib.seq2seq import (  # noqa: F401
    BOS,
    EOS,
    PAD,
    SCORES,
    exact_match,
    make_seq2seq,
    strip_eos,
    teacher_forcing_inputs,
    train_seq2seq,
)

# --- torch references of the attention computations (float64) ------------------------------

def _t(x):
    import torch

    return torch.as_tensor(np.asarray(x, dtype=np.float64))


def reference_masked_softmax(scores, mask=None):
    """Softmax over the last axis of ``scores (..., T_x)``, with the entries where ``mask``
    (broadcastable to ``scores``, True = a real input step) is False set to weight 0, computed
    by torch (``masked_fill`` with -inf, then ``torch.softmax``)."""
    import torch

    r = _t(scores)
    if mask is not None:
        m = torch.as_tensor(np.asarray(mask, dtype=bool))
        r = r.masked_fill(~m, float("-inf"))
    return torch.softmax(r, dim=-1).numpy()


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
    s, hh = _t(s_prev), _t(h)
    if score in ("dot", "scaled_dot"):
        r = torch.bmm(hh, s.unsqueeze(2)).squeeze(2)
        if score == "scaled_dot":
            r = r / np.sqrt(hh.shape[-1])
    elif score == "bilinear":
        r = torch.bmm(hh, (s @ _t(params["W_A"])).unsqueeze(2)).squeeze(2)
    else:
        e = torch.tanh((s @ _t(params["W_s"]).T).unsqueeze(1) + hh @ _t(params["W_h"]).T)
        r = e @ _t(params["v"])
    a = torch.as_tensor(reference_masked_softmax(r.numpy(), mask))
    c = torch.bmm(a.unsqueeze(1), hh).squeeze(1)
    return r.numpy(), a.numpy(), c.numpy()


def make_attention_inputs(rng, N=None, T_x=None, H=None, H_s=None, A=None, padded=True):
    """Random float64 inputs for the attention checks: ``s_prev (N, H_s)``, ``h (N, T_x, H)``,
    ``mask (N, T_x)`` (every row keeps at least its first step; some rows are padded when
    ``padded``) and the parameters of every score function."""
    N = N or int(rng.integers(2, 5))
    T_x = T_x or int(rng.integers(3, 8))
    H = H or int(rng.integers(2, 6))
    H_s = H_s or int(rng.integers(2, 6))
    A = A or int(rng.integers(2, 6))
    lengths = rng.integers(1, T_x + 1, size=N) if padded else np.full(N, T_x)
    lengths[0] = T_x  # one full row
    mask = np.arange(T_x)[None, :] < lengths[:, None]
    params = {
        "W_A": rng.normal(0, 0.5, (H_s, H)),
        "W_s": rng.normal(0, 0.5, (A, H_s)),
        "W_h": rng.normal(0, 0.5, (A, H)),
        "v": rng.normal(0, 1.0, A),
    }
    s_prev = rng.normal(size=(N, H_s))
    h = rng.normal(size=(N, T_x, H))
    return s_prev, h, mask, params


# --- checks ----------------------------------------------------------------------------------

def _unpack3(out, what):
    if not isinstance(out, tuple | list) or len(out) != 3:
        raise CheckFailed(f"{what}: return a tuple (r, a, c) of scores, weights and context")
    return out


@public_check("masked_softmax")
def check_masked_softmax(fn, seed: int = 0):
    """``masked_softmax(r, mask) -> a`` against torch, on 2-D and 3-D scores, with large scores
    (numerical stability) and with ``mask=None``."""
    rng = np.random.default_rng(seed)
    N, T_x = int(rng.integers(2, 5)), int(rng.integers(3, 8))
    r = rng.normal(0, 2, size=(N, T_x))
    _, _, mask, _ = make_attention_inputs(rng, N=N, T_x=T_x)
    plain = np.exp(r - r.max(-1, keepdims=True))
    plain /= plain.sum(-1, keepdims=True)
    masked_after = np.where(mask, plain, 0.0)
    compare(f"weights for scores of shape {r.shape} without a mask (mask=None)", fn(r.copy(), None),
            reference_masked_softmax(r), atol=1e-10)
    compare(f"weights for scores of shape {r.shape} with a mask", fn(r.copy(), mask.copy()),
            reference_masked_softmax(r, mask), atol=1e-10, alternatives={
                "the mask is ignored": plain,
                "the padded entries are zeroed after the softmax, without renormalising":
                    masked_after,
                "the mask is inverted (True should mean a real input step)":
                    reference_masked_softmax(r, ~mask) if np.all((~mask).any(-1)) else plain,
                "the padded scores are set to 0 instead of -inf": reference_masked_softmax(
                    np.where(mask, r, 0.0)),
            })
    big = r * 400.0  # exp would overflow without subtracting the maximum
    compare("weights for large scores (up to about 1e3: subtract the row maximum before exp)",
            fn(big.copy(), mask.copy()), reference_masked_softmax(big, mask), atol=1e-10)
    T_y = int(rng.integers(2, 4))
    r3 = rng.normal(size=(N, T_y, T_x))
    compare(f"weights for scores of shape (N, T_y, T_x) = {r3.shape} with a mask of shape "
            f"{mask[:, None, :].shape}", fn(r3.copy(), mask[:, None, :].copy()),
            reference_masked_softmax(r3, mask[:, None, :]), atol=1e-10)


@public_check("dot_product_attention")
def check_dot_product_attention(fn, seed: int = 0):
    """``dot_product_attention(s_prev, h, mask, scaled) -> (r, a, c)`` against torch, and the
    context against ``torch.nn.functional.scaled_dot_product_attention``."""
    import torch

    rng = np.random.default_rng(seed)
    N, T_x, H = (int(v) for v in rng.integers(2, 7, size=3))
    s_prev, h, mask, _ = make_attention_inputs(rng, N=N, T_x=T_x, H=H, H_s=H)
    for scaled in (False, True):
        name = "scaled dot product" if scaled else "dot product"
        r, a, c = _unpack3(fn(s_prev.copy(), h.copy(), mask.copy(), scaled), name)
        r_exp, a_exp, c_exp = reference_attention(s_prev, h, "scaled_dot" if scaled else "dot",
                                                  mask)
        r_other, _, _ = reference_attention(s_prev, h, "dot" if scaled else "scaled_dot", mask)
        compare(f"{name} scores r (N={N}, T_x={T_x}, H={H})", r, r_exp, atol=1e-10, alternatives={
            "the scaling by 1/sqrt(H) is " + ("left out" if scaled else "applied although "
                                              "scaled=False"): r_other,
            "the scores are divided by H instead of sqrt(H)": r_exp * np.sqrt(H) / H,
        })
        a_nomask = reference_masked_softmax(r_exp)
        compare(f"{name} weights a", a, a_exp, atol=1e-10, alternatives={
            "the mask is ignored (padded steps get weight)": a_nomask,
            "the softmax runs over the batch axis instead of the input steps":
                reference_masked_softmax(r_exp.T).T,
        })
        compare(f"{name} context c", c, c_exp, atol=1e-10, alternatives={
            "the context is a plain average of h": h.mean(1),
            "the weights of the unmasked softmax are used": np.einsum("nt,nth->nh", a_nomask, h),
        })
    # the context once more, from torch's own attention kernel (an independent path)
    q = _t(s_prev)[:, None, :]
    sdpa = torch.nn.functional.scaled_dot_product_attention(
        q, _t(h), _t(h), attn_mask=torch.as_tensor(mask)[:, None, :]).squeeze(1).numpy()
    compare("scaled context against torch.nn.functional.scaled_dot_product_attention", c, sdpa,
            atol=1e-10)


@public_check("additive_attention")
def check_additive_attention(fn, seed: int = 0):
    """``additive_attention(s_prev, h, W_s, W_h, v, mask) -> (r, a, c)`` against torch."""
    rng = np.random.default_rng(seed)
    s_prev, h, mask, p = make_attention_inputs(rng)
    N, T_x, H = h.shape
    r, a, c = _unpack3(fn(s_prev.copy(), h.copy(), p["W_s"].copy(), p["W_h"].copy(),
                          p["v"].copy(), mask.copy()), "additive attention")
    r_exp, a_exp, c_exp = reference_attention(s_prev, h, "additive", mask, p)
    lin = (s_prev @ p["W_s"].T)[:, None, :] + h @ p["W_h"].T
    compare(f"additive scores r (N={N}, T_x={T_x}, H={H}, A={p['v'].size})", r, r_exp,
            atol=1e-10, alternatives={
                "the tanh is left out": lin @ p["v"],
                "the decoder state's term W_s s is left out": np.tanh(h @ p["W_h"].T) @ p["v"],
                "a sigmoid is used instead of tanh": (1 / (1 + np.exp(-lin))) @ p["v"],
            })
    compare("additive weights a", a, a_exp, atol=1e-10, alternatives={
        "the mask is ignored (padded steps get weight)": reference_masked_softmax(r_exp)})
    compare("additive context c", c, c_exp, atol=1e-10, alternatives={
        "the context is a plain average of h": h.mean(1)})


@public_check("bilinear_scores")
def check_bilinear_scores(fn, seed: int = 0):
    """``bilinear_scores(s_prev, h, W_A) -> r (N, T_x)`` against torch, with H_s != H so a
    wrong transpose shows."""
    rng = np.random.default_rng(seed)
    H_s = int(rng.integers(2, 5))
    s_prev, h, mask, p = make_attention_inputs(rng, H_s=H_s, H=H_s + 2)
    r = fn(s_prev.copy(), h.copy(), p["W_A"].copy())
    r_exp, _, _ = reference_attention(s_prev, h, "bilinear", mask, p)
    compare(f"bilinear scores r (W_A of shape {p['W_A'].shape})", r, r_exp, atol=1e-10)
