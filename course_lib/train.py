"""The one training loop of the course, with a progress bar.

A *step* is any callable that takes one mini-batch, updates the model and returns the batch
loss; the same loop therefore trains a from-scratch NumPy network and a torch module
(:func:`torch_step` builds the step for the latter).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from course_lib import validate


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return False
    shell = get_ipython()
    return shell is not None and shell.__class__.__name__ == "ZMQInteractiveShell"


def progress(iterable: Iterable, total: int | None = None, desc: str = "", leave: bool = True):
    """Wrap ``iterable`` in a progress bar: tqdm's notebook widget inside Jupyter (its live
    view changes, its stored text does not, so strict nbval stays stable), a text bar on stderr
    elsewhere."""
    if _in_notebook():
        from tqdm.notebook import tqdm
    else:
        from tqdm import tqdm
    return tqdm(iterable, total=total, desc=desc, leave=leave, file=sys.stderr)


def minibatches(
    arrays: tuple[np.ndarray, ...], batch_size: int, rng: np.random.Generator | None = None
):
    """Yield tuples of aligned mini-batches from ``arrays`` (all with the same first axis N).

    With ``rng`` the order is shuffled (reproducibly); without it, batches come in order.
    Bad arguments raise at the call, not at the first ``next()``.
    """
    if not arrays:
        raise ValueError("arrays: expected at least one array")
    n = len(arrays[0])
    for i, a in enumerate(arrays):
        if len(a) != n:
            raise ValueError(f"arrays[{i}]: expected first axis N={n}, got {len(a)}")
    batch_size = validate.positive("batch_size", batch_size, integer=True)
    order = rng.permutation(n) if rng is not None else np.arange(n)
    return (tuple(a[order[start : start + batch_size]] for a in arrays)
            for start in range(0, n, batch_size))


def fit(
    step: Callable[[Any], float],
    batches: Callable[[int], Iterable[Any]],
    epochs: int,
    evaluate: Callable[[], dict[str, float]] | None = None,
    desc: str = "training",
    show_progress: bool = True,
) -> dict[str, list[float]]:
    """Train for ``epochs`` epochs and return the history.

    Args:
        step: ``step(batch) -> loss``; updates the model in place.
        batches: ``batches(epoch) -> iterable of batches`` (a fresh shuffle per epoch).
        epochs: number of passes over the data.
        evaluate: optional ``evaluate() -> {name: value}`` called after each epoch.
        desc: label of the progress bar.
        show_progress: draw a progress bar over epochs.

    Returns:
        ``{"loss": [mean batch loss per epoch], **{name: [value per epoch]}}``.

    Raises:
        FloatingPointError: when a step returns NaN or infinity (the history so far is attached
            as ``err.history``, so nothing is lost).
    """
    epochs = validate.positive("epochs", epochs, integer=True)
    history: dict[str, list[float]] = {"loss": []}
    it = progress(range(epochs), total=epochs, desc=desc) if show_progress else range(epochs)
    for epoch in it:
        total, count = 0.0, 0
        for batch in batches(epoch):
            loss = float(step(batch))
            if not np.isfinite(loss):
                err = FloatingPointError(
                    f"loss became {loss} in epoch {epoch + 1}: lower the learning rate, clip "
                    "gradients or check the backward pass"
                )
                err.history = history
                raise err
            total += loss
            count += 1
        if count == 0:
            raise ValueError(f"batches: epoch {epoch + 1} produced no batch")
        history["loss"].append(total / count)
        if evaluate is not None:
            for name, value in evaluate().items():
                history.setdefault(name, []).append(float(value))
        if show_progress and hasattr(it, "set_postfix"):
            it.set_postfix(loss=f"{history['loss'][-1]:.4f}")
    return history


def torch_step(model, loss_fn: Callable, optimizer, clip: float | None = None) -> Callable:
    """Build a :func:`fit` step for a torch ``model``: ``batch = (inputs, targets)``;
    forward, ``loss_fn(model(inputs), targets)``, backward, optional gradient-norm clipping,
    optimizer step."""

    def step(batch) -> float:
        inputs, targets = batch
        return optimizer_step(model, optimizer, lambda: loss_fn(model(inputs), targets), clip)

    return step


def optimizer_step(model, optimizer, compute_loss: Callable, clip: float | None = None) -> float:
    """One update of a torch ``model``: train mode, zero the gradients, ``compute_loss()``,
    backward, optional gradient-norm clipping at ``clip``, optimizer step. Returns the loss as a
    float. The one update rule behind :func:`torch_step` and the course's custom training steps."""
    import torch

    model.train()
    optimizer.zero_grad()
    loss = compute_loss()
    loss.backward()
    if clip is not None:
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
    optimizer.step()
    return loss.item()
