"""course_lib: the small, tested helper library of the RNN lecture companion.

Modules (each small and named by what it holds):

- :mod:`course_lib.seed`      -- ``set_seed``: one call makes a notebook reproducible.
- :mod:`course_lib.validate`  -- argument checking with clear ``ValueError`` messages.
- :mod:`course_lib.gradcheck` -- numerical gradients and relative errors.
- :mod:`course_lib.data`      -- seeded data generators and the bundled digits.
- :mod:`course_lib.plots`     -- the course's one plotting style.
- :mod:`course_lib.train`     -- the one training loop (with a progress bar).
- :mod:`course_lib.widgets`   -- widgets that also work on the static website.
- :mod:`course_lib.checks`    -- diagnostic public checks for the lab exercises.
- :mod:`course_lib.authoring` -- solutions/ -> notebooks/ (nbgrader metadata from markers).
- :mod:`course_lib.grading`   -- batch grading of submissions into a gradebook and a CSV.

The library never holds the answers to graded exercises: it holds data, references computed
with torch, checks, plotting, training and grading.
"""

from course_lib.seed import set_seed

__all__ = ["set_seed"]
__version__ = "0.1.0"
