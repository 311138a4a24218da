"""Sandbox slots: each grading process holds one (and so one uid) until it exits."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from course_tools.sandbox.errors import SandboxError

_SLOT_DIR = Path(tempfile.gettempdir()) / "course-grader-slots"
_held_slots: dict[int, int] = {}


def acquire_slot(max_slots: int = 256) -> int:
    """Reserve a sandbox slot (and so a uid) for this process until it exits: two graders
    running at once (two terminals, parallel tests) never share a uid or kill each other's
    kernels."""
    import fcntl

    _SLOT_DIR.mkdir(mode=0o700, exist_ok=True)
    for slot in range(max_slots):
        if slot in _held_slots:
            continue
        fd = os.open(_SLOT_DIR / f"slot-{slot}.lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        _held_slots[slot] = fd
        return slot
    raise SandboxError(f"all {max_slots} sandbox slots are in use")


def release_slot(slot: int) -> None:
    fd = _held_slots.pop(slot, None)
    if fd is not None:
        os.close(fd)
