"""Windowed stream–stream join (inner, left, outer), as Kafka Streams' ``KStreamKStreamJoin``.

A record at ``ts`` joins the other side's records with ``ts - before <= other.ts <= ts + after``
(both inclusive; the right side sees the window flipped), in the other side's timestamp order;
each result has timestamp ``max(ts, other.ts)``. Both sides share one stream time, advanced by every
record (null keys and values included). Each side keeps its records for ``before + after + grace``
behind the largest timestamp it stored: an older record is no longer seen by the other side.

Left/outer joins: a record that found no partner is remembered as *unmatched* until a partner
arrives, and emitted with ``None`` for the other side once its window closed
(``ts + after + grace < streamTime`` on the left, ``ts + before + grace`` on the right) — checked
when a record arrives with the largest timestamp so far, in ``(timestamp, right side first, key)``
order. A record whose window (``ts + after``) is already behind stream time when it arrives gets
its unmatched result at once. A record with a null key gets it at once too (KIP-962); null values
never join.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from typing import Any

from streams.clock import STREAM_TIME, StreamClock
from streams.ordering import key_bytes
from streams.processor import Processor, TaskContext
from streams.store import KeyValueStore
from streams.windows import JoinWindows

ValueJoiner = Callable[[Any, Any], Any]
LEFT, RIGHT = 0, 1
NO_TIME = -1
_MAX = 2**63 - 1


class JoinState:
    """What both sides of one join share in a task.

    ``stores[side]`` maps a key to that side's records ``[ts, value, unmatched]`` in timestamp
    order (Kafka Streams' window store and outer-join store in one); ``stored_time[side]`` is the
    largest timestamp the side stored, which bounds what it still shows.
    """

    def __init__(self, stores: tuple[KeyValueStore, KeyValueStore], windows: JoinWindows, kind: str) -> None:
        self.stores = stores
        self.grace = windows.require_grace()
        self.retention = windows.before_ms + windows.after_ms + self.grace
        self.lookback = (windows.after_ms, windows.before_ms)
        self.outer_store = kind in ("left", "outer")
        self.clock = StreamClock(stores[LEFT], None)
        self.stored_time = [NO_TIME, NO_TIME]
        self.unmatched: set[tuple[int, int, Any]] = set()
        self.min_time = _MAX
        for side in (LEFT, RIGHT):
            for key, records in stores[side].data.items():
                if key == STREAM_TIME:
                    continue
                for ts, _, unmatched in records:
                    self.stored_time[side] = max(self.stored_time[side], ts)
                    if unmatched:
                        self.unmatched.add((ts, side, key))
                        self.min_time = min(self.min_time, ts)

    def visible_from(self, side: int) -> int:
        """The oldest timestamp ``side`` still shows."""
        return self.stored_time[side] - self.retention + 1

    def store(self, side: int, key: Any, ts: int, value: Any, unmatched: bool) -> None:
        """Keep a record, in timestamp order; drop what no longer shows and is not awaiting emission."""
        if ts > self.stored_time[side]:
            self.stored_time[side] = ts
        store = self.stores[side]
        records = store.data.get(key)
        if records is None:
            records = []
        else:
            oldest = self.visible_from(side)
            records = [r for r in records if r[0] >= oldest or r[2]]
        records.insert(bisect_right(records, ts, key=_timestamp), [ts, value, unmatched])
        store.put(key, records)
        if unmatched:
            self.unmatched.add((ts, side, key))

    def settle(self, side: int, key: Any, ts: int) -> None:
        """The records of ``side`` with ``key`` at ``ts`` found a partner: no unmatched result for them."""
        if (ts, side, key) not in self.unmatched:
            return
        self.unmatched.discard((ts, side, key))
        store = self.stores[side]
        records = store.data[key]
        for record in records:
            if record[0] == ts:
                record[2] = False
        store.put(key, records)

    def emit_unmatched(self, after_ms: int, forward: Callable[[Any, Any, int], None], joiner: ValueJoiner) -> None:
        """Emit the unmatched records whose window closed, as ``KStreamKStreamJoin.emitNonJoinedOuterRecords``."""
        now = self.clock.time
        if self.min_time + after_ms + self.grace >= now:
            return
        self.min_time = _MAX
        open_sides = [False, False]
        for ts, side, key in sorted(self.unmatched, key=_emission_order):
            self.min_time = ts
            if open_sides[LEFT] and open_sides[RIGHT]:
                break
            if ts + self.lookback[side] + self.grace >= now:
                open_sides[side] = True
                continue
            store = self.stores[side]
            records = store.data[key]
            for record in records:
                if record[0] == ts and record[2]:
                    forward(key, joiner(record[1], None) if side == LEFT else joiner(None, record[1]), ts)
                    record[2] = False
            self.unmatched.discard((ts, side, key))
            oldest = self.visible_from(side)
            kept = [r for r in records if r[0] >= oldest or r[2]]
            if kept:
                store.put(key, kept)
            else:
                store.delete(key)


def _timestamp(record: list[Any]) -> int:
    return record[0]


def _emission_order(entry: tuple[int, int, Any]) -> tuple[int, int, bytes]:
    """Kafka Streams' outer-join store order: timestamp, then the right side first, then key bytes."""
    ts, side, key = entry
    return ts, 1 if side == LEFT else 0, key_bytes(key)


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
        self.outer = kind == "outer" or (kind == "left" and side == LEFT)
        if side == LEFT:
            self.before, self.after = windows.before_ms, windows.after_ms
            self.joiner = joiner
        else:
            self.before, self.after = windows.after_ms, windows.before_ms
            self.joiner = _flipped(joiner)

    def init(self, ctx: TaskContext) -> None:
        super().init(ctx)
        state = ctx.shared.get(self.join_name)
        if state is None:
            stores = (ctx.store(self.store_names[0]), ctx.store(self.store_names[1]))
            state = ctx.shared[self.join_name] = JoinState(stores, self.windows, self.kind)
        self.state: JoinState = state
        self.other_side = 1 - self.side

    def process(self, key: Any, value: Any, ts: int) -> None:
        state = self.state
        now = state.clock.observe(ts)
        if key is None and value is not None and self.outer:
            self.forward(None, self.joiner(value, None), ts)
            return
        if key is None or value is None:
            self.ctx.drop("null-key-or-value")
            return
        if state.outer_store and ts == now:
            state.emit_unmatched(self.after, self.forward, self.state_joiner)
        lo, hi = max(0, ts - self.before), max(0, ts + self.after)
        lo = max(lo, state.visible_from(self.other_side))
        matched = False
        others = state.stores[self.other_side].data.get(key)
        if others and lo <= hi:
            joiner, forward = self.joiner, self.forward
            for other_ts, other_value, _ in list(others):
                if lo <= other_ts <= hi:
                    matched = True
                    if state.outer_store:
                        state.settle(self.other_side, key, other_ts)
                    forward(key, joiner(value, other_value), ts if ts > other_ts else other_ts)
        unmatched = False
        if not matched and self.outer:
            if hi < now:
                self.forward(key, self.joiner(value, None), ts)
            else:
                unmatched = True
                state.min_time = min(state.min_time, ts)
        state.store(self.side, key, ts, value, unmatched)

    def state_joiner(self, left: Any, right: Any) -> Any:
        """The joiner in left–right order, for unmatched records of either side."""
        return self.joiner(left, right) if self.side == LEFT else self.joiner(right, left)


def _flipped(joiner: ValueJoiner) -> ValueJoiner:
    def flipped(right: Any, left: Any) -> Any:
        return joiner(left, right)

    return flipped
