"""Lab 7: LSTM and GRU steps, layers and backward passes. The public examples have D = H, and
their weights are small, so no gate saturates."""

MISTAKES = [
    # a sigmoid written as e^a / (1 + e^a): inf / inf = nan once a gate's pre-activation > 709
    ("lstm_step_forward",
     {"i, f, g, o = sigmoid(a_i), sigmoid(a_f), np.tanh(a_g), sigmoid(a_o)":
      "i, f, g, o = (np.exp(a_i) / (1.0 + np.exp(a_i)), np.exp(a_f) / (1.0 + np.exp(a_f)),\n"
      "                  np.tanh(a_g), np.exp(a_o) / (1.0 + np.exp(a_o)))"},
     "saturated gates"),
    # the gate blocks cut with the input size: H taken from x, right only when D = H
    ("lstm_step_forward",
     {"a_i, a_f, a_g, a_o = np.split(a, 4, axis=1)":
      "H = x.shape[1]\n"
      "    a_i, a_f, a_g, a_o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]"},
     "an input size D different from the hidden size H"),
    # sigma'(a) differentiated literally, e^-a / (1 + e^-a)^2, from the cached pre-activation:
    # inf / inf = nan once a forget gate's pre-activation is below -709
    ("lstm_step_backward",
     {"da_f = dc_tot * c_prev * f * (1.0 - f)":
      "a_f = np.split(a, 4, axis=1)[1]\n"
      "    da_f = dc_tot * c_prev * np.exp(-a_f) / (1.0 + np.exp(-a_f)) ** 2"},
     "saturated gates"),
    # the sizes read from x alone, as if the states had the input's size
    ("lstm_forward",
     {"N, T, _ = x.shape\n    H = h0.shape[1]": "N, T, H = x.shape"},
     "an input size D different from the hidden size H"),
    # the two gates through e^a / (1 + e^a)
    ("gru_step_forward",
     {"rz = sigmoid(a_x[:, : 2 * H] + a_h[:, : 2 * H])":
      "rz = (lambda u: np.exp(u) / (1.0 + np.exp(u)))(a_x[:, : 2 * H] + a_h[:, : 2 * H])"},
     "saturated gates"),
    ("gru_step_forward",
     {"H = h_prev.shape[1]": "H = x.shape[1]"},
     "an input size D different from the hidden size H"),
    # the output preallocated with the input's shape
    ("gru_forward",
     {"    h = np.empty((N, T, H))": "    h = np.empty_like(x)"},
     "an input size D different from the hidden size H"),
    # dx given the states' shape
    ("gru_backward",
     {"dx = (da_x @ U).reshape(N, T, D)": "dx = (da_x @ U).reshape(N, T, H)"},
     "an input size D different from the hidden size H"),
]
