"""Time series for forecasting and the sequence VAE (chapter 9): sums of noisy sinusoids and
movement traces of four behaviours."""

from __future__ import annotations

import numpy as np

from course_lib import validate


def sine_signals(n: int, T: int, n_components: int = 2, noise: float = 0.05, seed: int = 0
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sums of sinusoids with random periods, amplitudes and phases, plus Gaussian noise.

    Component ``j`` of series ``i`` is ``a_ij sin(2 pi t / P_ij + phi_ij)``, with periods
    ``P`` uniform in [8, 32] steps, amplitudes uniform in [0.3, 1] and phases uniform in
    [0, 2 pi); independent noise of standard deviation ``noise`` is added at every step.

    Returns:
        ``X (n, T, 1)`` float32, ``periods (n, n_components)`` and
        ``amplitudes (n, n_components)`` float64.
    """
    n = validate.positive("n", n, integer=True)
    T = validate.positive("T", T, integer=True)
    n_components = validate.positive("n_components", n_components, integer=True)
    if not noise >= 0:
        raise ValueError(f"noise: expected a number >= 0, got {noise!r}")
    rng = np.random.default_rng(seed)
    periods = rng.uniform(8.0, 32.0, size=(n, n_components))
    amplitudes = rng.uniform(0.3, 1.0, size=(n, n_components))
    phases = rng.uniform(0.0, 2 * np.pi, size=(n, n_components, 1))
    t = np.arange(T, dtype=np.float64)
    waves = amplitudes[..., None] * np.sin(2 * np.pi * t / periods[..., None] + phases)
    X = waves.sum(axis=1) + noise * rng.normal(size=(n, T))
    return X[..., None].astype(np.float32), periods, amplitudes


#: behaviour names of :func:`behaviours`, in the order of their integer labels
BEHAVIOURS = ("rest", "walk", "circle", "dart")


def behaviours(n: int, T: int = 32, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Generated movement traces of an animal in four behaviours (the VAME idea in small).

    Like VAME's egocentrically aligned poses, each trace is measured in the animal's own frame:
    channel 0 is its speed, channel 1 its turning rate (radians per step), over T steps. The
    behaviours are :data:`BEHAVIOURS`: ``rest`` (no movement), ``walk`` (straight ahead, speed
    pulsing with a stride rhythm), ``circle`` (constant speed, turning steadily left or right)
    and ``dart`` (still, then a fast straight burst of four steps at a random time). Speed,
    rhythm, turning rate and timing vary from trace to trace, and both channels get jitter of
    standard deviation 0.05 at every step.

    Returns:
        ``X (n, T, 2)`` float32 and ``labels (n,)`` int64 (codes into :data:`BEHAVIOURS`).
    """
    n = validate.positive("n", n, integer=True)
    T = validate.positive("T", T, integer=True)
    if T < 8:
        raise ValueError(f"T: expected at least 8 steps, got {T}")
    rng = np.random.default_rng(seed)
    t = np.arange(T, dtype=np.float64)
    labels = rng.integers(0, len(BEHAVIOURS), size=n)
    X = np.zeros((n, T, 2))
    for i, b in enumerate(labels):
        speed = rng.uniform(0.6, 1.0)
        if b == 1:  # walk: straight, speed pulsing with the stride
            period, phase = rng.uniform(4.0, 8.0), rng.uniform(0.0, 2 * np.pi)
            X[i, :, 0] = speed * (1 + 0.4 * np.sin(2 * np.pi * t / period + phase))
        elif b == 2:  # circle: constant speed and turning rate
            X[i, :, 0] = speed
            X[i, :, 1] = rng.choice([-1.0, 1.0]) * rng.uniform(0.25, 0.5)
        elif b == 3:  # dart: one burst of four steps
            start = int(rng.integers(2, T - 6))
            X[i, start:start + 4, 0] = 2.0 * speed
    X += 0.05 * rng.normal(size=X.shape)
    return X.astype(np.float32), labels.astype(np.int64)
