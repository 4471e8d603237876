"""Source and sink processors: the only places where bytes meet objects."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from confluent_kafka.serialization import SerializationContext

from streams.processor import Processor
from streams.serdes import KEY, VALUE, Deserializer, Serializer


class DeserializationError(Exception):
    """A consumed record's key or value could not be deserialized."""


TimestampExtractor = Callable[[Any, Any, int], int]


class Source(Processor):
    """Deserializes a consumed record, picks its event time and forwards it."""

    def __init__(
        self,
        topic: str,
        key_deserializer: Deserializer | None,
        value_deserializer: Deserializer | None,
        timestamp_extractor: TimestampExtractor | None,
    ) -> None:
        super().__init__()
        self.topic = topic
        self.key_de = key_deserializer
        self.value_de = value_deserializer
        self.key_ctx = SerializationContext(topic, KEY)
        self.value_ctx = SerializationContext(topic, VALUE)
        self.extractor = timestamp_extractor

    def process_raw(self, key: bytes | None, value: bytes | None, ts: int) -> None:
        """Entry point for a consumed record; deserialization errors propagate to the task."""
        try:
            if key is not None and self.key_de is not None:
                key = self.key_de(key, self.key_ctx)
            if value is not None and self.value_de is not None:
                value = self.value_de(value, self.value_ctx)
        except Exception as exc:
            raise DeserializationError(f"cannot deserialize a record of {self.topic!r}: {exc!r}") from exc
        if self.extractor is not None:
            ts = self.extractor(key, value, ts)
        self.forward(key, value, ts)

    def process(self, key: Any, value: Any, ts: int) -> None:
        self.forward(key, value, ts)


class Sink(Processor):
    """Serializes and sends to a topic; the producer picks the partition (murmur2 of the key bytes)."""

    def __init__(self, topic: str, key_serializer: Serializer | None, value_serializer: Serializer | None) -> None:
        super().__init__()
        self.topic = topic
        self.key_ser = key_serializer
        self.value_ser = value_serializer
        self.key_ctx = SerializationContext(topic, KEY)
        self.value_ctx = SerializationContext(topic, VALUE)

    def init(self, ctx: Any) -> None:
        super().init(ctx)
        self.send = ctx.send

    def process(self, key: Any, value: Any, ts: int) -> None:
        if key is not None and self.key_ser is not None:
            key = self.key_ser(key, self.key_ctx)
        if value is not None and self.value_ser is not None:
            value = self.value_ser(value, self.value_ctx)
        self.send(self.topic, key, value, ts)
