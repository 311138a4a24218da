"""Public checks of lab 11 (attention), the torch references they compare with, and the small
torch encoder–decoder (with or without attention) used by chapters 10 to 12.

Expected values come from torch in float64 (``torch.softmax``, ``masked_fill``, ``bmm``,
``scaled_dot_product_attention``), never from the from-scratch NumPy code students write.
Hidden tests call the same checks with other seeds.
"""

from __future__ import annotations

import numpy as np

from course_lib import validate
from course_lib.checks.core import CheckFailed, compare, public_check

SCORES = ("additive", "dot", "scaled_dot", "bilinear")
PAD, BOS, EOS = 0, 1, 2


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


# --- the encoder–decoder of chapters 10-12 (torch) ---------------------------------------------

def _torch_attention_module():
    import torch
    from torch import nn

    class Attention(nn.Module):
        """Score, masked softmax and context for a batch of queries ``s (N, H)`` over keys and
        values ``h (N, T_x, H)``; ``mask (N, T_x)`` True for real steps."""

        def __init__(self, kind: str, hidden: int, attn_size: int):
            super().__init__()
            self.kind = kind
            if kind == "additive":
                self.W_s = nn.Linear(hidden, attn_size, bias=False)
                self.W_h = nn.Linear(hidden, attn_size, bias=False)
                self.v = nn.Linear(attn_size, 1, bias=False)
            elif kind == "bilinear":
                self.W_A = nn.Linear(hidden, hidden, bias=False)  # W_A h, then s . (W_A h)

        def forward(self, s, h, mask):
            """``s (N, T_y, H)`` queries, ``h (N, T_x, H)``, ``mask (N, T_x)`` ->
            scores and weights ``(N, T_y, T_x)``, contexts ``(N, T_y, H)``."""
            if self.kind == "additive":
                e = torch.tanh(self.W_s(s).unsqueeze(2) + self.W_h(h).unsqueeze(1))
                r = self.v(e).squeeze(3)
            elif self.kind == "bilinear":
                r = torch.bmm(s, self.W_A(h).transpose(1, 2))
            else:
                r = torch.bmm(s, h.transpose(1, 2))
                if self.kind == "scaled_dot":
                    r = r / h.shape[-1] ** 0.5
            a = torch.softmax(r.masked_fill(~mask.unsqueeze(1), float("-inf")), dim=-1)
            return r, a, torch.bmm(a, h)

    return Attention


def make_seq2seq(n_src: int, n_tgt: int, hidden: int = 64, emb: int = 32,
                 attention: str | None = "additive", attn_size: int = 64,
                 bidirectional: bool = True):
    """A GRU encoder–decoder for token sequences, with or without attention (a torch module).

    Encoder: embedding and ``nn.GRU`` over the source ``src (N, T_x)`` (0 = padding) giving
    ``h (N, T_x, H)``; bidirectional by default (H/2 units each way, concatenated, padding
    skipped with a packed sequence). Decoder: a ``nn.GRU`` whose state ``s`` starts at the
    encoder's final states (forward at the last real step, backward at the first) and reads the
    embedding of the previous token; with attention, the context ``c^(t)`` is computed from the
    query ``s^(t-1)`` and the output layer reads ``[s^(t); c^(t)]`` (the context feeds the output,
    as in Luong et al. 2015, not the recurrence, so teacher forcing runs all steps at once). Without attention (``attention=None``) the decoder sees the source only
    through its initial state: the fixed-vector bottleneck.

    Methods: ``forward(src, tgt_in) -> logits (N, T_y, K)`` with teacher forcing;
    ``encode(src) -> (h, mask, s0)``; ``step(y_prev, s, h, mask) -> (log_probs (N, K), s,
    a (N, T_x) or None)``; ``greedy(src, max_len) -> (tokens (N, T_y), weights (N, T_y, T_x))``.
    """
    import torch
    from torch import nn

    if attention is not None and attention not in SCORES:
        raise ValueError(f"attention: expected None or one of {SCORES}, got {attention!r}")
    Attention = _torch_attention_module()

    class Seq2Seq(nn.Module):
        def __init__(self):
            super().__init__()
            self.attention_kind = attention
            self.src_emb = nn.Embedding(n_src, emb, padding_idx=PAD)
            self.tgt_emb = nn.Embedding(n_tgt, emb, padding_idx=PAD)
            if bidirectional and hidden % 2:
                raise ValueError(f"hidden: expected an even size for a bidirectional encoder, "
                                 f"got {hidden}")
            self.encoder = nn.GRU(emb, hidden // 2 if bidirectional else hidden,
                                  batch_first=True, bidirectional=bidirectional)
            self.decoder = nn.GRU(emb, hidden, batch_first=True)
            self.attn = Attention(attention, hidden, attn_size) if attention else None
            self.out = nn.Linear(2 * hidden if attention else hidden, n_tgt)

        def encode(self, src):
            src = torch.as_tensor(src)
            mask = src != PAD
            lengths = mask.sum(1)
            packed = nn.utils.rnn.pack_padded_sequence(self.src_emb(src), lengths,
                                                       batch_first=True, enforce_sorted=False)
            h, last = self.encoder(packed)
            h, _ = nn.utils.rnn.pad_packed_sequence(h, batch_first=True,
                                                    total_length=src.shape[1])
            s0 = torch.cat(list(last), 1)  # (N, H): the final state of each direction
            return h, mask, s0

        def _readout(self, s_prev, s_new, h, mask):
            """Output log-probabilities from s^(t) and, with attention, the context computed
            from s^(t-1); the arrays carry a time axis: (N, T, H)."""
            if self.attn is None:
                return torch.log_softmax(self.out(s_new), -1), None
            _, a, c = self.attn(s_prev, h, mask)
            return torch.log_softmax(self.out(torch.cat([s_new, c], -1)), -1), a

        def step(self, y_prev, s, h, mask):
            """One output step: ``y_prev (N,)``, ``s = s^(t-1) (N, H)`` -> log-probabilities
            ``(N, K)``, ``s^(t)`` and the attention weights ``(N, T_x)`` (None without)."""
            y_prev = torch.as_tensor(y_prev)
            out, _ = self.decoder(self.tgt_emb(y_prev).unsqueeze(1), s.unsqueeze(0))
            lp, a = self._readout(s.unsqueeze(1), out, h, mask)
            return lp[:, 0], out[:, 0], (a[:, 0] if a is not None else None)

        def forward(self, src, tgt_in, return_weights=False):
            """Teacher forcing: ``src (N, T_x)``, ``tgt_in (N, T_y)`` -> log-probabilities
            ``(N, T_y, K)`` (and the weights ``(N, T_y, T_x)``). The decoder's recurrence does
            not read the context, so all steps run at once."""
            h, mask, s0 = self.encode(src)
            states, _ = self.decoder(self.tgt_emb(torch.as_tensor(tgt_in)), s0.unsqueeze(0))
            s_prev = torch.cat([s0.unsqueeze(1), states[:, :-1]], 1)
            lp, a = self._readout(s_prev, states, h, mask)
            return (lp, a) if return_weights else lp

        @torch.no_grad()
        def greedy(self, src, max_len: int):
            """Greedy decoding: ``tokens (N, max_len)`` and weights ``(N, max_len, T_x)``
            (zeros without attention)."""
            self.eval()
            h, mask, s = self.encode(src)
            y = torch.full((len(h),), BOS, dtype=torch.long)
            toks, weights = [], []
            for _ in range(max_len):
                lp, s, a = self.step(y, s, h, mask)
                y = lp.argmax(1)
                toks.append(y)
                weights.append(a if a is not None else torch.zeros(mask.shape))
            return torch.stack(toks, 1).numpy(), torch.stack(weights, 1).numpy()

    return Seq2Seq()


def teacher_forcing_inputs(tgt: np.ndarray) -> np.ndarray:
    """Decoder inputs for teacher forcing: ``<s>`` followed by the target shifted right by one.
    ``tgt (N, T_y)`` -> ``(N, T_y)``."""
    tgt = validate.array("tgt", tgt, ("N", "T_y"), dtype=np.int64)
    return np.concatenate([np.full((len(tgt), 1), BOS, dtype=np.int64), tgt[:, :-1]], axis=1)


def train_seq2seq(model, src, tgt, epochs: int, batch_size: int = 64, lr: float = 3e-3,
                  seed: int = 0, desc: str = "training", evaluate=None):
    """Train ``model`` with teacher forcing and Adam (cross-entropy over the real target tokens,
    padding ignored, gradient norm clipped at 1) using :func:`course_lib.train.fit`.
    Returns the history."""
    import torch

    from course_lib import train

    rng = np.random.default_rng(seed)
    tgt_in = teacher_forcing_inputs(tgt)
    opt = torch.optim.Adam(model.parameters(), lr=lr)

    def step(batch):
        s, ti, to = (torch.as_tensor(b) for b in batch)
        keep = int((s != PAD).sum(1).max())  # trim padding columns shared by the batch
        keep_t = int((to != PAD).sum(1).max())
        model.train()
        opt.zero_grad()
        logp = model(s[:, :keep], ti[:, :keep_t])
        loss = torch.nn.functional.nll_loss(logp.reshape(-1, logp.shape[-1]),
                                            to[:, :keep_t].reshape(-1), ignore_index=PAD)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.item()

    return train.fit(step, lambda epoch: train.minibatches((src, tgt_in, tgt), batch_size, rng),
                     epochs=epochs, evaluate=evaluate, desc=desc)


def strip_eos(tokens) -> list[int]:
    """The tokens before the first ``</s>`` (or all of them), as a list of ints."""
    out = []
    for tok in tokens:
        if int(tok) == EOS:
            break
        out.append(int(tok))
    return out


def exact_match(pred: np.ndarray, tgt: np.ndarray) -> np.ndarray:
    """Per sentence, True when the prediction up to its first ``</s>`` equals the target's words.
    ``pred (N, T)``, ``tgt (N, T_y)`` -> ``(N,)`` booleans."""
    return np.array([strip_eos(p) == strip_eos([t for t in q if t != PAD])
                     for p, q in zip(pred, tgt, strict=True)])
