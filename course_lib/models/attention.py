"""Attention over a set of keys and values, as a torch module shared by the encoder-decoder of
chapters 10 and 11 (:mod:`course_lib.models.seq2seq`) and the captioner of chapter 12
(:mod:`course_lib.models.captioning`)."""

from __future__ import annotations

import torch
from torch import nn

from course_lib.models.tokens import SCORES  # noqa: F401  (the names Attention knows)


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
