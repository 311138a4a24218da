"""Lab 2: bag-of-words vectors and parameter counts."""

# Sizes held as NumPy's 32-bit integers (numpy's default integer on Windows before NumPy 2.0,
# and what np.array([...], dtype=np.int32) gives): every product wraps around beyond 2**31.
_INT32 = "np.array([T_max, D, H, K], dtype=np.int32)"

MISTAKES = [
    # counts in one byte "to save memory with a large vocabulary": 256 occurrences wrap to 0
    ("bag_of_words",
     {"counts = np.zeros(len(vocab))": "counts = np.zeros(len(vocab), dtype=np.uint8)"},
     "a large vocabulary and a word repeated hundreds of times"),
    ("windowed_mlp_params",
     {"return T_max * D * H": f"T_max, D, H, K = {_INT32}\n    return T_max * D * H"},
     "a large vocabulary (billions of parameters)"),
    ("rnn_params",
     {"return H * D": "D, H, K = np.array([D, H, K], dtype=np.int32)\n    return H * D"},
     "a large vocabulary (billions of parameters)"),
    # the strict bound T_max > 1 + H / D rounded up: right unless H / D is a whole number, where
    # it gives the length at which both counts are equal
    ("mlp_overtakes_rnn",
     {"return H // D + 2": "return int(np.ceil(1 + H / D))"},
     "a hidden size that is a multiple of the word vector size"),
]
