"""course_lib: the small, tested helper library of the RNN lecture companion.

This is what the book's pages and the labs import (and all that a student's environment
needs). The instructors' tooling (authoring, grading and its sandbox, the site build, slides)
is the separate package ``course_tools``; ``course_lib`` imports nothing from it.

Modules (each small and named by what it holds):

- :mod:`course_lib.seed`       -- ``set_seed``: one call makes a notebook reproducible.
- :mod:`course_lib.validate`   -- argument checking with clear ``ValueError`` messages.
- :mod:`course_lib.gradcheck`  -- numerical gradients and relative errors.
- :mod:`course_lib.data`       -- seeded data generators and the bundled digits, by kind.
- :mod:`course_lib.plots`      -- the course's one plotting style.
- :mod:`course_lib.train`      -- the one training loop (with a progress bar).
- :mod:`course_lib.widgets`    -- widgets that also work on the static website.
- :mod:`course_lib.claims`     -- a trained number shown, the statement drawn from it asserted.
- :mod:`course_lib.models`     -- the torch models: attention, encoder-decoder, captioner.
- :mod:`course_lib.checks`     -- diagnostic public checks for the lab exercises (``core`` and
  one module a chapter, ``ch01`` to ``ch12``, and ``bridge``, the one NumPy-torch bridge).
- :mod:`course_lib.references` -- the torch references the checks compare with and the labs fall
  back on, one module a chapter.

The library never holds the answers to graded exercises: it holds data, references computed
with torch, checks, plotting and training.
"""

from course_lib.seed import set_seed

__all__ = ["set_seed"]
__version__ = "0.1.0"
