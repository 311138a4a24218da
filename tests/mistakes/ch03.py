"""Lab 3: the forward pass and the masked loss."""

MISTAKES = [
    # tanh from np.exp: inf / inf = nan once a pre-activation exceeds 355
    ("rnn_step_forward",
     {"np.tanh(x @ U.T + h_prev @ W.T + b_h)":
      "(lambda a: (np.exp(2 * a) - 1) / (np.exp(2 * a) + 1))(x @ U.T + h_prev @ W.T + b_h)"},
     "saturated pre-activations"),
    # the mean over the sequences that hold a token, instead of over all N
    ("masked_sequence_loss",
     {"loss = float(np.sum(nll * mask) / N)":
      "loss = float(np.sum(nll * mask) / np.sum(mask.sum(axis=1) > 0))",
      "dlogits *= mask[..., None] / N":
      "dlogits *= mask[..., None] / np.sum(mask.sum(axis=1) > 0)"},
     "a batch with a sequence that is all padding"),
]
