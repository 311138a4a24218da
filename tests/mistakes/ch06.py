"""Lab 6: Jacobians, backward signals, clipping and orthogonal initialisation. Each mistake is
right on the public check's cases and wrong on one case of another kind."""

MISTAKES = [
    # the rates broadcast over the columns: right when alpha is one number
    ("jacobian_product",
     {"(alpha * slopes[i])[:, None] * W": "alpha * slopes[i][:, None] * W"},
     "a leak rate per unit"),
    # ReLU's slope as [a >= 0]: random pre-activations are never exactly 0
    ("gradient_norms",
     {"(As[i] > 0)": "(As[i] >= 0)"},
     "pre-activations exactly at zero"),
    # "if the norm is above the threshold, rescale": torch rescales at the threshold too
    ("clip_grad_norm",
     {"scale = min(1.0, max_norm / (total + 1e-6))":
      "scale = max_norm / (total + 1e-6) if total > max_norm else 1.0"},
     "a total norm exactly at the threshold"),
    # QR of A as it is: a wide A gives a square Q
    ("orthogonal_init",
     {"np.linalg.qr(A.T if wide else A)": "np.linalg.qr(A)",
      "(Q.T if wide else Q)": "Q"},
     "non-square matrices"),
]
