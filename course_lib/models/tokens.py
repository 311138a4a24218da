"""What the models share without torch: the token ids (``PAD``, ``BOS``, ``EOS``), the names of
the attention scores (``SCORES``) and the NumPy token helpers :func:`teacher_forcing_inputs`,
:func:`strip_eos` and :func:`exact_match`. The checks and references import them from here, so
importing a check does not load torch; :mod:`course_lib.models.seq2seq` re-exports them."""

from __future__ import annotations

import numpy as np

from course_lib import validate

PAD, BOS, EOS = 0, 1, 2
#: the score functions :class:`course_lib.models.attention.Attention` knows
SCORES = ("additive", "dot", "scaled_dot", "bilinear")


def teacher_forcing_inputs(tgt: np.ndarray) -> np.ndarray:
    """Decoder inputs for teacher forcing: ``<s>`` followed by the target shifted right by one.
    ``tgt (N, T_y)`` -> ``(N, T_y)``."""
    tgt = validate.array("tgt", tgt, ("N", "T_y"), dtype=np.int64)
    return np.concatenate([np.full((len(tgt), 1), BOS, dtype=np.int64), tgt[:, :-1]], axis=1)


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
    return np.array(
        [
            strip_eos(p) == strip_eos([t for t in q if t != PAD])
            for p, q in zip(pred, tgt, strict=True)
        ]
    )
