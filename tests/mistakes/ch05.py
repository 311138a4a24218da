"""Lab 5: hand-set step-unit networks. The public checks feed exact bits, so a unit whose bias
puts its threshold exactly on a count (the strict step counts integers right with a bias of
-(k - 1)) passes them; bits that are a little off flip it."""

MISTAKES = [
    # "fires when x + p > 0" and "> 1": right for exact bits, no margin
    ("parity_rnn",
     {'"b_h": np.array([-0.5, -1.5])': '"b_h": np.array([0.0, -1.0])'},
     "bits that are not exactly 0 or 1"),
    ("adder_rnn",
     {'"b_h": np.array([-0.5, -1.5, -2.5])': '"b_h": np.array([0.0, -1.0, -2.0])'},
     "bits that are not exactly 0 or 1"),
    ("times3_rnn",
     {'"b_h": np.array([-0.5, -1.5, -2.5, -0.5])': '"b_h": np.array([0.0, -1.0, -2.0, 0.0])'},
     "bits that are not exactly 0 or 1"),
]
