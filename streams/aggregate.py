"""Key–value aggregations (``count``, ``reduce``, ``aggregate``) backing a ``KTable``.

Store values are ``(aggregate, timestamp)``; the timestamp is the largest of the contributing
records, as in Kafka Streams. Every input record emits the change ``(new, old)`` of its key's
aggregate downstream (``old`` only when asked for, ``streams.table``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from streams.processor import Processor, TaskContext
from streams.table import TableOptions

Initializer = Callable[[], Any]
Aggregator = Callable[[Any, Any, Any], Any]
Reducer = Callable[[Any, Any], Any]


class Aggregate(Processor):
    """``aggregator(key, value, aggregate) -> aggregate`` starting from ``initializer()``."""

    def __init__(self, store_name: str, initializer: Initializer, aggregator: Aggregator, options: TableOptions) -> None:
        super().__init__()
        self.store_name = store_name
        self.initializer = initializer
        self.aggregator = aggregator
        self.options = options

    def init(self, ctx: TaskContext) -> None:
        super().init(ctx)
        self.store = ctx.store(self.store_name)
        self.send_old = self.options.send_old_values

    def process(self, key: Any, value: Any, ts: int) -> None:
        if key is None or value is None:
            self.ctx.drop("null-key-or-value")
            return
        old = self.store.data.get(key)
        if old is None:
            agg = self.aggregator(key, value, self.initializer())
        else:
            agg = self.aggregator(key, value, old[0])
            if old[1] > ts:
                ts = old[1]
        self.store.put(key, (agg, ts))
        self.forward(key, (agg, old[0] if self.send_old and old is not None else None), ts)


class Count(Aggregate):
    """``count()``: the number of non-null records per key."""

    def __init__(self, store_name: str, options: TableOptions) -> None:
        super().__init__(store_name, int, _increment, options)

    def process(self, key: Any, value: Any, ts: int) -> None:
        if key is None or value is None:
            self.ctx.drop("null-key-or-value")
            return
        old = self.store.data.get(key)
        if old is None:
            count = 1
        else:
            count = old[0] + 1
            if old[1] > ts:
                ts = old[1]
        self.store.put(key, (count, ts))
        self.forward(key, (count, old[0] if self.send_old and old is not None else None), ts)


class Reduce(Aggregate):
    """``reducer(aggregate, value)``; the first value of a key is its initial aggregate."""

    def __init__(self, store_name: str, reducer: Reducer, options: TableOptions) -> None:
        super().__init__(store_name, _no_initializer, _no_aggregator, options)
        self.reducer = reducer

    def process(self, key: Any, value: Any, ts: int) -> None:
        if key is None or value is None:
            self.ctx.drop("null-key-or-value")
            return
        old = self.store.data.get(key)
        if old is None:
            agg = value
        else:
            agg = self.reducer(old[0], value)
            if old[1] > ts:
                ts = old[1]
        self.store.put(key, (agg, ts))
        self.forward(key, (agg, old[0] if self.send_old and old is not None else None), ts)


def _increment(key: Any, value: Any, agg: int) -> int:
    return agg + 1


def _no_initializer() -> Any:
    raise AssertionError("reduce has no initializer")


def _no_aggregator(key: Any, value: Any, agg: Any) -> Any:
    raise AssertionError("reduce has no aggregator")
