"""The value layout of a repartitioned table change ``(new, old)``, as Kafka Streams' ``ChangedSerializer``.

``old | 0x00`` (only the old value), ``new | 0x01`` (only the new one), or
``varint(len(new)) | new | old | 0x02`` (both); the varint is zig-zag encoded, as Kafka's ``ByteUtils``.
"""

from __future__ import annotations

from typing import Any

from confluent_kafka.serialization import SerializationContext

from streams.serdes import Deserializer, Serializer


def _zigzag(value: int) -> bytes:
    encoded = (value << 1) ^ (value >> 31)
    out = bytearray()
    while encoded & ~0x7F:
        out.append((encoded & 0x7F) | 0x80)
        encoded >>= 7
    out.append(encoded)
    return bytes(out)


def _unzigzag(data: bytes) -> tuple[int, int]:
    """``(value, bytes read)``."""
    value = shift = 0
    for index, byte in enumerate(data[:5]):
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return (value >> 1) ^ -(value & 1), index + 1
        shift += 7
    raise ValueError("a change's length varint is malformed")


def change_serializer(inner: Serializer) -> Serializer:
    """The serializer of ``(new, old)`` changes whose values ``inner`` writes."""

    def serialize(change: tuple[Any, Any], ctx: SerializationContext) -> bytes:
        new, old = change
        new_data = None if new is None else inner(new, ctx) or b""
        old_data = None if old is None else inner(old, ctx) or b""
        if new_data is not None and old_data is not None:
            return _zigzag(len(new_data)) + new_data + old_data + b"\x02"
        if new_data is not None:
            return new_data + b"\x01"
        if old_data is not None:
            return old_data + b"\x00"
        raise ValueError("a change with neither a new nor an old value cannot be written")

    return serialize


def change_deserializer(inner: Deserializer) -> Deserializer:
    """The deserializer of ``(new, old)`` changes whose values ``inner`` reads."""

    def deserialize(data: bytes | None, ctx: SerializationContext) -> tuple[Any, Any]:
        if not data:
            raise ValueError("a change record is empty")
        flag, body = data[-1], data[:-1]
        if flag == 0:
            return None, inner(body, ctx)
        if flag == 1:
            return inner(body, ctx), None
        if flag == 2:
            length, start = _unzigzag(body)
            if not 0 <= length <= len(body) - start:
                raise ValueError("a change's new value runs past the record")
            return inner(body[start : start + length], ctx), inner(body[start + length :], ctx)
        raise ValueError(f"unknown change encoding flag {flag}")

    return deserialize
