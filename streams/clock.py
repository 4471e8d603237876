"""Stream time of one processor in one task, persisted in its store, with optional idle advance."""

from __future__ import annotations

from streams.store import KeyValueStore

STREAM_TIME = ("__stream_time__",)


class StreamClock:
    """Largest event time seen (``-1`` before any record); restored with the store.

    With ``idle_close_ms``, once no record has arrived for that long on the wall clock, stream time
    advances with the wall clock from where it stood when the partition went quiet.
    """

    __slots__ = ("_quiet_base", "_quiet_since", "_seen_at_tick", "idle_ms", "seen", "store", "time")

    def __init__(self, store: KeyValueStore, idle_close_ms: int | None) -> None:
        self.store = store
        self.time: int = store.get(STREAM_TIME, -1)
        self.idle_ms = idle_close_ms
        self.seen = 0
        self._seen_at_tick = -1
        self._quiet_since: int | None = None
        self._quiet_base = self.time

    def observe(self, ts: int) -> int:
        """Advance with a record's timestamp; returns the (new) stream time."""
        self.seen += 1
        if ts > self.time:
            self.time = ts
            self.store.put(STREAM_TIME, ts)
        return self.time

    def tick(self, wall_ms: int) -> bool:
        """Wall-clock tick; True when idleness advanced stream time."""
        if self.idle_ms is None:
            return False
        if self.seen != self._seen_at_tick or self._quiet_since is None:
            self._seen_at_tick = self.seen
            self._quiet_since = wall_ms
            self._quiet_base = self.time
            return False
        quiet = wall_ms - self._quiet_since
        if quiet < self.idle_ms or self.time < 0:
            return False
        advanced = self._quiet_base + quiet
        if advanced <= self.time:
            return False
        self.time = advanced
        self.store.put(STREAM_TIME, advanced)
        return True
