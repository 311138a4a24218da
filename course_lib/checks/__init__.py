"""Public checks for the lab exercises: a diagnosis, not just a failed assert.

Each chapter has a module (``course_lib.checks.ch01`` ...) whose ``check_*`` functions take the
student's function, run it on inputs whose expected outputs come from torch, numerical
differentiation or maths, print what is wrong (shape, worst element, a hint for the usual
mistake) and return ``True``/``False``. A function still at its stub prints
"not implemented yet" and never raises, so the rest of the lab runs.

Hidden tests call the same checks with ``seed=`` values the student never sees and
``quiet=True``, and assert the result.
"""

from course_lib.checks.core import CheckResult, compare, public_check, use_or_reference

__all__ = ["CheckResult", "compare", "public_check", "use_or_reference"]
