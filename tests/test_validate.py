"""course_lib.validate: bad input raises a ValueError naming the argument and both shapes."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib import validate


def test_returns_float64_array_with_the_same_values():
    out = validate.array("x", [[1, 2], [3, 4]], ("N", "D"))
    assert isinstance(out, np.ndarray)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, np.array([[1.0, 2.0], [3.0, 4.0]]))


def test_dtype_none_keeps_the_dtype():
    x = np.arange(6, dtype=np.int32).reshape(2, 3)
    assert validate.array("x", x, dtype=None).dtype == np.int32


def test_letters_bind_across_calls_through_dims():
    dims: dict[str, int] = {}
    validate.array("X", np.zeros((5, 3)), ("N", "D"), dims)
    assert dims == {"N": 5, "D": 3}
    validate.array("U", np.zeros((4, 3)), ("H", "D"), dims)  # D agrees
    assert dims == {"N": 5, "D": 3, "H": 4}
    with pytest.raises(ValueError) as info:
        validate.array("W", np.zeros((4, 3)), ("H", "H"), dims)  # H is 4, axis 1 is 3
    msg = str(info.value)
    assert msg.startswith("W:")
    assert "(H=4, H=4)" in msg  # expected shape, with the bound size
    assert "(4, 3)" in msg  # actual shape
    assert "axis 1" in msg


def test_transposed_weight_is_caught_with_both_shapes_in_the_message():
    dims = {"H": 4, "D": 3}
    with pytest.raises(ValueError) as info:
        validate.array("U", np.zeros((3, 4)), ("H", "D"), dims)
    msg = str(info.value)
    assert msg.startswith("U:")
    assert "(H=4, D=3)" in msg and "(3, 4)" in msg


def test_same_letter_twice_in_one_shape_must_agree():
    validate.array("W", np.zeros((3, 3)), ("H", "H"))
    with pytest.raises(ValueError, match=r"W: .*\(2, 3\)"):
        validate.array("W", np.zeros((2, 3)), ("H", "H"))


def test_wrong_number_of_dimensions_names_argument_and_shapes():
    with pytest.raises(ValueError) as info:
        validate.array("x", np.zeros(4), ("N", "D"))
    msg = str(info.value)
    assert msg.startswith("x:")
    assert "(N, D)" in msg and "(4,)" in msg
    assert "1 dimensions instead of 2" in msg


def test_fixed_size_mismatch_names_argument_and_shapes():
    with pytest.raises(ValueError) as info:
        validate.array("X", np.zeros((5, 3)), (None, 2))
    msg = str(info.value)
    assert msg.startswith("X:")
    assert "(?, 2)" in msg and "(5, 3)" in msg


def test_none_in_shape_accepts_any_size():
    for n in (1, 7):
        assert validate.array("x", np.zeros((n, 2)), (None, 2)).shape == (n, 2)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values_are_rejected(bad):
    x = np.ones(5)
    x[2] = bad
    with pytest.raises(ValueError, match=r"^x: contains 1 NaN or infinite"):
        validate.array("x", x)


def test_non_finite_values_allowed_when_finite_is_false():
    out = validate.array("x", [1.0, np.nan], finite=False)
    assert np.isnan(out[1])


def test_empty_array_is_rejected_unless_allowed():
    with pytest.raises(ValueError, match=r"^x: expected a non-empty array, got shape \(0, 3\)"):
        validate.array("x", np.zeros((0, 3)), ("N", 3))
    assert validate.array("x", np.zeros((0, 3)), ("N", 3), allow_empty=True).shape == (0, 3)


def test_integer_target_rejects_fractional_values():
    with pytest.raises(ValueError, match=r"^y: expected integers"):
        validate.array("y", [0.0, 1.5], dtype=np.int64)
    with pytest.raises(ValueError, match=r"^y: expected integers"):
        validate.array("y", [0.0, np.nan], dtype=np.int64)


def test_integer_target_accepts_whole_floats():
    out = validate.array("y", [0.0, 2.0, -1.0], dtype=np.int64)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out, [0, 2, -1])


@pytest.mark.parametrize("bad", [["a", "b"], [object(), 1]])
def test_non_numeric_input_is_rejected(bad):
    with pytest.raises(ValueError, match=r"^x: expected (numbers|a numeric array)"):
        validate.array("x", bad)


def test_bool_converts_to_numbers():
    np.testing.assert_array_equal(validate.array("m", [True, False]), [1.0, 0.0])


@pytest.mark.parametrize("value", [1, 2.5, np.int64(3), np.float32(0.25), 1e-300])
def test_positive_accepts_positive_numbers(value):
    out = validate.positive("lr", value)
    assert isinstance(out, float) and out == float(value)


@pytest.mark.parametrize("value", [0, -1, -0.5, np.nan, np.inf, True, "1", None, [1]])
def test_positive_rejects_non_positive_and_non_numbers(value):
    with pytest.raises(ValueError, match=r"^lr: expected a positive number"):
        validate.positive("lr", value)


def test_positive_integer():
    out = validate.positive("n", np.int64(4), integer=True)
    assert out == 4 and type(out) is int
    for bad in (4.0, 0, -3, False):
        with pytest.raises(ValueError, match=r"^n: expected a positive int"):
            validate.positive("n", bad, integer=True)
