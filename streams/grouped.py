"""Grouped streams: ``count``/``reduce``/``aggregate`` per key, per time window or per session."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from streams.aggregate import Aggregate, Aggregator, Count, Initializer, Reduce, Reducer
from streams.codec import KEY_VALUE, SESSION, WINDOW
from streams.ktable import GetterFactory, KTable
from streams.options import Grouped, Materialized
from streams.serdes import Serde, Serdes
from streams.session_aggregate import Merger, SessionAggregate, session_getter
from streams.sliding_aggregate import SlidingAggregate
from streams.table import TableOptions, store_getter
from streams.window_aggregate import WindowAggregate, window_getter
from streams.windows import SessionWindows, SlidingWindows, TimeWindows

if TYPE_CHECKING:
    from streams.cogrouped import CogroupedKStream
    from streams.kstream import KStream


def _count(key: Any, value: Any, agg: int) -> int:
    return agg + 1


def _sum(key: Any, a: int, b: int) -> int:
    return a + b


class KGroupedStream:
    """A stream grouped by key, partitioned so that each key lives in one task.

    Aggregation stores are written with ``Materialized`` serdes if given, else the ``Grouped`` ones
    or the stream's known ones (keys; values of ``reduce``), else the application's defaults;
    ``count`` stores longs.
    """

    def __init__(self, stream: KStream, grouped: Grouped | None = None) -> None:
        self.stream = stream
        self.builder = stream.builder
        grouped = grouped or Grouped()
        self.key_serde = grouped.key_serde or stream.key_serde
        self.value_serde = grouped.value_serde or stream.value_serde

    def _table(
        self, kind: str, name: str | None, factory: Callable[[str, TableOptions], Any], layout: str = KEY_VALUE,
        materialized: Materialized | None = None, value_serde: Serde | None = None,
        getter: Callable[[str], GetterFactory] = store_getter,
    ) -> KTable:
        store = self.builder.store_name(name, kind, layout, materialized, self.key_serde, value_serde)
        options = TableOptions()
        node = self.builder.add_node(kind, lambda r: factory(store, options), [self.stream.node], (store,))
        return KTable(self.builder, node, self.stream.sources, store, getter=lambda: getter(store), options=options)

    def count(self, name: str | None = None, materialized: Materialized | None = None) -> KTable:
        """Records per key (null values are skipped)."""
        return self._table("count", name, Count, KEY_VALUE, materialized, Serdes.long())

    def reduce(self, reducer: Reducer, name: str | None = None, materialized: Materialized | None = None) -> KTable:
        """``reducer(aggregate, value)``; a key's first value is its initial aggregate."""
        return self._table("reduce", name, lambda store, options: Reduce(store, reducer, options), KEY_VALUE,
                           materialized, self.value_serde)

    def aggregate(
        self, initializer: Initializer, aggregator: Aggregator, name: str | None = None,
        materialized: Materialized | None = None,
    ) -> KTable:
        """``aggregator(key, value, aggregate)`` starting from ``initializer()``."""
        return self._table("aggregate", name, lambda store, options: Aggregate(store, initializer, aggregator, options),
                           KEY_VALUE, materialized)

    def cogroup(self, aggregator: Aggregator) -> CogroupedKStream:
        """Start a cogroup: this stream's records update a shared aggregate with ``aggregator``;
        add more grouped streams with ``.cogroup(grouped, aggregator)``, finish with ``.aggregate(initializer)``."""
        from streams.cogrouped import CogroupedKStream

        return CogroupedKStream(self, aggregator)

    def windowed_by(
        self, windows: TimeWindows | SlidingWindows | SessionWindows, *, stream_time: str = "partition"
    ) -> TimeWindowedKStream | SlidingWindowedKStream | SessionWindowedKStream:
        """Aggregate per window; the windows must carry an explicit grace.

        ``stream_time="key"`` (time windows only) closes a key's windows on that key's own latest
        timestamp instead of the partition's, so a busy key cannot make a slow key's records late.
        """
        windows.require_grace()
        if stream_time not in ("partition", "key"):
            raise ValueError("stream_time must be 'partition' or 'key'")
        if isinstance(windows, SessionWindows | SlidingWindows):
            if stream_time != "partition":
                raise ValueError("session and sliding windows track stream time per partition only")
            if isinstance(windows, SlidingWindows):
                return SlidingWindowedKStream(self, windows)
            return SessionWindowedKStream(self, windows)
        return TimeWindowedKStream(self, windows, stream_time == "key")


class TimeWindowedKStream:
    """Aggregations per ``Windowed(key, start, end)``; results update per record unless suppressed."""

    def __init__(self, grouped: KGroupedStream, windows: TimeWindows, per_key: bool = False) -> None:
        self.grouped = grouped
        self.windows = windows
        self.per_key = per_key

    def _table(
        self, kind: str, name: str | None, initializer: Initializer, aggregator: Aggregator,
        materialized: Materialized | None, value_serde: Serde | None = None,
    ) -> KTable:
        windows, per_key = self.windows, self.per_key
        table = self.grouped._table(
            kind, name, lambda store, options: WindowAggregate(store, windows, initializer, aggregator, options, per_key),
            WINDOW, materialized, value_serde, window_getter,
        )
        table.window_close_ms = windows.require_grace()
        table.per_key_time = per_key
        return table

    def count(self, name: str | None = None, materialized: Materialized | None = None) -> KTable:
        return self._table("window-count", name, int, _count, materialized, Serdes.long())

    def reduce(self, reducer: Reducer, name: str | None = None, materialized: Materialized | None = None) -> KTable:
        return self._table("window-reduce", name, _unset, _reducing(reducer), materialized,
                           self.grouped.value_serde)

    def aggregate(
        self, initializer: Initializer, aggregator: Aggregator, name: str | None = None,
        materialized: Materialized | None = None,
    ) -> KTable:
        return self._table("window-aggregate", name, initializer, aggregator, materialized)


class SlidingWindowedKStream:
    """Aggregations per sliding window ``Windowed(key, start, start + time difference)``."""

    def __init__(self, grouped: KGroupedStream, windows: SlidingWindows) -> None:
        self.grouped = grouped
        self.windows = windows

    def _table(
        self, kind: str, name: str | None, initializer: Initializer, aggregator: Aggregator,
        materialized: Materialized | None, value_serde: Serde | None = None,
    ) -> KTable:
        windows = self.windows
        table = self.grouped._table(
            kind, name, lambda store, options: SlidingAggregate(store, windows, initializer, aggregator, options),
            WINDOW, materialized, value_serde, window_getter,
        )
        table.window_close_ms = windows.require_grace()
        return table

    def count(self, name: str | None = None, materialized: Materialized | None = None) -> KTable:
        return self._table("sliding-count", name, int, _count, materialized, Serdes.long())

    def reduce(self, reducer: Reducer, name: str | None = None, materialized: Materialized | None = None) -> KTable:
        return self._table("sliding-reduce", name, _none, _reducing_none(reducer), materialized,
                           self.grouped.value_serde)

    def aggregate(
        self, initializer: Initializer, aggregator: Aggregator, name: str | None = None,
        materialized: Materialized | None = None,
    ) -> KTable:
        return self._table("sliding-aggregate", name, initializer, aggregator, materialized)


class SessionWindowedKStream:
    """Aggregations per session; ``aggregate`` needs a ``merger(key, agg1, agg2)`` for merging sessions."""

    def __init__(self, grouped: KGroupedStream, windows: SessionWindows) -> None:
        self.grouped = grouped
        self.windows = windows

    def _table(
        self, kind: str, name: str | None, initializer: Initializer, aggregator: Aggregator, merger: Merger,
        materialized: Materialized | None, value_serde: Serde | None = None,
    ) -> KTable:
        windows = self.windows
        table = self.grouped._table(
            kind, name, lambda store, options: SessionAggregate(store, windows, initializer, aggregator, merger, options),
            SESSION, materialized, value_serde, session_getter,
        )
        table.window_close_ms = windows.gap_ms + windows.require_grace()
        return table

    def count(self, name: str | None = None, materialized: Materialized | None = None) -> KTable:
        return self._table("session-count", name, int, _count, _sum, materialized, Serdes.long())

    def reduce(self, reducer: Reducer, name: str | None = None, materialized: Materialized | None = None) -> KTable:
        aggregator = _reducing(reducer)

        def merge(key: Any, a: Any, b: Any) -> Any:
            return aggregator(key, b, a)

        return self._table("session-reduce", name, _unset, aggregator, merge, materialized, self.grouped.value_serde)

    def aggregate(
        self, initializer: Initializer, aggregator: Aggregator, merger: Merger, name: str | None = None,
        materialized: Materialized | None = None,
    ) -> KTable:
        return self._table("session-aggregate", name, initializer, aggregator, merger, materialized)


_UNSET = object()


def _unset() -> Any:
    """Initial aggregate of ``reduce``: replaced by the first value, never stored."""
    return _UNSET


def _reducing(reducer: Reducer) -> Aggregator:
    def aggregator(key: Any, value: Any, agg: Any) -> Any:
        return value if agg is _UNSET else reducer(agg, value)

    return aggregator


def _none() -> Any:
    return None


def _reducing_none(reducer: Reducer) -> Aggregator:
    """Kafka Streams' reduce over sliding windows: a ``None`` aggregate takes the value."""

    def aggregator(key: Any, value: Any, agg: Any) -> Any:
        return value if agg is None else reducer(agg, value)

    return aggregator
