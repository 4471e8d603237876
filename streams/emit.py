"""``Suppressed``: the argument of ``KTable.suppress`` (``streams.suppress`` does the work).

``Suppressed.until_window_closes()`` (Kafka Streams' name) and ``KTable.final()`` ask for one final
result per window; ``idle_close_ms`` opts into closing windows on wall-clock silence, so the last
window of a quiet partition is not held back forever.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Suppressed:
    """Argument of ``KTable.suppress``: hold results back until their window closes."""

    idle_close_ms: int | None = None

    @classmethod
    def until_window_closes(cls, idle_close_ms: int | None = None) -> Suppressed:
        """One final record per window once ``stream time >= end + grace``.

        With ``idle_close_ms``, a partition that received nothing for that long (wall clock) lets
        its event time advance with the wall clock, so its open windows close too.
        """
        if idle_close_ms is not None and idle_close_ms <= 0:
            raise ValueError("idle_close_ms must be positive")
        return cls(idle_close_ms)
