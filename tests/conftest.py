"""Shared test setup: a non-interactive matplotlib backend (no display, no network), and the
course's own environment variables cleared, so that the unit tests assert the same facts when
the whole of ``make test`` runs under a foreign configuration (``COURSE_THREADS=2``,
``COURSE_SEED=3``: those are for the labs and pages)."""

import matplotlib
import pytest

matplotlib.use("Agg")

COURSE_VARIABLES = ("COURSE_SEED", "COURSE_THREADS", "COURSE_MAX_THREADS", "COURSE_CLAIMS_LOG",
                    "COURSE_NOTEBOOK", "COURSE_GRADING")


@pytest.fixture(autouse=True)
def _no_course_environment(monkeypatch):
    for name in COURSE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
