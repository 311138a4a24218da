"""course_lib.data.shape_scenes: scenes of coloured shapes and their captions (chapter 12).

The captions are checked against the pixels: a reader written here, independent of the
generator, finds the shapes in the image, names their colour and form, and writes the caption
the grammar prescribes."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib import data

VOCAB = data.SCENE_VOCAB


def _form(mask: np.ndarray) -> str:
    """Circle, square or triangle from the widths of the rows a shape covers: a square's rows
    are all equally wide, a triangle (apex up) is widest at the bottom, a circle in the middle."""
    widths = mask.sum(1)
    widths = widths[widths > 0]
    if widths[0] == widths.max():
        return "square"
    if widths[-1] == widths.max() and widths[0] < widths[-1]:
        return "triangle"
    return "circle"


def _read_scene(image: np.ndarray) -> list[str]:
    """The caption of ``image (3, S, S)`` read from its pixels, as a list of words."""
    S = image.shape[1]
    lit = image.max(0) > 0
    objects = []  # (row cell, column cell, colour, form)
    edges = np.linspace(0, S, 4).round().astype(int)
    for r in range(3):
        for c in range(3):
            cell = lit[edges[r]:edges[r + 1], edges[c]:edges[c + 1]]
            if not cell.any():
                continue
            rgb = image[:, edges[r]:edges[r + 1], edges[c]:edges[c + 1]][:, cell].mean(1)
            colour = min(data.SCENE_COLOURS,
                         key=lambda k: np.abs(np.array(data.SCENE_COLOURS[k]) - rgb).sum())
            objects.append((r, c, colour, _form(cell)))
    assert lit.sum() == sum(  # every lit pixel lies inside a cell that holds a shape
        lit[edges[r]:edges[r + 1], edges[c]:edges[c + 1]].sum() for r, c, _, _ in objects)
    assert len(objects) in (1, 2)
    first = ["a", objects[0][2], objects[0][3]]
    if len(objects) == 1:
        return first
    (r1, c1, *_), (r2, c2, *_) = objects  # in reading order: top (or left) first
    assert (r1 == r2) != (c1 == c2), "two shapes share a row or a column, not both or neither"
    relation = ["above"] if c1 == c2 else ["left", "of"]
    return first + relation + ["a", objects[1][2], objects[1][3]]


def _caption_words(ids: np.ndarray) -> list[str]:
    end = list(ids).index(VOCAB.index("</s>"))
    assert np.all(ids[end + 1:] == 0), "padding after </s>"
    return [VOCAB[i] for i in ids[:end]]


@pytest.mark.parametrize("size", [12, 13, 14, 17, 24, 25, 32, 48])
def test_captions_describe_the_drawn_scene(size):
    images, captions, vocab = data.shape_scenes(300, size=size, seed=size)
    assert vocab == VOCAB
    for image, ids in zip(images, captions, strict=True):
        assert _caption_words(ids) == _read_scene(image)


def test_shapes_dtypes_range_and_vocabulary():
    images, captions, vocab = data.shape_scenes(50, size=24, seed=0)
    assert images.shape == (50, 3, 24, 24) and images.dtype == np.float32
    assert captions.shape == (50, 9) and captions.dtype == np.int64
    assert images.min() == 0.0 and images.max() <= 1.0
    assert vocab[:3] == ("<pad>", "<s>", "</s>") and len(set(vocab)) == len(vocab)
    lengths = (captions > 0).sum(1)  # words and </s>
    assert set(lengths) <= {4, 8, 9}
    assert not np.any(captions == 1)  # no <s> inside a caption


def test_everything_occurs_and_p_single_is_respected():
    _, captions, _ = data.shape_scenes(2000, seed=3)
    used = {VOCAB[i] for i in np.unique(captions)} - {"<pad>", "</s>"}
    assert used == set(VOCAB[3:])
    single = ((captions > 0).sum(1) == 4).mean()
    assert abs(single - 0.2) < 0.03  # binomial sd 0.009
    _, only_pairs, _ = data.shape_scenes(100, p_single=0.0, seed=3)
    _, only_single, _ = data.shape_scenes(100, p_single=1.0, seed=3)
    assert np.all((only_pairs > 0).sum(1) >= 8) and np.all((only_single > 0).sum(1) == 4)


def test_seeded():
    a = data.shape_scenes(20, seed=5)
    b = data.shape_scenes(20, seed=5)
    c = data.shape_scenes(20, seed=6)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


def test_reader_recognises_each_form():
    """The reader's rule on hand-drawn masks (so the main test does not trust the generator)."""
    square = np.zeros((6, 6), bool)
    square[1:5, 1:5] = True
    triangle = np.array([[0, 0, 1, 0, 0], [0, 1, 1, 1, 0], [1, 1, 1, 1, 1]], bool)
    y, x = np.mgrid[0:7, 0:7] + 0.5
    circle = (y - 3.5) ** 2 + (x - 3.5) ** 2 <= 3.0**2
    assert [_form(m) for m in (square, triangle, circle)] == ["square", "triangle", "circle"]


@pytest.mark.parametrize("kwargs", [{"n": 0}, {"n": 2.5}, {"size": 8}, {"size": 0},
                                    {"p_single": -0.1}, {"p_single": 1.5}])
def test_bad_arguments(kwargs):
    args = {"n": 10, **kwargs}
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        data.shape_scenes(**args)


def _grow(mask: np.ndarray) -> np.ndarray:
    """``mask`` grown by one pixel in all eight directions."""
    padded = np.pad(mask, 1)
    S = mask.shape[0]
    return np.any([padded[1 + dy:1 + dy + S, 1 + dx:1 + dx + S]
                   for dy in (-1, 0, 1) for dx in (-1, 0, 1)], axis=0)


def test_shapes_never_touch():
    images, _, _ = data.shape_scenes(300, size=24, seed=9)
    edges = np.linspace(0, 24, 4).round().astype(int)
    for image in images:
        lit = image.max(0) > 0
        masks = []
        for r in range(3):
            for c in range(3):
                m = np.zeros_like(lit)
                m[edges[r]:edges[r + 1], edges[c]:edges[c + 1]] = True
                if (m & lit).any():
                    masks.append(m & lit)
        for i, a in enumerate(masks):
            for b in masks[i + 1:]:
                assert not (_grow(a) & b).any()  # not even diagonal neighbours
