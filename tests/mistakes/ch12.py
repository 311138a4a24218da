"""Lab 12: image captioning (feature grid, soft attention, the masked loss, the penalty and its
gradients, one decoder step)."""

MISTAKES = [
    # a squeeze "to tidy up the shape": with one image the batch axis goes too
    ("feature_grid",
     {"return fmap.reshape(N, C, -1).transpose(0, 2, 1)":
      "return fmap.reshape(N, C, -1).transpose(0, 2, 1).squeeze()"},
     "a batch of one image"),
    # the softmax without its maximum subtracted: exp overflows for scores in the hundreds
    ("soft_attention",
     {"a = np.exp(r - r.max(axis=1, keepdims=True))": "a = np.exp(r)"},
     "scores of large magnitude"),
    # squeeze() after take_along_axis: with captions of one token the time axis goes too
    ("masked_cross_entropy",
     {"nll = -np.take_along_axis(log_p, targets[..., None], axis=-1)[..., 0]":
      "nll = -np.take_along_axis(log_p, targets[..., None], axis=-1).squeeze()"},
     "captions of one token"),
    # the mean over the captions that hold a real step, instead of over all N
    ("attention_penalty",
     {"return float(lam * ((1 - coverage) ** 2).sum(axis=1).mean())":
      "return float(lam * ((1 - coverage) ** 2).sum(axis=1)[real.any(axis=1)[:, 0]].mean())"},
     "a caption that is all padding"),
    # the weights from an unstable softmax: inf / inf = nan for large scores
    ("attention_penalty_backward",
     {"e = np.exp(r - r.max(axis=-1, keepdims=True))": "e = np.exp(r)"},
     "scores of large magnitude"),
    # H read from the features (the chapter writes h as (N, L, H)): right only when D = H
    ("decoder_step",
     {"H = s_prev.shape[1]": "H = h.shape[2]"},
     "feature vectors of another size than the state"),
]
