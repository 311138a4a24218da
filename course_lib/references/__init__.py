"""The course's references: torch (or scikit-learn) computations of what the lab exercises ask
for, one module per lab (``course_lib.references.ch01`` ...).

The public checks compare students' code with them, and a lab falls back on them through
:func:`course_lib.checks.use_or_reference` when an exercise is unfinished. They live apart from
the checks so that the grader's sandbox can mount stand-ins in their place. They are built on
torch or scikit-learn, never on the from-scratch NumPy code the exercises ask for; values
cross between NumPy and torch through :mod:`course_lib.checks.bridge`.
"""
