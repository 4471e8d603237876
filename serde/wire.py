"""The Confluent wire format.

- V0 prefix: ``0x00`` | schema id (4 bytes, big-endian, read unsigned) | payload.
- V1 / GUID: ``0x01`` | 16 raw UUID bytes | payload, as a prefix or as the value of
  the ``__key_schema_id`` / ``__value_schema_id`` header (the record is then the
  bare payload).
- Protobuf message indexes follow the id/GUID: a count then the indexes, all as
  zigzag varints; the path ``[0]`` is the single byte ``0x00``.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Sequence
from typing import Any

from confluent_kafka.serialization import SerializationError

from .context import MessageField, SerializationContext

MAGIC_V0 = 0
MAGIC_V1 = 1
KEY_SCHEMA_ID_HEADER = "__key_schema_id"
VALUE_SCHEMA_ID_HEADER = "__value_schema_id"
MAX_INDEXES = 100000

_ID = struct.Struct(">I")
_MAGIC_ID = struct.Struct(">bI")


def id_prefix(schema_id: int) -> bytes:
    """``0x00`` + the id as 4 big-endian bytes."""
    return _MAGIC_ID.pack(MAGIC_V0, schema_id)


def guid_prefix(guid: str | uuid.UUID) -> bytes:
    """``0x01`` + the 16 UUID bytes."""
    return bytes([MAGIC_V1]) + (guid if isinstance(guid, uuid.UUID) else uuid.UUID(str(guid))).bytes


def _zigzag_varint(value: int) -> bytes:
    value = (value << 1) ^ (value >> 63)
    out = bytearray()
    while value & ~0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def encode_indexes(indexes: Sequence[int]) -> bytes:
    """Message indexes as zigzag varints, ``[0]`` (or empty) as the single byte ``0x00``."""
    if not indexes or list(indexes) == [0]:
        return b"\x00"
    return _zigzag_varint(len(indexes)) + b"".join(_zigzag_varint(i) for i in indexes)


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data):
            raise SerializationError("Unexpected EOF while reading Protobuf message indexes")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return (value >> 1) ^ -(value & 1), pos


def decode_indexes(data: bytes, pos: int) -> tuple[tuple[int, ...], int]:
    """The message-index path starting at ``pos`` and the offset after it (count 0 means ``[0]``)."""
    if pos < len(data) and data[pos] == 0:
        return (0,), pos + 1
    count, pos = _read_varint(data, pos)
    if count < 0 or count > MAX_INDEXES:
        raise SerializationError(f"Invalid Protobuf message-index count {count}")
    if count == 0:
        return (0,), pos
    out = []
    for _ in range(count):
        index, pos = _read_varint(data, pos)
        out.append(index)
    return tuple(out), pos


class SchemaRef:
    """Where the writer schema is: an id or a GUID, plus Protobuf message indexes."""

    __slots__ = ("guid", "id", "indexes")

    def __init__(self, schema_id: int | None = None, guid: str | None = None,
                 indexes: tuple[int, ...] | None = None) -> None:
        self.id = schema_id
        self.guid = guid
        self.indexes = indexes

    @property
    def key(self) -> Any:
        return self.id if self.id is not None else self.guid


def header_name(ctx: SerializationContext) -> str:
    return KEY_SCHEMA_ID_HEADER if ctx.field == MessageField.KEY else VALUE_SCHEMA_ID_HEADER


def find_header(ctx: SerializationContext | None) -> bytes | None:
    """The value of the schema-id header for the context's field, if present (first match)."""
    if ctx is None:
        return None
    headers = ctx.headers
    if not headers:
        return None
    name = header_name(ctx)
    if isinstance(headers, dict):
        return headers.get(name)
    for item in headers:
        if item[0] == name:
            return item[1]
    return None


def read_ref(data: bytes, pos: int, protobuf: bool) -> tuple[SchemaRef, int]:
    """Parse a V0 or V1 schema reference (and Protobuf indexes) at ``pos``."""
    if len(data) <= pos:
        raise SerializationError("Expecting a Confluent schema id or GUID but the data is empty")
    magic = data[pos]
    if magic == MAGIC_V0:
        if len(data) < pos + 5:
            raise SerializationError(f"Truncated Confluent frame: {len(data)} bytes")
        ref = SchemaRef(schema_id=_ID.unpack_from(data, pos + 1)[0])
        pos += 5
    elif magic == MAGIC_V1:
        if len(data) < pos + 17:
            raise SerializationError(f"Truncated Confluent GUID frame: {len(data)} bytes")
        ref = SchemaRef(guid=str(uuid.UUID(bytes=bytes(data[pos + 1:pos + 17]))))
        pos += 17
    else:
        raise SerializationError(
            f"Invalid magic byte {magic}: this data was not written by a Confluent Schema Registry serializer")
    if protobuf:
        ref.indexes, pos = decode_indexes(data, pos)
    return ref, pos


def read_frame(data: bytes, ctx: SerializationContext | None, protobuf: bool = False) -> tuple[SchemaRef, int]:
    """Header first (``__key_schema_id``/``__value_schema_id``), else the prefix.

    Returns the schema reference and the offset in ``data`` where the payload starts.
    """
    header = find_header(ctx)
    if header is not None:
        ref, _ = read_ref(header, 0, protobuf)
        return ref, 0
    return read_ref(data, 0, protobuf)


def add_header(ctx: SerializationContext | None, value: bytes) -> None:
    """Put a schema-id header on the context's headers (list appended, dict set)."""
    if ctx is None:
        raise SerializationError("SerializationContext is required for header_schema_id_serializer")
    headers = ctx.headers
    if headers is None:
        raise SerializationError("Missing headers")
    name = header_name(ctx)
    if isinstance(headers, list):
        headers.append((name, value))
    elif isinstance(headers, dict):
        headers[name] = value
    else:
        raise SerializationError("Invalid headers type")


# Schema-id (de)serializer selectors with confluent-kafka's names. Our serdes
# recognise these (and confluent-kafka's functions of the same name) and use a
# fast inlined path; any other callable is called as confluent-kafka would.

def prefix_schema_id_serializer(payload: bytes, ctx: Any, schema_id: Any) -> bytes:
    """Write the V0 prefix (the default)."""
    return schema_id.id_to_bytes() + payload


def header_schema_id_serializer(payload: bytes, ctx: Any, schema_id: Any) -> bytes:
    """Write the GUID (V1) into the ``__key_schema_id``/``__value_schema_id`` header."""
    add_header(ctx, schema_id.guid_to_bytes())
    return payload


def dual_schema_id_deserializer(payload: bytes, ctx: Any, schema_id: Any) -> Any:
    """Read the header if present, else the prefix (the default)."""
    raise NotImplementedError("selector only; the serdes implement it inline")


def prefix_schema_id_deserializer(payload: bytes, ctx: Any, schema_id: Any) -> Any:
    """Read only the prefix, ignoring headers."""
    raise NotImplementedError("selector only; the serdes implement it inline")


def id_serializer_mode(owner: str, func: Any) -> str:
    """``prefix`` or ``header`` for the known selectors; ``custom`` for any other callable."""
    if not callable(func):
        raise ValueError(f"{owner}: schema.id.serializer must be callable")
    name = getattr(func, "__name__", "")
    module = getattr(func, "__module__", "") or ""
    if module.startswith(("serde", "confluent_kafka")):
        if name == "prefix_schema_id_serializer":
            return "prefix"
        if name == "header_schema_id_serializer":
            return "header"
    return "custom"


def id_deserializer_mode(owner: str, func: Any) -> str:
    if not callable(func):
        raise ValueError(f"{owner}: schema.id.deserializer must be callable")
    name = getattr(func, "__name__", "")
    module = getattr(func, "__module__", "") or ""
    if module.startswith(("serde", "confluent_kafka")):
        if name == "dual_schema_id_deserializer":
            return "dual"
        if name == "prefix_schema_id_deserializer":
            return "prefix"
    raise ValueError(f"{owner}: schema.id.deserializer must be dual_schema_id_deserializer or "
                     f"prefix_schema_id_deserializer")


def confluent_schema_id(schema_type: str, schema_id: int | None, guid: str | None,
                        indexes: Sequence[int] | None = None) -> Any:
    """A confluent-kafka ``SchemaId`` for custom schema.id.serializer callables."""
    from confluent_kafka.schema_registry.serde import SchemaId

    return SchemaId(schema_type, schema_id, guid, list(indexes) if indexes is not None else None)
