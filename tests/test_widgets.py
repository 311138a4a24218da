"""course_lib.widgets: pre-rendered frames behind a slider linked in the browser (jslink)."""

from __future__ import annotations

import ipywidgets
import matplotlib.pyplot as plt
import pytest
from ipywidgets.widgets.widget_link import Link

from course_lib import plots, widgets

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def _close_figures():
    plt.close("all")
    yield
    plt.close("all")


@pytest.fixture
def links(monkeypatch):
    """Every Link made by ipywidgets.jslink during the test (the real jslink still runs)."""
    made = []
    real = ipywidgets.jslink

    def recording(source, target):
        link = real(source, target)
        made.append(link)
        return link

    monkeypatch.setattr(ipywidgets, "jslink", recording)
    return made


def _render(i):
    # a tiny figure (fast to save), a different colour per frame so the PNGs differ
    fig = plt.figure(figsize=(0.5, 0.5), dpi=20)
    fig.patch.set_facecolor(plots.PALETTE[i % len(plots.PALETTE)])
    return fig


def _parts(box):
    """(controls HBox, captions Stack or None, images Stack) of a frame_slider."""
    assert isinstance(box, ipywidgets.VBox)
    controls, *rest = box.children
    captions = rest[0] if len(rest) == 2 else None
    return controls, captions, rest[-1]


def _linked(links, a, a_trait, b, b_trait):
    return any(
        {(lk.source[0], lk.source[1]), (lk.target[0], lk.target[1])}
        == {(a, a_trait), (b, b_trait)}
        for lk in links
    )


def test_frame_slider_without_labels_or_play(links):
    box = widgets.frame_slider(_render, 4, "update", play=False)
    controls, captions, stack = _parts(box)
    assert captions is None
    (slider,) = controls.children
    assert isinstance(slider, ipywidgets.IntSlider)
    assert (slider.min, slider.max, slider.value) == (0, 3, 0)
    assert slider.description == "update"
    assert isinstance(stack, ipywidgets.Stack)
    assert len(stack.children) == 4 and stack.selected_index == 0
    for image in stack.children:
        assert isinstance(image, ipywidgets.Image)
        assert image.format == "png" and bytes(image.value).startswith(PNG_MAGIC)
    assert len({bytes(image.value) for image in stack.children}) == 4  # four different frames
    assert all(isinstance(link, Link) for link in links) and len(links) == 1
    assert _linked(links, slider, "value", stack, "selected_index")
    assert plt.get_fignums() == []  # every rendered figure was closed


def test_frame_slider_with_play_and_labels(links):
    labels = ["start", "after 1", "after 2"]
    box = widgets.frame_slider(_render, 3, "step", labels=labels)
    controls, captions, stack = _parts(box)
    player, slider = controls.children
    assert isinstance(player, ipywidgets.Play)
    assert (player.min, player.max) == (0, 2)
    assert len(stack.children) == 3
    assert isinstance(captions, ipywidgets.Stack)
    assert [c.value for c in captions.children] == [f"<em>{t}</em>" for t in labels]
    assert len(links) == 3 and all(isinstance(link, Link) for link in links)
    assert _linked(links, slider, "value", stack, "selected_index")
    assert _linked(links, player, "value", slider, "value")
    assert _linked(links, slider, "value", captions, "selected_index")


def test_frame_slider_single_frame():
    box = widgets.frame_slider(_render, 1, "only", play=False)
    controls, _, stack = _parts(box)
    assert controls.children[0].max == 0 and len(stack.children) == 1


def test_frame_slider_renders_each_frame_once_in_order():
    calls = []

    def render(i):
        calls.append(i)
        return _render(i)

    widgets.frame_slider(render, 3, "x")
    assert calls == [0, 1, 2]


def test_frame_slider_labels_length_mismatch_raises_before_rendering():
    calls = []

    def render(i):
        calls.append(i)
        return _render(i)

    with pytest.raises(ValueError, match=r"^labels: expected 3 labels, got 2"):
        widgets.frame_slider(render, 3, "x", labels=["a", "b"])
    assert calls == []


@pytest.mark.parametrize("n_frames", [0, -1, 2.0, "3", None])
def test_frame_slider_bad_n_frames_raises(n_frames):
    with pytest.raises(ValueError, match=r"^n_frames: expected an int >= 1"):
        widgets.frame_slider(_render, n_frames, "x")


def test_fig_to_png_returns_png_bytes_and_closes_the_figure():
    fig, ax = plots.figure("course figure", "x", "y")
    ax.plot([0, 1], [0, 1])
    assert plt.fignum_exists(fig.number)
    png = widgets.fig_to_png(fig)
    assert png.startswith(PNG_MAGIC) and len(png) > 100
    assert not plt.fignum_exists(fig.number)
