"""Serializer/deserializer plumbing in confluent-kafka's calling convention.

Any callable ``(obj, SerializationContext) -> bytes`` (or the reverse) fits: confluent-kafka's
``StringSerializer``/``IntegerSerializer``/``AvroSerializer`` and our ``serde`` package alike.
``None`` always maps to ``None`` (a tombstone) without calling the serde.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from confluent_kafka.serialization import MessageField, SerializationContext

Serializer = Callable[[Any, SerializationContext], "bytes | None"]
Deserializer = Callable[["bytes | None", SerializationContext], Any]


def encoder(serializer: Serializer | None, topic: str, field: MessageField) -> Callable[[Any], bytes | None]:
    """``obj -> bytes`` for one topic and field; with no serializer the object must already be bytes."""
    if serializer is None:
        return _identity
    ctx = SerializationContext(topic, field)

    def encode(obj: Any) -> bytes | None:
        return None if obj is None else serializer(obj, ctx)

    return encode


def decoder(deserializer: Deserializer | None, topic: str, field: MessageField) -> Callable[[bytes | None], Any]:
    """``bytes -> obj`` for one topic and field; with no deserializer the bytes pass through."""
    if deserializer is None:
        return _identity
    ctx = SerializationContext(topic, field)

    def decode(data: bytes | None) -> Any:
        return None if data is None else deserializer(data, ctx)

    return decode


def _identity(obj: Any) -> Any:
    return obj


KEY = MessageField.KEY
VALUE = MessageField.VALUE


Serde = tuple[Serializer, Deserializer]


def _pickle_serializer(obj: Any, ctx: SerializationContext) -> bytes | None:
    from streams import codec

    return codec.encode(obj)


def _pickle_deserializer(data: bytes | None, ctx: SerializationContext) -> Any:
    from streams import codec

    return None if data is None else codec.decode(data)


INTERNAL: Serde = (_pickle_serializer, _pickle_deserializer)
"""Default serde of repartition topics (read only by this application)."""
