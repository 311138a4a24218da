"""course_lib.checks.core: compare() diagnoses, the public_check wrapper never raises, and
use_or_reference falls back to the reference."""

from __future__ import annotations

import numpy as np
import pytest
from labs import stub

from course_lib.checks import CheckResult, compare, public_check, use_or_reference
from course_lib.checks.core import CheckFailed

# ---------------------------------------------------------------------------------- compare


def _fails(*args, **kwargs) -> str:
    with pytest.raises(CheckFailed) as info:
        compare(*args, **kwargs)
    return str(info.value)


def test_compare_accepts_equal_and_nearly_equal_values():
    expected = np.arange(6.0).reshape(2, 3)
    compare("x", expected.copy(), expected)
    compare("x", expected + 1e-10, expected)
    compare("x", expected.tolist(), expected)  # lists are converted
    compare("s", 2.0, np.float64(2.0))  # scalars


def test_compare_transposed_shape():
    expected = np.zeros((2, 3))
    msg = _fails("scores", np.zeros((3, 2)), expected)
    assert msg.startswith("scores: shape (3, 2), expected (2, 3)")
    assert "transposed" in msg


def test_compare_same_size_other_shape_suggests_a_reshape():
    msg = _fails("h", np.zeros(6), np.zeros((2, 3)))
    assert "shape (6,), expected (2, 3)" in msg and "reshape or a wrong axis" in msg


def test_compare_other_size_has_no_misleading_hint():
    msg = _fails("h", np.zeros((2, 4)), np.zeros((2, 3)))
    assert msg == "h: shape (2, 4), expected (2, 3)"


def test_compare_names_the_worst_element_and_how_many_differ():
    expected = np.arange(6.0).reshape(2, 3)
    actual = expected.copy()
    actual[1, 2] += 0.5
    actual[0, 0] += 0.1
    msg = _fails("dW", actual, expected)
    assert msg.startswith("dW: 2 of 6 values differ")
    assert "worst is at index (1, 2): yours 5.5, expected 5" in msg
    assert "Hint" not in msg


def test_compare_hint_for_a_matching_alternative():
    rng = np.random.default_rng(0)
    X, W, b = rng.normal(size=(4, 3)), rng.normal(size=(3, 2)), rng.normal(size=2)
    msg = _fails("scores", X @ W, X @ W + b, alternatives={
        "the ReLU is missing": np.maximum(X @ W + b, 0),
        "the bias b is missing": X @ W,
    })
    assert msg.endswith("Hint: your values match what you get when the bias b is missing")
    assert "ReLU" not in msg


def test_compare_alternative_of_another_shape_is_ignored():
    msg = _fails("x", np.ones(3), np.zeros(3), alternatives={"it is wrong": np.ones((3, 1))})
    assert "Hint" not in msg


def test_compare_flipped_sign():
    expected = np.array([1.0, -2.0, 3.0])
    assert _fails("dx", -expected, expected).endswith("Hint: the sign is flipped")


def test_compare_factor_of_two_both_ways():
    expected = np.array([1.0, -2.0, 3.0])
    assert _fails("dx", 2 * expected, expected).endswith("Hint: off by a factor of 2")
    assert _fails("dx", expected / 2, expected).endswith("Hint: off by a factor of 2")


def test_compare_none_tuple_non_numeric_and_nan():
    expected = np.zeros((2, 3))
    assert "returned None (a missing `return`?)" in _fails("out", None, expected)
    msg = _fails("out", (np.zeros(3),), expected)
    assert "got a tuple of length 1" in msg and "(2, 3)" in msg
    msg = _fails("out", {"a": 1}, expected)
    assert "expected array of shape (2, 3)" in msg and "got dict" in msg
    bad = np.zeros((2, 3))
    bad[0, 1] = np.nan
    assert _fails("out", bad, expected) == "out: contains NaN or infinity"


def test_compare_respects_tolerances():
    expected = np.array([1.0, 2.0])
    compare("x", expected + 1e-3, expected, atol=1e-2)
    msg = _fails("x", expected + 1e-3, expected, atol=1e-6, rtol=1e-6)
    assert "2 of 2 values differ" in msg


# ---------------------------------------------------------------------------------- public_check


@public_check("square")
def check_square(fn, seed: int = 0):
    """Checks fn(x) == x ** 2."""
    x = np.random.default_rng(seed).normal(size=(3, 2))
    compare("square(x)", fn(x.copy()), x**2, alternatives={"you doubled x": 2 * x})


@public_check("offset")
def check_offset(fn, offset, seed: int = 0):
    """A check with an extra argument, like check_mlp_backward(fn, forward)."""
    compare("fn(0)", fn(0.0), offset)


def _type_error(x):
    return x(2)  # TypeError raised in the student's code: an array is not callable


def test_passing_check_quiet_returns_truthy_result_and_prints_nothing(capsys):
    result = check_square(lambda x: x * x, quiet=True)
    assert isinstance(result, CheckResult)
    assert result and result.passed and result.implemented
    assert result.name == "square"
    assert result.messages == ["square: all checks passed."]
    assert repr(result) == "<check square: passed>"
    assert capsys.readouterr() == ("", "")


def test_passing_check_loud_prints_one_report_and_returns_none(capsys):
    assert check_square(lambda x: x * x) is None
    out, err = capsys.readouterr()
    assert out == "\u2714 square: all checks passed.\n" and err == ""


def test_failing_check_gives_the_diagnosis(capsys):
    result = check_square(lambda x: 2 * x, quiet=True)
    assert isinstance(result, CheckResult) and not result and result.implemented
    (msg,) = result.messages
    assert msg.startswith("square: not yet right. square(x):")
    assert "Hint: your values match what you get when you doubled x" in msg
    assert repr(result) == "<check square: failed>"
    assert capsys.readouterr() == ("", "")

    assert check_square(lambda x: 2 * x) is None
    out, _ = capsys.readouterr()
    assert out.startswith("\u2718 square: not yet right.") and out.count("\n") == 1


def test_not_implemented_never_raises(capsys):
    result = check_square(stub, quiet=True)
    assert not result and not result.implemented
    assert "not implemented yet" in result.messages[0]
    assert repr(result) == "<check square: not implemented>"

    assert check_square(stub) is None
    out, err = capsys.readouterr()
    assert "not implemented yet" in out and out.startswith("\u2026") and err == ""
    assert "Traceback" not in out


def test_an_exception_in_student_code_is_reported_not_raised(capsys):
    result = check_square(_type_error, quiet=True)
    assert not result and result.implemented
    (msg,) = result.messages
    assert msg.startswith("square: your code raised TypeError:")
    assert "object is not callable" in msg
    # where: the student's line, not the library's
    assert "`return x(2)" in msg and "test_checks_core.py" in msg

    assert check_square(_type_error) is None
    out, _ = capsys.readouterr()
    assert "your code raised TypeError" in out and "Traceback" not in out


@pytest.mark.parametrize("exc", [ValueError("bad"), ZeroDivisionError("zero"), KeyError("k"),
                                 IndexError("i"), RecursionError("deep")])
def test_any_exception_becomes_a_message(exc):
    def raising(x):
        raise exc

    result = check_square(raising, quiet=True)
    assert not result
    assert f"your code raised {type(exc).__name__}" in result.messages[0]


def test_not_a_function_is_reported():
    result = check_square(np.zeros(3), quiet=True)
    assert not result
    assert "expected a function, got array of shape (3,)" in result.messages[0]
    assert "got None" in check_square(None, quiet=True).messages[0]


def test_extra_arguments_and_seed_are_passed_through():
    assert check_offset(lambda v: v + 3.0, 3.0, quiet=True)
    assert not check_offset(lambda v: v + 3.0, 4.0, quiet=True)
    assert check_square(lambda x: x * x, seed=123, quiet=True)
    seen = []
    check_square(lambda x: seen.append(x.copy()) or x * x, seed=5, quiet=True)
    check_square(lambda x: seen.append(x.copy()) or x * x, seed=6, quiet=True)
    assert not np.array_equal(seen[0], seen[1])


def test_wrapper_keeps_name_and_docstring():
    assert check_square.__name__ == "check_square"
    assert check_square.__doc__ == "Checks fn(x) == x ** 2."


def test_keyboard_interrupt_is_not_swallowed():
    def interrupted(x):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        check_square(interrupted, quiet=True)


# ---------------------------------------------------------------------------------- fallback


def _reference(x):
    return x**2


def test_use_or_reference_picks_the_student_function_when_it_passes(capsys):
    def student(x):
        return x * x

    assert use_or_reference(student, check_square, _reference, "square") is student
    assert capsys.readouterr().out == "Using your square.\n"


@pytest.mark.parametrize("student", [stub, _type_error, lambda x: 2 * x])
def test_use_or_reference_falls_back_with_a_note(student, capsys):
    assert use_or_reference(student, check_square, _reference, "square",
                            source="numpy") is _reference
    out = capsys.readouterr().out
    assert out.startswith("Note: your square does not pass its check yet")
    assert "numpy-based reference" in out
    assert out.count("\n") == 1  # the quiet check printed nothing itself


def test_call_on_copies_returns_output_and_catches_in_place_changes():
    from course_lib.checks.core import CheckFailed, call_on_copies

    x = np.arange(3.0)
    assert np.array_equal(call_on_copies(lambda a: a * 2, {"x": x}), 2 * x)

    def mutate(a):
        a += 1
        return a

    with pytest.raises(CheckFailed, match="changed its input x in place"):
        call_on_copies(mutate, {"x": x})
    assert np.array_equal(x, np.arange(3.0))  # the caller's array is untouched
    assert call_on_copies(lambda a: a.sum(), {"x": x}, call=lambda f, *a: f(*a) + 1) == 4.0


def test_a_check_handed_the_reference_says_it_is_not_your_code(capsys):
    from course_lib.checks.ch03 import check_rnn_forward
    from course_lib.references import Unavailable
    from course_lib.references.ch03 import reference_rnn_forward

    check_rnn_forward(reference_rnn_forward)
    assert "this is the course's reference (reference_rnn_forward), not your code" in \
        capsys.readouterr().out
    standin = Unavailable("course_lib.references.ch03", "reference_rnn_forward")
    result = check_rnn_forward(standin, quiet=True)
    assert not result and "not your code" in result.messages[0]


def test_while_grading_use_or_reference_returns_the_students_function(monkeypatch, capsys):
    from course_lib.checks import use_or_reference

    def mine(x):
        raise NotImplementedError

    monkeypatch.setenv("COURSE_GRADING", "1")
    assert use_or_reference(mine, None, None, "thing") is mine
    assert "use your thing" in capsys.readouterr().out
