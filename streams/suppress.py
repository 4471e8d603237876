"""``KTable.suppress(Suppressed.until_window_closes())``: final results of a windowed aggregation.

As Kafka Streams' ``KTableSuppressProcessor``, a node after the aggregation (which goes on
emitting every update to its other consumers): each update is buffered under its windowed key,
replacing the previous one in place; stream time is the largest timestamp the node has seen, and
once ``window end <= streamTime − grace`` (``gap + grace`` for sessions) the buffered record is
emitted, in (window end, key bytes) order, with its own timestamp. Tombstones (sessions merged
away) are dropped. The buffer is a store of its own, so it is changelogged and restored.

``idle_close_ms`` (ours) lets a partition that received nothing for that long on the wall clock
advance its stream time with the wall clock, so its last windows are emitted too; an update that
arrives later for a window closed that way is dropped and counted in ``late-records``.
"""

from __future__ import annotations

import heapq
from itertools import count
from typing import Any

from streams.clock import StreamClock
from streams.ordering import key_bytes
from streams.processor import Processor, TaskContext
from streams.windows import Windowed

KEY_TIME = ("__key_time__",)


class Suppress(Processor):
    """Store keys are ``Windowed`` keys, values ``(value, timestamp)``; ``per_key`` keeps a stream
    time per key (for ``windowed_by(..., stream_time="key")``)."""

    def __init__(self, store_name: str, duration_ms: int, idle_close_ms: int | None, per_key: bool) -> None:
        super().__init__()
        self.store_name = store_name
        self.duration = duration_ms
        self.idle_close_ms = idle_close_ms
        self.punctuates = idle_close_ms is not None
        self.per_key = per_key

    def init(self, ctx: TaskContext) -> None:
        super().init(ctx)
        self.store = ctx.store(self.store_name)
        self.clock = StreamClock(self.store, self.idle_close_ms)
        self.idle_time = -1
        self.buffers: dict[Any, list[tuple[int, bytes, int, Windowed]]] = {}
        self.seq = count()
        for wkey in self.store.data:
            if isinstance(wkey, Windowed):
                self._push(wkey)

    def _buffer(self, wkey: Windowed) -> list[tuple[int, bytes, int, Windowed]]:
        group = wkey.key if self.per_key else None
        buffer = self.buffers.get(group)
        if buffer is None:
            buffer = self.buffers[group] = []
        return buffer

    def _push(self, wkey: Windowed) -> None:
        heapq.heappush(self._buffer(wkey), (wkey.end, key_bytes(wkey), next(self.seq), wkey))

    def process(self, key: Windowed, value: tuple[Any, Any], ts: int) -> None:
        if key.end <= self.idle_time - self.duration:
            self.ctx.drop("late-records")
            return
        now = self.clock.observe(ts)
        if self.per_key:
            time_key = (KEY_TIME, key.key)
            seen = self.store.data.get(time_key, -1)
            if ts > seen:
                self.store.put(time_key, ts)
            now = max(ts, seen)
        if key not in self.store.data:
            self._push(key)
        self.store.put(key, (value[0], ts))
        self._evict(self._buffer(key), now - self.duration)

    def _evict(self, buffer: list[tuple[int, bytes, int, Windowed]], expiry: int) -> None:
        data = self.store.data
        while buffer and buffer[0][0] <= expiry:
            wkey = heapq.heappop(buffer)[3]
            value, ts = data[wkey]
            self.store.delete(wkey)
            if value is not None:
                self.forward(wkey, (value, None), ts)

    def punctuate(self, wall_ms: int) -> None:
        if self.clock.tick(wall_ms):
            self.idle_time = self.clock.time
            for buffer in list(self.buffers.values()):
                self._evict(buffer, self.clock.time - self.duration)
