"""Data for the course: seeded generators and scikit-learn's bundled digits.

Nothing here touches the network: every data set is either generated from a seed or ships
inside an installed package. Arrays are batch-first; labels are integer arrays.
"""

from __future__ import annotations

import numpy as np

from course_lib import validate


def load_digits(
    classes: tuple[int, ...] | None = None, test_fraction: float = 0.25, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's bundled 8x8 handwritten digits (1797 images), split into train and test.

    Pixels are scaled from 0..16 to 0..1. The split is stratified-free but seeded: the same seed
    gives the same split on every machine.

    Args:
        classes: keep only these digit classes (labels are re-numbered 0..len(classes)-1 in the
            given order); ``None`` keeps all ten.
        test_fraction: share of examples held out, in (0, 1).
        seed: seed of the shuffle.

    Returns:
        ``X_train (N, 64)``, ``y_train (N,)``, ``X_test (M, 64)``, ``y_test (M,)``; X float64.
    """
    from sklearn.datasets import load_digits as _sk_load_digits

    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction: expected a number in (0, 1), got {test_fraction!r}")
    digits = _sk_load_digits()
    X = digits.data.astype(np.float64) / 16.0
    y = digits.target.astype(np.int64)
    if classes is not None:
        classes = tuple(int(c) for c in classes)
        if len(classes) < 2 or len(set(classes)) != len(classes):
            raise ValueError(f"classes: expected at least two distinct digits, got {classes}")
        if not all(0 <= c <= 9 for c in classes):
            raise ValueError(f"classes: expected digits 0..9, got {classes}")
        keep = np.isin(y, classes)
        X, y = X[keep], y[keep]
        y = np.array([classes.index(c) for c in y], dtype=np.int64)
    order = np.random.default_rng(seed).permutation(len(y))
    n_test = min(max(1, int(round(test_fraction * len(y)))), len(y) - 1)  # both parts non-empty
    test, train = order[:n_test], order[n_test:]
    return X[train], y[train], X[test], y[test]


def two_blobs(
    n: int = 100, margin: float = 0.5, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Two linearly separable clouds of 2-D points, labelled -1 and +1 (perceptron data).

    The clouds sit on either side of a tilted line that misses the origin (so a bias is
    needed), and every point closer than ``margin`` to that line is pushed out, so a separating
    line with that margin exists and the perceptron rule converges (Novikoff's theorem).

    Returns:
        ``X (n, 2)`` float64 and ``y (n,)`` with values in {-1, +1}.
    """
    n = validate.positive("n", n, integer=True)
    if n < 2:
        raise ValueError(f"n: expected at least 2 points, got {n}")
    if not margin >= 0:
        raise ValueError(f"margin: expected a number >= 0, got {margin!r}")
    rng = np.random.default_rng(seed)
    y = np.where(np.arange(n) % 2 == 0, 1, -1).astype(np.int64)
    normal = np.array([np.cos(np.pi / 6), np.sin(np.pi / 6)])
    anchor = np.array([1.5, 1.0])  # a point on the true separating line
    X = anchor + rng.normal(0.0, 1.0, size=(n, 2)) + 1.0 * y[:, None] * normal
    dist = (X - anchor) @ normal * y  # signed distance on the correct side
    push = np.maximum(margin - dist, 0.0)
    X = X + (push * y)[:, None] * normal
    return X, y


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


#: Vocabularies of :func:`toy_translation`: an invented source language and its English words.
#: Index 0 is padding, 1 the start token, 2 the end token; words start at index 3.
TRANSLATION_SPECIALS = ("<pad>", "<s>", "</s>")
TRANSLATION_SRC_WORDS = ("ka", "lo", "mi", "nu", "pe", "ri", "so", "tu", "ve", "zi")
TRANSLATION_TGT_WORDS = ("sun", "moon", "tree", "rock", "fish", "bird", "rain", "snow", "wind",
                         "fire")


def toy_translation(
    n: int, min_len: int = 3, max_len: int = 12, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...], tuple[str, ...]]:
    """A small invented translation task with reordering (for encoder–decoders and attention).

    A source sentence is a sequence of ``L`` words (``L`` uniform in ``min_len..max_len``) from an
    invented language of ten words. Its translation replaces every word by its English
    counterpart (``ka`` -> ``sun``, ``lo`` -> ``moon``, ...) and swaps the words of each
    neighbouring pair (positions 1 and 2, 3 and 4, ...; an odd last word stays in place), as
    when a language puts the adjective after the noun. Output step ``t`` therefore aligns with
    input step ``t + 1`` or ``t - 1``: a zig-zag along the diagonal.

    Token ids: 0 padding, 1 start ``<s>``, 2 end ``</s>``, words from 3. Targets end with ``</s>``.

    Returns:
        ``src (n, max_len)`` int64 padded with 0, ``tgt (n, max_len + 1)`` int64 (words, then
        ``</s>``, then 0), ``src_vocab`` and ``tgt_vocab`` (tuples of strings, indexed by id).
    """
    n = validate.positive("n", n, integer=True)
    min_len = validate.positive("min_len", min_len, integer=True)
    max_len = validate.positive("max_len", max_len, integer=True)
    if min_len > max_len:
        raise ValueError(f"min_len: expected at most max_len={max_len}, got {min_len}")
    rng = np.random.default_rng(seed)
    n_words = len(TRANSLATION_SRC_WORDS)
    lengths = rng.integers(min_len, max_len + 1, size=n)
    words = rng.integers(0, n_words, size=(n, max_len))
    src = np.zeros((n, max_len), dtype=np.int64)
    tgt = np.zeros((n, max_len + 1), dtype=np.int64)
    for i, L in enumerate(lengths):
        src[i, :L] = words[i, :L] + 3
        order = np.arange(L)
        pairs = L - L % 2
        order[:pairs] = order[:pairs].reshape(-1, 2)[:, ::-1].ravel()
        tgt[i, :L] = words[i, order] + 3  # the mapping ka -> sun is word i -> word i
        tgt[i, L] = 2
    src_vocab = TRANSLATION_SPECIALS + TRANSLATION_SRC_WORDS
    tgt_vocab = TRANSLATION_SPECIALS + TRANSLATION_TGT_WORDS
    return src, tgt, src_vocab, tgt_vocab


# ------------------------------------------------------------------ chapter 9: applications
# Small generated corpora and signals; every one is written by the course or drawn from a seed.

_CH09_ANIMALS = ("cat", "dog", "fox", "owl", "hen", "rat")
_CH09_VERBS = ("saw", "met", "chased", "fed", "heard")
_CH09_PLACES = ("the barn", "the yard", "the pond", "the hill")


def bracket_text(n_lines: int, max_depth: int = 2, seed: int = 0) -> str:
    """Lines of a tiny language with nested brackets, for character-level language models.

    Each line is a sentence like ``the fox saw the owl (who fed the cat (at the pond)).``:
    a subject, a verb and an object, each noun followed with probability 1/2 by a bracketed
    aside, nested up to ``max_depth`` levels. Every bracket opened on a line is closed on it,
    so a model that predicts ``)`` at the right places has learnt to count.

    Returns:
        One string of ``n_lines`` lines, each ending with ``".\\n"`` (lower-case letters,
        space, ``(``, ``)``, ``.`` and newline only).
    """
    n_lines = validate.positive("n_lines", n_lines, integer=True)
    if isinstance(max_depth, bool) or not isinstance(max_depth, int) or max_depth < 0:
        raise ValueError(f"max_depth: expected an int >= 0, got {max_depth!r}")
    rng = np.random.default_rng(seed)

    def noun(depth: int) -> str:
        words = "the " + str(rng.choice(_CH09_ANIMALS))
        if depth < max_depth and rng.random() < 0.5:
            if rng.random() < 0.5:
                aside = f"who {rng.choice(_CH09_VERBS)} {noun(depth + 1)}"
            else:
                aside = f"at {rng.choice(_CH09_PLACES)}"
            words += f" ({aside})"
        return words

    lines = [f"{noun(0)} {rng.choice(_CH09_VERBS)} {noun(0)}.\n" for _ in range(n_lines)]
    return "".join(lines)


_CH09_POSITIVE = ("good", "great", "fine", "lovely", "superb")
_CH09_NEGATIVE = ("bad", "awful", "poor", "dull", "bland")
_CH09_SUBJECTS = ("the food", "the soup", "the service", "the staff", "the bread", "the place")


def reviews(n: int, seed: int = 0) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Short generated reviews whose label is set by word order, as in "good, not bad".

    Half of the reviews are *plain* ("the soup was great ."); the other half are *contrast*
    reviews in one of three forms, each made of one positive and one negative word:
    ``"<s> was A , not B ."`` (label of A), ``"<s> was not A , but B ."`` (label of B) and
    ``"<s> was not A but B ."`` (label of B). Swapping the two adjectives flips the label and
    keeps the bag of words, so no bag-of-words model does better than chance on the
    contrast reviews taken in swapped pairs. Tokens are separated by single spaces.

    Returns:
        ``texts`` (list of n strings), ``y (n,)`` int64 (1 positive, 0 negative) and
        ``contrast (n,)`` bool (True for the order-dependent reviews).
    """
    n = validate.positive("n", n, integer=True)
    rng = np.random.default_rng(seed)
    texts, labels, contrast = [], [], []
    for i in range(n):
        subject = str(rng.choice(_CH09_SUBJECTS))
        pos, neg = str(rng.choice(_CH09_POSITIVE)), str(rng.choice(_CH09_NEGATIVE))
        if i % 2 == 0:
            label = int(rng.integers(2))
            texts.append(f"{subject} was {pos if label else neg} .")
            contrast.append(False)
        else:
            first_positive = bool(rng.integers(2))
            a, b = (pos, neg) if first_positive else (neg, pos)
            form = int(rng.integers(3))
            if form == 0:
                texts.append(f"{subject} was {a} , not {b} .")
                label = int(first_positive)
            elif form == 1:
                texts.append(f"{subject} was not {a} , but {b} .")
                label = int(not first_positive)
            else:
                texts.append(f"{subject} was not {a} but {b} .")
                label = int(not first_positive)
            contrast.append(True)
        labels.append(label)
    return texts, np.array(labels, dtype=np.int64), np.array(contrast, dtype=bool)


#: tag names of :func:`tagged_sentences`, in the order of their integer codes
TAGS = ("O", "PER", "LOC")
_CH09_PEOPLE = ("anna", "omar", "maria", "li", "john", "ines")
_CH09_CITIES = ("paris", "lima", "oslo", "cairo", "delhi", "quito")
_CH09_BOTH = ("jordan", "georgia", "florence", "sydney", "victoria", "austin")
_CH09_TEMPLATES = (
    "P met P in L .",
    "P travelled to L last week .",
    "yesterday P flew from L to L .",
    "P lives in L with P .",
    "L is where P grew up .",
    "P visited L and L .",
)


def tagged_sentences(n: int, p_ambiguous: float = 0.4, seed: int = 0
                     ) -> tuple[list[list[str]], list[np.ndarray]]:
    """Generated sentences with every token tagged ``O``, ``PER`` (a person) or ``LOC`` (a
    place), for sequence tagging (many-to-many, synced).

    Names are drawn from three lists: people, cities, and words that are both
    (``jordan``, ``georgia``, ...); with probability ``p_ambiguous`` a slot takes one of the
    latter, so only the context tells a person from a place. In most templates the cue comes
    before the word ("in", "to", "from"); in ``"L is where P grew up ."`` it comes after.

    Returns:
        ``tokens`` (list of n lists of words) and ``tags`` (list of n int64 arrays, codes into
        :data:`TAGS`), aligned token by token.
    """
    n = validate.positive("n", n, integer=True)
    if not 0 <= p_ambiguous <= 1:
        raise ValueError(f"p_ambiguous: expected a number in [0, 1], got {p_ambiguous!r}")
    rng = np.random.default_rng(seed)
    tokens, tags = [], []
    for _ in range(n):
        words, codes = [], []
        for slot in str(rng.choice(_CH09_TEMPLATES)).split():
            if slot in ("P", "L"):
                pool = _CH09_BOTH if rng.random() < p_ambiguous else (
                    _CH09_PEOPLE if slot == "P" else _CH09_CITIES)
                words.append(str(rng.choice(pool)))
                codes.append(TAGS.index("PER" if slot == "P" else "LOC"))
            else:
                words.append(slot)
                codes.append(0)
        tokens.append(words)
        tags.append(np.array(codes, dtype=np.int64))
    return tokens, tags


def sine_signals(n: int, T: int, n_components: int = 2, noise: float = 0.05, seed: int = 0
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sums of sinusoids with random periods, amplitudes and phases, plus Gaussian noise.

    Component ``j`` of series ``i`` is ``a_ij sin(2 pi t / P_ij + phi_ij)``, with periods
    ``P`` uniform in [8, 32] steps, amplitudes uniform in [0.3, 1] and phases uniform in
    [0, 2 pi); independent noise of standard deviation ``noise`` is added at every step.

    Returns:
        ``X (n, T, 1)`` float32, ``periods (n, n_components)`` and
        ``amplitudes (n, n_components)`` float64.
    """
    n = validate.positive("n", n, integer=True)
    T = validate.positive("T", T, integer=True)
    n_components = validate.positive("n_components", n_components, integer=True)
    if not noise >= 0:
        raise ValueError(f"noise: expected a number >= 0, got {noise!r}")
    rng = np.random.default_rng(seed)
    periods = rng.uniform(8.0, 32.0, size=(n, n_components))
    amplitudes = rng.uniform(0.3, 1.0, size=(n, n_components))
    phases = rng.uniform(0.0, 2 * np.pi, size=(n, n_components, 1))
    t = np.arange(T, dtype=np.float64)
    waves = amplitudes[..., None] * np.sin(2 * np.pi * t / periods[..., None] + phases)
    X = waves.sum(axis=1) + noise * rng.normal(size=(n, T))
    return X[..., None].astype(np.float32), periods, amplitudes


#: behaviour names of :func:`behaviours`, in the order of their integer labels
BEHAVIOURS = ("rest", "walk", "circle", "dart")


def behaviours(n: int, T: int = 32, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Generated movement traces of an animal in four behaviours (the VAME idea in small).

    Like VAME's egocentrically aligned poses, each trace is measured in the animal's own frame:
    channel 0 is its speed, channel 1 its turning rate (radians per step), over T steps. The
    behaviours are :data:`BEHAVIOURS`: ``rest`` (no movement), ``walk`` (straight ahead, speed
    pulsing with a stride rhythm), ``circle`` (constant speed, turning steadily left or right)
    and ``dart`` (still, then a fast straight burst of four steps at a random time). Speed,
    rhythm, turning rate and timing vary from trace to trace, and both channels get jitter of
    standard deviation 0.05 at every step.

    Returns:
        ``X (n, T, 2)`` float32 and ``labels (n,)`` int64 (codes into :data:`BEHAVIOURS`).
    """
    n = validate.positive("n", n, integer=True)
    T = validate.positive("T", T, integer=True)
    if T < 8:
        raise ValueError(f"T: expected at least 8 steps, got {T}")
    rng = np.random.default_rng(seed)
    t = np.arange(T, dtype=np.float64)
    labels = rng.integers(0, len(BEHAVIOURS), size=n)
    X = np.zeros((n, T, 2))
    for i, b in enumerate(labels):
        speed = rng.uniform(0.6, 1.0)
        if b == 1:  # walk: straight, speed pulsing with the stride
            period, phase = rng.uniform(4.0, 8.0), rng.uniform(0.0, 2 * np.pi)
            X[i, :, 0] = speed * (1 + 0.4 * np.sin(2 * np.pi * t / period + phase))
        elif b == 2:  # circle: constant speed and turning rate
            X[i, :, 0] = speed
            X[i, :, 1] = rng.choice([-1.0, 1.0]) * rng.uniform(0.25, 0.5)
        elif b == 3:  # dart: one burst of four steps
            start = int(rng.integers(2, T - 6))
            X[i, start:start + 4, 0] = 2.0 * speed
    X += 0.05 * rng.normal(size=X.shape)
    return X.astype(np.float32), labels.astype(np.int64)


# --- chapter 4: a written corpus for character-level language models ------------------------

CORPUS_SUBJECTS = ("the cat", "the dog", "a small bird", "my sister", "the old man", "a child",
                   "the teacher", "our neighbour", "the farmer", "a tired student", "the baker",
                   "her friend", "the captain", "a young fox")
CORPUS_VERBS = ("sees", "likes", "follows", "watches", "finds", "hears", "calls", "helps",
                "paints", "carries", "forgets", "remembers")
CORPUS_OBJECTS = ("the ball", "a red kite", "the river", "her brother", "the little boat",
                  "an apple", "the garden gate", "a quiet song", "the moon", "the old map",
                  "a warm loaf", "the green door", "his umbrella")
CORPUS_PLACES = ("in the garden", "at night", "every morning", "near the river", "after school",
                 "on the hill", "in the rain", "before dinner", "by the sea")


def char_corpus(n_sentences: int = 3000, seed: int = 0) -> str:
    """A text written for the course's character-level language models (no outside text).

    Every line is one sentence drawn from a small grammar with the course's own word lists
    (``CORPUS_SUBJECTS``, ``CORPUS_VERBS``, ``CORPUS_OBJECTS``, ``CORPUS_PLACES``): a subject,
    a verb and an object, then, with probability 0.4, a place ("in the rain"), or, with
    probability 0.2, a second verb and object joined by "and"; each line ends with "." and a
    newline. The alphabet is the lower-case letters that occur in those words,
    the space, "." and the newline. Words are uniform within each list, so the text is far from
    uniform over characters but far from deterministic.

    Args:
        n_sentences: number of lines (>= 1).
        seed: seed of the draws.

    Returns:
        The text, a ``str`` of roughly 35 * ``n_sentences`` characters.
    """
    n_sentences = validate.positive("n_sentences", n_sentences, integer=True)
    rng = np.random.default_rng(seed)

    def pick(words):
        return words[int(rng.integers(len(words)))]

    lines = []
    for _ in range(n_sentences):
        line = f"{pick(CORPUS_SUBJECTS)} {pick(CORPUS_VERBS)} {pick(CORPUS_OBJECTS)}"
        r = rng.random()
        if r < 0.4:
            line += " " + pick(CORPUS_PLACES)
        elif r < 0.6:
            line += f" and {pick(CORPUS_VERBS)} {pick(CORPUS_OBJECTS)}"
        lines.append(line + ".")
    return "\n".join(lines) + "\n"


# --- chapter 5: binary addition and parity, least significant bit first ----------------------

def binary_addition(n: int, n_bits: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random additions a + b of two ``n_bits``-bit numbers, as sequences of bits.

    Bits come least significant first, so the carry travels forward in time. Step t (0-based)
    holds bit t of a and of b; the sequence has ``n_bits + 1`` steps, the last one with two zero
    inputs, because the sum can have one bit more than the operands. The target at step t is
    bit t of a + b. Operands are uniform on 0 .. 2**n_bits - 1 (leading zeros included).

    Returns:
        ``X (n, n_bits + 1, 2)`` float32 (bits of a, bits of b) and ``y (n, n_bits + 1)``
        float32 (bits of the sum).
    """
    n = validate.positive("n", n, integer=True)
    n_bits = validate.positive("n_bits", n_bits, integer=True)
    rng = np.random.default_rng(seed)
    X = np.zeros((n, n_bits + 1, 2), dtype=np.float32)
    X[:, :n_bits, :] = rng.integers(0, 2, size=(n, n_bits, 2))
    y = np.zeros((n, n_bits + 1), dtype=np.float32)
    carry = np.zeros(n, dtype=np.int64)
    for t in range(n_bits + 1):  # ripple-carry: one full adder per step
        total = X[:, t, 0].astype(np.int64) + X[:, t, 1].astype(np.int64) + carry
        y[:, t] = total % 2
        carry = total // 2
    return X, y


def parity_sequences(n: int, T: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random bit strings and their running parity (n-bit XOR).

    The target at step t is 1 when an odd number of the bits up to and including step t are 1;
    the target at the last step is the parity of the whole string.

    Returns:
        ``X (n, T, 1)`` float32 (the bits) and ``y (n, T)`` float32 (the running parity).
    """
    n = validate.positive("n", n, integer=True)
    T = validate.positive("T", T, integer=True)
    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 2, size=(n, T))
    return bits[:, :, None].astype(np.float32), (np.cumsum(bits, axis=1) % 2).astype(np.float32)


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


def moving_shapes(
    n: int, T: int = 10, size: int = 16, shape_size: int = 4, seed: int = 0
) -> np.ndarray:
    """Tiny grey-scale videos of one square moving at constant velocity and bouncing off the
    walls (next-frame prediction with a ConvLSTM, chapter 8).

    Each video starts at a random position with a random velocity of 1 or 2 pixels per frame in
    each direction (sign random); a coordinate that would leave the frame is reflected and its
    velocity reversed, so the square stays fully visible.

    Args:
        n: number of videos.
        T: frames per video (at least 2).
        size: side of a square frame in pixels.
        shape_size: side of the moving square in pixels (smaller than ``size``).
        seed: seed of the generator.

    Returns:
        ``videos (n, T, 1, size, size)`` float32 with values 0 (background) and 1 (square),
        batch-first and channel-first, as ``torch.nn.Conv2d`` expects for each frame.
    """
    n = validate.positive("n", n, integer=True)
    T = validate.positive("T", T, integer=True)
    size = validate.positive("size", size, integer=True)
    shape_size = validate.positive("shape_size", shape_size, integer=True)
    if T < 2:
        raise ValueError(f"T: expected at least 2 frames, got {T}")
    if shape_size >= size:
        raise ValueError(f"shape_size: expected less than size={size}, got {shape_size}")
    rng = np.random.default_rng(seed)
    hi = size - shape_size  # largest top-left coordinate that keeps the square inside
    pos = rng.integers(0, hi + 1, size=(n, 2))
    vel = rng.integers(1, 3, size=(n, 2)) * rng.choice([-1, 1], size=(n, 2))
    videos = np.zeros((n, T, 1, size, size), dtype=np.float32)
    for t in range(T):
        for k in range(n):
            r, c = pos[k]
            videos[k, t, 0, r : r + shape_size, c : c + shape_size] = 1.0
        pos = pos + vel
        low, high = pos < 0, pos > hi
        pos = np.where(low, -pos, np.where(high, 2 * hi - pos, pos))
        vel = np.where(low | high, -vel, vel)
    return videos


# --- chapter 10: numbers written out in words, to be translated into digits ------------------

#: Source words of :func:`number_words` (ids 3.. after the specials), in this order.
NUMBER_WORDS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
                "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
                "eighteen", "nineteen", "twenty", "thirty", "forty", "fifty", "sixty", "seventy",
                "eighty", "ninety", "hundred", "thousand", "million")


def _words_below_thousand(k: int) -> list[str]:
    """English words of ``1 <= k <= 999`` (no "and", no hyphen: "three hundred forty two")."""
    ones, tens = NUMBER_WORDS[:19], NUMBER_WORDS[19:27]
    out = []
    if k >= 100:
        out += [ones[k // 100 - 1], "hundred"]
        k %= 100
    if k >= 20:
        out.append(tens[k // 10 - 2])
        k %= 10
    if k:
        out.append(ones[k - 1])
    return out


def number_to_words(value: int) -> list[str]:
    """The English words of a whole number ``1 <= value < 10**9``, e.g. ``2307660`` ->
    ``two million three hundred seven thousand six hundred sixty`` (as a list of words)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not 0 < value < 10**9:
        raise ValueError(f"value: expected an int from 1 to 999999999, got {value!r}")
    out = []
    for size, name in ((10**6, ["million"]), (10**3, ["thousand"]), (1, [])):
        group = int(value) // size % 1000
        if group:
            out += _words_below_thousand(group) + name
    return out


def number_words(
    n: int, max_digits: int = 6, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...], tuple[str, ...]]:
    """Numbers written out in English words, to be translated into their digits (chapter 10).

    Each example draws a number of digits ``d`` uniformly from ``1..max_digits``, then a whole
    number uniformly among those with ``d`` digits. The source is its words
    (``sixty one thousand four hundred ninety one``, 1 to 14 words), the target its decimal
    digits (``6 1 4 9 1``). The task has what makes translation hard in miniature: the two
    sequences differ in length, one word can give two digits (``seventeen``) or none
    (``thousand``), and zeros appear in the output that no input word names (``five thousand
    seven`` -> ``5 0 0 7``).

    Token ids: 0 padding, 1 start ``<s>``, 2 end ``</s>``; source words from 3 in the order of
    :data:`NUMBER_WORDS`; target digit ``k`` has id ``k + 3``. Targets end with ``</s>``.

    Args:
        n: number of examples.
        max_digits: largest number of digits, 1 to 9.
        seed: seed of the generator.

    Returns:
        ``src (n, T_x)`` int64 padded with 0 (``T_x`` the longest sentence drawn),
        ``tgt (n, max_digits + 1)`` int64 (digits, then ``</s>``, then 0), ``src_vocab`` and
        ``tgt_vocab`` (tuples of strings, indexed by id), and the numbers ``values (n,)`` int64.
    """
    n = validate.positive("n", n, integer=True)
    max_digits = validate.positive("max_digits", max_digits, integer=True)
    if max_digits > 9:
        raise ValueError(f"max_digits: expected at most 9, got {max_digits}")
    rng = np.random.default_rng(seed)
    low = 10 ** rng.integers(0, max_digits, size=n)  # 10**(d-1) for d digits
    values = low + (rng.random(n) * 9 * low).astype(np.int64)
    sentences = [number_to_words(int(v)) for v in values]
    src_vocab = TRANSLATION_SPECIALS + NUMBER_WORDS
    tgt_vocab = TRANSLATION_SPECIALS + tuple("0123456789")
    index = {w: i for i, w in enumerate(src_vocab)}
    src = np.zeros((n, max(map(len, sentences))), dtype=np.int64)
    tgt = np.zeros((n, max_digits + 1), dtype=np.int64)
    for i, (words, v) in enumerate(zip(sentences, values, strict=True)):
        src[i, : len(words)] = [index[w] for w in words]
        digits = [int(c) + 3 for c in str(int(v))]
        tgt[i, : len(digits)] = digits
        tgt[i, len(digits)] = 2
    return src, tgt, src_vocab, tgt_vocab, values.astype(np.int64)


# --- chapter 12: scenes of coloured shapes and their captions ---------------------------------

#: Colours of :func:`shape_scenes` (name -> RGB in [0, 1]) and its shapes, in vocabulary order.
SCENE_COLOURS = {"red": (0.95, 0.15, 0.1), "green": (0.1, 0.75, 0.2), "blue": (0.2, 0.35, 1.0),
                 "yellow": (0.95, 0.85, 0.1)}
SCENE_SHAPES = ("circle", "square", "triangle")
#: Vocabulary of the captions: 0 padding, 1 start, 2 end, then the words.
SCENE_VOCAB = ("<pad>", "<s>", "</s>", "a", *SCENE_COLOURS, *SCENE_SHAPES, "above", "left", "of")


def _shape_template(shape: str, m: int) -> np.ndarray:
    """Boolean ``(2m + 1, 2m + 1)`` picture of a shape centred on the middle pixel: a square
    fills the box, a circle of radius ``m + 1/4`` cuts its corners, a triangle (apex up) widens
    from one pixel at the top to the full width at the bottom."""
    dy, dx = np.mgrid[-m : m + 1, -m : m + 1]
    if shape == "circle":
        return dy**2 + dx**2 <= (m + 0.25) ** 2
    if shape == "square":
        return np.ones(dy.shape, dtype=bool)
    return np.abs(dx) <= (dy + m) / 2


def shape_scenes(
    n: int, size: int = 24, p_single: float = 0.2, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Images of one or two coloured shapes on black, each with the one caption that fits it
    (image captioning with attention, chapter 12).

    The image is divided into a 3 x 3 grid of cells. A scene holds one shape (probability
    ``p_single``) in a random cell, or two shapes in two cells of the same column (one above the
    other) or of the same row (one left of the other), with equal probability. Every shape has a
    colour from :data:`SCENE_COLOURS` and a form from :data:`SCENE_SHAPES`, drawn independently
    (both shapes may look alike). A shape spans ``2m + 1`` pixels, ``m = round(0.3 * size / 3)``
    (less when a cell is too narrow; 5 pixels in a 24-pixel image), and sits at a random place inside its cell, clear of the
    cell's last row and column, so neighbouring shapes never touch.

    The caption follows a small grammar that names the top (or left) shape first, so it is fixed
    by the image: ``"a red circle"``, ``"a red circle above a blue square"`` or
    ``"a green triangle left of a yellow circle"``, followed by ``</s>``.

    Args:
        n: number of scenes.
        size: side of the square image in pixels (at least 12).
        p_single: probability of a one-shape scene, in [0, 1].
        seed: seed of the generator.

    Returns:
        ``images (n, 3, size, size)`` float32 in [0, 1] (channel-first RGB, as
        ``torch.nn.Conv2d`` expects), ``captions (n, 9)`` int64 (token ids into the vocabulary,
        ``</s>`` after the last word, then 0 for padding) and the vocabulary :data:`SCENE_VOCAB`.
    """
    n = validate.positive("n", n, integer=True)
    size = validate.positive("size", size, integer=True)
    if size < 12:
        raise ValueError(f"size: expected at least 12 pixels, got {size}")
    if not 0 <= p_single <= 1:
        raise ValueError(f"p_single: expected a number in [0, 1], got {p_single!r}")
    rng = np.random.default_rng(seed)
    # pixels whose centre lies in cell k: first[k] .. last[k]; a shape keeps off the cell's last
    # pixel, so shapes in neighbouring cells never touch
    first = [int(np.ceil(k * size / 3 - 0.5)) for k in range(3)]
    last = [int(np.ceil((k + 1) * size / 3 - 0.5)) - 1 for k in range(3)]
    narrowest = min(b - a + 1 for a, b in zip(first, last, strict=True))
    m = max(1, min(round(0.3 * size / 3), (narrowest - 2) // 2))
    templates = {shape: _shape_template(shape, m) for shape in SCENE_SHAPES}
    colours = list(SCENE_COLOURS)
    word = {w: i for i, w in enumerate(SCENE_VOCAB)}
    images = np.zeros((n, 3, size, size), dtype=np.float32)
    captions = np.zeros((n, 9), dtype=np.int64)
    for k in range(n):
        if rng.random() < p_single:
            cells, relation = [tuple(int(c) for c in rng.integers(0, 3, size=2))], None
        else:
            relation = ("above", "left of")[int(rng.integers(2))]
            line = int(rng.integers(3))
            a, b = sorted(int(c) for c in rng.choice(3, 2, replace=False))
            cells = [(a, line), (b, line)] if relation == "above" else [(line, a), (line, b)]
        words = []
        for j, (row, col) in enumerate(cells):
            colour = colours[int(rng.integers(len(colours)))]
            shape = SCENE_SHAPES[int(rng.integers(len(SCENE_SHAPES)))]
            r, c = (int(rng.integers(first[i] + m, last[i] - m)) for i in (row, col))
            patch = images[k, :, r - m : r + m + 1, c - m : c + m + 1]
            patch[:, templates[shape]] = np.asarray(SCENE_COLOURS[colour], np.float32)[:, None]
            words += ["a", colour, shape] + (relation.split() if j == 0 and relation else [])
        ids = [word[w] for w in words] + [word["</s>"]]
        captions[k, : len(ids)] = ids
    return images, captions, SCENE_VOCAB
