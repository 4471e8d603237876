"""Windowed stream–stream join (inner, left, outer) over ``JoinWindows``.

A left record at ``ts`` joins right records with ``ts - before <= right.ts <= ts + after`` (both
inclusive); the output timestamp is the larger of the two. Both sides share one stream time.
A record's own window closes once ``streamTime > ts + after + grace`` (left) or
``ts + before + grace`` (right): a record arriving after that is dropped (``late-records``), a
stored record is evicted then, and an unmatched left (left/outer join) or right (outer join)
record is emitted with ``None`` for the other side at that moment, never earlier. Only records
whose windows are both still open can meet, so a record never gets both a joined and an
unmatched result. Null keys or values never join.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from itertools import count
from typing import Any

from streams.clock import STREAM_TIME, StreamClock
from streams.processor import Processor, TaskContext
from streams.store import KeyValueStore
from streams.windows import JoinWindows

ValueJoiner = Callable[[Any, Any], Any]
LEFT, RIGHT = 0, 1


class JoinState:
    """Both sides' window stores (``key -> [[ts, value, matched], ...]``) and the shared clock."""

    def __init__(self, stores: tuple[KeyValueStore, KeyValueStore], windows: JoinWindows, kind: str) -> None:
        self.stores = stores
        self.grace = windows.require_grace()
        self.lookback = (windows.after_ms, windows.before_ms)
        self.emit_unmatched = (kind in ("left", "outer"), kind == "outer")
        self.clock = StreamClock(stores[LEFT], None)
        self.deadlines: list[tuple[int, int, int, Any]] = []
        self.seq = count()
        for side in (LEFT, RIGHT):
            for key, records in stores[side].data.items():
                if key != STREAM_TIME:
                    for record in records:
                        self.schedule(side, key, record[0])

    def deadline(self, side: int, ts: int) -> int:
        return ts + self.lookback[side] + self.grace

    def schedule(self, side: int, key: Any, ts: int) -> None:
        heapq.heappush(self.deadlines, (self.deadline(side, ts), next(self.seq), side, key))

    def expire(self, now: int, forward: Callable[[Any, Any, int], None], joiner: ValueJoiner) -> None:
        """Evict records whose window closed (``deadline < now``), emitting unmatched ones."""
        deadlines = self.deadlines
        while deadlines and deadlines[0][0] < now:
            _, _, side, key = heapq.heappop(deadlines)
            store = self.stores[side]
            records = store.data.get(key)
            if not records:
                continue
            keep = []
            for record in records:
                if self.deadline(side, record[0]) < now:
                    if not record[2] and self.emit_unmatched[side]:
                        pair = (record[1], None) if side == LEFT else (None, record[1])
                        forward(key, joiner(*pair), record[0])
                else:
                    keep.append(record)
            if len(keep) == len(records):
                continue
            if keep:
                store.put(key, keep)
            else:
                store.delete(key)


class JoinSide(Processor):
    """One input of a stream–stream join; both sides share the task's ``JoinState``."""

    def __init__(
        self, join_name: str, side: int, stores: tuple[str, str], windows: JoinWindows, kind: str, joiner: ValueJoiner
    ) -> None:
        super().__init__()
        self.join_name = join_name
        self.side = side
        self.store_names = stores
        self.windows = windows
        self.kind = kind
        self.joiner = joiner
        if side == LEFT:
            self.lo, self.hi = windows.before_ms, windows.after_ms
        else:
            self.lo, self.hi = windows.after_ms, windows.before_ms

    def init(self, ctx: TaskContext) -> None:
        super().init(ctx)
        state = ctx.shared.get(self.join_name)
        if state is None:
            stores = (ctx.store(self.store_names[0]), ctx.store(self.store_names[1]))
            state = ctx.shared[self.join_name] = JoinState(stores, self.windows, self.kind)
        self.state: JoinState = state
        self.own = state.stores[self.side]
        self.other = state.stores[1 - self.side]

    def process(self, key: Any, value: Any, ts: int) -> None:
        if key is None or value is None:
            self.ctx.drop("null-key-or-value")
            return
        state = self.state
        now = state.clock.observe(ts)
        if state.deadline(self.side, ts) < now:
            self.ctx.drop("late-records")
            return
        state.expire(now, self.forward, self.joiner)
        matched = False
        others = self.other.data.get(key)
        if others:
            lo, hi = ts - self.lo, ts + self.hi
            joiner, forward, left = self.joiner, self.forward, self.side == LEFT
            for record in others:
                other_ts = record[0]
                if lo <= other_ts <= hi:
                    joined = joiner(value, record[1]) if left else joiner(record[1], value)
                    forward(key, joined, ts if ts > other_ts else other_ts)
                    record[2] = matched = True
            if matched:
                self.other.put(key, others)
        own = self.own.data.get(key)
        if own is None:
            own = []
        own.append([ts, value, matched])
        self.own.put(key, own)
        state.schedule(self.side, key, ts)
