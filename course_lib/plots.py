"""The course's one plotting style.

Every figure has a title and labelled axes; :func:`figure` makes that the path of least
resistance. Figures are small (the stored labs stay under 1 MB) and use a colour-blind-safe
palette.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib
import matplotlib.pyplot as plt
import numpy as np

from course_lib import validate

#: Okabe-Ito colours, distinguishable with the common colour-vision deficiencies.
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]

STYLE = {
    "figure.figsize": (5.5, 3.4),
    "figure.dpi": 80,
    "savefig.dpi": 80,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
    "image.cmap": "viridis",
}


def use_style() -> None:
    """Apply the course style to matplotlib (idempotent)."""
    matplotlib.rcParams.update(STYLE)


def _labels(name: str, v, ncols: int) -> list[str]:
    """``v`` (a string or one string per axis) as a list of ``ncols`` non-empty strings."""
    v = [v] * ncols if isinstance(v, str) else list(v) if v is not None else [None] * ncols
    if len(v) != ncols:
        raise ValueError(f"{name}: expected {ncols} labels (one per axis), got {len(v)}: {v}")
    if not all(isinstance(s, str) and s.strip() for s in v):
        raise ValueError(f"{name}: every axis needs a non-empty {name}, got {v}")
    return v


def figure(title: str, xlabel: str, ylabel: str, ncols: int = 1, figsize=None,
           nrows: int = 1):
    """A new figure with ``nrows x ncols`` axes, each titled and labelled.

    ``title``, ``xlabel`` and ``ylabel`` may be strings (shared) or sequences (one per axis,
    row by row).

    Returns:
        ``(fig, ax)`` for one axis, ``(fig, axes)`` otherwise (``axes`` one-dimensional, row by
        row).
    """
    for name, n in (("ncols", ncols), ("nrows", nrows)):
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
            raise ValueError(f"{name}: expected an int >= 1, got {n!r}")
    n_axes = nrows * ncols
    # check every label before a figure exists, so a bad call leaves no stray figure behind
    labels = [_labels(n, v, n_axes) for n, v in (("title", title), ("xlabel", xlabel),
                                                  ("ylabel", ylabel))]
    use_style()
    if figsize is None:
        w, h = STYLE["figure.figsize"]
        figsize = (w * (1 if ncols == 1 else 0.75 * ncols), h * nrows)
    fig, axes = plt.subplots(nrows, ncols, figsize=figsize, squeeze=False)
    axes = axes.ravel()
    for ax, t, xl, yl in zip(axes, *labels, strict=True):
        ax.set_title(t)
        ax.set_xlabel(xl)
        ax.set_ylabel(yl)
    fig.set_layout_engine("constrained")
    return (fig, axes[0]) if n_axes == 1 else (fig, axes)


def plot_curves(
    curves: Mapping[str, Sequence[float]],
    title: str,
    xlabel: str,
    ylabel: str,
    logy: bool = False,
    hline: tuple[float, str] | None = None,
    ax=None,
):
    """Line plot of several named curves (training losses, accuracies, ...).

    Args:
        curves: label -> values (x is the index 1..len).
        hline: optional ``(value, label)`` drawn as a dashed reference line (e.g. a baseline).
        ax: draw into this axis instead of a new figure.

    Returns:
        The figure.
    """
    if not curves:
        raise ValueError("curves: expected at least one curve, got none")
    if ax is None:
        fig, ax = figure(title, xlabel, ylabel)
    else:
        for name, v in (("title", title), ("xlabel", xlabel), ("ylabel", ylabel)):
            _labels(name, v, 1)
        fig = ax.figure
        ax.set_title(title)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
    for label, values in curves.items():
        values = np.asarray(values, dtype=float)
        ax.plot(np.arange(1, len(values) + 1), values, label=label)
    if hline is not None:
        ax.axhline(hline[0], color="0.4", linestyle="--", linewidth=1, label=hline[1])
    if logy:
        ax.set_yscale("log")
    ax.legend()
    return fig


def heatmap(ax, values, label: str, colorbar=True, **imshow_kwargs):
    """Draw the matrix ``values (rows, columns)`` into ``ax`` as an image, with a colour bar
    that says what the colours mean: every heatmap of the course carries one.

    Args:
        ax: the axis (titled and labelled, e.g. by :func:`figure`).
        values: array-like of shape (rows, columns).
        label: what a colour stands for (the colour bar's label), e.g. "attention weight".
        colorbar: True for a bar beside ``ax``; a sequence of axes for one bar shared by them
            (draw the other panels with ``colorbar=False`` and the same ``vmin``/``vmax``);
            False for none (only when another call draws the shared bar).
        imshow_kwargs: passed to ``ax.imshow`` (``cmap``, ``vmin``, ``vmax``, ``aspect``...).

    Returns:
        The ``AxesImage``.
    """
    values = np.asarray(values, dtype=float)
    if values.ndim != 2:
        raise ValueError(f"values: expected a 2-D array, got shape {values.shape}")
    _labels("label", label, 1)
    image = ax.imshow(values, **imshow_kwargs)
    ax.grid(False)
    if colorbar is not False:
        target = ax if colorbar is True else list(colorbar)
        ax.figure.colorbar(image, ax=target, label=label)
    return image


def plot_linear_boundary(ax, w, b: float, X: np.ndarray, y: np.ndarray, title: str) -> None:
    """Scatter 2-D points labelled -1/+1 and draw the line ``w . x + b = 0`` into ``ax``.

    Misclassified points are ringed in black.

    Args:
        w: weights, shape (2,); b: bias; X: points, shape (N, 2); y: labels, shape (N,).
    """
    dims: dict[str, int] = {}
    X = validate.array("X", X, ("N", 2), dims)
    y = validate.array("y", y, ("N",), dims, dtype=np.int64)
    w = validate.array("w", w, (2,))
    if not np.all(np.isin(y, (-1, 1))):
        raise ValueError(f"y: expected labels -1 and +1, got {np.unique(y)}")
    for label, colour, marker in ((1, PALETTE[0], "o"), (-1, PALETTE[1], "s")):
        pts = X[y == label]
        ax.scatter(pts[:, 0], pts[:, 1], s=18, color=colour, marker=marker, label=f"y = {label:+d}")
    wrong = np.sign(X @ w + b) != y
    if np.any(wrong):
        ax.scatter(X[wrong, 0], X[wrong, 1], s=70, facecolors="none", edgecolors="black",
                   linewidths=1.2, label="misclassified")
    lo, hi = X.min(axis=0) - 0.5, X.max(axis=0) + 0.5
    xs = np.linspace(lo[0], hi[0], 2)
    if abs(w[1]) > 1e-12:
        ax.plot(xs, -(w[0] * xs + b) / w[1], color="black", linewidth=1.5)
    elif abs(w[0]) > 1e-12:
        ax.axvline(-b / w[0], color="black", linewidth=1.5)
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_title(title)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.legend(loc="lower right")
