"""The processor contract and the per-task context processors run in.

A topology is instantiated once per task (partition); records are pushed through processors
as plain ``(key, value, timestamp)`` calls, with no per-record wrapper objects.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from streams.store import KeyValueStore

Headers = list[tuple[str, "str | bytes | None"]]
Send = Callable[..., None]
"""``send(topic, key_bytes, value_bytes, timestamp, headers=None)``."""


class TaskContext:
    """What a processor can reach: its task's partition, stores, shared state, output and metrics."""

    def __init__(self, partition: int, send: Send, wall_clock: Callable[[], int]) -> None:
        self.partition = partition
        self.send = send
        self.wall_clock = wall_clock
        self.stores: dict[str, KeyValueStore] = {}
        self.shared: dict[str, Any] = {}
        self.metrics: Counter[str] = Counter()

    def store(self, name: str) -> KeyValueStore:
        return self.stores[name]

    def drop(self, reason: str) -> None:
        """Count a record skipped on purpose (late, null key, ...); also totals ``dropped-records``."""
        self.metrics["dropped-records"] += 1
        self.metrics[reason] += 1


def _discard(key: Any, value: Any, ts: int) -> None:
    return None


class Processor:
    """A node of a task's processor graph; ``forward`` pushes a record to every child."""

    punctuates = False

    def __init__(self) -> None:
        self.children: list[Processor] = []
        self.forward: Callable[[Any, Any, int], None] = _discard
        self.ctx: TaskContext

    def connect(self, children: list[Processor]) -> None:
        self.children = children
        if len(children) == 1:
            self.forward = children[0].process
        elif children:
            targets = [child.process for child in children]

            def fan_out(key: Any, value: Any, ts: int) -> None:
                for target in targets:
                    target(key, value, ts)

            self.forward = fan_out

    def init(self, ctx: TaskContext) -> None:
        self.ctx = ctx

    def process(self, key: Any, value: Any, ts: int) -> None:
        raise NotImplementedError

    def punctuate(self, wall_ms: int) -> None:
        """Wall-clock tick; only called when ``punctuates`` is true."""
