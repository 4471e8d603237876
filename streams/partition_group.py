"""Timestamp-ordered input of a joining task (Kafka Streams' ``PartitionGroup`` and ``max.task.idle.ms``).

A task that joins topics reads partition ``p`` of each. Its records are buffered per input and
released smallest timestamp first, and only while every input has a record buffered, so an input
that is merely slower to fetch cannot fall behind in stream time and have its records dropped as
late. An input with nothing buffered holds the others back until it is known to be at its end
(the consumer reported end-of-partition since its last record) and ``max.task.idle.ms`` has
passed since then: ``0`` (the default) goes on at once, ``-1`` never waits, not even for an input
that is still fetching. An input neither at its end nor delivering for ``STALL_MS`` stops holding
the others back (with a warning), so a broker that never reports the end cannot stop a task.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Any

log = logging.getLogger("streams")

STALL_MS = 30_000


class _Input:
    __slots__ = ("at_end", "records", "since_ms", "warned")

    def __init__(self, now_ms: float) -> None:
        self.records: deque[Any] = deque()
        self.at_end = False
        self.since_ms = now_ms  # when the buffer last became empty, or when the end was reported
        self.warned = False


class PartitionGroup:
    """The joined inputs (topics) of one task; records are confluent-kafka ``Message`` objects."""

    def __init__(self, partition: int, topics: list[str], idle_ms: int, now_ms: float) -> None:
        self.partition = partition
        self.idle_ms = idle_ms
        self.inputs = {topic: _Input(now_ms) for topic in topics}

    def __contains__(self, topic: str) -> bool:
        return topic in self.inputs

    def add(self, msg: Any) -> None:
        entry = self.inputs[msg.topic()]
        entry.records.append(msg)
        entry.at_end = False
        entry.warned = False

    def reached_end(self, topic: str, now_ms: float) -> None:
        entry = self.inputs[topic]
        entry.at_end = True
        if not entry.records:
            entry.since_ms = now_ms

    def buffered(self, topic: str) -> int:
        return len(self.inputs[topic].records)

    def drain(self, now_ms: float) -> list[Any]:
        """The records that may be processed now, in timestamp order (offset order per input)."""
        out: list[Any] = []
        entries = list(self.inputs.values())
        while True:
            best = None
            best_ts = 0
            blocked = False
            for entry in entries:
                if entry.records:
                    ts = entry.records[0].timestamp()[1]
                    if best is None or ts < best_ts:
                        best, best_ts = entry, ts
                elif not self._may_skip(entry, now_ms):
                    blocked = True
            if best is None or blocked:
                return out
            out.append(best.records.popleft())
            if not best.records:
                best.since_ms = now_ms

    def _may_skip(self, entry: _Input, now_ms: float) -> bool:
        """Whether an input with nothing buffered may be left behind."""
        if self.idle_ms < 0:
            return True
        if entry.at_end:
            return now_ms - entry.since_ms >= self.idle_ms
        if now_ms - entry.since_ms >= max(STALL_MS, self.idle_ms):
            if not entry.warned:
                entry.warned = True
                log.warning("task %d: an input has neither delivered nor reported its end for %d ms; going on "
                            "without it", self.partition, STALL_MS)
            return True
        return False

    def first_offsets(self) -> dict[str, int]:
        """Per input with records buffered, the offset of the first: where a commit must resume."""
        return {topic: entry.records[0].offset() for topic, entry in self.inputs.items() if entry.records}
