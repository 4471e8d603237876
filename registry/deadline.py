"""The current request's deadline, checked by long-running work so its CPU stays bounded.

``RegistryApp`` sets the deadline from ``--request-timeout`` for each request
(:func:`start`); the context is copied into the worker thread running the
request's CPU work (:mod:`registry.http.workers`), where the compatibility
engines and the Protobuf compiler call :func:`check` or read :func:`remaining`:
past the deadline the work stops with 408 instead of running on unobserved.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token

from .errors import RequestTimeout

_deadline: ContextVar[float | None] = ContextVar("schemahub_deadline", default=None)


def start(seconds: float | None) -> Token:
    """From now on in this context, work must end ``seconds`` from now (None: no deadline);
    :func:`end` with the answer puts the former deadline back."""
    return _deadline.set(time.monotonic() + seconds if seconds else None)


def end(token: Token) -> None:
    _deadline.reset(token)


@contextmanager
def started(seconds: float | None) -> Iterator[None]:
    """:func:`start` for the ``with`` block, :func:`end` after it."""
    token = start(seconds)
    try:
        yield
    finally:
        end(token)


def remaining() -> float | None:
    """Seconds left (at least 0), or None without a deadline."""
    at = _deadline.get()
    return None if at is None else max(0.0, at - time.monotonic())


def check() -> None:
    """Raise 408 when the deadline has passed."""
    at = _deadline.get()
    if at is not None and time.monotonic() > at:
        raise RequestTimeout("Request timed out: the work took longer than the request timeout")
