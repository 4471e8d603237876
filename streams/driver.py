"""``TopologyTestDriver``: run a topology in memory, with no broker, one record at a time.

Input records are serialized with the given serializers and fed through the topology's own
deserializers, so the whole path runs as it would against Kafka. After every record each changed
store entry is encoded as its changelog record and decoded again: an entry that its serdes cannot
write, or that would come back different after a restore (a tuple as a JSON list, say), raises
``StoreSerdeError`` at once instead of surprising a restarted application. Records sent to a topic that the
topology also reads (repartition topics, or a ``to()`` feeding a ``stream()``) are processed
right after the record that produced them. Everything runs as task 0; wall-clock time only moves
when ``advance_wall_clock_time`` is called.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from streams.config import default_serdes
from streams.processor import Headers
from streams.serdes import KEY, VALUE, Deserializer, Serializer, decoder, encoder
from streams.store import KeyValueStore
from streams.task import CONTINUE, ErrorPolicy, Task
from streams.topology import Topology

_ABSENT = object()


class StoreSerdeError(Exception):
    """A store entry its serdes cannot write, or that would not come back equal from the changelog."""


@dataclass
class TestRecord:
    key: Any
    value: Any
    timestamp: int
    headers: Headers = field(default_factory=list)


class TestInputTopic:
    def __init__(self, driver: TopologyTestDriver, topic: str, key_ser: Serializer | None, value_ser: Serializer | None):
        self.driver = driver
        self.topic = topic
        self.encode_key = encoder(key_ser, topic, KEY)
        self.encode_value = encoder(value_ser, topic, VALUE)

    def pipe_input(self, key: Any, value: Any, timestamp: int | None = None) -> None:
        """Send one record; ``timestamp`` defaults to the driver's wall clock."""
        ts = self.driver.wall_clock_ms if timestamp is None else timestamp
        self.driver.pipe_raw(self.topic, self.encode_key(key), self.encode_value(value), ts)

    def pipe_records(self, records: Iterable[tuple[Any, Any, int]]) -> None:
        """Send ``(key, value, timestamp)`` triples in order."""
        for key, value, ts in records:
            self.pipe_input(key, value, ts)


class TestOutputTopic:
    def __init__(self, driver: TopologyTestDriver, topic: str, key_de: Deserializer | None, value_de: Deserializer | None):
        self.records = driver.outputs.setdefault(topic, [])
        self.topic = topic
        self.decode_key = decoder(key_de, topic, KEY)
        self.decode_value = decoder(value_de, topic, VALUE)
        self.position = 0

    def read_records(self) -> list[TestRecord]:
        """Every record written since the last read, deserialized."""
        raw = self.records[self.position :]
        self.position = len(self.records)
        return [TestRecord(self.decode_key(k), self.decode_value(v), ts, list(h or ())) for k, v, ts, h in raw]

    def read_key_values(self) -> list[tuple[Any, Any]]:
        return [(r.key, r.value) for r in self.read_records()]

    def read_values(self) -> list[Any]:
        return [r.value for r in self.read_records()]

    def is_empty(self) -> bool:
        return self.position == len(self.records)


class TopologyTestDriver:
    """In-memory runner with a virtual wall clock; ``config`` accepts the runtime's keys."""

    def __init__(self, topology: Topology, config: dict[str, Any] | None = None, initial_wall_clock_ms: int = 0) -> None:
        config = dict(config or {})
        self.application_id = config.get("application.id", "test-driver")
        self.topology = topology
        self.wall_clock_ms = initial_wall_clock_ms
        self.outputs: dict[str, list[tuple[bytes | None, bytes | None, int, Headers | None]]] = {}
        self._pending: deque[tuple[str, bytes | None, bytes | None, int]] = deque()
        self._offsets: dict[str, int] = {}
        errors = ErrorPolicy(
            config.get("errors.deadletterqueue.topic.name", f"{self.application_id}-dlq"),
            config.get("processing.exception.handler", CONTINUE),
        )
        self.binding = topology.bind(self.application_id, *default_serdes(config))
        self.stores = {name: codec.new_store() for name, codec in self.binding.codecs.items()}
        self.task = Task(topology, 0, self.binding, self._send, lambda: self.wall_clock_ms, self.stores, errors)

    def _send(self, topic: str, key: bytes | None, value: bytes | None, ts: int, headers: Headers | None = None) -> None:
        self.outputs.setdefault(topic, []).append((key, value, ts, headers))
        if topic in self.task.sources:
            self._pending.append((topic, key, value, ts))

    def pipe_raw(self, topic: str, key: bytes | None, value: bytes | None, ts: int) -> None:
        """Process one serialized record and everything it sends to the topology's own inputs."""
        if topic not in self.task.sources:
            raise KeyError(f"{topic!r} is not a source topic of this topology")
        self._pending.append((topic, key, value, ts))
        while self._pending:
            topic, key, value, ts = self._pending.popleft()
            offset = self._offsets.get(topic, 0)
            self._offsets[topic] = offset + 1
            self.task.process(topic, offset, key, value, ts)
            self._check_stores()

    def _check_stores(self) -> None:
        """Send every changed store entry through its changelog encoding and back."""
        for name, store in self.stores.items():
            codec = self.binding.codecs[name]
            try:
                changes = codec.changes(store)
            except Exception as exc:
                raise StoreSerdeError(f"store {name!r} cannot be written: {exc}") from exc
            for raw_key, raw_value in changes:
                key, value = codec.decode(raw_key, raw_value)
                if value is None:
                    continue
                try:
                    held = store.data.get(key, _ABSENT)
                except TypeError:  # the key came back unhashable (a tuple as a JSON list)
                    held = _ABSENT
                if held != value:
                    now = "a key the store does not hold" if held is _ABSENT else f"the store holds {held!r}"
                    raise StoreSerdeError(
                        f"store {name!r}: an entry would be restored from its changelog as {key!r} -> {value!r}, "
                        f"but {now}; give the store serdes that round-trip its keys and values "
                        "(Materialized.with_(key_serde, value_serde))"
                    )

    def create_input_topic(
        self, topic: str, key_serializer: Serializer | None = None, value_serializer: Serializer | None = None
    ) -> TestInputTopic:
        """A topic to pipe records into; serializers left out are the default serdes'."""
        return TestInputTopic(self, topic, key_serializer or self.binding.key_serde.serializer,
                              value_serializer or self.binding.value_serde.serializer)

    def create_output_topic(
        self, topic: str, key_deserializer: Deserializer | None = None, value_deserializer: Deserializer | None = None
    ) -> TestOutputTopic:
        """A topic to read results from; deserializers left out are the default serdes'."""
        return TestOutputTopic(self, topic, key_deserializer or self.binding.key_serde.deserializer,
                               value_deserializer or self.binding.value_serde.deserializer)

    def internal_topic(self, name: str) -> str:
        """Real name of a repartition topic reference (``<application.id>-<name>``)."""
        return self.binding(name)

    def advance_wall_clock_time(self, ms: int) -> None:
        """Move the virtual wall clock and run wall-clock punctuation (idle window close)."""
        self.wall_clock_ms += ms
        self.task.punctuate(self.wall_clock_ms)
        self._check_stores()

    def get_key_value_store(self, name: str) -> KeyValueStore:
        return self.stores[name]

    def table_values(self, name: str) -> dict[Any, Any]:
        """A table or aggregation store as ``{key: value}`` (timestamps and metadata stripped)."""
        return {k: v[0] for k, v in self.stores[name].data.items() if not _is_meta(k)}

    @property
    def metrics(self) -> dict[str, int]:
        return dict(self.task.metrics)

    def close(self) -> None:
        self._pending.clear()

    def __enter__(self) -> TopologyTestDriver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _is_meta(key: Any) -> bool:
    """Stream-time bookkeeping entries are keyed by, or start with, a 1-tuple marker."""
    return isinstance(key, tuple) and (len(key) == 1 or (isinstance(key[0], tuple) and len(key[0]) == 1))
