"""Translation tasks for encoder-decoders: numbers written out in words, to be translated into
their digits (chapter 10), and an invented language with word-pair reordering (chapter 11).

Both share the special tokens: id 0 padding, 1 the start token, 2 the end token.
"""

from __future__ import annotations

import numpy as np

from course_lib import validate

#: Vocabularies of :func:`toy_translation`: an invented source language and its English words.
#: Index 0 is padding, 1 the start token, 2 the end token; words start at index 3.
TRANSLATION_SPECIALS = ("<pad>", "<s>", "</s>")
TRANSLATION_SRC_WORDS = ("ka", "lo", "mi", "nu", "pe", "ri", "so", "tu", "ve", "zi")
TRANSLATION_TGT_WORDS = ("sun", "moon", "tree", "rock", "fish", "bird", "rain", "snow", "wind",
                         "fire")


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
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...], tuple[str, ...], np.ndarray]:
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
