"""Window definitions: tumbling/hopping ``TimeWindows``, ``SlidingWindows``, ``SessionWindows`` and ``JoinWindows``.

All times are epoch milliseconds. Grace is never implied: every window must be finished with
``with_grace(ms)`` or ``no_grace()`` (or built with a ``*_and_grace`` / ``*_with_no_grace`` constructor).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, NamedTuple


class Windowed(NamedTuple):
    """A key scoped to a window ``[start, end)`` (time windows) or ``[start, end]`` (sessions)."""

    key: Any
    start: int
    end: int


def _check(name: str, value: int, minimum: int) -> int:
    if not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum} ms, got {value!r}")
    return value


@dataclass(frozen=True)
class TimeWindows:
    """Epoch-aligned ``[start, end)`` windows of ``size_ms``, advancing by ``advance_ms`` (hopping)."""

    size_ms: int
    advance_ms: int
    grace_ms: int | None = None

    @classmethod
    def of(cls, size_ms: int) -> TimeWindows:
        """Tumbling windows of ``size_ms``; finish with ``with_grace`` or ``no_grace``."""
        _check("size", size_ms, 1)
        return cls(size_ms, size_ms)

    @classmethod
    def of_size_and_grace(cls, size_ms: int, grace_ms: int) -> TimeWindows:
        return cls.of(size_ms).with_grace(grace_ms)

    @classmethod
    def of_size_with_no_grace(cls, size_ms: int) -> TimeWindows:
        return cls.of(size_ms).no_grace()

    def advance_by(self, advance_ms: int) -> TimeWindows:
        """Hopping windows: a new window starts every ``advance_ms`` (``0 < advance <= size``)."""
        _check("advance", advance_ms, 1)
        if advance_ms > self.size_ms:
            raise ValueError(f"advance ({advance_ms}) must not exceed size ({self.size_ms})")
        return replace(self, advance_ms=advance_ms)

    def with_grace(self, grace_ms: int) -> TimeWindows:
        return replace(self, grace_ms=_check("grace", grace_ms, 0))

    def no_grace(self) -> TimeWindows:
        return replace(self, grace_ms=0)

    def require_grace(self) -> int:
        if self.grace_ms is None:
            raise ValueError("TimeWindows need an explicit grace: call .with_grace(ms) or .no_grace()")
        return self.grace_ms

    def window_starts(self, ts: int) -> range:
        """Starts of every window containing ``ts`` (Kafka Streams ``TimeWindows.windowsFor``)."""
        advance = self.advance_ms
        first = (max(0, ts - self.size_ms + advance) // advance) * advance
        return range(first, ts + 1, advance)


@dataclass(frozen=True)
class SessionWindows:
    """Sessions per key: records closer than ``gap_ms`` merge; bounds ``[first ts, last ts]`` inclusive."""

    gap_ms: int
    grace_ms: int | None = None

    @classmethod
    def with_inactivity_gap(cls, gap_ms: int) -> SessionWindows:
        """Sessions with ``gap_ms`` of inactivity; finish with ``with_grace`` or ``no_grace``."""
        return cls(_check("inactivity gap", gap_ms, 1))

    @classmethod
    def of_inactivity_gap_and_grace(cls, gap_ms: int, grace_ms: int) -> SessionWindows:
        return cls.with_inactivity_gap(gap_ms).with_grace(grace_ms)

    @classmethod
    def of_inactivity_gap_with_no_grace(cls, gap_ms: int) -> SessionWindows:
        return cls.with_inactivity_gap(gap_ms).no_grace()

    def with_grace(self, grace_ms: int) -> SessionWindows:
        return replace(self, grace_ms=_check("grace", grace_ms, 0))

    def no_grace(self) -> SessionWindows:
        return replace(self, grace_ms=0)

    def require_grace(self) -> int:
        if self.grace_ms is None:
            raise ValueError("SessionWindows need an explicit grace: call .with_grace(ms) or .no_grace()")
        return self.grace_ms


@dataclass(frozen=True)
class SlidingWindows:
    """Windows ``[start, start + time_difference]`` (both inclusive) aligned to record timestamps.

    Each distinct set of a key's records no further apart than ``time_difference_ms`` is one window,
    as Kafka Streams' ``SlidingWindows``.
    """

    time_difference_ms: int
    grace_ms: int | None = None

    @classmethod
    def of_time_difference_and_grace(cls, time_difference_ms: int, grace_ms: int) -> SlidingWindows:
        return cls(_check("time difference", time_difference_ms, 1), _check("grace", grace_ms, 0))

    @classmethod
    def of_time_difference_with_no_grace(cls, time_difference_ms: int) -> SlidingWindows:
        return cls.of_time_difference_and_grace(time_difference_ms, 0)

    of_time_difference_without_grace = of_time_difference_with_no_grace

    def require_grace(self) -> int:
        if self.grace_ms is None:
            raise ValueError("SlidingWindows need an explicit grace")
        return self.grace_ms


@dataclass(frozen=True)
class JoinWindows:
    """Stream–stream join window: ``other.ts`` in ``[ts - before_ms, ts + after_ms]``, both inclusive."""

    before_ms: int
    after_ms: int
    grace_ms: int | None = None

    @classmethod
    def of_time_difference(cls, difference_ms: int) -> JoinWindows:
        """``before = after = difference_ms``; finish with ``with_grace`` or ``no_grace``."""
        _check("time difference", difference_ms, 0)
        return cls(difference_ms, difference_ms)

    @classmethod
    def of_time_difference_and_grace(cls, difference_ms: int, grace_ms: int) -> JoinWindows:
        return cls.of_time_difference(difference_ms).with_grace(grace_ms)

    @classmethod
    def of_time_difference_with_no_grace(cls, difference_ms: int) -> JoinWindows:
        return cls.of_time_difference(difference_ms).no_grace()

    def before(self, before_ms: int) -> JoinWindows:
        return replace(self, before_ms=_check("before", before_ms, 0))

    def after(self, after_ms: int) -> JoinWindows:
        return replace(self, after_ms=_check("after", after_ms, 0))

    def with_grace(self, grace_ms: int) -> JoinWindows:
        return replace(self, grace_ms=_check("grace", grace_ms, 0))

    def no_grace(self) -> JoinWindows:
        return replace(self, grace_ms=0)

    def require_grace(self) -> int:
        if self.grace_ms is None:
            raise ValueError("JoinWindows need an explicit grace: call .with_grace(ms) or .no_grace()")
        return self.grace_ms

    def flipped(self) -> JoinWindows:
        """The same window seen from the other side: ``before`` and ``after`` swap."""
        return replace(self, before_ms=self.after_ms, after_ms=self.before_ms)
