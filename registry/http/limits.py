"""Request limits: schema size in elements, and a per-request timeout.

The body size (413) is bounded in :mod:`registry.http.media`; nesting depth
(42201) by each format's parser and reference depth by
:mod:`registry.schemas`. Here: the number of elements a schema may declare
(42209, so that a 100 000-field schema is refused before the engines walk it)
and a deadline on each handler (408, so a slow request answers cleanly).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable
from typing import TypeVar

import orjson

from ..errors import InvalidSchema, RequestTimeout, SchemaTooLarge
from . import media

T = TypeVar("T")

# Elements: JSON objects and array items (Avro, JSON Schema), statements and
# blocks (Protobuf). Real schemas stay far below; the engines are linear-ish in it.
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


def _json_elements(value: object, limit: int) -> int:
    count = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            count += 1
            stack.extend(item.values())
        elif isinstance(item, list):
            count += len(item)
            stack.extend(item)
        else:
            continue
        if count > limit:
            break
    return count


def _protobuf_elements(text: str) -> int:
    return text.count(";") + text.count("{")


def schema_elements(schema_type: str, text: str, limit: int) -> int:
    """How many elements ``text`` declares (stops counting past ``limit``)."""
    if schema_type == "PROTOBUF":
        from ..formats.protobuf_protoc import MAX_NESTING, nesting_depth

        count = _protobuf_elements(text)
        if count > limit and nesting_depth(text) > MAX_NESTING:
            return 0  # too deep rather than too large: the parser answers 42201
        return count
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return 0  # not JSON (or nested past orjson's depth): the parser answers 42201
    return _json_elements(value, limit)


_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|.)", re.S)


def _check_surrogates(schema_type: str, text: str) -> None:
    """42201 for a \\u escape of an unpaired UTF-16 surrogate (of any surrogate, in Protobuf):
    the parsers accept one, then the text cannot be stored or answered as UTF-8."""
    if "\\u" not in text:
        return
    pending_high = -1  # where a high-surrogate escape ended, waiting for its low half
    for match in _ESCAPE.finditer(text):
        code = int(match.group(1), 16) if match.group(1) else 0
        is_high, is_low = 0xD800 <= code <= 0xDBFF, 0xDC00 <= code <= 0xDFFF
        if (is_high or is_low) and schema_type == "PROTOBUF":
            raise InvalidSchema("Invalid schema: \\u escape of a UTF-16 surrogate in a string")
        if pending_high >= 0 and not (is_low and match.start() == pending_high):
            break
        if is_low and pending_high < 0:
            break
        pending_high = match.end() if is_high else -1
    else:
        if pending_high < 0:
            return
    raise InvalidSchema("Invalid schema: \\u escape of an unpaired UTF-16 surrogate in a string")


def check_schema_size(schema_type: str, text: str | None) -> None:
    """42201 for an unpaired surrogate escape; 42209 when the schema declares more
    elements than the limit allows."""
    if text:
        _check_surrogates(schema_type, text)
    limit = _limits["schema_elements"]
    if not limit or not text or len(text) < limit:
        return
    count = schema_elements(schema_type, text, limit)
    if count > limit:
        raise SchemaTooLarge(f"Schema too large: more than {limit} elements (fields, symbols, properties)")


async def with_timeout(work: Awaitable[T], seconds: float | None) -> T:
    """``await work``, or 408 after ``seconds``. Work already handed to a thread runs
    on, but the client is answered and the event loop stays free."""
    if not seconds:
        return await work
    try:
        async with asyncio.timeout(seconds):  # no extra task per request, unlike wait_for
            return await work
    except TimeoutError:
        raise RequestTimeout(f"Request timed out after {seconds:g} seconds") from None
