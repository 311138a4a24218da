"""The course's references: torch (or scikit-learn) computations of what the lab exercises ask
for, one module per lab (``course_lib.references.ch01`` ...).

The public checks compare students' code with them, and a lab falls back on them through
:func:`course_lib.checks.use_or_reference` when an exercise is unfinished. They live apart from
the checks so that the grader's sandbox can mount stand-ins in their place. They are built on
torch or scikit-learn, never on the from-scratch NumPy code the exercises ask for; values
cross between NumPy and torch through :mod:`course_lib.checks.bridge`.
"""


class ReferenceUnavailable(RuntimeError):
    """Raised by a reference's stand-in in the grading sandbox."""


class Unavailable:
    """What a name imported from ``course_lib.references`` is while grading: the real module is
    replaced by a stand-in (see the grader's sandbox), and this object raises
    :class:`ReferenceUnavailable` whenever it is called or used, with a message that says why.
    """

    def __init__(self, module: str, name: str):
        self.__module__ = module
        self.__name__ = self.__qualname__ = name

    def _refuse(self, *args, **kwargs):
        raise ReferenceUnavailable(
            f"{self.__name__}: the course's reference is not available while grading (the "
            "grade measures your own code)")

    __call__ = _refuse

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        self._refuse()

    def __repr__(self) -> str:
        return f"<{self.__module__}.{self.__name__}: not available while grading>"


def is_reference(fn) -> bool:
    """Whether ``fn`` is one of the course's references (or a stand-in of one)."""
    module = getattr(fn, "__module__", None) or ""
    return isinstance(fn, Unavailable) or module.startswith("course_lib.references.")
