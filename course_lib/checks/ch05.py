"""Public checks of lab 5 (what recurrence buys): hand-set recurrent networks of step units.

The network is the Elman network of the course with the step (Heaviside) function as hidden
activation and the identity as output:

    h_t = step(x_t @ U.T + h_prev @ W.T + b_h),   y_t = h_t @ V.T + b_y,   h_0 = 0,

where ``step(a)`` is 1 where ``a > 0`` and 0 elsewhere. The student chooses the weights; the
checks run the network on long random inputs and compare its outputs with the answer computed by
plain arithmetic (Python integers for sums and products, a running count for parity).

Every check takes ``noise``: with ``noise > 0`` each input bit is moved by a uniform amount in
``[-noise, noise]`` (drawn from a generator of its own, so the strings are those of
``noise=0``) and the outputs must stay exactly the same. The hidden tests use it to tell a
network with a margin from one whose units sit on their threshold: with the strict step, a bias
of ``-(k - 1)`` counts exact bits as well as ``-(k - 1/2)`` does, and fails as soon as a bit is
a little off.
"""

from __future__ import annotations

import numpy as np

from course_lib.checks.core import CheckFailed, public_check

PARAM_SHAPES = {"U": ("H", "D"), "W": ("H", "H"), "b_h": ("H",), "V": (1, "H"), "b_y": (1,)}


def step_rnn_forward(x, params):
    """Run the step-unit RNN.

    Args:
        x: inputs (N, T, D); params: dict with U (H, D), W (H, H), b_h (H,), V (1, H), b_y (1,).

    Returns:
        Outputs (N, T): ``y_t = V h_t + b_y`` at every step.
    """
    x = np.asarray(x, dtype=np.float64)
    U, W, b_h, V, b_y = (np.asarray(params[k], dtype=np.float64) for k in PARAM_SHAPES)
    N, T, _ = x.shape
    h = np.zeros((N, W.shape[0]))
    out = np.zeros((N, T))
    for t in range(T):
        h = (x[:, t] @ U.T + h @ W.T + b_h > 0).astype(np.float64)
        out[:, t] = (h @ V.T + b_y)[:, 0]
    return out


def _perturbed(x, seed, noise):
    """``x`` with every entry moved by a uniform amount in ``[-noise, noise]`` (``x`` itself when
    ``noise == 0``); the generator is seeded apart from the check's, so the bits are unchanged."""
    if not noise:
        return x
    gen = np.random.default_rng([seed, 5])
    return x + gen.uniform(-noise, noise, size=np.shape(x))


def _noise_note(noise):
    return "" if not noise else (f" (input bits moved by up to {noise:g}: leave every unit a "
                                 "margin from its threshold)")


def _validated_params(fn, D):
    params = fn()
    if not isinstance(params, dict):
        raise CheckFailed(f"return a dict with the keys {list(PARAM_SHAPES)}, got "
                          f"{type(params).__name__}")
    missing = [k for k in PARAM_SHAPES if k not in params]
    if missing:
        raise CheckFailed(f"the returned dict lacks the key(s) {missing}")
    arrays = {}
    for k in PARAM_SHAPES:
        try:
            arrays[k] = np.asarray(params[k], dtype=np.float64)
        except (TypeError, ValueError):
            raise CheckFailed(f"{k}: expected numbers, got {params[k]!r}") from None
    H = arrays["W"].shape[0] if arrays["W"].ndim == 2 else None
    sizes = {"H": H, "D": D}
    for k, spec in PARAM_SHAPES.items():
        want = tuple(sizes[s] if isinstance(s, str) else s for s in spec)
        if arrays[k].shape != want:
            raise CheckFailed(f"{k}: shape {arrays[k].shape}, expected {want} (H = number of "
                              f"hidden units{'' if H is None else f' = {H}'}, D = {D} inputs)")
        if not np.all(np.isfinite(arrays[k])):
            raise CheckFailed(f"{k}: contains NaN or infinity")
    return arrays


def _first_mismatch(out, expected, describe):
    wrong = np.abs(out - expected) > 1e-9
    if not wrong.any():
        return None
    n, t = (int(i) for i in np.argwhere(wrong)[0])
    return (f"{int(wrong.any(axis=1).sum())} of {len(out)} sequences have a wrong output; the "
            f"first is {describe(n)}, at step {t + 1}: yours {out[n, t]:.3g}, expected "
            f"{expected[n, t]:.0f}")


@public_check("parity_rnn")
def check_parity_rnn(fn, seed: int = 0, noise: float = 0.0):
    """``parity_rnn() -> params`` (D = 1): the output at step t must be the parity of the first
    t bits, exactly, on random strings of up to 2000 bits (``noise``: see the module)."""
    rng = np.random.default_rng(seed)
    params = _validated_params(fn, D=1)
    for T in (1, 2, 5, 64, int(rng.integers(500, 2001))):
        bits = rng.integers(0, 2, size=(40, T))
        bits[0] = 1  # all ones: the parity alternates at every step
        out = step_rnn_forward(_perturbed(bits[:, :, None], seed, noise), params)
        expected = np.cumsum(bits, axis=1) % 2
        msg = _first_mismatch(out, expected, lambda n, bits=bits, T=T: "the string "
                              + "".join(map(str, bits[n, :12])) + ("..." if T > 12 else ""))
        if msg is None:
            continue
        hints = {
            "the output is the current bit, not the parity so far": bits,
            "the output is the OR of the bits so far (1 once any bit was 1)":
                np.maximum.accumulate(bits, axis=1),
            "the output is 1 for even parity (flipped)": 1 - expected,
        }
        for hint, alt in hints.items():
            if np.allclose(out, alt):
                msg += f". Hint: {hint}"
                break
        raise CheckFailed(f"strings of length {T}{_noise_note(noise)}: {msg}")


def _random_numbers(rng, n_bits, count):
    """``count`` random numbers of at most ``n_bits`` bits (Python integers)."""
    return [int.from_bytes(rng.bytes((n_bits + 7) // 8), "little") % (1 << n_bits)
            for _ in range(count)]


def _bits(values, n_bits):
    return np.array([[(v >> i) & 1 for i in range(n_bits)] for v in values], dtype=np.int64)


@public_check("adder_rnn")
def check_adder_rnn(fn, seed: int = 0, noise: float = 0.0):
    """``adder_rnn() -> params`` (D = 2): fed the bits of a and b least significant first,
    followed by one step of zeros, the outputs must be the bits of a + b, exactly, for random
    numbers of up to 300 bits (Python integers compute the expected sums; ``noise``: see the
    module)."""
    rng = np.random.default_rng(seed)
    params = _validated_params(fn, D=2)
    for n_bits in (1, 3, 8, 64, int(rng.integers(100, 301))):
        a, b = _random_numbers(rng, n_bits, 40), _random_numbers(rng, n_bits, 40)
        a[0], b[0] = (1 << n_bits) - 1, 1  # a carry that ripples through every bit
        x = np.zeros((40, n_bits + 1, 2))
        x[:, :n_bits, 0], x[:, :n_bits, 1] = _bits(a, n_bits), _bits(b, n_bits)
        expected = _bits([p + q for p, q in zip(a, b, strict=True)], n_bits + 1)
        out = step_rnn_forward(_perturbed(x, seed, noise), params)
        msg = _first_mismatch(out, expected, lambda n, a=a, b=b, n_bits=n_bits:
                              f"a = {a[n]}, b = {b[n]}" if n_bits <= 16 else f"pair {n + 1}")
        if msg is None:
            continue
        xa, xb = x[:, :, 0], x[:, :, 1]
        hints = {
            "the carry is ignored (the output is a XOR b at every step)": (xa + xb) % 2,
            "the output is the carry, not the sum bit": expected_carry(xa, xb),
        }
        for hint, alt in hints.items():
            if np.allclose(out, alt):
                msg += f". Hint: {hint}"
                break
        raise CheckFailed(f"{n_bits}-bit numbers{_noise_note(noise)}: {msg}")


@public_check("times3_rnn")
def check_times3_rnn(fn, seed: int = 0, noise: float = 0.0):
    """``times3_rnn() -> params`` (D = 1): fed the bits of a least significant first, followed
    by two steps of zeros, the outputs must be the bits of 3a, exactly, for random numbers of up
    to 300 bits (Python integers compute the expected products; ``noise``: see the module)."""
    rng = np.random.default_rng(seed)
    params = _validated_params(fn, D=1)
    for n_bits in (1, 2, 5, 64, int(rng.integers(100, 301))):
        a = _random_numbers(rng, n_bits, 40)
        a[0] = (1 << n_bits) - 1  # all ones: 3a needs both extra steps
        if n_bits > 1:
            a[1] = int("01" * n_bits, 2) % (1 << n_bits)  # ...0101: a carry at every other bit
        T = n_bits + 2
        x = np.zeros((40, T, 1))
        x[:, :n_bits, 0] = _bits(a, n_bits)
        expected = _bits([3 * v for v in a], T)
        out = step_rnn_forward(_perturbed(x, seed, noise), params)
        msg = _first_mismatch(out, expected, lambda n, a=a, n_bits=n_bits:
                              f"a = {a[n]}" if n_bits <= 16 else f"number {n + 1}")
        if msg is None:
            continue
        hints = {
            "the output is the input bit (that is 1 * a)": x[:, :, 0],
            "the output is the bit one step back (that is 2 * a)": _bits([2 * v for v in a], T),
            "the carry is ignored (the output is a_t XOR a_(t-1))":
                _bits([v ^ (2 * v) for v in a], T),
        }
        for hint, alt in hints.items():
            if np.allclose(out, alt):
                msg += f". Hint: {hint}"
                break
        raise CheckFailed(f"{n_bits}-bit numbers{_noise_note(noise)}: {msg}")


def expected_carry(xa, xb):
    """The carry out of every step of a ripple-carry addition (for a hint)."""
    carry = np.zeros(len(xa))
    out = np.zeros_like(xa)
    for t in range(xa.shape[1]):
        total = xa[:, t] + xb[:, t] + carry
        carry = (total >= 2).astype(np.float64)
        out[:, t] = carry
    return out
