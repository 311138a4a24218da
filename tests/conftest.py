"""Shared test setup: a non-interactive matplotlib backend (no display, no network)."""

import matplotlib

matplotlib.use("Agg")
