"""Public checks of lab 11 (attention); the torch references they compare with are in
:mod:`course_lib.references.ch11`, the encoder–decoder in :mod:`course_lib.models.seq2seq`.

Expected values come from torch in float64 (``torch.softmax``, ``masked_fill``, ``bmm``,
``scaled_dot_product_attention``), never from the from-scratch NumPy code students write.
Hidden tests call the same checks with other seeds, and with cases of another kind that the
public call does not show (a keyword per check): a row with no real step, a batch of one
sentence, saturated score units, a single input step.
"""

from __future__ import annotations

import numpy as np

from course_lib.checks.bridge import t64
from course_lib.checks.core import CheckFailed, call_on_copies, compare, public_check, unpack
from course_lib.references.ch11 import (
    DOT_ATTENTION_SLIPS,
    dot_attention_grads,
    reference_attention,
    reference_dot_product_attention_backward,
    reference_masked_softmax,
    torch_additive_slip_scores,
)

# --- parameters and inputs of the checks ----------------------------------------------


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


def _softmax_or_zeros(r, mask):
    """torch's masked softmax on the rows with a real step; weight 0 everywhere on a row
    without one (by definition: there is nothing to attend to)."""
    empty = ~np.broadcast_to(mask, np.shape(r)).any(-1)
    safe = np.array(np.broadcast_to(mask, np.shape(r)))
    safe[empty] = True  # any finite row: its weights are replaced by 0 below
    return np.where(empty[..., None], 0.0, reference_masked_softmax(r, safe))


@public_check("masked_softmax")
def check_masked_softmax(fn, seed: int = 0, empty_row: bool = False):
    """``masked_softmax(r, mask) -> a`` against torch, on 2-D and 3-D scores, with large scores
    (numerical stability) and with ``mask=None``. With ``empty_row=True`` one row of the mask
    has no real step at all, whose weights must all be 0 (not nan)."""
    rng = np.random.default_rng(seed)
    N, T_x = int(rng.integers(2, 5)), int(rng.integers(3, 8))
    r = rng.normal(0, 2, size=(N, T_x))
    _, _, mask, _ = make_attention_inputs(rng, N=N, T_x=T_x)
    if empty_row:
        _check_empty_row(fn, r, mask, rng)
        return
    plain = reference_masked_softmax(r)  # the hints: torch's softmax without the mask
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


def _check_empty_row(fn, r, mask, rng):
    """The hidden case of :func:`check_masked_softmax`: a row (of 2-D and of 3-D scores) whose
    mask holds no real step."""
    mask = mask.copy()
    mask[int(rng.integers(1, len(mask)))] = False  # a padded query: no step to attend to
    hint = ("a row with no real step gives nan (every score is -inf, and -inf - (-inf) is nan): "
            "give such a row weight 0 everywhere")
    for scores, m in ((r, mask), (np.stack([r, r[::-1]], 1), mask[:, None, :])):
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            out = fn(scores.copy(), m.copy())
        what = f"weights for scores of shape {scores.shape} with a row that has no real step"
        if np.shape(out) == scores.shape and np.isnan(np.asarray(out, dtype=np.float64)).any():
            raise CheckFailed(f"{what}: {hint}")
        compare(what, out, _softmax_or_zeros(scores, m), atol=1e-10)


@public_check("dot_product_attention")
def check_dot_product_attention(fn, seed: int = 0, N: int | None = None):
    """``dot_product_attention(s_prev, h, mask, scaled) -> (r, a, c)`` against torch, and the
    context against ``torch.nn.functional.scaled_dot_product_attention``. ``N`` fixes the batch
    size (``N=1``: one sentence) instead of drawing it."""
    import torch

    rng = np.random.default_rng(seed)
    n_drawn, T_x, H = (int(v) for v in rng.integers(2, 7, size=3))
    N = N or n_drawn
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
            "the weights of the unmasked softmax are used": reference_attention(
                s_prev, h, "scaled_dot" if scaled else "dot")[2],
        })
    # the context once more, from torch's own attention kernel (an independent path)
    q = t64(s_prev)[:, None, :]
    sdpa = torch.nn.functional.scaled_dot_product_attention(
        q, t64(h), t64(h), attn_mask=torch.as_tensor(mask)[:, None, :]).squeeze(1).numpy()
    compare("scaled context against torch.nn.functional.scaled_dot_product_attention", c, sdpa,
            atol=1e-10)


@public_check("additive_attention")
def check_additive_attention(fn, seed: int = 0, scale: float = 1.0):
    """``additive_attention(s_prev, h, W_s, W_h, v, mask) -> (r, a, c)`` against torch.
    ``scale`` multiplies ``W_s`` and ``W_h`` (``scale=1000``: the score units' pre-activations
    reach thousands, where the tanh saturates at +-1)."""
    rng = np.random.default_rng(seed)
    s_prev, h, mask, p = make_attention_inputs(rng)
    p = {**p, "W_s": scale * p["W_s"], "W_h": scale * p["W_h"]}
    N, T_x, H = h.shape
    r, a, c = _unpack3(fn(s_prev.copy(), h.copy(), p["W_s"].copy(), p["W_h"].copy(),
                          p["v"].copy(), mask.copy()), "additive attention")
    r_exp, a_exp, c_exp = reference_attention(s_prev, h, "additive", mask, p)
    no_state = reference_attention(s_prev, h, "additive", mask,
                                   {**p, "W_s": np.zeros_like(p["W_s"])})[0]
    compare(f"additive scores r (N={N}, T_x={T_x}, H={H}, A={p['v'].size})", r, r_exp,
            atol=1e-10, alternatives={
                "the tanh is left out": torch_additive_slip_scores(s_prev, h, p, "identity"),
                "the decoder state's term W_s s is left out": no_state,
                "a sigmoid is used instead of tanh":
                    torch_additive_slip_scores(s_prev, h, p, "sigmoid"),
            })
    compare("additive weights a", a, a_exp, atol=1e-10, alternatives={
        "the mask is ignored (padded steps get weight)": reference_masked_softmax(r_exp)})
    compare("additive context c", c, c_exp, atol=1e-10, alternatives={
        "the context is a plain average of h": h.mean(1)})


@public_check("bilinear_scores")
def check_bilinear_scores(fn, seed: int = 0, T_x: int | None = None):
    """``bilinear_scores(s_prev, h, W_A) -> r (N, T_x)`` against torch, with H_s != H so a
    wrong transpose shows. ``T_x`` fixes the number of input steps (``T_x=1``: one step)."""
    rng = np.random.default_rng(seed)
    H_s = int(rng.integers(2, 5))
    s_prev, h, mask, p = make_attention_inputs(rng, H_s=H_s, H=H_s + 2, T_x=T_x)
    r = fn(s_prev.copy(), h.copy(), p["W_A"].copy())
    r_exp, _, _ = reference_attention(s_prev, h, "bilinear", mask, p)
    compare(f"bilinear scores r (W_A of shape {p['W_A'].shape})", r, r_exp, atol=1e-10)


@public_check("dot_product_attention_backward")
def check_dot_product_attention_backward(fn, seed: int = 0, N: int | None = None):
    """``dot_product_attention_backward(dc, s_prev, h, a, scaled) -> (ds_prev, dh)`` against
    torch autograd, unscaled and scaled, with padded rows (``a`` = 0 at the padded steps).
    ``N`` fixes the batch size (``N=1``: one sentence)."""
    rng = np.random.default_rng(seed)
    n_drawn, T_x, H = (int(v) for v in rng.integers(2, 7, size=3))
    N = N or n_drawn
    s_prev, h, mask, _ = make_attention_inputs(rng, N=N, T_x=T_x, H=H, H_s=H)
    mask[-1, -1] = False  # at least one padded step
    dc = rng.normal(size=(N, H))
    for scaled in (False, True):
        name = "scaled dot product" if scaled else "dot product"
        _, a, _ = reference_attention(s_prev, h, "scaled_dot" if scaled else "dot", mask)
        out = call_on_copies(lambda *args, sc=scaled: fn(*args, sc),
                             {"dc": dc, "s_prev": s_prev, "h": h, "a": a})
        ds, dh = unpack(out, 2, f"(ds_prev, dh) for the {name}")
        ds_exp, dh_exp = reference_dot_product_attention_backward(dc, s_prev, h, mask, scaled)
        slips = {hint: dot_attention_grads(dc, s_prev, h, mask, scaled, slip)
                 for slip, hint in DOT_ATTENTION_SLIPS.items()
                 if slip != ("scaled" if scaled else "unscaled")}
        shape = f" (N={N}, T_x={T_x}, H={H})"
        compare(f"{name} ds_prev{shape}", ds, ds_exp, atol=1e-10, alternatives={
            "ds_prev is zero: s_prev enters every score, so each score sends it gradient":
                np.zeros_like(ds_exp), **{hint: g[0] for hint, g in slips.items()}})
        try:
            compare(f"{name} dh{shape}", dh, dh_exp, atol=1e-10,
                    alternatives={hint: g[1] for hint, g in slips.items()})
        except CheckFailed as exc:
            msg = str(exc)
            if "Hint" not in msg and np.shape(dh) == dh_exp.shape and np.any(
                    np.abs(np.asarray(dh, dtype=np.float64)[~mask]) > 1e-10):
                msg += (". Hint: dh is not zero at the padded steps (mask False); a_t = 0 there, "
                        "so neither the context nor the scores send them gradient")
            raise CheckFailed(msg) from None
