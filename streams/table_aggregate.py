"""``KTable.group_by(...)``: re-keying table changes and aggregating them with an adder and a subtractor.

As Kafka Streams' ``KTableRepartitionMap`` and ``KTableAggregate``/``KTableReduce``: a change of the
table ``(new, old)`` is mapped by ``selector(key, value)`` to ``(group key, group value)`` for each of
``new`` and ``old``; when both land on the same group one change goes on, else the old one is
retracted from its group (``(None, old)``) before the new one is added to its group
(``(new, None)``). The aggregation then calls the subtractor for a retracted value and the adder
for an added one, in that order; the aggregate's timestamp is the largest of its inputs'.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from streams.aggregate import Initializer
from streams.processor import Processor, TaskContext
from streams.table import TableOptions

Selector = Callable[[Any, Any], tuple[Any, Any]]
TableAggregator = Callable[[Any, Any, Any], Any]
"""``(group key, value, aggregate) -> aggregate``: an adder or a subtractor of ``aggregate``."""
TableReducer = Callable[[Any, Any], Any]
"""``(aggregate, value) -> aggregate``: an adder or a subtractor of ``reduce``."""


class GroupByMap(Processor):
    """Re-keys each table change by ``selector``; pairs with a null key or value are skipped."""

    def __init__(self, selector: Selector) -> None:
        super().__init__()
        self.selector = selector

    def process(self, key: Any, value: tuple[Any, Any], ts: int) -> None:
        if key is None:
            raise ValueError("a grouped KTable's record key cannot be null")
        new, old = value
        new_pair = None if new is None else self.selector(key, new)
        old_pair = None if old is None else self.selector(key, old)
        new_ok = new_pair is not None and new_pair[0] is not None and new_pair[1] is not None
        old_ok = old_pair is not None and old_pair[0] is not None and old_pair[1] is not None
        if new_ok and old_ok and old_pair[0] == new_pair[0]:  # type: ignore[index]
            self.forward(old_pair[0], (new_pair[1], old_pair[1]), ts)  # type: ignore[index]
            return
        if old_ok:
            self.forward(old_pair[0], (None, old_pair[1]), ts)  # type: ignore[index]
        if new_ok:
            self.forward(new_pair[0], (new_pair[1], None), ts)  # type: ignore[index]


class TableAggregate(Processor):
    """``KTableAggregate``: subtract the old value, then add the new one; store ``(aggregate, timestamp)``."""

    def __init__(
        self,
        store_name: str,
        initializer: Initializer,
        adder: TableAggregator,
        subtractor: TableAggregator,
        options: TableOptions,
    ) -> None:
        super().__init__()
        self.store_name = store_name
        self.initializer = initializer
        self.adder = adder
        self.subtractor = subtractor
        self.options = options

    def init(self, ctx: TaskContext) -> None:
        super().init(ctx)
        self.store = ctx.store(self.store_name)
        self.send_old = self.options.send_old_values

    def process(self, key: Any, value: tuple[Any, Any], ts: int) -> None:
        if key is None:
            raise ValueError(f"the key of a table aggregation ({self.store_name}) cannot be null")
        new, old = value
        row = self.store.data.get(key)
        agg = None if row is None else row[0]
        stamp = ts
        if old is not None and agg is not None:
            result = self.subtractor(key, old, agg)
            stamp = max(ts, row[1])  # type: ignore[index]
        else:
            result = agg
        if new is not None:
            result = self.adder(key, new, self.initializer() if result is None else result)
            if row is not None:
                stamp = max(ts, row[1])
        if result is None:
            self.store.delete(key)
        else:
            self.store.put(key, (result, stamp))
        self.forward(key, (result, agg if self.send_old else None), stamp)


class TableReduce(Processor):
    """``KTableReduce``: a group's first value is its aggregate; later ones are added and retracted."""

    def __init__(self, store_name: str, adder: TableReducer, subtractor: TableReducer, options: TableOptions) -> None:
        super().__init__()
        self.store_name = store_name
        self.adder = adder
        self.subtractor = subtractor
        self.options = options

    def init(self, ctx: TaskContext) -> None:
        super().init(ctx)
        self.store = ctx.store(self.store_name)
        self.send_old = self.options.send_old_values

    def process(self, key: Any, value: tuple[Any, Any], ts: int) -> None:
        if key is None:
            raise ValueError(f"the key of a table reduce ({self.store_name}) cannot be null")
        new, old = value
        row = self.store.data.get(key)
        agg = None if row is None else row[0]
        if old is not None and agg is not None:
            result = self.subtractor(agg, old)
            stamp = max(ts, row[1])  # type: ignore[index]
        else:
            result, stamp = agg, ts
        if new is not None:
            if result is None:
                result = new
            else:
                result = self.adder(result, new)
                stamp = max(ts, row[1]) if row is not None else ts
        if result is None:
            self.store.delete(key)
        else:
            self.store.put(key, (result, stamp))
        self.forward(key, (result, agg if self.send_old else None), stamp)
