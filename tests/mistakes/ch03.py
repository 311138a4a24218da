"""Lab 3: the forward pass and the masked loss."""

MISTAKES = [
    # tanh from np.exp: inf / inf = nan once a pre-activation exceeds 355
    ("rnn_step_forward",
     {"np.tanh(x @ U.T + h_prev @ W.T + b_h)":
      "(lambda a: (np.exp(2 * a) - 1) / (np.exp(2 * a) + 1))(x @ U.T + h_prev @ W.T + b_h)"},
     "saturated pre-activations"),
    # the loop writes the step out itself, with the same np.exp tanh, instead of calling the step
    ("rnn_forward",
     {"h_t, step_cache = rnn_step_forward(x[:, t], h_t, U, W, b_h)":
      "a = x[:, t] @ U.T + h_t @ W.T + b_h\n"
      "        h_t, step_cache = (np.exp(2 * a) - 1) / (np.exp(2 * a) + 1), None"},
     "saturated pre-activations"),
    # the mean over the sequences that hold a token, instead of over all N
    ("masked_sequence_loss",
     {"loss = float(np.sum(nll * mask) / N)":
      "loss = float(np.sum(nll * mask) / np.sum(mask.sum(axis=1) > 0))",
      "dlogits *= mask[..., None] / N":
      "dlogits *= mask[..., None] / np.sum(mask.sum(axis=1) > 0)"},
     "a batch with a sequence that is all padding"),
]
