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
            that is set (``course_tools.prebuild`` sets it to 1 when it runs two pages at once:
            two threads per page on two busy cores would spin-wait each other to a crawl).

    Two environment variables imitate another machine or another run (the portability matrix,
    ``benchmarks/portability.py``, uses them; nothing else should):

    - ``COURSE_THREADS=n`` uses n threads whatever ``threads`` and the cap above say;
    - ``COURSE_SEED=k`` adds k to every seed, so a notebook that starts with ``set_seed(0)``
      runs as it would with seed k. Claims (:mod:`course_lib.claims`) must hold for k = 0..4.

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
    forced = os.environ.get("COURSE_THREADS", "")
    if forced.isdigit() and int(forced) >= 1:
        threads = int(forced)
    offset = os.environ.get("COURSE_SEED", "")
    seed = (int(seed) + (int(offset) if offset.isdigit() else 0)) % 2**32
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
