"""CPU slots: the bound on how many requests do CPU work at once, and waits that give theirs back.

The HTTP layer runs each request's CPU work holding one of a few slots
(:mod:`registry.http.workers`). A wait that needs no CPU, such as a registration
waiting for its group commit to be durable, runs inside :func:`waiting`: the slot
is free meanwhile, so the writers waiting together are not bounded by the slots
(a group commit holds as many registrations as arrive) and other requests' CPU
work goes on. Outside such a pool, :func:`waiting` does nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_slot: ContextVar[threading.Semaphore | None] = ContextVar("schemahub_cpu_slot", default=None)


@contextmanager
def holding(slots: threading.Semaphore) -> Iterator[None]:
    """Take one of ``slots`` for the block (the caller's context records it for :func:`waiting`)."""
    slots.acquire()
    token = _slot.set(slots)
    try:
        yield
    finally:
        _slot.reset(token)
        slots.release()


@contextmanager
def waiting() -> Iterator[None]:
    """Give the current slot back for the block, and take one again after it."""
    slots = _slot.get()
    if slots is None:
        yield
        return
    slots.release()
    try:
        yield
    finally:
        slots.acquire()
