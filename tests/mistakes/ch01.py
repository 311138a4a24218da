"""Lab 1: the perceptron, the two-layer network, the gradient check and the softmax's Jacobian."""

MISTAKES = [
    # the rule written as "predict, then compare": sign(0) taken as -1, so a point on the line
    # labelled -1 counts as right and is not updated (the test y (w.x + b) <= 0 updates it)
    ("perceptron_update",
     {"if y * (np.dot(w, x) + b) <= 0:": "if (1 if np.dot(w, x) + b > 0 else -1) != y:"},
     "points exactly on the line, with either label"),
    # the scores squeezed to "clean up" the shape: (1, K) becomes (K,) for a batch of one
    ("mlp_forward",
     {"return scores, (X, A, H, params)": "return scores.squeeze(), (X, A, H, params)"},
     "a batch of one example"),
    # the ReLU's derivative taken as 1 at exactly 0: a unit that is off passes its gradient
    ("mlp_backward",
     {"dA = dH * (A > 0)": "dA = dH * (A >= 0)"},
     "hidden units whose pre-activations are exactly zero"),
    # the step of the check cell typed in, instead of the eps the caller passes
    ("directional_derivative",
     {"x + eps * d": "x + 1e-5 * d", "x - eps * d": "x - 1e-5 * d", "(2 * eps)": "2e-5"},
     "a step size other than the check cell's"),
    # exp of the raw scores: overflows to inf (inf / inf = nan) at scores near 1000, and
    # underflows to 0 (0 / 0) near -1000
    ("softmax_jacobian",
     {"e = np.exp(s - np.max(s))": "e = np.exp(s)"},
     "very large and very negative scores"),
]
