"""Lab 8: recurrences both ways, stacks of them, and the ConvLSTM."""

MISTAKES = [
    # tanh from np.exp: inf / inf = nan once a pre-activation exceeds 355
    ("rnn_forward",
     {"h = np.tanh(x[:, t] @ U.T + h @ W.T + b)":
      "h = (lambda a: (np.exp(2 * a) - 1) / (np.exp(2 * a) + 1))(x[:, t] @ U.T + h @ W.T + b)"},
     "saturated pre-activations"),
    # the whole padded row is reversed: the backward direction starts in the padding
    ("birnn_forward",
     {"order = np.where(real, lengths[:, None] - 1 - steps, steps)":
      "order = np.broadcast_to(T - 1 - steps, (N, T))"},
     "rows of different lengths"),
    # the padded steps keep whatever the recurrences computed there
    ("birnn_forward",
     {"return h * real[..., None], None": "return h, None"},
     "rows of different lengths"),
    # exactly the two layers of the public example, written out
    ("deep_birnn_forward",
     {"h = x\n    for params_f, params_b in layers:\n        h, _ = birnn_forward(h, params_f, params_b)":
      "h, _ = birnn_forward(birnn_forward(x, *layers[0])[0], *layers[1])"},
     "stacks of other depths"),
    # the padding of a 3 x 3 kernel, hard-coded
    ("convlstm_step",
     {"padding=weight.shape[-1] // 2": "padding=1"},
     "kernels other than 3 x 3"),
    # the chapter's 3 x 3 case taken as the rule: two pixels wider per convolution
    ("influence_window",
     {"side = (k - 1) * (num_layers": "side = 2 * (num_layers"},
     "kernels wider than 3 x 3"),
    # a window that does not stop at the frame's border
    ("influence_window",
     {"return min(side, size)": "return side"},
     "windows wider than the frame"),
]
