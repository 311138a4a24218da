"""Seeding: one call that makes a notebook's numbers identical on every run."""

from __future__ import annotations

import os
import random

import numpy as np


def set_seed(seed: int = 0, threads: int = 1) -> np.random.Generator:
    """Seed Python, NumPy and torch, and pin torch to ``threads`` CPU threads.

    One thread keeps floating-point reductions in a fixed order, so printed results are the same
    on every machine run after run (and a 2-core laptop is not oversubscribed). The CPU kernels
    the course uses are deterministic; ``torch.use_deterministic_algorithms`` is not called
    because its first call imports torch's compiler stack (seconds per notebook) for no gain.

    Args:
        seed: an integer in 0 .. 2**32 - 1 (NumPy's range).
        threads: number of torch intra-op threads (>= 1), at most ``$COURSE_MAX_THREADS`` when
            that is set (``course_lib.prebuild`` sets it to 1 when it runs two pages at once:
            two threads per page on two busy cores would spin-wait each other to a crawl).

    Returns:
        A fresh ``numpy.random.Generator`` seeded with ``seed``; prefer it to the global state.
    """
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not 0 <= seed < 2**32:
        raise ValueError(f"seed: expected an int in 0 .. 2**32 - 1, got {seed!r}")
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads: expected an int >= 1, got {threads!r}")
    cap = os.environ.get("COURSE_MAX_THREADS", "")
    if cap.isdigit() and int(cap) >= 1:
        threads = min(threads, int(cap))
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed)
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a pinned dependency
        pass
    else:
        torch.manual_seed(seed)
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
    return np.random.default_rng(seed)
