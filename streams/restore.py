"""Restoring a task's stores: local SQLite first, then the changelog tail from the checkpoint.

Every row and record is decoded with the store's codec (``streams.codec``). One that does not
decode was not written by this application with these serdes: with ``processing.exception.handler``
``continue`` it goes to the dead-letter topic (stage ``restore``) and is skipped — a bad state-file
row also discards that store's local file, which is then rebuilt from the whole changelog — and with
``fail`` the restore stops with ``StateRestoreError``.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition

from streams.codec import StoreCodec, StoreDecodeError
from streams.processor import Send
from streams.state_file import Change, StateFile
from streams.store import KeyValueStore
from streams.task import ErrorPolicy

RESTORE = "restore"


class StateRestoreError(Exception):
    """A store entry does not decode and ``processing.exception.handler`` is ``fail``."""


class Restorer:
    """Reads changelog partitions to their end (``read_committed``: to the last stable offset)."""

    def __init__(
        self, connection: dict[str, Any], group_id: str, errors: ErrorPolicy, send: Send, metrics: Counter[str]
    ) -> None:
        self.errors = errors
        self.send = send
        self.metrics = metrics
        self.consumer = Consumer(
            {
                **connection,
                "group.id": group_id,
                "enable.auto.commit": False,
                "enable.partition.eof": True,
                "isolation.level": "read_committed",
                "auto.offset.reset": "earliest",
            }
        )

    def restore(
        self, state: StateFile, stores: dict[str, KeyValueStore], codecs: dict[str, StoreCodec],
        changelogs: dict[str, str], partition: int,
    ) -> dict[str, int]:
        """Fill ``stores`` and bring ``state`` up to date; returns records replayed per store."""
        checkpoints = state.checkpoints()
        for name, store in stores.items():
            if not self._load_file(state, store, codecs[name], changelogs[name], partition):
                state.clear(name)
                store.clear()
                checkpoints.pop(name, None)
        by_topic = {changelogs[name]: name for name in stores}
        assignment = [
            TopicPartition(topic, partition, checkpoints.get(name, OFFSET_BEGINNING)) for topic, name in by_topic.items()
        ]
        replayed: dict[str, list[Change]] = {name: [] for name in stores}
        decoded: dict[str, list[tuple[Any, Any]]] = {name: [] for name in stores}
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
                    topic = str(msg.topic())
                    name = by_topic[topic]
                    key, value, offset = msg.key() or b"", msg.value(), int(msg.offset() or 0)
                    next_offsets[name] = offset + 1
                    try:
                        decoded[name].append(codecs[name].decode(key, value))
                    except StoreDecodeError as exc:
                        where = f"changelog {topic!r} partition {partition} offset {offset}"
                        self._undecodable(exc, where, topic, partition, offset, key, value, msg.timestamp()[1])
                        continue
                    replayed[name].append((key, value))
            self.consumer.unassign()
        for name, store in stores.items():
            store.load(decoded[name])
        if any(replayed.values()) or next_offsets != checkpoints:
            state.write(replayed, next_offsets)
        return {name: len(changes) for name, changes in replayed.items()}

    def _load_file(self, state: StateFile, store: KeyValueStore, codec: StoreCodec, changelog: str,
                   partition: int) -> bool:
        """Load the store's rows from the state file; False if one did not decode (it was dead-lettered)."""
        entries = []
        for key, value in state.entries(store.name):
            try:
                entries.append(codec.decode(key, value))
            except StoreDecodeError as exc:
                where = f"state file {state.path}"
                self._undecodable(exc, where, changelog, partition, -1, key, value, 0)
                return False
        store.load(entries)
        return True

    def _undecodable(self, exc: StoreDecodeError, where: str, topic: str, partition: int, offset: int,
                     key: bytes | None, value: bytes | None, ts: int) -> None:
        error = StoreDecodeError(f"{exc} [{where}]")
        if self.errors.fail:
            raise StateRestoreError(
                f"cannot restore: {error}. It was not written by this application with these serdes; "
                "processing.exception.handler=fail stops here (with continue it is dead-lettered and skipped)"
            ) from exc
        self.metrics["error-records"] += 1
        self.errors.dead_letter(self.send, error, topic, partition, offset, key, value, ts, RESTORE)

    def close(self) -> None:
        self.consumer.close()
