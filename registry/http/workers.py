"""A bounded pool of threads for the CPU work of requests, off the event loop.

Parsing, rendering, compatibility checks and registrations run here, at most
:data:`WORKERS` at a time (:mod:`registry.cpu_slots`): many costly requests
queue instead of each taking the interpreter from the event loop. Work waiting
without CPU (a registration's group commit) gives its slot back meanwhile, in
one of up to :data:`THREADS` threads. A request whose deadline passes while its
work is still queued drops that work; work already running sees the deadline
through :mod:`registry.deadline` (the request's context is copied into the
thread).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from .. import cpu_slots, deadline

T = TypeVar("T")

WORKERS = 4
THREADS = 64


class Workers:
    def __init__(self, size: int = WORKERS, threads: int = THREADS) -> None:
        self.size = size
        self.threads = max(threads, size)
        self._slots = threading.Semaphore(size)
        self._executor: ThreadPoolExecutor | None = None

    async def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` in a worker thread holding a CPU slot, in this request's context."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.threads, thread_name_prefix="schemahub-work")
        context = contextvars.copy_context()
        call = functools.partial(context.run, self._in_slot, fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    def _in_slot(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        with cpu_slots.holding(self._slots):
            deadline.check()  # (its deadline may have passed while it waited for the slot)
            return fn(*args, **kwargs)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None


shared = Workers()
"""The process's pool: every app in a process shares it (the bound is per process)."""
