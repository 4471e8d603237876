"""DeserializingConsumer: confluent_kafka.Consumer with key/value deserializers,
a dead-letter topic option and offsets stored only after processing.

Offsets: unless the configuration sets ``enable.auto.offset.store`` itself, the
consumer runs with it False and stores a record's offset only when the
application comes back for more (the next poll()/consume(), commit() or
close()), i.e. after it has processed the record. Auto-commit (or commit())
then commits only processed records, so a crash redelivers, never skips.

Dead letters: with ``dead.letter.topic`` set, a record whose key or value fails
to deserialize is produced unchanged (same key, value, headers, timestamp) to
that topic, with headers naming the error and the origin:

- ``__dlq.errors.topic``, ``__dlq.errors.partition``, ``__dlq.errors.offset``
- ``__dlq.errors.field`` (``key`` or ``value``)
- ``__dlq.errors.exception.class.name``, ``__dlq.errors.exception.message``

Its delivery is confirmed before the record counts as processed; the consumer
then moves on to the next record.

A data-contract rule whose ``onFailure`` is ``DLQ`` sends the record to the
rule's ``dlq.topic`` parameter (else to ``dead.letter.topic``) the same way,
with confluent-kafka's ``__rule.name``, ``__rule.mode``, ``__rule.subject``,
``__rule.topic`` and ``__rule.exception`` headers added, so a record read back
from there skips that rule. ``dead.letter.producer.conf`` (a dict) adds
or overrides producer settings; by default the DLQ producer gets this
consumer's connection settings (``bootstrap.servers``, ``security.*``,
``sasl.*``, ``ssl.*``, ``client.id``) with ``acks=all``.
"""

from __future__ import annotations

import time
from typing import Any

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.error import ConsumeError, KeyDeserializationError, ValueDeserializationError

from .context import MessageField, SerializationContext
from .rules.dlq import DeadLetterError

__all__ = ["DLQ_HEADERS", "DeserializingConsumer"]

DLQ_HEADERS = ("__dlq.errors.topic", "__dlq.errors.partition", "__dlq.errors.offset", "__dlq.errors.field",
               "__dlq.errors.exception.class.name", "__dlq.errors.exception.message")
_SHARED_PREFIXES = ("bootstrap.servers", "security.", "sasl.", "ssl.", "client.id", "broker.address.family")


class DeserializingConsumer(Consumer):
    """Drop-in for confluent-kafka's DeserializingConsumer (same conf keys, poll() and errors)."""

    def __init__(self, conf: dict[str, Any]) -> None:
        conf = dict(conf)
        for builder in ("key.deserializer.builder", "value.deserializer.builder"):
            if builder in conf:
                raise ValueError(f"DeserializingConsumer: {builder} is not supported; pass key.deserializer / "
                                 f"value.deserializer instead")
        self._key_deserializer = conf.pop("key.deserializer", None)
        self._value_deserializer = conf.pop("value.deserializer", None)
        self._dlq_topic: str | None = conf.pop("dead.letter.topic", None)
        dlq_conf = conf.pop("dead.letter.producer.conf", None) or {}
        if self._dlq_topic is not None and not isinstance(self._dlq_topic, str):
            raise ValueError("DeserializingConsumer: dead.letter.topic must be a topic name")
        if not isinstance(dlq_conf, dict):
            raise ValueError("DeserializingConsumer: dead.letter.producer.conf must be a dict")
        self._store_after = "enable.auto.offset.store" not in conf
        if self._store_after:
            conf["enable.auto.offset.store"] = False
        self._pending: list[Any] = []
        self._dlq: Producer | None = None
        self._dlq_base = {k: v for k, v in conf.items() if k.startswith(_SHARED_PREFIXES)}
        self._dlq_conf = dlq_conf
        if self._dlq_topic is not None:
            self._dlq = Producer({**self._dlq_base, "acks": "all", "enable.idempotence": True, **dlq_conf})
        super().__init__(conf)

    # -- offsets -----------------------------------------------------------

    def _store_pending(self) -> None:
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        latest: dict[tuple[str, int], int] = {}
        for topic, partition, offset in pending:
            key = (topic, partition)
            if offset + 1 > latest.get(key, -1):
                latest[key] = offset + 1
        try:
            super().store_offsets(offsets=[TopicPartition(t, p, o) for (t, p), o in latest.items()])
        except KafkaException:
            # The partition was revoked meanwhile: its new owner re-reads from the
            # last commit (at-least-once), nothing to store here.
            pass

    def _mark(self, msg: Any) -> None:
        if self._store_after:
            self._pending.append((msg.topic(), msg.partition(), msg.offset()))

    def commit(self, *args: Any, **kwargs: Any) -> Any:
        """Store the offsets of the records handed out so far, then commit as Consumer.commit."""
        if not args and not kwargs.get("message") and not kwargs.get("offsets"):
            self._store_pending()
        return super().commit(*args, **kwargs)

    def close(self) -> None:
        """Store the offsets of processed records, commit (when auto-commit is on) and leave the group."""
        self._store_pending()
        super().close()
        if self._dlq is not None:
            self._dlq.flush(10)

    def __enter__(self) -> DeserializingConsumer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- consuming ---------------------------------------------------------

    def _deserialize(self, msg: Any) -> Any:
        """Deserialize in place; on failure raise Key/ValueDeserializationError."""
        ctx = SerializationContext(msg.topic(), MessageField.KEY, msg.headers())
        key = msg.key()
        if self._key_deserializer is not None:
            try:
                key = self._key_deserializer(key, ctx)
            except Exception as exc:
                raise KeyDeserializationError(exception=exc, kafka_message=msg) from exc
        value = msg.value()
        if self._value_deserializer is not None:
            ctx.field = MessageField.VALUE
            try:
                value = self._value_deserializer(value, ctx)
            except Exception as exc:
                raise ValueDeserializationError(exception=exc, kafka_message=msg) from exc
        msg.set_key(key)
        msg.set_value(value)
        return msg

    def _dlq_for(self, error: Exception) -> tuple[str | None, DeadLetterError | None]:
        """Where a failed record goes: a DLQ rule's topic, else ``dead.letter.topic`` (None: raise)."""
        rule_error = _dead_letter_cause(error)
        if rule_error is not None and rule_error.dlq_topic:
            return rule_error.dlq_topic, rule_error
        return self._dlq_topic, rule_error

    def _dead_letter(self, msg: Any, error: Exception) -> None:
        """Produce ``msg`` unchanged to the DLQ topic and wait for the broker's ack."""
        cause = getattr(error, "__cause__", None) or error
        field = "key" if isinstance(error, KeyDeserializationError) else "value"
        topic, rule_error = self._dlq_for(error)
        if rule_error is not None:
            if rule_error.delivered:
                return  # the rule's action produced it already
            cause = rule_error.__cause__ or rule_error
        headers = list(msg.headers() or [])
        headers += [
            ("__dlq.errors.topic", msg.topic().encode()),
            ("__dlq.errors.partition", str(msg.partition()).encode()),
            ("__dlq.errors.offset", str(msg.offset()).encode()),
            ("__dlq.errors.field", field.encode()),
            ("__dlq.errors.exception.class.name",
             f"{type(cause).__module__}.{type(cause).__qualname__}".encode()),
            ("__dlq.errors.exception.message", str(cause).encode("utf-8", "replace")),
        ]
        if rule_error is not None:
            headers += rule_error.rule_headers()
        outcome: list[Any] = []
        ts_type, ts = msg.timestamp()
        assert topic is not None and self._dlq is not None
        self._dlq.produce(topic, key=msg.key(), value=msg.value(), headers=headers,
                          timestamp=ts if ts_type and ts > 0 else 0,
                          on_delivery=lambda err, _m: outcome.append(err))
        deadline = time.monotonic() + 30
        while not outcome and time.monotonic() < deadline:
            self._dlq.poll(0.1)
        if not outcome or outcome[0] is not None:
            # Not dead-lettered: rewind so the record is read again, and report.
            try:
                self.seek(TopicPartition(msg.topic(), msg.partition(), msg.offset()))
            except KafkaException:
                pass
            raise KafkaException(outcome[0] if outcome else "dead-letter delivery timed out") from error

    def poll(self, timeout: float = -1) -> Any:
        """The next deserialized record, or None on timeout.

        Raises ConsumeError on a broker error and Key/ValueDeserializationError on a
        bad record when no dead-letter topic is set (the record then counts as
        handled: the next poll moves past it, as confluent-kafka does).
        """
        self._store_pending()
        deadline = None if timeout is None or timeout < 0 else time.monotonic() + timeout
        while True:
            remaining = -1 if deadline is None else max(0.0, deadline - time.monotonic())
            msg = super().poll(remaining)
            if msg is None:
                return None
            error = msg.error()
            if error is not None:
                raise ConsumeError(error, kafka_message=msg)
            try:
                result = self._deserialize(msg)
            except (KeyDeserializationError, ValueDeserializationError) as exc:
                if not self._dead_letters(exc):
                    self._mark(msg)
                    raise
                self._dead_letter(msg, exc)
                self._mark(msg)
                self._store_pending()
                if deadline is not None and time.monotonic() >= deadline:
                    return None
                continue
            self._mark(result)
            return result

    def consume(self, num_messages: int = 1, timeout: float = -1) -> list[Any]:
        """Up to ``num_messages`` deserialized records (bad ones dead-lettered).

        Without a dead-letter topic, a bad record ends the batch: the records before
        it are returned, the partitions are rewound to what was not returned, and the
        next consume() raises its Key/ValueDeserializationError.
        """
        self._store_pending()
        raw = super().consume(num_messages, timeout)
        out: list[Any] = []
        for i, msg in enumerate(raw):
            error = msg.error()
            if error is not None:
                self._rewind(raw[i + 1:])
                if out:
                    self._rewind([msg])
                    return out
                raise ConsumeError(error, kafka_message=msg)
            try:
                out.append(self._deserialize(msg))
                self._mark(msg)
            except (KeyDeserializationError, ValueDeserializationError) as exc:
                if self._dead_letters(exc):
                    self._dead_letter(msg, exc)
                    self._mark(msg)
                    continue
                if out:
                    self._rewind(raw[i:])
                    return out
                self._rewind(raw[i + 1:])
                self._mark(msg)
                raise
        return out

    def _dead_letters(self, error: Exception) -> bool:
        """Whether a failed record goes to a dead-letter topic (creating the producer when a DLQ rule
        names one and no ``dead.letter.topic`` was configured)."""
        topic, _ = self._dlq_for(error)
        if topic is None:
            return False
        if self._dlq is None:
            self._dlq = Producer({**self._dlq_base, "acks": "all", "enable.idempotence": True, **self._dlq_conf})
        return True

    def _rewind(self, unreturned: list[Any]) -> None:
        first: dict[tuple[str, int], int] = {}
        for msg in unreturned:
            key = (msg.topic(), msg.partition())
            if msg.offset() is not None and msg.offset() >= 0 and key not in first:
                first[key] = msg.offset()
        for (topic, partition), offset in first.items():
            try:
                self.seek(TopicPartition(topic, partition, offset))
            except KafkaException:
                pass


def _dead_letter_cause(error: BaseException) -> DeadLetterError | None:
    """The DLQ rule failure behind a deserialization error, if one is."""
    seen = 0
    current: BaseException | None = error
    while current is not None and seen < 8:
        if isinstance(current, DeadLetterError):
            return current
        current = current.__cause__ or getattr(current, "exception", None)
        seen += 1
    return None
