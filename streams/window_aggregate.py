"""Aggregation over epoch-aligned tumbling or hopping ``TimeWindows`` (Kafka Streams ``KStreamWindowAggregate``).

A record updates window ``[start, end)`` only if ``end > streamTime - grace``; otherwise that window
drops it and counts it in ``late-records``. Records with a null key are dropped; a null value is
aggregated like any other (``count`` counts it, ``reduce`` hands it to the reducer). Every update is
emitted, with the largest timestamp of the window's records; an aggregate of ``None`` deletes the
window and is emitted as a tombstone. Windows leave the store once ``streamTime >= end + grace``;
``suppress`` turns the updates into one final result per window. Stream time is per task
(partition), as in Kafka Streams; ``per_key`` tracks it per key instead, as Quix does by default.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any

from streams.aggregate import Aggregator, Initializer
from streams.clock import STREAM_TIME, StreamClock
from streams.processor import Processor, TaskContext
from streams.table import Getter, Row, TableOptions
from streams.windows import TimeWindows, Windowed

KEY_TIME = ("__key_time__",)


class WindowAggregate(Processor):
    """Store keys are ``(key, start)``, values ``(aggregate, max timestamp)``."""

    def __init__(
        self,
        store_name: str,
        windows: TimeWindows,
        initializer: Initializer,
        aggregator: Aggregator,
        options: TableOptions,
        per_key: bool = False,
    ) -> None:
        super().__init__()
        self.options = options
        self.per_key = per_key
        self.store_name = store_name
        self.windows = windows
        self.size = windows.size_ms
        self.grace = windows.require_grace()
        self.initializer = initializer
        self.aggregator = aggregator

    def init(self, ctx: TaskContext) -> None:
        super().init(ctx)
        self.store = ctx.store(self.store_name)
        self.clock = StreamClock(self.store, None)
        self.send_old = self.options.send_old_values
        self.open: dict[int, dict[Any, None]] = {}
        self.starts: list[int] = []
        self.key_starts: dict[Any, set[int]] = {}
        for wkey in self.store.data:
            if wkey != STREAM_TIME and wkey[0] != KEY_TIME:
                self._track(wkey[0], wkey[1])

    def _track(self, key: Any, start: int) -> None:
        if self.per_key:
            self.key_starts.setdefault(key, set()).add(start)
            return
        keys = self.open.get(start)
        if keys is None:
            keys = self.open[start] = {}
            heapq.heappush(self.starts, start)
        keys[key] = None

    def process(self, key: Any, value: Any, ts: int) -> None:
        if key is None:
            self.ctx.drop("null-key-or-value")
            return
        if ts < 0:
            self.ctx.drop("negative-timestamp")
            return
        if self.per_key:
            self.clock.observe(ts)
            closed_before = self._observe_key(key, ts) - self.grace
        else:
            closed_before = self.clock.observe(ts) - self.grace
        size = self.size
        data = self.store.data
        for start in self.windows.window_starts(ts):
            end = start + size
            if end <= closed_before:
                self.ctx.drop("late-records")
                continue
            wkey = (key, start)
            old = data.get(wkey)
            if old is None:
                agg = self.aggregator(key, value, self.initializer())
                stamp = ts
                self._track(key, start)
            else:
                agg = self.aggregator(key, value, old[0])
                stamp = old[1] if old[1] > ts else ts
            if agg is None:
                self.store.delete(wkey)
            else:
                self.store.put(wkey, (agg, stamp))
            self.forward(Windowed(key, start, end), (agg, old[0] if self.send_old and old is not None else None), stamp)
        if self.per_key:
            self._close_key(key, closed_before)
        elif self.starts and self.starts[0] + size <= closed_before:
            self._close(closed_before)

    def _observe_key(self, key: Any, ts: int) -> int:
        time_key = (KEY_TIME, key)
        seen = self.store.data.get(time_key, -1)
        if ts > seen:
            self.store.put(time_key, ts)
            return ts
        return seen

    def _close_key(self, key: Any, closed_before: int) -> None:
        starts = self.key_starts.get(key)
        if not starts:
            return
        for start in [s for s in starts if s + self.size <= closed_before]:
            starts.discard(start)
            self.store.delete((key, start))

    def _close(self, closed_before: int) -> None:
        """Remove every window with ``end + grace <= stream time``: no record can update it any more."""
        size = self.size
        while self.starts and self.starts[0] + size <= closed_before:
            start = heapq.heappop(self.starts)
            for key in self.open.pop(start, ()):
                self.store.delete((key, start))


def window_getter(store_name: str) -> Callable[[TaskContext], Getter]:
    """The lookup of a windowed aggregation's rows by ``Windowed`` key."""

    def factory(ctx: TaskContext) -> Getter:
        data = ctx.store(store_name).data

        def get(wkey: Windowed) -> Row | None:
            return data.get((wkey.key, wkey.start))

        return get

    return factory
