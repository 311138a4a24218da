"""course_lib: the small, tested helper library of the RNN lecture companion.

What the book pages and the labs import (each module small and named by what it holds):

- :mod:`course_lib.seed`        -- ``set_seed``: one call makes a notebook reproducible.
- :mod:`course_lib.validate`    -- argument checking with clear ``ValueError`` messages.
- :mod:`course_lib.gradcheck`   -- numerical gradients and relative errors.
- :mod:`course_lib.claims`      -- a page's claims about trained numbers, shown and asserted.
- :mod:`course_lib.data`        -- seeded data generators and the bundled digits, by kind of data.
- :mod:`course_lib.plots`       -- the course's one plotting style.
- :mod:`course_lib.train`       -- the one training loop (with a progress bar).
- :mod:`course_lib.widgets`     -- widgets that also work on the static website.
- :mod:`course_lib.models`      -- the torch models: attention, encoder-decoder, captioner.
- :mod:`course_lib.checks`      -- diagnostic public checks for the lab exercises.
- :mod:`course_lib.references`  -- torch references the checks compare with and labs fall back on.

The instructors' tooling that still lives here (moving to its own package):

- :mod:`course_lib.authoring`   -- solutions/ -> notebooks/ (nbgrader metadata from markers).
- :mod:`course_lib.grading`     -- batch grading of submissions into a gradebook and a CSV.
- :mod:`course_lib.sandbox`     -- the sandboxed kernel the grader runs submissions in.
- :mod:`course_lib.prebuild`    -- executes the book's pages into the cache before a build.
- :mod:`course_lib.sphinx_ext`  -- the Sphinx extension of the website.
- :mod:`course_lib.slides`      -- slides for class from the book's sources.

The library never holds the answers to graded exercises: it holds data, references computed
with torch, checks, plotting, training and grading.
"""

from course_lib.seed import set_seed

__all__ = ["set_seed"]
__version__ = "0.1.0"
