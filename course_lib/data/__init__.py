"""Data for the course: seeded generators and scikit-learn's bundled digits.

Nothing here touches the network: every data set is either generated from a seed or ships
inside an installed package. Arrays are batch-first; labels are integer arrays.

The generators live in modules by kind of data and are all re-exported here, so
``from course_lib import data; data.char_corpus()`` and ``from course_lib.data import X`` work:

- :mod:`course_lib.data.vectors`     -- fixed-size inputs: the bundled digits, two blobs.
- :mod:`course_lib.data.sequences`   -- sequence tasks with a known rule: counting, binary
  addition, parity, the adding problem.
- :mod:`course_lib.data.text`        -- text written by the course: corpora, reviews, tagging.
- :mod:`course_lib.data.signals`     -- time series: noisy sinusoids, behaviour traces.
- :mod:`course_lib.data.translation` -- sequence-to-sequence tasks: numbers in words, a toy
  language.
- :mod:`course_lib.data.images`      -- moving squares and captioned scenes of shapes.
"""

from course_lib.data.images import (
    SCENE_COLOURS,
    SCENE_SHAPES,
    SCENE_VOCAB,
    moving_shapes,
    shape_scenes,
)
from course_lib.data.sequences import (
    adding_problem,
    binary_addition,
    binary_addition_split,
    counting_sequences,
    distinct_bit_strings,
    parity_sequences,
    parity_split,
)
from course_lib.data.signals import BEHAVIOURS, behaviours, sine_signals
from course_lib.data.text import (
    CORPUS_OBJECTS,
    CORPUS_PLACES,
    CORPUS_SUBJECTS,
    CORPUS_VERBS,
    TAGS,
    bracket_text,
    char_corpus,
    reviews,
    tagged_sentences,
)
from course_lib.data.translation import (
    NUMBER_WORDS,
    TRANSLATION_SPECIALS,
    TRANSLATION_SRC_WORDS,
    TRANSLATION_TGT_WORDS,
    number_to_words,
    number_words,
    toy_translation,
)
from course_lib.data.vectors import load_digits, two_blobs

__all__ = [
    "BEHAVIOURS", "CORPUS_OBJECTS", "CORPUS_PLACES", "CORPUS_SUBJECTS", "CORPUS_VERBS",
    "NUMBER_WORDS", "SCENE_COLOURS", "SCENE_SHAPES", "SCENE_VOCAB", "TAGS",
    "TRANSLATION_SPECIALS", "TRANSLATION_SRC_WORDS", "TRANSLATION_TGT_WORDS",
    "adding_problem", "behaviours", "binary_addition", "binary_addition_split", "bracket_text",
    "char_corpus", "counting_sequences", "distinct_bit_strings", "load_digits", "moving_shapes",
    "number_to_words", "number_words", "parity_sequences", "parity_split", "reviews", "shape_scenes", "sine_signals", "tagged_sentences",
    "toy_translation", "two_blobs",
]
