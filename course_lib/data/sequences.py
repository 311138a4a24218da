"""Synthetic sequence tasks with a known rule: counting (chapter 3), binary addition and parity,
least significant bit first (chapter 5), and the adding problem (chapters 6 and 7)."""

from __future__ import annotations

import numpy as np

from course_lib import validate


def counting_sequences(
    n: int, T_max: int, n_symbols: int = 3, T_min: int = 1, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Variable-length symbol sequences labelled with how often symbol 0 occurs (many-to-one).

    Each sequence has a length drawn uniformly from ``T_min..T_max`` and symbols drawn uniformly
    from ``0..n_symbols-1``, one-hot encoded. Sequences are padded with zero vectors to
    ``T_max`` steps (batch-first); ``lengths`` says where each one ends. The label needs a
    running count, which no single input step holds.

    Returns:
        ``X (n, T_max, n_symbols)`` float32 (one-hot, zeros after the end), ``lengths (n,)``
        int64 in ``T_min..T_max`` and ``counts (n,)`` int64 in ``0..T_max``.
    """
    n = validate.positive("n", n, integer=True)
    T_max = validate.positive("T_max", T_max, integer=True)
    T_min = validate.positive("T_min", T_min, integer=True)
    n_symbols = validate.positive("n_symbols", n_symbols, integer=True)
    if T_min > T_max:
        raise ValueError(f"T_min: expected at most T_max={T_max}, got {T_min}")
    if n_symbols < 2:
        raise ValueError(f"n_symbols: expected at least 2 symbols, got {n_symbols}")
    rng = np.random.default_rng(seed)
    lengths = rng.integers(T_min, T_max + 1, size=n).astype(np.int64)
    symbols = rng.integers(0, n_symbols, size=(n, T_max))
    real = np.arange(T_max)[None, :] < lengths[:, None]
    X = (symbols[..., None] == np.arange(n_symbols)).astype(np.float32)
    X[~real] = 0.0
    counts = ((symbols == 0) & real).sum(axis=1).astype(np.int64)
    return X, lengths, counts


def binary_addition(n: int, n_bits: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random additions a + b of two ``n_bits``-bit numbers, as sequences of bits.

    Bits come least significant first, so the carry travels forward in time. Step t (0-based)
    holds bit t of a and of b; the sequence has ``n_bits + 1`` steps, the last one with two zero
    inputs, because the sum can have one bit more than the operands. The target at step t is
    bit t of a + b. Operands are uniform on 0 .. 2**n_bits - 1 (leading zeros included), drawn
    independently: the same addition can occur twice, and two calls can share additions (for a
    test set that shares none with the training set, use :func:`binary_addition_split`).

    Returns:
        ``X (n, n_bits + 1, 2)`` float32 (bits of a, bits of b) and ``y (n, n_bits + 1)``
        float32 (bits of the sum).
    """
    n = validate.positive("n", n, integer=True)
    n_bits = validate.positive("n_bits", n_bits, integer=True)
    bits = np.random.default_rng(seed).integers(0, 2, size=(n, n_bits, 2))
    return _addition_sequences(np.concatenate([bits[:, :, 0], bits[:, :, 1]], axis=1), n_bits)


def _addition_sequences(operands: np.ndarray, n_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Sequences of :func:`binary_addition` from 0/1 rows ``(bits of a, bits of b)``, each
    ``2 * n_bits`` long, least significant bit first."""
    n = len(operands)
    X = np.zeros((n, n_bits + 1, 2), dtype=np.float32)
    X[:, :n_bits, 0] = operands[:, :n_bits]
    X[:, :n_bits, 1] = operands[:, n_bits:]
    y = np.zeros((n, n_bits + 1), dtype=np.float32)
    carry = np.zeros(n, dtype=np.int64)
    for t in range(n_bits + 1):  # ripple-carry: one full adder per step
        total = X[:, t, 0].astype(np.int64) + X[:, t, 1].astype(np.int64) + carry
        y[:, t] = total % 2
        carry = total // 2
    return X, y


# Up to this many possible bit strings, distinct ones are drawn as a random permutation of all
# of them; above it, by drawing at random and discarding repeats.
_ENUMERATE_UP_TO = 2**20


def distinct_bit_strings(k: int, width: int, seed: int = 0) -> np.ndarray:
    """``k`` different bit strings of ``width`` bits, in random order (uniform without
    replacement over the ``2**width`` strings).

    Returns:
        ``(k, width)`` int64 array of 0/1; no two rows are equal.

    Raises:
        ValueError: when ``k`` exceeds the ``2**width`` strings that exist.
    """
    width = validate.positive("width", width, integer=True)
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 0:
        raise ValueError(f"k: expected an integer >= 0, got {k!r}")
    if width < 63 and k > 2**width:
        raise ValueError(f"k: only 2**{width} = {2**width} different strings of {width} bits "
                         f"exist, {k} were asked for")
    rng = np.random.default_rng(seed)
    if 2**width <= _ENUMERATE_UP_TO:
        codes = rng.permutation(2**width)[:k]
        return (codes[:, None] >> np.arange(width)) & 1
    rows = np.zeros((0, width), dtype=np.int64)
    while len(rows) < k:  # draw, keep the first occurrence of each string, top up
        more = np.concatenate([rows, rng.integers(0, 2, size=(k - len(rows), width))])
        _, first = np.unique(more, axis=0, return_index=True)
        rows = more[np.sort(first)]
    return rows[:k]


def _split_strings(n_train: int, n_test: int, width: int, seed: int):
    """Distinct bit strings of ``width`` bits, the first ``n_train`` for training and up to
    ``n_test`` of the others for testing (fewer when fewer exist)."""
    n_train = validate.positive("n_train", n_train, integer=True)
    n_test = validate.positive("n_test", n_test, integer=True)
    space = 2**width
    if n_train > space:
        raise ValueError(f"n_train: only {space} different inputs of this size exist, "
                         f"{n_train} were asked for")
    rows = distinct_bit_strings(n_train + min(n_test, space - n_train), width, seed=seed)
    return rows[:n_train], rows[n_train:]


def binary_addition_split(
    n_train: int, n_test: int, n_bits: int, seed: int = 0
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """A training set and a test set of ``n_bits``-bit additions that share no addition.

    The ``n_train + n_test`` pairs (a, b) are different from one another, drawn uniformly
    without replacement from the ``4**n_bits`` pairs, so no addition occurs twice in either set
    and none is in both: the test set measures what the model does on additions it has not seen.
    Sequences are encoded as in :func:`binary_addition`.

    When fewer than ``n_train + n_test`` additions exist (``4**n_bits``, e.g. 16 for 2-bit
    numbers), the test set holds all ``4**n_bits - n_train`` additions not in the training set,
    which can be none: check ``len(X_test)`` before computing an accuracy on it.

    Returns:
        ``(X_train, y_train), (X_test, y_test)``, shapes as in :func:`binary_addition`.

    Raises:
        ValueError: when ``n_train`` exceeds the ``4**n_bits`` additions that exist.
    """
    n_bits = validate.positive("n_bits", n_bits, integer=True)
    train, test = _split_strings(n_train, n_test, 2 * n_bits, seed)
    return _addition_sequences(train, n_bits), _addition_sequences(test, n_bits)


def parity_sequences(n: int, T: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random bit strings and their running parity (n-bit XOR).

    The target at step t is 1 when an odd number of the bits up to and including step t are 1;
    the target at the last step is the parity of the whole string. Strings are drawn
    independently: repeats are possible, within a call and across calls (for a test set that
    shares no string with the training set, use :func:`parity_split`).

    Returns:
        ``X (n, T, 1)`` float32 (the bits) and ``y (n, T)`` float32 (the running parity).
    """
    n = validate.positive("n", n, integer=True)
    T = validate.positive("T", T, integer=True)
    rng = np.random.default_rng(seed)
    return _parity_sequences(rng.integers(0, 2, size=(n, T)))


def _parity_sequences(bits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return bits[:, :, None].astype(np.float32), (np.cumsum(bits, axis=1) % 2).astype(np.float32)


def parity_split(
    n_train: int, n_test: int, T: int, seed: int = 0
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """A training set and a test set of ``T``-bit strings (with their running parity) that
    share no string.

    The ``n_train + n_test`` strings are different from one another, drawn uniformly without
    replacement from the ``2**T`` strings. When fewer exist, the test set holds all
    ``2**T - n_train`` strings not in the training set, which can be none: check
    ``len(X_test)`` before computing an accuracy on it.

    Returns:
        ``(X_train, y_train), (X_test, y_test)``, shapes as in :func:`parity_sequences`.

    Raises:
        ValueError: when ``n_train`` exceeds the ``2**T`` strings that exist.
    """
    T = validate.positive("T", T, integer=True)
    train, test = _split_strings(n_train, n_test, T, seed)
    return _parity_sequences(train), _parity_sequences(test)


def adding_problem(
    n: int, T: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """The adding problem (Hochreiter & Schmidhuber 1997; Le et al. 2015): a long-lag test.

    Each sequence has T steps of two features: a value drawn uniformly from [0, 1] and a marker
    that is 1 at exactly two steps (one in the first half, one in the second) and 0 elsewhere.
    The target is the sum of the two marked values. Predicting the mean, 1, for every sequence
    gives mean squared error Var(u1 + u2) = 2/12 = 1/6 (the baseline to beat).

    Returns:
        ``X (n, T, 2)`` float32 (values, markers) and ``y (n,)`` float32.
    """
    n = validate.positive("n", n, integer=True)
    T = validate.positive("T", T, integer=True)
    if T < 2:
        raise ValueError(f"T: expected at least 2 steps, got {T}")
    rng = np.random.default_rng(seed)
    values = rng.uniform(0.0, 1.0, size=(n, T))
    half = T // 2
    first = rng.integers(0, half, size=n)
    second = rng.integers(half, T, size=n)
    markers = np.zeros((n, T))
    rows = np.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    y = values[rows, first] + values[rows, second]
    X = np.stack([values, markers], axis=-1)
    return X.astype(np.float32), y.astype(np.float32)
