"""SerializingProducer: confluent_kafka.Producer with key/value serializers."""

from __future__ import annotations

from typing import Any

from confluent_kafka import Producer
from confluent_kafka.error import KeySerializationError, ValueSerializationError

from .context import MessageField, SerializationContext
from .rules.dlq import DeadLetterError, dead_letter_headers, record_bytes

__all__ = ["SerializingProducer"]


class SerializingProducer(Producer):
    """Same configuration and produce() as confluent-kafka's SerializingProducer.

    ``key.serializer`` and ``value.serializer`` are callables ``(obj, ctx) -> bytes``
    (any of our serializers, confluent-kafka's, or a plain function). The key is
    serialized before the value, both with one context whose headers are then
    handed to produce(), so header-mode serializers can add the schema id header;
    when ``headers`` is None a fresh list is used for them.

    A data-contract rule whose ``onFailure`` is ``DLQ`` (with a ``dlq.topic``
    parameter) sends the failed record there (JSON, ENCRYPT-tagged fields
    redacted, ``__dlq.errors.*`` and ``__rule.*`` headers) before the
    serialization error is raised, as confluent-kafka does.
    """

    def __init__(self, conf: dict[str, Any]) -> None:
        conf = dict(conf)
        for builder in ("key.serializer.builder", "value.serializer.builder"):
            if builder in conf:
                raise ValueError(f"SerializingProducer: {builder} is not supported; pass key.serializer / "
                                 f"value.serializer instead")
        self._key_serializer = conf.pop("key.serializer", None)
        self._value_serializer = conf.pop("value.serializer", None)
        for name, func in (("key.serializer", self._key_serializer), ("value.serializer", self._value_serializer)):
            if func is not None and not callable(func):
                raise ValueError(f"SerializingProducer: {name} must be callable")
        self._closed = False
        super().__init__(conf)

    def produce(  # type: ignore[override]  # confluent-kafka's SerializingProducer takes objects, not bytes
            self, topic: str, key: Any = None, value: Any = None, partition: int = -1,
                on_delivery: Any = None, timestamp: int = 0, headers: Any | None = None) -> None:
        """Serialize key then value and produce; raises Key/ValueSerializationError."""
        if self._closed:
            raise RuntimeError("Producer has been closed")
        if not isinstance(topic, str):
            raise TypeError(f"topic must be a str, not {type(topic).__name__}")
        own_headers = headers is None
        if own_headers:
            headers = []
        ctx = SerializationContext(topic, MessageField.KEY, headers)
        if self._key_serializer is not None:
            try:
                key = self._key_serializer(key, ctx)
            except Exception as exc:
                self._dead_letter(exc, "key")
                raise KeySerializationError(exc) from exc
        if self._value_serializer is not None:
            ctx.field = MessageField.VALUE
            try:
                value = self._value_serializer(value, ctx)
            except Exception as exc:
                self._dead_letter(exc, "value")
                raise ValueSerializationError(exc) from exc
        kwargs: dict[str, Any] = {"key": key, "value": value, "partition": partition, "timestamp": timestamp}
        if on_delivery is not None:
            kwargs["on_delivery"] = on_delivery
        if headers or not own_headers:
            kwargs["headers"] = headers
        super().produce(topic, **kwargs)

    def _dead_letter(self, error: Exception, field: str) -> None:
        """Send what a DLQ rule rejected to its topic (unless the rule's action did already)."""
        if not isinstance(error, DeadLetterError) or error.delivered or not error.dlq_topic:
            return
        super().produce(error.dlq_topic, value=record_bytes(error), headers=dead_letter_headers(error, field))
        error.delivered = True

    def close(self, *args: Any, **kwargs: Any) -> Any:
        self._closed = True
        closer = getattr(super(), "close", None)
        if closer is not None:
            return closer(*args, **kwargs)
        return self.flush()

    def __enter__(self) -> SerializingProducer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
