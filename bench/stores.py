"""The two stores side by side: registrations/s and replay time, measured in one run.

    .venv/bin/python bench/stores.py [--records 100000] [--registrations 500]

Registrations go through :class:`registry.service.Registry` (parse, id
allocation, durable write, read-your-write) under compatibility NONE. Replay
is the time a fresh store takes to open over ``--records`` SCHEMA records:
for SQLite a database filled through the store, for Kafka a fresh ``_schemas``
topic filled with Confluent-format records. Kafka is a real single-node broker
(``registry.devkafka``), or ``SCHEMAHUB_TEST_KAFKA=host:port``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from confluent_kafka import Producer

from registry.service import RegisterRequest, Registry
from registry.state import RegistryState
from registry.stores.base import Store
from registry.stores.kafka import KafkaStore
from registry.stores.kafka_records import encode
from registry.stores.records import SchemaRecord
from registry.stores.sqlite import SQLiteStore


def schema(n: int) -> str:
    return json.dumps({"type": "record", "name": f"R{n}", "fields": [{"name": f"f{n}", "type": "int"}]})


def stored(n: int) -> SchemaRecord:
    return SchemaRecord.of(f"subject-{n % 1000}", n // 1000 + 1, n + 1, "AVRO", schema(n), ts=1)


def wait_leader(store: KafkaStore, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not store.is_leader():
        if time.monotonic() > deadline:
            raise SystemExit("the Kafka store did not become the leader")
        time.sleep(0.01)


def registrations_per_second(registry: Registry, count: int) -> float:
    registry.set_config(None, {"compatibility": "NONE"})
    start = time.perf_counter()
    for n in range(count):
        registry.register(f"bench-{n % 20}", RegisterRequest(schema=schema(n)))
    return count / (time.perf_counter() - start)


def replay_seconds(store: Store) -> tuple[float, int]:
    state = RegistryState()
    start = time.perf_counter()
    store.open(state.apply)
    elapsed = time.perf_counter() - start
    store.close()
    return elapsed, sum(len(s.versions) for s in state.subjects.values())


def fill_sqlite(path: Path, records: int) -> None:
    store = SQLiteStore(path)
    store.open(lambda record: None)
    batch = 5000
    for first in range(0, records, batch):
        store.append([stored(n) for n in range(first, min(first + batch, records))])
    store.close()


def fill_topic(bootstrap: str, topic: str, records: int) -> None:
    creator = KafkaStore(bootstrap, topic, group_id=f"fill-{topic}", leader_eligible=False)
    creator.open(lambda record: None)
    creator.close()
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "acks": "all"})
    for n in range(records):
        key, value = encode(stored(n))
        while True:
            try:
                producer.produce(topic, key=key, value=value)
                break
            except BufferError:
                producer.poll(0.1)
    producer.flush(120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=100_000, help="SCHEMA records replayed")
    parser.add_argument("--registrations", type=int, default=500, help="registrations timed per store")
    args = parser.parse_args()
    cluster = None
    bootstrap = os.environ.get("SCHEMAHUB_TEST_KAFKA")
    if not bootstrap:
        from registry.devkafka import KafkaCluster

        cluster = KafkaCluster(1)
        cluster.start()
        bootstrap = cluster.bootstrap
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            sqlite_registry = Registry(SQLiteStore(Path(tmp) / "reg.db"))
            sqlite_rate = registrations_per_second(sqlite_registry, args.registrations)
            sqlite_registry.close()

            topic = f"_schemas-bench-{uuid.uuid4().hex[:8]}"
            kafka_store = KafkaStore(bootstrap, topic, group_id=f"bench-{topic}")
            kafka_registry = Registry(kafka_store)
            wait_leader(kafka_store)
            kafka_rate = registrations_per_second(kafka_registry, args.registrations)
            kafka_registry.close()

            fill_sqlite(Path(tmp) / "replay.db", args.records)
            sqlite_replay, sqlite_count = replay_seconds(SQLiteStore(Path(tmp) / "replay.db"))
            replay_topic = f"_schemas-replay-{uuid.uuid4().hex[:8]}"
            fill_topic(bootstrap, replay_topic, args.records)
            kafka_replay, kafka_count = replay_seconds(
                KafkaStore(bootstrap, replay_topic, group_id=f"replay-{replay_topic}", leader_eligible=False)
            )
            rows = [
                ("SQLite", sqlite_rate, sqlite_replay, sqlite_count),
                ("Kafka _schemas", kafka_rate, kafka_replay, kafka_count),
            ]
    finally:
        if cluster is not None:
            cluster.stop()
    print(f"{'store':16} {'registrations/s':>16} {'vs SQLite':>10} {'replay s':>9} {'records':>8} {'vs SQLite':>10}")
    base_rate, base_replay = rows[0][1], rows[0][2]
    for name, rate, replay, count in rows:
        print(f"{name:16} {rate:>16.0f} {rate / base_rate:>9.2f}x {replay:>9.2f} {count:>8} "
              f"{replay / base_replay:>9.2f}x")


if __name__ == "__main__":
    main()
