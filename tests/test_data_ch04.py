"""course_lib.data.char_corpus: the course's written text for character language models."""

from __future__ import annotations

import pytest

from course_lib import data


def test_char_corpus_is_seeded_and_made_of_the_grammar():
    text = data.char_corpus(200, seed=4)
    assert text == data.char_corpus(200, seed=4)
    assert text != data.char_corpus(200, seed=5)
    lines = text.split("\n")
    assert lines[-1] == "" and len(lines) == 201
    for line in lines[:-1]:
        assert line.endswith(".")
        assert any(line.startswith(s + " ") for s in data.CORPUS_SUBJECTS)
        body = line[:-1]
        assert any(f" {v} " in body for v in data.CORPUS_VERBS)
        assert any(o in body for o in data.CORPUS_OBJECTS)
    assert set(text) <= set("abcdefghijklmnopqrstuvwxyz .\n")


def test_char_corpus_endings_have_the_documented_shares():
    lines = data.char_corpus(3000, seed=0).split("\n")[:-1]
    with_place = sum(any(line.endswith(p + ".") for p in data.CORPUS_PLACES) for line in lines)
    with_and = sum(" and " in line for line in lines)
    assert abs(with_place / 3000 - 0.4) < 0.04
    assert abs(with_and / 3000 - 0.2) < 0.03


def test_char_corpus_rejects_bad_sizes():
    with pytest.raises(ValueError):
        data.char_corpus(0)
