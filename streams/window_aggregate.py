"""Aggregation over epoch-aligned tumbling or hopping ``TimeWindows``.

Kafka Streams arithmetic (``KStreamWindowAggregate``): a record updates window ``[start, end)``
only if ``end > streamTime - grace``; otherwise it is dropped and counted as ``late-records``.
A window closes once ``streamTime >= end + grace``; closed windows leave the store (emitting
their final value first when the strategy is final). Stream time is per task (partition) by
default, as in Kafka Streams; ``per_key`` tracks it per key instead, as Quix does by default.
"""

from __future__ import annotations

import heapq
from typing import Any

from streams.aggregate import Aggregator, Initializer
from streams.clock import STREAM_TIME, StreamClock
from streams.emit import EmitStrategy
from streams.processor import Processor, TaskContext
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
        emit: EmitStrategy,
        per_key: bool = False,
    ) -> None:
        super().__init__()
        self.per_key = per_key
        self.store_name = store_name
        self.windows = windows
        self.size = windows.size_ms
        self.grace = windows.require_grace()
        self.initializer = initializer
        self.aggregator = aggregator
        self.final = emit.final
        self.punctuates = emit.idle_close_ms is not None
        self.idle_close_ms = emit.idle_close_ms

    def init(self, ctx: TaskContext) -> None:
        super().init(ctx)
        self.store = ctx.store(self.store_name)
        self.clock = StreamClock(self.store, self.idle_close_ms)
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
        if key is None or value is None:
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
        put = self.store.put
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
            put(wkey, (agg, stamp))
            if not self.final:
                self.forward(Windowed(key, start, end), agg, stamp)
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
        for start in sorted(s for s in starts if s + self.size <= closed_before):
            starts.discard(start)
            entry = self.store.data.get((key, start))
            self.store.delete((key, start))
            if self.final and entry is not None:
                self.forward(Windowed(key, start, start + self.size), entry[0], entry[1])

    def _close(self, closed_before: int) -> None:
        """Remove (and, if final, emit) every window with ``end + grace <= stream time``."""
        size = self.size
        data = self.store.data
        while self.starts and self.starts[0] + size <= closed_before:
            start = heapq.heappop(self.starts)
            for key in self.open.pop(start, ()):
                wkey = (key, start)
                entry = data.get(wkey)
                if entry is None:
                    continue
                self.store.delete(wkey)
                if self.final:
                    self.forward(Windowed(key, start, start + size), entry[0], entry[1])

    def punctuate(self, wall_ms: int) -> None:
        if self.clock.tick(wall_ms):
            if self.per_key:
                for key in list(self.key_starts):
                    self._close_key(key, self.clock.time - self.grace)
            else:
                self._close(self.clock.time - self.grace)
