"""course_lib.plots: every figure is titled and labelled; the helpers draw what they say."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import to_hex

from course_lib import plots


@pytest.fixture(autouse=True)
def _close_figures():
    plt.close("all")
    yield
    plt.close("all")


def test_figure_one_axis_has_the_given_labels():
    fig, ax = plots.figure("Loss", "epoch", "loss")
    assert ax.figure is fig
    assert (ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) == ("Loss", "epoch", "loss")


def test_figure_several_axes_with_shared_and_per_axis_labels():
    fig, axes = plots.figure(["a", "b", "c"], "x", ["y1", "y2", "y3"], ncols=3)
    assert len(axes) == 3 and len(fig.axes) == 3
    assert [ax.get_title() for ax in axes] == ["a", "b", "c"]
    assert [ax.get_xlabel() for ax in axes] == ["x"] * 3
    assert [ax.get_ylabel() for ax in axes] == ["y1", "y2", "y3"]


def test_figure_applies_the_course_style():
    fig, ax = plots.figure("t", "x", "y")
    line = ax.plot([0, 1])[0]
    assert to_hex(line.get_color()) == plots.PALETTE[0].lower()
    assert fig.get_dpi() == plots.STYLE["figure.dpi"]


@pytest.mark.parametrize(
    "args, name",
    [
        (("", "x", "y"), "title"),
        (("t", "", "y"), "xlabel"),
        (("t", "x", ""), "ylabel"),
        (("t", "x", "   "), "ylabel"),
        ((None, "x", "y"), "title"),
        (("t", None, "y"), "xlabel"),
        (("t", "x", None), "ylabel"),
    ],
)
def test_figure_missing_title_or_label_raises_and_leaves_no_figure(args, name):
    with pytest.raises(ValueError, match=rf"^{name}:"):
        plots.figure(*args)
    assert plt.get_fignums() == []


def test_figure_label_count_must_match_ncols():
    with pytest.raises(ValueError, match=r"^title: expected 2 labels \(one per axis\), got 3"):
        plots.figure(["a", "b", "c"], "x", "y", ncols=2)
    with pytest.raises(ValueError, match=r"^xlabel: every axis needs"):
        plots.figure(["a", "b"], ["x", ""], "y", ncols=2)
    assert plt.get_fignums() == []


@pytest.mark.parametrize("ncols", [0, -1, 1.5, True])
def test_figure_bad_ncols(ncols):
    with pytest.raises(ValueError, match=r"^ncols:"):
        plots.figure("t", "x", "y", ncols=ncols)


def test_plot_curves_draws_every_curve_against_1_to_n():
    curves = {"train": [3.0, 2.0, 1.5], "test": [3.5, 2.5]}
    fig = plots.plot_curves(curves, "Loss", "epoch", "loss", hline=(1.0, "baseline"))
    (ax,) = fig.axes
    assert ax.get_title() == "Loss" and ax.get_xlabel() == "epoch" and ax.get_ylabel() == "loss"
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    assert set(lines) == {"train", "test", "baseline"}
    np.testing.assert_array_equal(lines["train"].get_xdata(), [1, 2, 3])
    np.testing.assert_array_equal(lines["train"].get_ydata(), [3.0, 2.0, 1.5])
    np.testing.assert_array_equal(lines["test"].get_xdata(), [1, 2])
    np.testing.assert_array_equal(lines["baseline"].get_ydata(), [1.0, 1.0])
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert set(legend) == {"train", "test", "baseline"}
    assert ax.get_yscale() == "linear"


def test_plot_curves_logy_and_existing_axis():
    fig, axes = plots.figure(["a", "b"], "x", "y", ncols=2)
    out = plots.plot_curves({"c": [1.0, 10.0, 100.0]}, "Log", "step", "value", logy=True,
                            ax=axes[1])
    assert out is fig
    assert axes[1].get_yscale() == "log"
    assert axes[1].get_title() == "Log" and axes[1].get_xlabel() == "step"
    assert len(axes[0].get_lines()) == 0 and len(axes[1].get_lines()) == 1


def test_plot_curves_rejects_no_curves_and_missing_labels():
    with pytest.raises(ValueError, match=r"^curves:"):
        plots.plot_curves({}, "t", "x", "y")
    fig, ax = plots.figure("t", "x", "y")
    with pytest.raises(ValueError, match=r"^ylabel:"):
        plots.plot_curves({"c": [1.0]}, "t", "x", "", ax=ax)


def test_plot_linear_boundary_draws_points_line_and_rings_mistakes():
    X = np.array([[0.0, 1.0], [1.0, 2.0], [0.0, -1.0], [1.0, -2.0], [2.0, 0.5]])
    y = np.array([1, 1, -1, -1, -1])  # the last point is on the positive side of x2 = 0
    w, b = np.array([0.0, 1.0]), 0.0  # the line x2 = 0
    fig, ax = plots.figure("t", "x", "y")
    plots.plot_linear_boundary(ax, w, b, X, y, title="Boundary")
    assert ax.get_title() == "Boundary"
    assert ax.get_xlabel() == "$x_1$" and ax.get_ylabel() == "$x_2$"
    pos, neg, wrong = ax.collections
    assert len(pos.get_offsets()) == 2 and len(neg.get_offsets()) == 3
    np.testing.assert_array_equal(np.asarray(wrong.get_offsets()), X[[4]])
    (line,) = ax.get_lines()
    np.testing.assert_allclose(line.get_ydata(), [0.0, 0.0])  # x2 = -(w1 x1 + b)/w2 = 0
    fig.canvas.draw()  # renders without error


def test_plot_linear_boundary_vertical_line_and_no_mistakes():
    X = np.array([[-1.0, 0.0], [-2.0, 1.0], [1.0, 0.0], [2.0, 3.0]])
    y = np.array([-1, -1, 1, 1])
    fig, ax = plots.figure("t", "x", "y")
    plots.plot_linear_boundary(ax, [2.0, 0.0], -1.0, X, y, title="Vertical")  # x1 = 0.5
    assert len(ax.collections) == 2  # no ring: every point is on its side
    (line,) = ax.get_lines()
    np.testing.assert_allclose(line.get_xdata(), [0.5, 0.5])


@pytest.mark.parametrize(
    "w, X, y, name",
    [
        ([1.0, 1.0], np.zeros((3, 3)), [1, -1, 1], "X"),
        ([1.0, 1.0], np.zeros((3, 2)), [1, -1], "y"),
        ([1.0, 1.0, 0.0], np.zeros((3, 2)), [1, -1, 1], "w"),
        ([1.0, 1.0], np.zeros((3, 2)), [1, 0, 1], "y"),
    ],
)
def test_plot_linear_boundary_bad_input(w, X, y, name):
    fig, ax = plots.figure("t", "x", "y")
    with pytest.raises(ValueError, match=rf"^{name}:"):
        plots.plot_linear_boundary(ax, w, 0.0, X, y, title="t")


def test_use_style_is_idempotent():
    plots.use_style()
    first = {k: plt.rcParams[k] for k in ("figure.dpi", "axes.grid", "image.cmap")}
    plots.use_style()
    assert first == {k: plt.rcParams[k] for k in ("figure.dpi", "axes.grid", "image.cmap")}
    assert first["figure.dpi"] == plots.STYLE["figure.dpi"]


def test_heatmap_draws_the_matrix_with_a_labelled_colour_bar():
    fig, ax = plots.figure("Weights", "input", "output")
    M = np.arange(6.0).reshape(2, 3)
    image = plots.heatmap(ax, M, "weight", cmap="Greys", vmin=0, vmax=5)
    np.testing.assert_array_equal(image.get_array(), M)
    assert image.get_clim() == (0, 5)
    (bar,) = [a for a in fig.axes if a is not ax]
    assert bar.get_ylabel() == "weight"


def test_heatmap_one_bar_shared_by_several_panels_or_none():
    fig, axes = plots.figure(["a", "b"], "x", "y", ncols=2)
    plots.heatmap(axes[0], np.eye(2), "weight", colorbar=False)
    plots.heatmap(axes[1], np.eye(2), "weight", colorbar=axes)
    assert len(fig.axes) == 3


@pytest.mark.parametrize("values, label, name", [(np.zeros(3), "w", "values"),
                                                 (np.zeros((2, 2)), "", "label")])
def test_heatmap_bad_input(values, label, name):
    fig, ax = plots.figure("t", "x", "y")
    with pytest.raises(ValueError, match=rf"^{name}:"):
        plots.heatmap(ax, values, label)


def test_figure_several_rows_are_labelled_row_by_row():
    fig, axes = plots.figure(["a", "b", "c", "d"], "x", "y", ncols=2, nrows=2)
    assert axes.shape == (4,) and len(fig.axes) == 4
    assert [ax.get_title() for ax in axes] == ["a", "b", "c", "d"]
    assert axes[2].get_subplotspec().rowspan.start == 1
    with pytest.raises(ValueError, match=r"^title: expected 4 labels"):
        plots.figure(["a", "b"], "x", "y", ncols=2, nrows=2)
    with pytest.raises(ValueError, match=r"^nrows:"):
        plots.figure("t", "x", "y", nrows=0)
