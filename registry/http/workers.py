"""A bounded pool of threads for the CPU work of requests, off the event loop.

Parsing, rendering, compatibility checks and registrations run here, at most
:data:`WORKERS` at a time: many costly requests queue instead of each taking a
thread and starving the event loop of the interpreter. A request whose deadline
passes while its work is still queued drops that work; work already running
sees the deadline through :mod:`registry.deadline` (the request's context is
copied into the thread). Waits that need no CPU (a registration waiting for its
group commit to be durable) run in threads of their own (:meth:`Workers.wait`),
so the writers one commit holds are not bounded by the workers.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

WORKERS = 4
WAITERS = 64


class Workers:
    def __init__(self, size: int = WORKERS, waiters: int = WAITERS) -> None:
        self.size = size
        self.waiters = waiters
        self._executor: ThreadPoolExecutor | None = None
        self._waiting: ThreadPoolExecutor | None = None

    async def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` in a worker thread, in this request's context."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.size, thread_name_prefix="schemahub-work")
        context = contextvars.copy_context()
        call = functools.partial(context.run, fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    async def wait(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)``, a wait with little CPU work, in a thread of the waiting pool
        (up to :data:`WAITERS`), in this request's context."""
        if self._waiting is None:
            self._waiting = ThreadPoolExecutor(self.waiters, thread_name_prefix="schemahub-wait")
        context = contextvars.copy_context()
        call = functools.partial(context.run, fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._waiting, call)

    def close(self) -> None:
        for executor in (self._executor, self._waiting):
            if executor is not None:
                executor.shutdown(wait=False, cancel_futures=True)
        self._executor = self._waiting = None


shared = Workers()
"""The process's pool: every app in a process shares it (the bound is per process)."""
