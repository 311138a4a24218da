"""Images and videos: squares moving in tiny grey-scale videos (next-frame prediction with a
ConvLSTM, chapter 8) and scenes of coloured shapes with their captions (chapter 12)."""

from __future__ import annotations

import numpy as np

from course_lib import validate


def moving_shapes(
    n: int, T: int = 10, size: int = 16, shape_size: int = 4, seed: int = 0
) -> np.ndarray:
    """Tiny grey-scale videos of one square moving at constant velocity and bouncing off the
    walls (next-frame prediction with a ConvLSTM, chapter 8).

    Each video starts at a random position with a random velocity of 1 or 2 pixels per frame in
    each direction (sign random); a coordinate that would leave the frame is reflected and its
    velocity reversed, so the square stays fully visible.

    Args:
        n: number of videos.
        T: frames per video (at least 2).
        size: side of a square frame in pixels.
        shape_size: side of the moving square in pixels (smaller than ``size``).
        seed: seed of the generator.

    Returns:
        ``videos (n, T, 1, size, size)`` float32 with values 0 (background) and 1 (square),
        batch-first and channel-first, as ``torch.nn.Conv2d`` expects for each frame.
    """
    n = validate.positive("n", n, integer=True)
    T = validate.positive("T", T, integer=True)
    size = validate.positive("size", size, integer=True)
    shape_size = validate.positive("shape_size", shape_size, integer=True)
    if T < 2:
        raise ValueError(f"T: expected at least 2 frames, got {T}")
    if shape_size >= size:
        raise ValueError(f"shape_size: expected less than size={size}, got {shape_size}")
    rng = np.random.default_rng(seed)
    hi = size - shape_size  # largest top-left coordinate that keeps the square inside
    pos = rng.integers(0, hi + 1, size=(n, 2))
    vel = rng.integers(1, 3, size=(n, 2)) * rng.choice([-1, 1], size=(n, 2))
    videos = np.zeros((n, T, 1, size, size), dtype=np.float32)
    for t in range(T):
        for k in range(n):
            r, c = pos[k]
            videos[k, t, 0, r : r + shape_size, c : c + shape_size] = 1.0
        pos = pos + vel
        low, high = pos < 0, pos > hi
        pos = np.where(low, -pos, np.where(high, 2 * hi - pos, pos))
        vel = np.where(low | high, -vel, vel)
    return videos


#: Colours of :func:`shape_scenes` (name -> RGB in [0, 1]) and its shapes, in vocabulary order.
SCENE_COLOURS = {"red": (0.95, 0.15, 0.1), "green": (0.1, 0.75, 0.2), "blue": (0.2, 0.35, 1.0),
                 "yellow": (0.95, 0.85, 0.1)}
SCENE_SHAPES = ("circle", "square", "triangle")
#: Vocabulary of the captions: 0 padding, 1 start, 2 end, then the words.
SCENE_VOCAB = ("<pad>", "<s>", "</s>", "a", *SCENE_COLOURS, *SCENE_SHAPES, "above", "left", "of")


def _shape_template(shape: str, m: int) -> np.ndarray:
    """Boolean ``(2m + 1, 2m + 1)`` picture of a shape centred on the middle pixel: a square
    fills the box, a circle of radius ``m + 1/4`` cuts its corners, a triangle (apex up) widens
    from one pixel at the top to the full width at the bottom."""
    dy, dx = np.mgrid[-m : m + 1, -m : m + 1]
    if shape == "circle":
        return dy**2 + dx**2 <= (m + 0.25) ** 2
    if shape == "square":
        return np.ones(dy.shape, dtype=bool)
    return np.abs(dx) <= (dy + m) / 2


def shape_scenes(
    n: int, size: int = 24, p_single: float = 0.2, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Images of one or two coloured shapes on black, each with the one caption that fits it
    (image captioning with attention, chapter 12).

    The image is divided into a 3 x 3 grid of cells. A scene holds one shape (probability
    ``p_single``) in a random cell, or two shapes in two cells of the same column (one above the
    other) or of the same row (one left of the other), with equal probability. Every shape has a
    colour from :data:`SCENE_COLOURS` and a form from :data:`SCENE_SHAPES`, drawn independently
    (both shapes may look alike). A shape spans ``2m + 1`` pixels, ``m = round(0.3 * size / 3)``
    (less when a cell is too narrow; 5 pixels in a 24-pixel image), and sits at a random place inside its cell, clear of the
    cell's last row and column, so neighbouring shapes never touch.

    The caption follows a small grammar that names the top (or left) shape first, so it is fixed
    by the image: ``"a red circle"``, ``"a red circle above a blue square"`` or
    ``"a green triangle left of a yellow circle"``, followed by ``</s>``.

    Args:
        n: number of scenes.
        size: side of the square image in pixels (at least 12).
        p_single: probability of a one-shape scene, in [0, 1].
        seed: seed of the generator.

    Returns:
        ``images (n, 3, size, size)`` float32 in [0, 1] (channel-first RGB, as
        ``torch.nn.Conv2d`` expects), ``captions (n, 9)`` int64 (token ids into the vocabulary,
        ``</s>`` after the last word, then 0 for padding) and the vocabulary :data:`SCENE_VOCAB`.
    """
    n = validate.positive("n", n, integer=True)
    size = validate.positive("size", size, integer=True)
    if size < 12:
        raise ValueError(f"size: expected at least 12 pixels, got {size}")
    if not 0 <= p_single <= 1:
        raise ValueError(f"p_single: expected a number in [0, 1], got {p_single!r}")
    rng = np.random.default_rng(seed)
    # pixels whose centre lies in cell k: first[k] .. last[k]; a shape keeps off the cell's last
    # pixel, so shapes in neighbouring cells never touch
    first = [int(np.ceil(k * size / 3 - 0.5)) for k in range(3)]
    last = [int(np.ceil((k + 1) * size / 3 - 0.5)) - 1 for k in range(3)]
    narrowest = min(b - a + 1 for a, b in zip(first, last, strict=True))
    m = max(1, min(round(0.3 * size / 3), (narrowest - 2) // 2))
    templates = {shape: _shape_template(shape, m) for shape in SCENE_SHAPES}
    colours = list(SCENE_COLOURS)
    word = {w: i for i, w in enumerate(SCENE_VOCAB)}
    images = np.zeros((n, 3, size, size), dtype=np.float32)
    captions = np.zeros((n, 9), dtype=np.int64)
    for k in range(n):
        if rng.random() < p_single:
            cells, relation = [tuple(int(c) for c in rng.integers(0, 3, size=2))], None
        else:
            relation = ("above", "left of")[int(rng.integers(2))]
            line = int(rng.integers(3))
            a, b = sorted(int(c) for c in rng.choice(3, 2, replace=False))
            cells = [(a, line), (b, line)] if relation == "above" else [(line, a), (line, b)]
        words = []
        for j, (row, col) in enumerate(cells):
            colour = colours[int(rng.integers(len(colours)))]
            shape = SCENE_SHAPES[int(rng.integers(len(SCENE_SHAPES)))]
            r, c = (int(rng.integers(first[i] + m, last[i] - m)) for i in (row, col))
            patch = images[k, :, r - m : r + m + 1, c - m : c + m + 1]
            patch[:, templates[shape]] = np.asarray(SCENE_COLOURS[colour], np.float32)[:, None]
            words += ["a", colour, shape] + (relation.split() if j == 0 and relation else [])
        ids = [word[w] for w in words] + [word["</s>"]]
        captions[k, : len(ids)] = ids
    return images, captions, SCENE_VOCAB
