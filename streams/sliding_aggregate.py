"""Aggregation over ``SlidingWindows`` (Kafka Streams ``KStreamSlidingWindowAggregate``).

Windows are ``[start, start + difference]``, both ends inclusive, aligned to record timestamps: each
record gets a *left* window ending at its timestamp and, when a later record of the key falls within
``difference`` after it, a *right* window starting just after it, so every distinct set of records
close enough in time is one window. A record updates every existing window containing it; windows
whose end is before ``streamTime − grace`` are closed (updates to them are dropped and counted in
``late-records``). Records earlier than ``difference`` share the window ``[0, difference]``.
Records with a null key or value are dropped. The store keeps windows starting within
``2 × difference + grace`` of the latest window start it was given, as Kafka Streams' window store
does (after a restart: of the latest it holds).
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right
from typing import Any

from streams.aggregate import Aggregator, Initializer
from streams.clock import STREAM_TIME, StreamClock
from streams.processor import Processor, TaskContext
from streams.table import Row, TableOptions
from streams.windows import SlidingWindows, Windowed


class SlidingAggregate(Processor):
    """Store keys are ``(key, start)``, values ``(aggregate, max timestamp)``."""

    def __init__(
        self,
        store_name: str,
        windows: SlidingWindows,
        initializer: Initializer,
        aggregator: Aggregator,
        options: TableOptions,
    ) -> None:
        super().__init__()
        self.store_name = store_name
        self.diff = windows.time_difference_ms
        self.grace = windows.require_grace()
        self.retention = 2 * self.diff + self.grace
        self.initializer = initializer
        self.aggregator = aggregator
        self.options = options

    def init(self, ctx: TaskContext) -> None:
        super().init(ctx)
        self.store = ctx.store(self.store_name)
        self.clock = StreamClock(self.store, None)
        self.send_old = self.options.send_old_values
        self.starts: dict[Any, list[int]] = {}
        self.expiry: list[tuple[int, int, Any]] = []
        self.seq = 0
        self.store_time = -1
        for skey in self.store.data:
            if skey != STREAM_TIME:
                self._track(skey[0], skey[1])
                self.store_time = max(self.store_time, skey[1])

    def _track(self, key: Any, start: int) -> None:
        starts = self.starts.setdefault(key, [])
        index = bisect_left(starts, start)
        if index == len(starts) or starts[index] != start:
            starts.insert(index, start)
            self.seq += 1
            heapq.heappush(self.expiry, (start, self.seq, key))

    def _visible(self, key: Any, lo: int, hi: int) -> list[int]:
        """Window starts of ``key`` in ``[lo, hi]`` that the store still shows, ascending."""
        lo = max(lo, self.store_time - self.retention + 1)
        starts = self.starts.get(key, [])
        return starts[bisect_left(starts, lo) : bisect_right(starts, hi)] if lo <= hi else []

    def _put(self, key: Any, start: int, row: Row) -> None:
        if row[0] is None:
            self.store.delete((key, start))
            starts = self.starts.get(key, [])
            index = bisect_left(starts, start)
            if index < len(starts) and starts[index] == start:
                del starts[index]
        else:
            self.store.put((key, start), row)
            self._track(key, start)
        if start > self.store_time:
            self.store_time = start

    def _update(self, key: Any, value: Any, ts: int, start: int, row: Row | None, close: int) -> None:
        """Add the record to window ``start`` holding ``row`` (``updateWindowAndForward``)."""
        if start + self.diff < close:
            self.ctx.drop("late-records")
            return
        old = None if row is None else row[0]
        new = self.aggregator(key, value, old)
        stamp = ts if old is None else max(ts, row[1])  # type: ignore[index]
        self._put(key, start, (new, stamp))
        self.forward(Windowed(key, start, start + self.diff), (new, old if self.send_old else None), stamp)

    def _initial(self, ts: int) -> Row | None:
        agg = self.initializer()
        return None if agg is None else (agg, ts)

    def process(self, key: Any, value: Any, ts: int) -> None:
        if key is None or value is None:
            self.ctx.drop("null-key-or-value")
            return
        close = self.clock.observe(ts) - self.grace
        if ts + self.diff < close:
            self.ctx.drop("late-records")
            return
        if ts < self.diff:
            self._process_early(key, value, ts, close)
        else:
            self._process(key, value, ts, close)
        self._expire()

    def _process(self, key: Any, value: Any, ts: int, close: int) -> None:
        data, diff = self.store.data, self.diff
        seen: set[int] = set()
        left_agg: Row | None = None
        right_agg: Row | None = None
        left_created = right_created = False
        previous: int | None = None
        for start in reversed(self._visible(key, max(0, ts - 2 * diff), ts + 1)):
            row = data[(key, start)]
            seen.add(start)
            end = start + diff
            if start == ts + 1:
                right_created = True
            elif end > ts:
                if right_agg is None:
                    right_agg = row
                self._update(key, value, ts, start, row, close)
            elif end == ts:
                left_created = True
                self._update(key, value, ts, start, row, close)
                if row[1] < ts:
                    previous = row[1]
                else:
                    return
            else:
                left_agg, previous = row, row[1]
                break
        if previous is not None and previous + 1 not in seen and previous + 1 + diff >= ts:
            self._update(key, value, ts, previous + 1, self._initial(ts), close)
        if not left_created:
            if previous is not None and ts - diff <= previous and left_agg is not None:
                left: Row | None = None if left_agg[0] is None else (left_agg[0], ts)
            else:
                left = self._initial(ts)
            self._update(key, value, ts, ts - diff, left, close)
        if not right_created and right_agg is not None and right_agg[1] > ts:
            self._right_window(key, ts, right_agg)

    def _process_early(self, key: Any, value: Any, ts: int, close: int) -> None:
        data = self.store.data
        seen: set[int] = set()
        combined: Row | None = None
        right_agg: Row | None = None
        right_created = False
        previous: int | None = None
        for start in self._visible(key, 0, ts + 1):
            row = data[(key, start)]
            seen.add(start)
            if start == 0:
                combined = row
                if row[1] < ts:
                    previous = row[1]
            elif start <= ts:
                right_agg = row
                self._update(key, value, ts, start, row, close)
            elif start == ts + 1:
                right_created = True
        if right_agg is None and combined is not None and combined[1] > ts:
            right_agg = combined
        if not right_created and right_agg is not None and right_agg[1] > ts:
            self._right_window(key, ts, right_agg)
        if previous is not None and previous + 1 not in seen:
            self._update(key, value, ts, previous + 1, self._initial(ts), close)
        self._update(key, value, ts, 0, self._initial(ts) if combined is None else combined, close)

    def _right_window(self, key: Any, ts: int, row: Row) -> None:
        """The record's right window, holding what its left neighbour's window after it holds."""
        start = ts + 1
        self._put(key, start, row)
        self.forward(Windowed(key, start, start + self.diff), (row[0], None), row[1])

    def _expire(self) -> None:
        """Forget windows the store no longer shows."""
        oldest = self.store_time - self.retention + 1
        expiry = self.expiry
        while expiry and expiry[0][0] < oldest:
            start, _, key = heapq.heappop(expiry)
            starts = self.starts.get(key)
            if starts is None:
                continue
            index = bisect_left(starts, start)
            if index < len(starts) and starts[index] == start:
                del starts[index]
                self.store.delete((key, start))
            if not starts:
                del self.starts[key]

