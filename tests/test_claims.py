"""course_lib.claims.claim: shows a trained value, asserts its bound, logs it for the matrix."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from course_lib.claims import ClaimFailed, claim


def test_a_claim_that_holds_prints_value_and_bound_and_returns_the_float(capsys):
    assert claim("bits per character", np.float64(0.4321), below=0.7) == pytest.approx(0.4321)
    assert capsys.readouterr().out == "bits per character: 0.432  (claim < 0.7: holds)\n"


@pytest.mark.parametrize("value", [0.71, 0.7])
def test_a_claim_that_breaks_raises_with_both_numbers(value):
    with pytest.raises(ClaimFailed, match=r"'bits per character' does not hold: 0\.7.* is not < 0\.7"):
        claim("bits per character", value, below=0.7)


def test_claim_failed_is_an_assertion_error_so_nbval_and_the_book_build_fail():
    assert issubclass(ClaimFailed, AssertionError)


def test_interval_bounds_and_inclusive_bounds():
    assert claim("mse", 0.15, above=0.1, below=0.2, quiet=True) == 0.15
    assert claim("exact", 1.0, at_least=1.0, quiet=True) == 1.0
    assert claim("errors", 0, at_most=0, quiet=True) == 0.0
    with pytest.raises(ClaimFailed):
        claim("mse", 0.25, above=0.1, below=0.2)
    with pytest.raises(ClaimFailed):
        claim("mse", 0.05, above=0.1, below=0.2)


def test_tensor_and_one_element_array_values():
    assert claim("loss", torch.tensor(0.5), below=1, quiet=True) == 0.5
    assert claim("loss", np.array([0.25]), below=1, quiet=True) == 0.25


@pytest.mark.parametrize("value", [float("nan"), float("inf"), "0.5", None, True, [0.1, 0.2]])
def test_a_value_that_is_not_a_finite_real_is_a_value_error(value):
    with pytest.raises(ValueError, match="value"):
        claim("loss", value, below=1)


def test_no_bound_or_a_bad_bound_is_a_value_error():
    with pytest.raises(ValueError, match="at least one"):
        claim("loss", 0.5)
    with pytest.raises(ValueError, match="bound"):
        claim("loss", 0.5, below=float("nan"))
    with pytest.raises(ValueError, match="name"):
        claim("", 0.5, below=1)


def test_every_claim_is_logged_when_asked(tmp_path, monkeypatch):
    log = tmp_path / "claims.jsonl"
    monkeypatch.setenv("COURSE_CLAIMS_LOG", str(log))
    monkeypatch.setenv("COURSE_NOTEBOOK", "ch04 lab")
    claim("bits per character", 0.5, below=0.7, quiet=True)
    with pytest.raises(ClaimFailed):
        claim("accuracy", 0.5, at_least=0.99)
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    assert rows == [
        {"where": "ch04 lab", "name": "bits per character", "value": 0.5, "bound": "< 0.7",
         "holds": True},
        {"where": "ch04 lab", "name": "accuracy", "value": 0.5, "bound": ">= 0.99",
         "holds": False},
    ]


def test_glue_stores_the_value_for_the_prose(monkeypatch):
    stored = {}
    import myst_nb

    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display: stored.update(
        {name: (value, display)}))
    claim("bits per character", 0.5, below=0.7, glue="bpc", quiet=True)
    assert stored == {"bpc": (0.5, False)}


def test_a_count_prints_as_an_integer(capsys):
    claim("captions wrong", np.int64(98), below=150, fmt="d")
    assert capsys.readouterr().out == "captions wrong: 98  (claim < 150: holds)\n"


def test_glue_turns_numpy_and_torch_scalars_into_python_numbers(monkeypatch):
    from course_lib.claims import glue

    stored = {}
    import myst_nb

    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display: stored.update(
        {name: (value, type(value), display)}))
    glue("a", np.float64(0.25))
    glue("b", np.int64(7))
    glue("c", torch.tensor(0.5))
    glue("d", 3)
    assert stored == {"a": (0.25, float, False), "b": (7, int, False),
                      "c": (0.5, float, False), "d": (3, int, False)}
    assert f"{stored['a'][0]!r}" == "0.25"  # what MyST-NB's formatter reads (not np.float64(...))
    with pytest.raises(ValueError, match="display"):
        glue("e", 1.0, display=True)
    with pytest.raises(ValueError, match="real"):
        glue("f", "0.5")
