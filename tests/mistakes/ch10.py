"""Lab 10: greedy decoding, the beam step and the teacher-forced loss."""

MISTAKES = [
    # the end token hard-coded as 2 (the lab's EOS) instead of the argument eos
    ("greedy_decode", {"done = done | (y == eos)": "done = done | (y == 2)"},
     "other ids for the start and end tokens"),
    # the -inf candidates are not dropped: a beam wider than the candidates keeps impossible
    # tokens and the empty slots of live hypotheses
    ("beam_search_step", {"    best = best[np.isfinite(key[best])]\n": ""},
     "a beam wider than the candidates"),
    # the end token hard-coded as 2
    ("beam_search_step", {"(tokens == eos)": "(tokens == 2)"}, "another id for the end token"),
    # log-sum-exp without the maximum subtracted: exp(800) overflows
    ("sequence_loss", {"shifted = logits - logits.max(axis=-1, keepdims=True)":
                       "shifted = logits"},
     "large logits"),
]
