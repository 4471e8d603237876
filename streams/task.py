"""A task: one partition's instance of the topology, its stores and its error handling."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from streams.processor import Headers, Send, TaskContext
from streams.source_sink import DeserializationError
from streams.store import KeyValueStore
from streams.topology import Binding, Topology

CONTINUE, FAIL = "continue", "fail"


class ErrorPolicy:
    """Where a record goes when it cannot be deserialized, its processing raises, or (restoring) a
    changelog record or state-file row does not decode.

    ``continue`` (default) writes the original bytes to the dead-letter topic with headers naming
    the error and goes on; ``fail`` re-raises and stops the application.
    """

    def __init__(self, dlq_topic: str | None, handler: str = CONTINUE) -> None:
        if handler not in (CONTINUE, FAIL):
            raise ValueError(f"processing.exception.handler must be {CONTINUE!r} or {FAIL!r}, not {handler!r}")
        self.dlq_topic = dlq_topic
        self.fail = handler == FAIL

    def dead_letter(
        self, send: Send, exc: BaseException, topic: str, partition: int, offset: int, key: bytes | None,
        value: bytes | None, ts: int, stage: str | None = None,
    ) -> None:
        """Send the original bytes to the dead-letter topic (if there is one) with headers naming the error."""
        if self.dlq_topic is not None:
            send(self.dlq_topic, key, value, ts, error_headers(exc, topic, partition, offset, stage))


def error_headers(exc: BaseException, topic: str, partition: int, offset: int, stage: str | None = None) -> Headers:
    """KIP-1034's headers; ``stage`` is ``deserialization``/``processing`` unless given (``restore``)."""
    if stage is None:
        stage = "deserialization" if isinstance(exc, DeserializationError) else "processing"
    cause = exc.__cause__ if isinstance(exc, DeserializationError) and exc.__cause__ else exc
    headers: Headers = [
        ("__streams.errors.stage", stage.encode()),
        ("__streams.errors.exception", type(cause).__qualname__.encode()),
        ("__streams.errors.message", str(cause).encode()[:4096]),
        ("__streams.errors.topic", topic.encode()),
        ("__streams.errors.partition", str(partition).encode()),
        ("__streams.errors.offset", str(offset).encode()),
    ]
    return headers


class Task:
    """Processors of the topology bound to one partition number and its stores."""

    def __init__(
        self,
        topology: Topology,
        partition: int,
        binding: Binding,
        send: Send,
        wall_clock: Callable[[], int],
        stores: dict[str, KeyValueStore],
        errors: ErrorPolicy,
    ) -> None:
        self.partition = partition
        self.stores = stores
        self.send = send
        self.errors = errors
        self.ctx = TaskContext(partition, send, wall_clock)
        self.ctx.stores = stores
        self.sources, processors = topology.instantiate(self.ctx, binding)
        self.punctuators = [p for p in processors if p.punctuates]
        self.processed = 0

    @property
    def metrics(self) -> Any:
        return self.ctx.metrics

    def process(self, topic: str, offset: int, key: bytes | None, value: bytes | None, ts: int) -> None:
        """Push one consumed record through the topology, routing failures per the error policy."""
        try:
            self.sources[topic].process_raw(key, value, ts)
        except Exception as exc:
            self.handle_error(exc, topic, offset, key, value, ts)

    def handle_error(
        self, exc: Exception, topic: str, offset: int, key: bytes | None, value: bytes | None, ts: int
    ) -> None:
        """Re-raise (``fail``) or send the original record to the dead-letter topic and go on."""
        if self.errors.fail:
            raise exc
        self.ctx.metrics["error-records"] += 1
        self.errors.dead_letter(self.send, exc, topic, self.partition, offset, key, value, ts)

    def punctuate(self, wall_ms: int) -> None:
        for processor in self.punctuators:
            processor.punctuate(wall_ms)
