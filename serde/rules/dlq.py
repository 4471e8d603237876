"""The DLQ rule action: a record a rule fails goes to a dead-letter topic.

The action raises :class:`DeadLetterError` (a ``SerializationError``) naming
the rule, its mode, the subject and the DLQ topic (the rule's ``dlq.topic``
parameter, else ``rule_conf`` ``dlq.topic``). Who delivers it:

- :class:`serde.DeserializingConsumer` produces the record as read (key, value,
  headers, timestamp) to that topic, else to its ``dead.letter.topic``, with
  its ``__dlq.errors.*`` headers plus confluent-kafka's ``__rule.name``,
  ``__rule.mode``, ``__rule.subject``, ``__rule.topic``, ``__rule.exception``,
  waits for the broker's ack, and moves on;
- :class:`serde.SerializingProducer` produces the record that failed (JSON,
  fields of ENCRYPT rules redacted) to the topic with the same headers, then
  raises the error, as confluent-kafka does;
- a serde used alone delivers it itself when ``rule_conf`` has producer
  settings (``bootstrap.servers``), and raises.

A record read back from the DLQ skips the rule named by ``__rule.name``.
"""

from __future__ import annotations

import copy
import json
import threading
from typing import Any

from confluent_kafka import Producer
from confluent_kafka.serialization import SerializationError

from .core import RuleAction, RuleContext

__all__ = ["DeadLetterError", "DlqAction", "dead_letter_headers"]

DLQ_TOPIC = "dlq.topic"
REDACTED = "<REDACTED>"
REDACT_TYPES = ("ENCRYPT", "ENCRYPT_PAYLOAD")


class DeadLetterError(SerializationError):
    """A rule sent the record to a dead-letter topic (``delivered``: already produced there)."""

    def __init__(self, message: str, *, rule: str, mode: str, subject: str, topic: str | None,
                 dlq_topic: str | None, record: Any = None, redacted_tags: frozenset[str] = frozenset(),
                 delivered: bool = False) -> None:
        super().__init__(message)
        self.rule = rule
        self.mode = mode
        self.subject = subject
        self.topic = topic
        self.dlq_topic = dlq_topic
        self.record = record
        self.redacted_tags = redacted_tags
        self.delivered = delivered

    def rule_headers(self) -> list[tuple[str, bytes]]:
        """confluent-kafka's ``__rule.*`` headers for this failure."""
        cause = self.__cause__
        headers = [("__rule.name", self.rule.encode()), ("__rule.mode", self.mode.encode()),
                   ("__rule.subject", self.subject.encode())]
        if self.topic is not None:
            headers.append(("__rule.topic", self.topic.encode()))
        if cause is not None:
            headers.append(("__rule.exception", str(cause).encode("utf-8", "replace")))
        return headers


def dead_letter_headers(error: DeadLetterError, field: str) -> list[tuple[str, str | bytes | None]]:
    """Headers of a record dead-lettered on write: ``__dlq.errors.*`` (no offset yet) and ``__rule.*``."""
    cause = error.__cause__ or error
    headers: list[tuple[str, str | bytes | None]] = []
    if error.topic is not None:
        headers.append(("__dlq.errors.topic", error.topic.encode()))
    headers += [("__dlq.errors.field", field.encode()),
                ("__dlq.errors.exception.class.name", f"{type(cause).__module__}.{type(cause).__qualname__}".encode()),
                ("__dlq.errors.exception.message", str(cause).encode("utf-8", "replace"))]
    return headers + error.rule_headers()


def record_bytes(error: DeadLetterError) -> bytes | None:
    """The failed record as bytes: as is for bytes and text, else JSON with ENCRYPT-tagged fields redacted."""
    record = error.record
    if record is None or isinstance(record, bytes):
        return record
    if isinstance(record, (bytearray, memoryview)):
        return bytes(record)
    if isinstance(record, str):
        return record.encode("utf-8")
    if hasattr(record, "DESCRIPTOR"):
        from google.protobuf import json_format

        return json_format.MessageToJson(record).encode("utf-8")
    return json.dumps(_redact(copy.deepcopy(record), error.redacted_tags),
                      default=lambda o: o.decode("latin-1") if isinstance(o, bytes) else str(o)).encode("utf-8")


def _redact(value: Any, fields: frozenset[str]) -> Any:
    if isinstance(value, dict):
        return {k: (REDACTED if k in fields and isinstance(v, (str, bytes)) else _redact(v, fields))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v, fields) for v in value]
    return value


class DlqAction(RuleAction):
    def __init__(self) -> None:
        self._producers: dict[str, Producer] = {}
        self._lock = threading.Lock()

    def type(self) -> str:
        return "DLQ"

    def run(self, ctx: RuleContext, message: Any, error: Exception | None) -> None:
        topic = ctx.get_parameter(DLQ_TOPIC) or ctx.rule_conf.get(DLQ_TOPIC)
        ser_ctx = ctx.ser_ctx
        failure = DeadLetterError(
            f"Rule failed: {ctx.rule.name}", rule=ctx.rule.name or "", mode=str(ctx.rule_mode.value),
            subject=ctx.subject, topic=getattr(ser_ctx, "topic", None), dlq_topic=topic,
            record=ctx.original_value, redacted_tags=self._redacted_fields(ctx))
        failure.__cause__ = error
        producer_conf = {k: v for k, v in ctx.rule_conf.items() if not k.startswith("dlq.") and k != "secret"}
        if topic and producer_conf.get("bootstrap.servers"):
            field = str(getattr(ser_ctx, "field", "value"))
            producer = self._producer(producer_conf)
            producer.produce(topic, value=record_bytes(failure), headers=dead_letter_headers(failure, field))
            producer.flush(10)
            failure.delivered = True
        raise failure from error

    def _producer(self, conf: dict) -> Producer:
        key = repr(sorted((k, str(v)) for k, v in conf.items()))
        with self._lock:
            found = self._producers.get(key)
            if found is None:
                found = self._producers[key] = Producer({"acks": "all", **conf})
            return found

    @staticmethod
    def _redacted_fields(ctx: RuleContext) -> frozenset[str]:
        """Names of the fields ENCRYPT rules of the schema protect (their values are redacted)."""
        tags = {tag for rule in ctx.rules if (rule.type or "").upper() in REDACT_TYPES for tag in rule.tags or ()}
        if not tags:
            return frozenset()
        names = {path.rsplit(".", 1)[-1] for path, found in (ctx.inline_tags or {}).items() if set(found) & tags}
        return frozenset(names)

    def close(self) -> None:
        for producer in self._producers.values():
            producer.flush(5)
