"""The sandbox's exceptions, and the builtin exceptions a student's own are mapped back to."""

from __future__ import annotations

import builtins


class SandboxError(RuntimeError):
    """The sandbox could not be set up (missing bwrap, ...); the message says what to do."""


class KernelDied(RuntimeError):
    """The kernel's process ended."""


class CallTimeout(RuntimeError):
    """A cell or a call ran past its time limit."""


class BudgetExhausted(CallTimeout):
    """The whole submission's wall-clock budget ran out (the kernel has been stopped)."""


class StudentCodeError(Exception):
    """An exception raised by student code in the kernel (by a name that is not a builtin)."""


# Student exceptions with these names are re-raised as the builtin of that name, so that the
# checks' handling (NotImplementedError means "not implemented yet") is the same as in Jupyter.
BUILTIN_ERRORS = {name: getattr(builtins, name) for name in (
    "NotImplementedError", "ValueError", "TypeError", "IndexError", "KeyError", "AttributeError",
    "ZeroDivisionError", "AssertionError", "RuntimeError", "NameError", "ArithmeticError",
    "OverflowError", "FloatingPointError", "MemoryError", "RecursionError", "LookupError",
    "UnboundLocalError")}
