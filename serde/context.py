"""Serialization context handed to every serializer and deserializer.

Same shape as ``confluent_kafka.serialization``: ``SerializationContext(topic,
field, headers)`` and the ``MessageField`` str enum, so either module's objects
can be passed to either library's serdes.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class MessageField(StrEnum):
    """Which part of a Kafka record is being (de)serialized."""

    NONE = "none"
    KEY = "key"
    VALUE = "value"

    def __str__(self) -> str:
        return self.value


class SerializationContext:
    """Metadata for one (de)serialization: topic, field (key or value) and headers.

    ``headers`` is a list of ``(key, value)`` tuples or a dict; header-mode
    serializers append to it in place, so pass the same object on to produce().
    """

    __slots__ = ("field", "headers", "topic")

    def __init__(self, topic: str, field: MessageField | str, headers: Any | None = None) -> None:
        self.topic = topic
        self.field = field
        self.headers = headers

    def __repr__(self) -> str:
        return f"SerializationContext({self.topic!r}, {str(self.field)!r})"
