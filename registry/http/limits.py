"""Request limits: schema size in elements, and a per-request timeout.

The body size (413) is bounded in :mod:`registry.http.media`; nesting depth
(42201) by each format's parser and reference depth by
:mod:`registry.schemas`. Here: the number of elements a schema may declare
(42209, so that a 100 000-field schema is refused before the engines walk it)
and a deadline on each handler (408, so a slow request answers cleanly).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Coroutine, Generator
from typing import Any, Generic, TypeVar

from ..errors import InvalidSchema, RequestTimeout, SchemaTooLarge
from ..formats import InvalidSchemaError, find_format
from . import media

T = TypeVar("T")

# Elements, as each format counts them (SchemaFormat.element_count): JSON objects and array
# items, Protobuf statements and blocks. Real schemas stay far below; the engines are
# linear-ish in it.
MAX_SCHEMA_ELEMENTS = 10_000

_limits = {"schema_elements": MAX_SCHEMA_ELEMENTS}


def configure(*, max_schema_elements: int | None = None, max_body_bytes: int | None = None) -> None:
    """Set the process-wide limits (``schemahub serve`` options); 0 turns the element limit off."""
    if max_schema_elements is not None:
        _limits["schema_elements"] = max_schema_elements
    if max_body_bytes is not None:
        media.MAX_BODY_BYTES = max_body_bytes


def max_schema_elements() -> int:
    return _limits["schema_elements"]


def check_schema_size(schema_type: str, text: str | None) -> None:
    """42201 for an escape the text cannot be kept with (an unpaired surrogate); 42209 when
    the schema declares more elements than the limit allows. Each format counts its own."""
    fmt = find_format(schema_type)
    if fmt is None or not text:
        return  # an unknown type: the registration answers 42201 for it
    try:
        fmt.check_escapes(text)
    except InvalidSchemaError as exc:
        raise InvalidSchema(str(exc)) from None
    limit = _limits["schema_elements"]
    if not limit or len(text) < limit:
        return
    if fmt.element_count(text, limit) > limit:
        raise SchemaTooLarge(f"Schema too large: more than {limit} elements (fields, symbols, properties)")


async def with_timeout(work: Awaitable[T], seconds: float | None) -> T:
    """``await work``, or 408 after ``seconds``. Work already handed to a thread runs
    on, but the client is answered and the event loop stays free.

    A coroutine runs at once up to its first wait: an answer ready by then (a cached
    one) needs no timer; otherwise the timer covers the rest of it."""
    if not seconds:
        return await work
    if isinstance(work, Coroutine):
        try:
            first = work.send(None)
        except StopIteration as done:
            return done.value
        work = _Resumed(work, first)
    try:
        async with asyncio.timeout(seconds):  # no extra task per request, unlike wait_for
            return await work
    except TimeoutError:
        raise RequestTimeout(f"Request timed out after {seconds:g} seconds") from None


class _Resumed(Generic[T]):
    """A coroutine stepped once already, awaited from where it stopped (what ``await``
    would have done from the start: each value it waits on goes to the task driving it,
    each answer or exception comes back to it)."""

    def __init__(self, work: Coroutine[Any, Any, T], waiting_on: Any) -> None:
        self._work = work
        self._waiting_on = waiting_on

    def __await__(self) -> Generator[Any, Any, T]:
        waiting_on = self._waiting_on
        while True:
            try:
                answer = yield waiting_on
            except BaseException as exc:  # thrown in by the task (a cancellation): passed on
                try:
                    waiting_on = self._work.throw(exc)
                except StopIteration as done:
                    return done.value
            else:
                try:
                    waiting_on = self._work.send(answer)
                except StopIteration as done:
                    return done.value
