"""Restoring a task's stores: local SQLite first, then the changelog tail from the checkpoint."""

from __future__ import annotations

import time
from collections.abc import Iterable

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition

from streams import codec
from streams.state_file import Change, StateFile
from streams.store import KeyValueStore


class Restorer:
    """Reads changelog partitions to their end (``read_committed``: to the last stable offset)."""

    def __init__(self, bootstrap_servers: str, group_id: str) -> None:
        self.consumer = Consumer(
            {
                "bootstrap.servers": bootstrap_servers,
                "group.id": group_id,
                "enable.auto.commit": False,
                "enable.partition.eof": True,
                "isolation.level": "read_committed",
                "auto.offset.reset": "earliest",
            }
        )

    def restore(
        self, state: StateFile, stores: Iterable[KeyValueStore], changelogs: dict[str, str], partition: int
    ) -> dict[str, int]:
        """Fill ``stores`` and bring ``state`` up to date; returns records replayed per store."""
        stores = list(stores)
        checkpoints = state.checkpoints()
        for store in stores:
            store.load([(codec.decode(k), codec.decode(v)) for k, v in state.entries(store.name)])
        by_topic = {changelogs[s.name]: s for s in stores}
        assignment = [
            TopicPartition(topic, partition, checkpoints.get(store.name, OFFSET_BEGINNING))
            for topic, store in by_topic.items()
        ]
        replayed: dict[str, list[Change]] = {s.name: [] for s in stores}
        next_offsets = dict(checkpoints)
        pending = {tp.topic for tp in assignment}
        if pending:
            self.consumer.assign(assignment)
            deadline = time.monotonic() + 120
            while pending:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"restoring {sorted(pending)} partition {partition} took too long")
                for msg in self.consumer.consume(1000, timeout=0.2):
                    if msg.partition() != partition:
                        continue
                    err = msg.error()
                    if err is not None:
                        if err.code() == KafkaError._PARTITION_EOF:
                            pending.discard(msg.topic())
                            continue
                        raise KafkaException(err)
                    store = by_topic[str(msg.topic())]
                    replayed[store.name].append((msg.key() or b"", msg.value()))
                    next_offsets[store.name] = int(msg.offset() or 0) + 1
            self.consumer.unassign()
        for store in stores:
            store.load([(codec.decode(k), codec.decode_value(v)) for k, v in replayed[store.name]])
        if any(replayed.values()):
            state.write(replayed, next_offsets)
        return {name: len(changes) for name, changes in replayed.items()}

    def close(self) -> None:
        self.consumer.close()
