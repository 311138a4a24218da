"""Public checks of lab 12 (image captioning with attention); the torch references they compare
with are in :mod:`course_lib.references.ch12`, the captioner in :mod:`course_lib.models.captioning`.

Expected values come from torch in float64 (``flatten``/``transpose``, ``tanh``, ``softmax``,
``bmm``, ``cross_entropy`` with ``ignore_index``, :func:`course_lib.models.captioning.coverage_penalty`),
never from the from-scratch NumPy code students write; the decoder step against
``nn.LSTMCell`` and the captioner's own step with the weights copied in, the penalty's gradients
against torch autograd. Hidden tests call the same checks with other seeds, and with cases of
another kind that the public call does not show (a keyword per check): a batch of one image,
scores of large magnitude, captions of one token, a caption that is all padding, feature
vectors of another size than the state.
"""

from __future__ import annotations

import numpy as np

from course_lib.checks.bridge import t64
from course_lib.checks.core import CheckFailed, call_on_copies, compare, public_check, unpack
from course_lib.models.tokens import PAD
from course_lib.references.ch12 import (
    DECODER_STEP_SLIPS,
    reference_attention_penalty,
    reference_attention_penalty_backward,
    reference_decoder_step,
    reference_feature_grid,
    reference_masked_cross_entropy,
    reference_soft_attention,
    torch_decoder_step_slip,
    torch_penalty_without_square,
    torch_soft_attention_slip,
    torch_token_nll,
)

# --- parameters and inputs of the checks ----------------------------------------------


def make_caption_batch(rng, N=None, T=None, K=None, L=None):
    """Random float64 inputs for the loss checks: ``logits (N, T, K)``, ``targets (N, T)``
    (captions of different lengths padded with 0, each with at least one real token and one
    row without padding) and attention weights ``alpha (N, T, L)`` (softmax over L)."""
    N = N or int(rng.integers(3, 6))
    T = T or int(rng.integers(4, 8))
    K = K or int(rng.integers(5, 9))
    L = L or int(rng.integers(4, 10))
    lengths = rng.integers(1, T, size=N) if T > 1 else np.ones(N, dtype=np.int64)
    lengths[0] = T
    targets = rng.integers(1, K, size=(N, T))  # never PAD inside a caption
    targets[np.arange(T)[None, :] >= lengths[:, None]] = PAD
    logits = rng.normal(0, 2, size=(N, T, K))
    scores = rng.normal(0, 1.5, size=(N, T, L))
    alpha = np.exp(scores) / np.exp(scores).sum(-1, keepdims=True)
    return logits, targets.astype(np.int64), alpha


def _scalar(out, what: str) -> float:
    """The student's result as one float, or :class:`CheckFailed` saying what came back."""
    if out is None:
        raise CheckFailed(f"{what}: your function returned None (a missing `return`?)")
    try:
        arr = np.asarray(out, dtype=np.float64)
    except (TypeError, ValueError):
        raise CheckFailed(f"{what}: expected one number, got {type(out).__name__}") from None
    if arr.size != 1:
        raise CheckFailed(f"{what}: expected one number, got an array of shape {arr.shape} "
                          "(average over the tokens and the batch)")
    return float(arr.reshape(()))


# --- checks ----------------------------------------------------------------------------------------


@public_check("feature_grid")
def check_feature_grid(fn, seed: int = 0, N: int | None = None):
    """``feature_grid(fmap) -> h (N, L, C)`` against torch, on a grid with G_h != G_w. ``N``
    fixes the batch size (``N=1``: one image) instead of drawing it."""
    rng = np.random.default_rng(seed)
    n_drawn, C = int(rng.integers(2, 4)), int(rng.integers(3, 6))
    N = N or n_drawn
    G_h, G_w = int(rng.integers(2, 4)), int(rng.integers(4, 6))
    fmap = rng.normal(size=(N, C, G_h, G_w))
    out = call_on_copies(fn, {"fmap": fmap})
    L = G_h * G_w
    if np.shape(out) == (N, C, L):
        raise CheckFailed(f"shape (N, C, L) = {(N, C, L)}, expected (N, L, C) = {(N, L, C)}: "
                          "the channel axis must come last (one feature vector per location)")
    compare(f"feature grid of a map (N, C, G_h, G_w) = {fmap.shape}", out,
            reference_feature_grid(fmap), atol=1e-12, alternatives={
                "the map is reshaped to (N, L, C) without moving the channel axis first "
                "(the numbers of different channels get mixed)": fmap.reshape(N, L, C),
                "the locations are numbered column by column (l = j * G_h + i) instead of row "
                "by row": fmap.transpose(0, 3, 2, 1).reshape(N, L, C),
            })


@public_check("soft_attention")
def check_soft_attention(fn, seed: int = 0, scale: float = 1.0):
    """``soft_attention(h, s_prev, W_h, W_s, b, v) -> (r, a, c)`` against torch (with D != H,
    so a wrong weight shows), and once more against the course's torch attention module.
    ``scale`` multiplies ``v`` (``scale=1000``: scores in the thousands, where ``exp`` overflows
    unless each row's maximum is subtracted first)."""
    import torch

    rng = np.random.default_rng(seed)
    N, L = int(rng.integers(2, 5)), int(rng.integers(4, 10))
    D, H, A = int(rng.integers(3, 6)), int(rng.integers(6, 9)), int(rng.integers(3, 7))
    h, s_prev = rng.normal(size=(N, L, D)), rng.normal(size=(N, H))
    W_h, W_s = rng.normal(0, 0.6, (A, D)), rng.normal(0, 0.6, (A, H))
    b, v = rng.normal(0, 0.5, A), scale * rng.normal(0, 1.0, A)
    inputs = {"h": h, "s_prev": s_prev, "W_h": W_h, "W_s": W_s, "b": b, "v": v}
    with np.errstate(over="ignore", invalid="ignore"):
        out = call_on_copies(fn, inputs)
    r, a, c = unpack(out, 3, "(r, a, c) of scores, weights and context")
    if scale != 1.0 and np.shape(a) == (N, L) and not np.all(np.isfinite(np.asarray(a, float))):
        raise CheckFailed(f"weights a for scores of large magnitude (up to about "
                          f"{np.abs(reference_soft_attention(h, s_prev, W_h, W_s, b, v)[0]).max():.0f}"
                          "): not finite; subtract each row's largest score before exp")
    r_exp, a_exp, c_exp = reference_soft_attention(h, s_prev, W_h, W_s, b, v)
    # the hints: the reference given zeros for a term, and torch graphs with the slip

    def slip(name):
        return torch_soft_attention_slip(h, s_prev, W_h, W_s, b, v, name)

    compare(f"scores r (N={N}, L={L}, D={D}, H={H}, A={A})", r, r_exp, atol=1e-10,
            alternatives={
                "the tanh is left out": slip("identity"),
                "the decoder state's term W_s s_prev is left out":
                    reference_soft_attention(h, s_prev, W_h, 0 * W_s, b, v)[0],
                "the bias b is left out": reference_soft_attention(h, s_prev, W_h, W_s, 0 * b,
                                                                   v)[0],
                "a sigmoid is used instead of tanh": slip("sigmoid"),
            })
    compare("weights a (softmax of the scores over the L locations)", a, a_exp, atol=1e-10,
            alternatives={
                "the softmax runs over the batch axis (axis 0) instead of the locations":
                    torch.softmax(t64(r_exp), dim=0).numpy(),
                "the scores are divided by their sum instead of taking a softmax":
                    r_exp / r_exp.sum(1, keepdims=True),
                "the softmax is taken over the A hidden units before multiplying by v":
                    slip("softmax_hidden"),
            })
    compare("context c", c, c_exp, atol=1e-10, alternatives={
        "the context is a plain average of the locations": h.mean(1),
        "the context sums the features weighted by the scores r instead of the weights a":
            torch.bmm(t64(r_exp).unsqueeze(1), t64(h)).squeeze(1).numpy(),
    })
    # the same computation by the attention layer of the chapter's captioner (no bias, D = H)
    with torch.random.fork_rng():  # leave the notebook's random state alone
        torch.manual_seed(seed)
        from course_lib.models.attention import Attention

        module = Attention("additive", D, A).double()
    W_s2, W_h2, v2 = (p.detach().numpy() for p in (module.W_s.weight, module.W_h.weight,
                                                    module.v.weight[0]))
    s2 = rng.normal(size=(N, D))
    with torch.no_grad():
        _, a_mod, c_mod = module(t64(s2)[:, None], t64(h), torch.ones(N, L, dtype=torch.bool))
    _, a2, c2 = unpack(fn(h.copy(), s2, W_h2.copy(), W_s2.copy(), np.zeros(A), v2.copy()), 3,
                       "(r, a, c)")
    compare("weights against the captioner's torch attention layer (b = 0)", a2,
            a_mod[:, 0].numpy(), atol=1e-10)
    compare("context against the captioner's torch attention layer (b = 0)", c2,
            c_mod[:, 0].numpy(), atol=1e-10)


@public_check("masked_cross_entropy")
def check_masked_cross_entropy(fn, seed: int = 0, T: int | None = None):
    """``masked_cross_entropy(logits, targets) -> float`` against torch's ``cross_entropy``
    with ``ignore_index=0``, including large logits (a stable log-softmax). ``T`` fixes the
    number of steps (``T=1``: captions of one token)."""
    rng = np.random.default_rng(seed)
    logits, targets, _ = make_caption_batch(rng, T=T)
    N, T, K = logits.shape
    out = call_on_copies(fn, {"logits": logits, "targets": targets})
    expected = reference_masked_cross_entropy(logits, targets)
    nll = torch_token_nll(logits, targets)  # (N, T), padding too, from torch
    real = targets != PAD
    what = (f"masked cross-entropy of logits (N, T, K) = {logits.shape} with "
            f"{int(real.sum())} real tokens of {real.size}")
    compare(what, _scalar(out, what), expected,
            atol=1e-10, alternatives={
                "the padding is not masked (a mean over every position, padding included)":
                    nll.mean(),
                "the sum over the real tokens is divided by all N*T positions":
                    nll[real].sum() / real.size,
                "each caption's mean is taken first, then the mean over captions":
                    np.mean([nll[n][real[n]].mean() for n in range(N)]),
                "the losses of the real tokens are summed, not averaged": nll[real].sum(),
                "the softmax runs over the time axis instead of the vocabulary":
                    torch_token_nll(logits, targets, dim=1)[real].mean(),
            })
    big = logits * 300.0  # exp overflows without subtracting the maximum
    what = ("masked cross-entropy of large logits (up to about 2e3: subtract each row's "
            "maximum before exp, i.e. use log-sum-exp)")
    with np.errstate(all="ignore"):
        out = call_on_copies(fn, {"logits": big, "targets": targets})
    compare(what, _scalar(out, what), reference_masked_cross_entropy(big, targets), atol=1e-8)


@public_check("attention_penalty")
def check_attention_penalty(fn, seed: int = 0, empty_caption: bool = False):
    """``attention_penalty(alpha, targets, lam) -> float`` against
    :func:`course_lib.models.captioning.coverage_penalty` (torch). With ``empty_caption=True``
    one caption of the batch is all padding (it still counts in the mean over the N captions)."""
    rng = np.random.default_rng(seed)
    _, targets, alpha = make_caption_batch(rng)
    if empty_caption:
        targets[-1] = PAD
    lam = float(rng.uniform(0.5, 2.0))
    N, T, L = alpha.shape
    out = call_on_copies(fn, {"alpha": alpha, "targets": targets}, call=lambda f, a, y: f(a, y, lam))
    # the hints: maths on the torch reference (and the reference with no step masked)
    expected = reference_attention_penalty(alpha, targets, lam)
    unmasked = reference_attention_penalty(alpha, np.ones_like(targets), lam)
    what = f"penalty for weights (N, T, L) = {alpha.shape}, lam = {lam:.3f}"
    compare(what, _scalar(out, what), expected,
            atol=1e-10, alternatives={
                "the padding steps are not masked (their weights count in the sum over t)":
                    unmasked,
                # each real step's weights sum to 1 over l: (1 - 1)^2 = 0; a padded one's give 1
                "the sums run over the wrong axis, sum_t (1 - sum_l m a)^2: each step's weights "
                "already sum to 1 over the locations; sum over the steps t for each location":
                    lam * (targets == PAD).sum(1).mean(),
                "the sums run over the wrong axis, sum_t (1 - sum_l a)^2, which is always 0: "
                "each step's weights already sum to 1 over the locations; sum over the steps t "
                "for each location": 0.0,
                "the penalty is summed over the batch, not averaged": N * expected,
                "the penalty is averaged over the locations too, not summed": expected / L,
                "lam is left out": expected / lam,
                "the square is left out": torch_penalty_without_square(alpha, targets, lam),
            })
    compare("penalty with lam = 0", _scalar(fn(alpha.copy(), targets.copy(), 0.0), "lam = 0"),
            0.0, atol=1e-12)


def make_decoder_inputs(rng, D=None):
    """Random float64 inputs of one decoder step: ``y_prev (N,)``, ``state = (s_prev, C_prev)``
    each ``(N, H)``, ``h (N, L, D)`` (``D = H`` unless given, as in the captioner) and the
    parameters ``P`` (see :func:`course_lib.references.ch12.reference_decoder_step`)."""
    N, L = int(rng.integers(2, 5)), int(rng.integers(4, 10))
    H, A, M, K = (int(rng.integers(lo, hi)) for lo, hi in ((3, 6), (3, 6), (2, 5), (5, 12)))
    D = D or H
    P = {"E": rng.normal(0, 1.0, (K, M)), "W_h": rng.normal(0, 0.6, (A, D)),
         "W_s": rng.normal(0, 0.6, (A, H)), "b": rng.normal(0, 0.5, A), "v": rng.normal(0, 1.0, A),
         "W_ih": rng.normal(0, 0.5, (4 * H, M + D)), "W_hh": rng.normal(0, 0.5, (4 * H, H)),
         "b_ih": rng.normal(0, 0.5, 4 * H), "b_hh": rng.normal(0, 0.5, 4 * H),
         "V": rng.normal(0, 0.5, (K, H + D)), "b_y": rng.normal(0, 0.5, K)}
    y_prev = rng.integers(0, K, size=N)
    state = (rng.normal(size=(N, H)), rng.normal(size=(N, H)))
    return y_prev, state, rng.normal(size=(N, L, D)), P


def _run_decoder_step(fn, y_prev, state, h, P):
    """The student's step on copies of everything (``P`` too); ``(logits, (s, C), a)``."""
    P_copy = {k: np.array(v, copy=True) for k, v in P.items()}
    out = call_on_copies(lambda y, s, C, hh: fn(y, (s, C), hh, P_copy),
                         {"y_prev": y_prev, "s_prev": state[0], "C_prev": state[1], "h": h})
    for k, v in P.items():
        if not np.array_equal(P_copy[k], v):
            raise CheckFailed(f"your function changed P[{k!r}] in place")
    logits, new_state, a = unpack(out, 3, "(logits, (s, C), a)")
    s, C = unpack(new_state, 2, "(s, C) as the new state, the second item of (logits, (s, C), a)")
    return logits, s, C, a


def _compare_step(mine, expected, slips, where):
    logits, s, C, _ = mine
    exp_logits, (exp_s, exp_C), _ = expected
    compare(f"new cell C{where}", C, exp_C, atol=1e-10,
            alternatives={hint: out[1][1] for hint, out in slips.items()})
    compare(f"new state s{where}", s, exp_s, atol=1e-10,
            alternatives={hint: out[1][0] for hint, out in slips.items()})
    compare(f"logits{where}", logits, exp_logits, atol=1e-10,
            alternatives={hint: out[0] for hint, out in slips.items()})


@public_check("decoder_step")
def check_decoder_step(fn, seed: int = 0, other_feature_size: bool = False):
    """``decoder_step(y_prev, (s_prev, C_prev), h, P) -> (logits, (s, C), a)`` against torch
    (``nn.LSTMCell`` with the weights of ``P`` copied in), then against one step of the
    course's captioner (:class:`course_lib.models.captioning.Captioner`) with its weights
    copied into ``P``. The features have the state's size (D = H), as in the captioner, unless
    ``other_feature_size`` (then D != H, and only the first comparison runs)."""
    import torch

    rng = np.random.default_rng(seed)
    y_prev, state, h, P = make_decoder_inputs(rng)
    if other_feature_size:  # the same sizes again, but D != H (H >= 3, so D >= 1)
        D = state[0].shape[1] + int(rng.choice([-2, -1, 1, 2, 3]))
        y_prev, state, h, P = make_decoder_inputs(np.random.default_rng(seed), D=D)
    N, L, D = h.shape
    H, K = state[0].shape[1], P["V"].shape[0]
    where = f" (N={N}, L={L}, D={D}, H={H}, K={K})"
    mine = _run_decoder_step(fn, y_prev, state, h, P)
    slips = {hint: torch_decoder_step_slip(y_prev, state, h, P, slip)
             for slip, hint in DECODER_STEP_SLIPS.items()}
    expected = reference_decoder_step(y_prev, state, h, P)
    try:
        compare(f"attention weights a{where}", mine[3], expected[2], atol=1e-10)
    except CheckFailed as exc:
        raise CheckFailed(f"{exc}. Hint: the weights are those of your soft_attention "
                          "(exercise 2) on h and the previous state s_prev") from None
    _compare_step(mine, expected, slips, where)
    if other_feature_size:
        return
    # the same step by the chapter's captioner, its weights copied into P (b = 0: no bias)
    from course_lib.models.captioning import make_captioner

    M = P["E"].shape[1]
    with torch.random.fork_rng():  # leave the notebook's random state alone
        torch.manual_seed(seed)
        model = make_captioner(K, size=8, hidden=H, emb=M, attn_size=P["v"].size,
                               channels=2).double()
    Q = {"E": model.emb.weight, "W_h": model.attn.W_h.weight, "W_s": model.attn.W_s.weight,
         "v": model.attn.v.weight[0], "W_ih": model.cell.weight_ih, "W_hh": model.cell.weight_hh,
         "b_ih": model.cell.bias_ih, "b_hh": model.cell.bias_hh, "V": model.out.weight,
         "b_y": model.out.bias}
    Q = {k: w.detach().numpy().copy() for k, w in Q.items()}
    Q["b"] = np.zeros(P["v"].size)
    with torch.no_grad():
        log_probs, (s_exp, C_exp), a_exp = model.step(
            torch.as_tensor(y_prev), (t64(state[0]), t64(state[1])), t64(h))
    logits, s, C, a = _run_decoder_step(fn, y_prev, state, h, Q)
    where = " against the captioner's own step (its weights copied in)"
    compare(f"attention weights a{where}", a, a_exp.numpy(), atol=1e-10)
    compare(f"new cell C{where}", C, C_exp.numpy(), atol=1e-10)
    compare(f"new state s{where}", s, s_exp.numpy(), atol=1e-10)
    try:
        mine_lp = torch.log_softmax(t64(np.asarray(logits, dtype=np.float64)), -1).numpy()
    except (TypeError, ValueError, RuntimeError):
        mine_lp = logits
    compare(f"log-softmax of your logits{where}", mine_lp, log_probs.numpy(), atol=1e-10)


@public_check("attention_penalty_backward")
def check_attention_penalty_backward(fn, seed: int = 0, scale: float = 1.0):
    """``attention_penalty_backward(r, targets, lam) -> (dalpha, dr)`` against torch autograd
    of :func:`course_lib.models.captioning.coverage_penalty` with ``alpha = softmax(r)`` over
    the locations, on captions of different lengths. ``scale`` multiplies the scores
    (``scale=1000``: a nearly one-hot attention, where ``exp`` overflows unless each row's
    maximum is subtracted first)."""
    import torch

    rng = np.random.default_rng(seed)
    _, targets, _ = make_caption_batch(rng)
    N, T = targets.shape
    L = int(rng.integers(4, 10))
    r = scale * rng.normal(0, 1.5, size=(N, T, L))
    lam = float(rng.uniform(0.5, 2.0))
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        out = call_on_copies(fn, {"r": r, "targets": targets},
                             call=lambda f, a, y: f(a, y, lam))
    dalpha, dr = unpack(out, 2, "(dalpha, dr) of the gradients with respect to the weights and "
                                "the scores")
    da_exp, dr_exp = reference_attention_penalty_backward(r, targets, lam)
    real = (targets != PAD)[..., None]
    da_all_steps = reference_attention_penalty_backward(r, np.ones_like(targets), lam)[0]
    what = (f"dalpha (N, T, L) = {r.shape}, lam = {lam:.3f}"
            + (", scores of large magnitude (subtract each row's maximum before exp)"
               if scale != 1.0 else ""))
    compare(what, dalpha, da_exp, atol=1e-10, alternatives={
        "the padded steps get gradient: a padded step is not in the penalty, so its dalpha is 0":
            np.broadcast_to(da_exp[:, :1], da_exp.shape),
        "the coverage sums the padded steps too (only the real steps count)": da_all_steps * real,
        "the factor 2 of the square's derivative is left out": da_exp / 2,
        "the sign is flipped (more coverage of an under-covered location lowers the penalty)":
            -da_exp,
        "the 1/N of the mean over the batch is left out": N * da_exp,
        "lam is left out": da_exp / lam,
    })
    alpha = torch.softmax(t64(r), dim=-1).numpy()
    compare("dr (through the softmax over the locations)", dr, dr_exp, atol=1e-10,
            alternatives={
                "dr = dalpha: the softmax's Jacobian is left out": da_exp,
                "dr = alpha * dalpha: only the diagonal of the softmax's Jacobian is used; each "
                "weight also depends on the scores of the other locations": alpha * da_exp,
            })
