"""A bounded pool of threads for the CPU work of requests, off the event loop.

Parsing, rendering, compatibility checks and registrations run here, at most
:data:`WORKERS` at a time: many costly requests queue instead of each taking a
thread and starving the event loop of the interpreter. A request whose deadline
passes while its work is still queued drops that work; work already running
sees the deadline through :mod:`registry.deadline` (the request's context is
copied into the thread).
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


class Workers:
    def __init__(self, size: int = WORKERS) -> None:
        self.size = size
        self._executor: ThreadPoolExecutor | None = None

    async def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` in a worker thread, in this request's context."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.size, thread_name_prefix="schemahub-work")
        context = contextvars.copy_context()
        call = functools.partial(context.run, fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None


shared = Workers()
"""The process's pool: every app in a process shares it (the bound is per process)."""
