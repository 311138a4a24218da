"""The one bridge between NumPy and torch for the checks and the references: float64 both ways.

Students' arrays are NumPy; the ground truth is computed by torch in float64, so every value
crosses here: :func:`t64` makes a float64 tensor (a copy, never sharing memory with the
student's array, optionally a leaf that records its gradient) and :func:`numpy64` brings a
tensor back as a new float64 array; :func:`holding` copies arrays into a torch layer's
parameters (the references compare a student's layer with torch's holding the same weights).
"""

from __future__ import annotations

import numpy as np


def t64(a, grad: bool = False):
    """``a`` (anything ``np.asarray`` takes) as a new float64 torch tensor of the same shape;
    ``grad=True`` makes it a leaf whose ``.grad`` autograd fills."""
    import torch

    return torch.from_numpy(np.array(a, dtype=np.float64, order="C")).requires_grad_(grad)


def numpy64(t) -> np.ndarray:
    """A torch tensor (detached, any dtype) as a new float64 NumPy array."""
    return t.detach().cpu().numpy().astype(np.float64, copy=True)


def holding(layer, **params):
    """``layer`` (a torch module) with each parameter ``name`` set to a copy of ``params[name]``
    (``None`` sets it to zeros, e.g. the second bias that the course's one bias replaces);
    returns ``layer``."""
    import torch

    with torch.no_grad():
        for name, value in params.items():
            target = getattr(layer, name)
            if value is None:
                target.zero_()
            else:
                target.copy_(t64(value))
    return layer
