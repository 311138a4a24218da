"""A tagging task that needs the past and the future (chapter 8's lab): random bits, and at
each step the exclusive or of the bits just before and just after it.

Not re-exported by :mod:`course_lib.data` (import it from here): it is lab 8's own module.
"""

from __future__ import annotations

import numpy as np

from course_lib import validate


def past_future_xor(n: int, T: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` sequences of ``T`` random bits ``x(1..T)`` (each 0 or 1 with probability 1/2),
    tagged at every step with ``y(t) = x(t-1) XOR x(t+1)``, where ``x(0) = x(T+1) = 0``.

    The tag at step ``t < T`` depends on the input one step *after* ``t``: a network that reads
    only forwards is right half of the time there (the unseen bit is a fair coin), and only
    the last step, whose next bit is the padding, can be tagged from the past alone. It also
    depends on the step *before*, so a backward reader alone is no better.

    Returns:
        ``x (n, T, 1)`` float32 (the bits, one input per step) and ``y (n, T)`` int64 tags in
        {0, 1}.
    """
    n = validate.positive("n", n, integer=True)
    T = validate.positive("T", T, integer=True)
    if T < 2:
        raise ValueError(f"T: expected at least 2 steps (a step before and after), got {T}")
    bits = np.random.default_rng(seed).integers(0, 2, size=(n, T))
    padded = np.pad(bits, ((0, 0), (1, 1)))
    tags = (padded[:, :-2] ^ padded[:, 2:]).astype(np.int64)
    return bits[..., None].astype(np.float32), tags
