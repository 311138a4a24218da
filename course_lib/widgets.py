"""Widgets that work both in a running notebook and on the static website.

The trick: render every frame ahead of time (a small PNG each), stack them, and link a slider
to the stack's visible index with ``jslink``. The link lives in the browser, so the widget
stays interactive on the built site, where no Python kernel runs.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence

import matplotlib.pyplot as plt


def fig_to_png(fig) -> bytes:
    """PNG bytes of a matplotlib figure (the figure is closed)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def frame_slider(
    render: Callable[[int], object],
    n_frames: int,
    description: str,
    labels: Sequence[str] | None = None,
    play: bool = True,
):
    """A slider (and play button) that flips through ``n_frames`` pre-rendered figures.

    Args:
        render: ``render(i) -> matplotlib figure`` for frame ``i`` in ``0..n_frames-1``.
        n_frames: number of frames (keep it small: every frame is stored in the page).
        description: the slider's label (what it moves through, e.g. "update").
        labels: optional text shown under the slider for each frame.
        play: add a play button that steps through the frames.

    Returns:
        An ``ipywidgets.VBox``; display it as the last expression of a cell.
    """
    import ipywidgets as w

    if not isinstance(n_frames, int) or n_frames < 1:
        raise ValueError(f"n_frames: expected an int >= 1, got {n_frames!r}")
    if labels is not None and len(labels) != n_frames:
        raise ValueError(f"labels: expected {n_frames} labels, got {len(labels)}")
    images = [w.Image(value=fig_to_png(render(i)), format="png") for i in range(n_frames)]
    slider = w.IntSlider(value=0, min=0, max=n_frames - 1, description=description,
                         continuous_update=True, layout=w.Layout(width="420px"))
    stack = w.Stack(children=images, selected_index=0)
    w.jslink((slider, "value"), (stack, "selected_index"))
    controls = [slider]
    if play:
        player = w.Play(value=0, min=0, max=n_frames - 1, interval=600, description="play")
        w.jslink((player, "value"), (slider, "value"))
        controls.insert(0, player)
    children = [w.HBox(controls), stack]
    if labels is not None:
        captions = w.Stack(children=[w.HTML(value=f"<em>{t}</em>") for t in labels],
                           selected_index=0)
        w.jslink((slider, "value"), (captions, "selected_index"))
        children.insert(1, captions)
    return w.VBox(children)
