"""Lab 4: backpropagation through time, the literal formula and the bias of truncation."""

MISTAKES = [
    # tanh' written from tanh's exponential form: inf / inf = nan once a pre-activation passes 355
    ("rnn_step_backward",
     {"da = dh_t * (1.0 - h_t ** 2)":
      "a = x_t @ U.T + h_prev @ W.T + b_h\n"
      "    da = dh_t * 4 * np.exp(2 * a) / (np.exp(2 * a) + 1) ** 2"},
     "saturated pre-activations"),
    # min-char-rnn's clipping to [-5, 5] moved into the backward pass
    ("rnn_backward",
     {"    return dx, dh_next, dU, dW, db_h":
      "    for g in (dU, dW, db_h):\n"
      "        np.clip(g, -5, 5, out=g)\n"
      "    return dx, dh_next, dU, dW, db_h"},
     "large upstream gradients"),
    # an index drawn for each of two axes: x is a matrix in the public example only
    ("grad_check_sparse",
     {"i = tuple(int(rng.integers(size)) for size in x.shape)":
      "i = (int(rng.integers(x.shape[0])), int(rng.integers(x.shape[1])))"},
     "arrays of other dimensions"),
    # the relative error without its guard: 0 / 0 = nan where both derivatives are 0
    ("grad_check_sparse",
     {"max(abs(analytic[i]) + abs(numeric), 1e-12)": "(abs(analytic[i]) + abs(numeric))"},
     "entries where the gradient is zero"),
    # the forward pass started from zeros instead of h0
    ("literal_dW",
     {"states = [h0]": "states = [np.zeros(H)]"},
     "a sequence that does not start from zero"),
    # W rescaled by its spectral norm, the page's sigma_max, instead of its spectral radius
    ("truncation_bias",
     {"radius = np.max(np.abs(np.linalg.eigvals(W)))": "radius = np.linalg.norm(W, 2)"},
     "a recurrent matrix that is not symmetric"),
]
