"""Aggregation over ``SessionWindows`` (Kafka Streams ``KStreamSessionWindowAggregate``).

A record at ``ts`` merges every session of its key with ``start <= ts + gap`` and
``end >= ts - gap`` that the store still shows: a session is kept for ``gap + grace`` after its end,
measured from the stream time before the record, so one ending exactly at ``streamTime − gap −
grace`` is gone. The merged session spans ``[min start, max end]`` (both real record times). If it
ends before ``streamTime − gap − grace`` the record is dropped and counted in ``late-records``.
Otherwise each merged session is replaced by a tombstone stamped with that session's end, and the
merged session's aggregate is emitted stamped with its end. Records with a null key are dropped; a
null value is aggregated like any other. An aggregate of ``None`` deletes the session.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from itertools import count
from typing import Any

from streams.aggregate import Aggregator, Initializer
from streams.clock import STREAM_TIME, StreamClock
from streams.processor import Processor, TaskContext
from streams.table import Getter, Row, TableOptions
from streams.windows import SessionWindows, Windowed

Merger = Callable[[Any, Any, Any], Any]


class SessionAggregate(Processor):
    """Store keys are ``(key, start)``, values ``(end, aggregate, timestamp)`` (the timestamp is the end)."""

    def __init__(
        self,
        store_name: str,
        windows: SessionWindows,
        initializer: Initializer,
        aggregator: Aggregator,
        merger: Merger,
        options: TableOptions,
    ) -> None:
        super().__init__()
        self.options = options
        self.store_name = store_name
        self.gap = windows.gap_ms
        self.grace = windows.require_grace()
        self.initializer = initializer
        self.aggregator = aggregator
        self.merger = merger

    def init(self, ctx: TaskContext) -> None:
        super().init(ctx)
        self.store = ctx.store(self.store_name)
        self.clock = StreamClock(self.store, None)
        self.send_old = self.options.send_old_values
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
        if key is None:
            self.ctx.drop("null-key-or-value")
            return
        shown_from = max(ts - self.gap, self.clock.time - self.gap - self.grace + 1)
        closed_before = self.clock.observe(ts) - self.gap - self.grace
        data = self.store.data
        merged: list[tuple[int, int, Any]] = []
        for s in self.sessions.get(key, ()):
            e, agg, _ = data[(key, s)]
            if s <= ts + self.gap and e >= shown_from:
                merged.append((e, s, agg))
        merged.sort(key=_end_start)
        start, end = ts, ts
        agg = self.initializer()
        for e, s, old in merged:
            agg = self.merger(key, agg, old)
            start, end = min(start, s), max(end, e)
        if end < closed_before:
            self.ctx.drop("late-records")
            return
        if (start, end) != (ts, ts):
            for e, s, old in merged:
                self.store.delete((key, s))
                self.sessions[key].discard(s)
                self.forward(Windowed(key, s, e), (None, old if self.send_old else None), e)
        agg = self.aggregator(key, value, agg)
        if agg is None:
            self.store.delete((key, start))
        else:
            self.store.put((key, start), (end, agg, end))
            self._track(key, start, end)
        self.forward(Windowed(key, start, end), (agg, None), end)
        if self.ends and self.ends[0][0] <= closed_before:
            self._close(closed_before)

    def _close(self, closed_before: int) -> None:
        """Forget sessions ending at or before ``closed_before``: no later record can see them."""
        data = self.store.data
        while self.ends and self.ends[0][0] <= closed_before:
            end, _, key, start = heapq.heappop(self.ends)
            entry = data.get((key, start))
            if entry is None or entry[0] != end:
                continue
            self.store.delete((key, start))
            starts = self.sessions[key]
            starts.discard(start)
            if not starts:
                del self.sessions[key]


def _end_start(session: tuple[int, int, Any]) -> tuple[int, int]:
    return session[0], session[1]


def session_getter(store_name: str) -> Callable[[TaskContext], Getter]:
    """The lookup of a session aggregation's rows by ``Windowed`` key."""

    def factory(ctx: TaskContext) -> Getter:
        data = ctx.store(store_name).data

        def get(wkey: Windowed) -> Row | None:
            entry = data.get((wkey.key, wkey.start))
            return None if entry is None or entry[0] != wkey.end else (entry[1], entry[2])

        return get

    return factory
