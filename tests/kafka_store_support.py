"""Helpers for tests of the Kafka store: fresh topics, a registry that leads, the topic as
Confluent Schema Registry would read it back."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

from registry.service import Registry
from registry.stores.kafka import KafkaStore


def fresh_topic(prefix: str = "schemas") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def wait_leader(store: KafkaStore, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not store.is_leader():
        if time.monotonic() > deadline:
            raise TimeoutError("the Kafka store did not become the leader")
        time.sleep(0.01)


@contextmanager
def kafka_registry(bootstrap: str, topic: str | None = None, **options: object) -> Iterator[Registry]:
    """A Registry over a KafkaStore on ``topic`` (fresh by default), once it leads."""
    topic = topic or fresh_topic()
    store = KafkaStore(bootstrap, topic, group_id=f"group-{topic}", **options)  # type: ignore[arg-type]
    registry = Registry(store)
    try:
        wait_leader(store)
        yield registry
    finally:
        registry.close()


def read_topic(bootstrap: str, topic: str, isolation: str) -> list[tuple[int, bytes | None, bytes | None]]:
    """Every (offset, key, value) of partition 0 up to its end, read with ``isolation``."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": fresh_topic("read"), "isolation.level": isolation,
         "enable.partition.eof": True, "enable.auto.commit": False}
    )
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    found = []
    deadline = time.monotonic() + 60
    try:
        while True:
            assert time.monotonic() < deadline, f"could not read {topic} to its end"
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    return found
                continue
            found.append((msg.offset(), msg.key(), msg.value()))
    finally:
        consumer.close()


class ConfluentView:
    """The registry Confluent Schema Registry rebuilds from a ``_schemas`` topic, modelled on its
    ``KafkaStoreReaderThread`` + ``KafkaStoreMessageHandler`` + ``InMemoryCache``: the topic read
    ``read_uncommitted`` (aborted records included), the last value per key wins, a SCHEMA record
    whose id already resolves to a different schema string is ignored (``validateUpdate``), and an
    id keeps pointing at the (subject, version) it was first registered under until a tombstone."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.schemas: dict[tuple[str, int], dict] = {}  # (subject, version) -> SCHEMA value
        self.ids: dict[int, dict[str, int]] = {}  # id -> {subject: version} (guidToSubjectVersions)
        self.ignored = 0
        for _, key, value in read_topic(bootstrap, topic, "read_uncommitted"):
            k = json.loads(key or b"{}")
            if k.get("keytype") == "SCHEMA":
                self._schema((k["subject"], k["version"]), json.loads(value) if value is not None else None)

    def _schema(self, sv: tuple[str, int], value: dict | None) -> None:
        if value is None:
            old = self.schemas.pop(sv, None)
            if old is not None:
                users = self.ids.get(old["id"], {})
                if users.get(sv[0]) == sv[1]:
                    del users[sv[0]]
            return
        holder = self.resolve(value["id"])
        if holder is not None and holder["schema"] != value["schema"]:
            self.ignored += 1
            return
        self.schemas[sv] = value
        self.ids.setdefault(value["id"], {})[sv[0]] = sv[1]

    def resolve(self, schema_id: int) -> dict | None:
        """What ``GET /schemas/ids/{id}`` answers: the value under a (subject, version) the id names."""
        for subject, version in self.ids.get(schema_id, {}).items():
            return self.schemas.get((subject, version))
        return None

    def ids_bound_twice(self) -> list[int]:
        """Ids whose (subject, version)s hold different schemas, or another id (a version reused)."""
        bad = []
        for schema_id, users in self.ids.items():
            values = [self.schemas.get((subject, version)) for subject, version in users.items()]
            if any(v is None or v["id"] != schema_id for v in values) or len({v["schema"] for v in values if v}) > 1:
                bad.append(schema_id)
        return bad


def aborted_records(bootstrap: str, topic: str) -> list[bytes | None]:
    """Keys of the records a read_committed reader skips: those of aborted transactions."""
    committed = {offset for offset, _, _ in read_topic(bootstrap, topic, "read_committed")}
    return [key for offset, key, _ in read_topic(bootstrap, topic, "read_uncommitted") if offset not in committed]
