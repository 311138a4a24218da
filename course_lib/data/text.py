"""Text written by the course: the corpus of the character-level language models (chapter 4),
and the bracket language, reviews and tagged sentences of the applications (chapter 9)."""

from __future__ import annotations

import numpy as np

from course_lib import validate

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


_BRACKET_ANIMALS = ("cat", "dog", "fox", "owl", "hen", "rat")
_BRACKET_VERBS = ("saw", "met", "chased", "fed", "heard")
_BRACKET_PLACES = ("the barn", "the yard", "the pond", "the hill")


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
        words = "the " + str(rng.choice(_BRACKET_ANIMALS))
        if depth < max_depth and rng.random() < 0.5:
            if rng.random() < 0.5:
                aside = f"who {rng.choice(_BRACKET_VERBS)} {noun(depth + 1)}"
            else:
                aside = f"at {rng.choice(_BRACKET_PLACES)}"
            words += f" ({aside})"
        return words

    lines = [f"{noun(0)} {rng.choice(_BRACKET_VERBS)} {noun(0)}.\n" for _ in range(n_lines)]
    return "".join(lines)


_REVIEW_POSITIVE = ("good", "great", "fine", "lovely", "superb")
_REVIEW_NEGATIVE = ("bad", "awful", "poor", "dull", "bland")
_REVIEW_SUBJECTS = ("the food", "the soup", "the service", "the staff", "the bread", "the place")


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
        subject = str(rng.choice(_REVIEW_SUBJECTS))
        pos, neg = str(rng.choice(_REVIEW_POSITIVE)), str(rng.choice(_REVIEW_NEGATIVE))
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
_TAG_PEOPLE = ("anna", "omar", "maria", "li", "john", "ines")
_TAG_CITIES = ("paris", "lima", "oslo", "cairo", "delhi", "quito")
_TAG_BOTH = ("jordan", "georgia", "florence", "sydney", "victoria", "austin")
_TAG_TEMPLATES = (
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
        for slot in str(rng.choice(_TAG_TEMPLATES)).split():
            if slot in ("P", "L"):
                pool = _TAG_BOTH if rng.random() < p_ambiguous else (
                    _TAG_PEOPLE if slot == "P" else _TAG_CITIES)
                words.append(str(rng.choice(pool)))
                codes.append(TAGS.index("PER" if slot == "P" else "LOC"))
            else:
                words.append(slot)
                codes.append(0)
        tokens.append(words)
        tags.append(np.array(codes, dtype=np.int64))
    return tokens, tags
