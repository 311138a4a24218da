"""course_tools: what instructors run on the course (students never import it).

It lives beside :mod:`course_lib` in the same distribution and may import it; ``course_lib``
imports nothing from here (tests/test_wings.py checks). Modules:

- :mod:`course_tools.paths`      -- where the course is (``--root``, ``$COURSE_ROOT`` or the
  folder holding ``_toc.yml`` and ``solutions/`` above the current directory).
- :mod:`course_tools.labspec`    -- the lab-marker grammar, parsed once into a typed :class:`Lab`.
- :mod:`course_tools.authoring`  -- solutions/ -> notebooks/ (nbgrader metadata from markers).
- :mod:`course_tools.grading`    -- batch grading (package: ``spec``, ``results``, ``run``,
  ``reports``, ``gradebook``, ``batch``, ``cli``).
- :mod:`course_tools.sandbox`    -- the sandboxed kernel (package: ``errors``, ``wire``,
  ``kernel_side``, ``bwrap``, ``kernel``, ``rpc``, ``slots``).
- :mod:`course_tools.prebuild`   -- the book's pages executed in parallel into the build cache.
- :mod:`course_tools.sphinx_ext` -- the Sphinx extension of the site (lab links, alt text, CSS).
- :mod:`course_tools.slides`     -- reveal.js decks of the chapters and labs (``templates/``).
"""

__version__ = "0.1.0"
