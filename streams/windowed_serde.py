"""Binary layouts of windowed keys, as Java's ``WindowedSerdes`` write them.

Time windows: ``key | start (8 bytes, big-endian)``. Sessions: ``key | end (8B) | start (8B)``.
Wrap the inner key serde, e.g. ``TimeWindowedSerializer(StringSerializer())``.
"""

from __future__ import annotations

import struct
from typing import Any

from confluent_kafka.serialization import SerializationContext

from streams.serdes import Deserializer, Serializer
from streams.windows import Windowed

_LONG = struct.Struct(">q")
_TWO_LONGS = struct.Struct(">qq")


def _inner_bytes(serializer: Serializer | None, key: Any, ctx: SerializationContext) -> bytes:
    data = key if serializer is None else serializer(key, ctx)
    return data or b""


class TimeWindowedSerializer:
    def __init__(self, inner: Serializer | None = None) -> None:
        self.inner = inner

    def __call__(self, windowed: Windowed, ctx: SerializationContext) -> bytes:
        return _inner_bytes(self.inner, windowed.key, ctx) + _LONG.pack(windowed.start)


class TimeWindowedDeserializer:
    """Needs the window size: the layout carries only the start."""

    def __init__(self, inner: Deserializer | None, window_size_ms: int) -> None:
        self.inner = inner
        self.size = window_size_ms

    def __call__(self, data: bytes, ctx: SerializationContext) -> Windowed:
        raw, (start,) = data[:-8], _LONG.unpack(data[-8:])
        key = raw if self.inner is None else self.inner(raw, ctx)
        return Windowed(key, start, start + self.size)


class SessionWindowedSerializer:
    def __init__(self, inner: Serializer | None = None) -> None:
        self.inner = inner

    def __call__(self, windowed: Windowed, ctx: SerializationContext) -> bytes:
        return _inner_bytes(self.inner, windowed.key, ctx) + _TWO_LONGS.pack(windowed.end, windowed.start)


class SessionWindowedDeserializer:
    def __init__(self, inner: Deserializer | None = None) -> None:
        self.inner = inner

    def __call__(self, data: bytes, ctx: SerializationContext) -> Windowed:
        raw, (end, start) = data[:-16], _TWO_LONGS.unpack(data[-16:])
        key = raw if self.inner is None else self.inner(raw, ctx)
        return Windowed(key, start, end)
