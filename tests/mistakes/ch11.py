"""Lab 11: attention (masked softmax, dot-product, additive and bilinear scores, the backward
pass)."""

MISTAKES = [
    # the max of a row of -inf is -inf, and -inf - (-inf) = nan: a padded query gets nan weights
    ("masked_softmax",
     {"np.where(np.isfinite(top), top, 0.0)": "top"},
     "a row with no real step"),
    # the batched product squeezed without an axis: at N = 1 the context loses its batch axis
    ("dot_product_attention",
     {'c = np.einsum("nt,nth->nh", a, h)': "c = (a[:, None, :] @ h).squeeze()"},
     "a batch of one sentence"),
    # tanh written as (e^{2x} - 1) / (e^{2x} + 1): inf / inf = nan once a unit exceeds about 355
    ("additive_attention",
     {"np.divide(-2.0, x2, out=x2)": "x2 = (x2 - 2.0) / x2",
      "r = v.sum() + x2 @ v": "r = x2 @ v"},
     "saturated score units"),
    # the batched product squeezed without an axis: with one input step the scores are (N,)
    ("bilinear_scores",
     {'return np.einsum("nh,nth->nt", s_prev @ W_A, h)':
      "return (h @ (s_prev @ W_A)[:, :, None]).squeeze()"},
     "a single input step"),
    # the same squeeze in the backward pass: at N = 1 ds_prev comes back with shape (H,)
    ("dot_product_attention_backward",
     {'ds_prev = np.einsum("nt,nth->nh", dr, h)': "ds_prev = (dr[:, None, :] @ h).squeeze()"},
     "a batch of one sentence"),
]
