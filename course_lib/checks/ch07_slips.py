"""Typical slips of lab 7's GRU, in torch ops: the hidden states and gradients a common mistake
produces, so that a check can name the mistake. Hints only: expected values come from torch's
layers in :mod:`course_lib.references.ch07`."""

from __future__ import annotations

from course_lib.checks.bridge import numpy64, t64

FORWARD_SLIPS = {
    "cho": "the reset gate multiplies h_prev before the product with W_n (that is Cho et al.'s "
           "GRU; torch applies r to (h_prev @ W_n.T + b_hn))",
    "bias_outside": "the bias b_hn is added outside the reset product (torch: "
                    "r * (h_prev @ W_n.T + b_hn))",
    "z_swapped": "z weights the candidate instead of the old state (the decks' convention; torch "
                 "uses h = (1 - z) * n + z * h_prev)",
    "no_reset": "the candidate is computed without the reset gate (the r * inside n is missing)",
}


BACKWARD_SLIPS = {
    "no_dh_next": "each step receives only its own dh[:, t]: add the gradient dh_next that comes "
                  "back from step t + 1 before using it",
    "no_r_in_dah": "the gradient of the recurrent part of the candidate, W_n h_prev + b_hn, lacks "
                   "the factor r (it enters the candidate as r * (...))",
    "dz_sign": "dz has the wrong sign: with h = (1 - z) * n + z * h_prev, dL/dz = dh * "
               "(h_prev - n)",
    "no_direct_path": "dh_prev misses the direct path dh * z (h_prev also enters h through "
                      "z * h_prev, not only through the gates and the candidate)",
}


def torch_gru_steps(x, h0, U, W, b_x, b_h, slip=None):
    """A GRU over ``x`` (N, T, D) in torch ops with autograd, optionally with one slip.

    The forward slips (keys of ``FORWARD_SLIPS``) change the values. The backward slips (keys
    of ``BACKWARD_SLIPS``) keep the values and change only the gradients, with the trick
    ``v.detach() + (w - w.detach())``: the value of ``v``, the gradient of ``w``. Returns the six
    leaf tensors ``(x, h0, U, W, b_x, b_h)`` and the list of the T states, which keep their
    gradients (``retain_grad``).
    """
    import torch

    leaves = [t64(a, grad=True) for a in (x, h0, U, W, b_x, b_h)]
    tx, h, tU, tW, tbx, tbh = leaves
    H = h.shape[1]
    a_x = tx @ tU.T + tbx
    states = []
    for t in range(tx.shape[1]):
        h_in = h.detach() if slip == "no_dh_next" and t > 0 else h
        a_h = h_in @ tW.T + tbh
        r = torch.sigmoid(a_x[:, t, :H] + a_h[:, :H])
        z = torch.sigmoid(a_x[:, t, H:2 * H] + a_h[:, H:2 * H])
        ax_n, ah_n = a_x[:, t, 2 * H:], a_h[:, 2 * H:]
        if slip == "cho":
            pre = ax_n + (r * h_in) @ tW[2 * H:].T + tbh[2 * H:]
        elif slip == "bias_outside":
            pre = ax_n + tbh[2 * H:] + r * (h_in @ tW[2 * H:].T)
        elif slip == "no_reset":
            pre = ax_n + ah_n
        elif slip == "no_r_in_dah":
            pre = ax_n + r * ah_n.detach() + (ah_n - ah_n.detach())
        else:
            pre = ax_n + r * ah_n
        n = torch.tanh(pre)
        if slip == "dz_sign":
            z = 2 * z.detach() - z
        keep = h_in.detach() if slip == "no_direct_path" else h_in
        h = z * n + (1 - z) * keep if slip == "z_swapped" else (1 - z) * n + z * keep
        if h.requires_grad:
            h.retain_grad()
        states.append(h)
    return leaves, states


def slip_values(x, h0, U, W, b_x, b_h):
    """hint -> the hidden states (N, T, H) that each forward slip produces."""
    import torch

    with torch.no_grad():
        return {hint: torch.stack(torch_gru_steps(x, h0, U, W, b_x, b_h, slip)[1], 1).numpy()
                for slip, hint in FORWARD_SLIPS.items()}


def slip_gradients(x, h0, U, W, b_x, b_h, dh):
    """hint -> the six gradients ``(dx, dh0, dU, dW, db_x, db_h)`` of ``sum(h * dh)`` that each
    backward slip produces, plus the hint for a ``dh0`` that is the gradient of the first state
    h^(1) instead of h0."""
    out = {}
    for slip, hint in (*BACKWARD_SLIPS.items(), (None, None)):
        leaves, states = torch_gru_steps(x, h0, U, W, b_x, b_h, slip)
        sum((s * t64(dh[:, t])).sum() for t, s in enumerate(states)).backward()
        grads = [numpy64(v.grad) for v in leaves]
        if slip is None:
            first = numpy64(states[0].grad)
            continue
        out[hint] = grads
    return out, first
