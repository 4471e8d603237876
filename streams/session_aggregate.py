"""Aggregation over ``SessionWindows`` (Kafka Streams ``KStreamSessionWindowAggregate``).

A record at ``ts`` merges every session of its key with ``start <= ts + gap`` and
``end >= ts - gap``; the merged session spans ``[min start, max end]`` (both real record times).
Sessions with ``end < streamTime - gap - grace`` are closed: a record that would only form or extend
such a session is dropped and counted as ``late-records``.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from itertools import count
from typing import Any

from streams.aggregate import Aggregator, Initializer
from streams.clock import STREAM_TIME, StreamClock
from streams.emit import EmitStrategy
from streams.processor import Processor, TaskContext
from streams.windows import SessionWindows, Windowed

Merger = Callable[[Any, Any, Any], Any]


class SessionAggregate(Processor):
    """Store keys are ``(key, start)``, values ``(end, aggregate, max timestamp)``."""

    def __init__(
        self,
        store_name: str,
        windows: SessionWindows,
        initializer: Initializer,
        aggregator: Aggregator,
        merger: Merger,
        emit: EmitStrategy,
    ) -> None:
        super().__init__()
        self.store_name = store_name
        self.gap = windows.gap_ms
        self.grace = windows.require_grace()
        self.initializer = initializer
        self.aggregator = aggregator
        self.merger = merger
        self.final = emit.final
        self.punctuates = emit.idle_close_ms is not None
        self.idle_close_ms = emit.idle_close_ms

    def init(self, ctx: TaskContext) -> None:
        super().init(ctx)
        self.store = ctx.store(self.store_name)
        self.clock = StreamClock(self.store, self.idle_close_ms)
        self.sessions: dict[Any, set[int]] = {}
        self.ends: list[tuple[int, int, Any, int]] = []
        self.seq = count()
        for skey, entry in self.store.data.items():
            if skey != STREAM_TIME:
                self._track(skey[0], skey[1], entry[0])

    def _track(self, key: Any, start: int, end: int) -> None:
        self.sessions.setdefault(key, set()).add(start)
        heapq.heappush(self.ends, (end, next(self.seq), key, start))

    def process(self, key: Any, value: Any, ts: int) -> None:
        if key is None or value is None:
            self.ctx.drop("null-key-or-value")
            return
        closed_before = self.clock.observe(ts) - self.gap - self.grace
        data = self.store.data
        merged: list[tuple[int, int, Any, int]] = []
        start, end, stamp = ts, ts, ts
        for s in self.sessions.get(key, ()):
            e, agg, t = data[(key, s)]
            if s <= ts + self.gap and e >= ts - self.gap:
                merged.append((s, e, agg, t))
                start, end, stamp = min(start, s), max(end, e), max(stamp, t)
        if end < closed_before:
            self.ctx.drop("late-records")
            return
        agg = self.initializer()
        for s, e, old, _ in sorted(merged):
            agg = self.merger(key, agg, old)
            self.store.delete((key, s))
            self.sessions[key].discard(s)
            if not self.final:
                self.forward(Windowed(key, s, e), None, ts)
        agg = self.aggregator(key, value, agg)
        self.store.put((key, start), (end, agg, stamp))
        self._track(key, start, end)
        if not self.final:
            self.forward(Windowed(key, start, end), agg, stamp)
        if self.ends[0][0] < closed_before:
            self._close(closed_before)

    def _close(self, closed_before: int) -> None:
        data = self.store.data
        while self.ends and self.ends[0][0] < closed_before:
            end, _, key, start = heapq.heappop(self.ends)
            entry = data.get((key, start))
            if entry is None or entry[0] != end:
                continue
            self.store.delete((key, start))
            starts = self.sessions[key]
            starts.discard(start)
            if not starts:
                del self.sessions[key]
            if self.final:
                self.forward(Windowed(key, start, end), entry[1], entry[2])

    def punctuate(self, wall_ms: int) -> None:
        if self.clock.tick(wall_ms):
            self._close(self.clock.time - self.gap - self.grace)
