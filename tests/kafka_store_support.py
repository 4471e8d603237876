"""Helpers for tests of the Kafka store: fresh topics, a registry that leads."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

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
