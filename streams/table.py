"""KTable processors: a topic read as a changelog, table filter/map_values, and stream–table joins.

Updates flow between KTable nodes as ``(key, (new, old), timestamp)``, Kafka Streams' ``Change``:
``new`` is the key's new value (``None`` deletes it), ``old`` the value it replaced — sent only when a
downstream node needs it (``TableOptions.send_old_values``, decided while the topology is built, as
Kafka Streams' ``enableSendingOldValues``), else ``None``. ``to_stream`` keeps ``new``.
Table stores hold ``key -> (value, timestamp)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from streams.processor import Processor, TaskContext

Row = tuple[Any, int]
"""A table row: ``(value, timestamp)``."""
Getter = Callable[[Any], "Row | None"]
"""A table's current row for a key (Kafka Streams' ``KTableValueGetter``)."""


def store_getter(store_name: str) -> Callable[[TaskContext], Getter]:
    """The lookup of a key–value store of ``key -> (value, timestamp)`` rows."""

    def factory(ctx: TaskContext) -> Getter:
        return ctx.store(store_name).data.get

    return factory


@dataclass
class TableOptions:
    """Settings of one KTable node fixed while the topology is built."""

    send_old_values: bool = False


class TableSource(Processor):
    """Upserts every record into the table's store (tombstones delete) and forwards the change."""

    def __init__(self, store_name: str, options: TableOptions) -> None:
        super().__init__()
        self.store_name = store_name
        self.options = options

    def init(self, ctx: TaskContext) -> None:
        super().init(ctx)
        self.store = ctx.store(self.store_name)
        self.send_old = self.options.send_old_values

    def process(self, key: Any, value: Any, ts: int) -> None:
        if key is None:
            self.ctx.drop("null-key-or-value")
            return
        old = self.store.data.get(key) if self.send_old else None
        if value is None:
            self.store.delete(key)
        else:
            self.store.put(key, (value, ts))
        self.forward(key, (value, None if old is None else old[0]), ts)


class TableFilter(Processor):
    """Rows failing the predicate become deletions; with old values known, a change that was and
    stays filtered out is not forwarded (Kafka Streams' ``KTableFilter``)."""

    def __init__(self, predicate: Callable[[Any, Any], bool], options: TableOptions, negate: bool = False) -> None:
        super().__init__()
        self.predicate = predicate
        self.negate = negate
        self.options = options

    def init(self, ctx: TaskContext) -> None:
        super().init(ctx)
        self.send_old = self.options.send_old_values

    def keep(self, key: Any, value: Any) -> Any:
        return value if value is not None and bool(self.predicate(key, value)) is not self.negate else None

    def process(self, key: Any, value: tuple[Any, Any], ts: int) -> None:
        new = self.keep(key, value[0])
        old = self.keep(key, value[1]) if self.send_old else None
        if self.send_old and new is None and old is None:
            return
        self.forward(key, (new, old), ts)


class TableMapValues(Processor):
    def __init__(self, mapper: Callable[[Any], Any], options: TableOptions) -> None:
        super().__init__()
        self.mapper = mapper
        self.options = options

    def init(self, ctx: TaskContext) -> None:
        super().init(ctx)
        self.send_old = self.options.send_old_values

    def process(self, key: Any, value: tuple[Any, Any], ts: int) -> None:
        new, old = value
        mapper = self.mapper
        self.forward(key, (None if new is None else mapper(new), mapper(old) if self.send_old and old is not None else None), ts)


class ToStream(Processor):
    """``KTable.to_stream``: each change as a record of its new value."""

    def process(self, key: Any, value: tuple[Any, Any], ts: int) -> None:
        self.forward(key, value[0], ts)


class StreamTableJoin(Processor):
    """Stream side of a stream–table join: looks the key up; table updates never trigger output."""

    def __init__(self, getter: Callable[[TaskContext], Getter], joiner: Callable[[Any, Any], Any], left: bool) -> None:
        super().__init__()
        self.make_getter = getter
        self.joiner = joiner
        self.left = left

    def init(self, ctx: TaskContext) -> None:
        super().init(ctx)
        self.table = self.make_getter(ctx)

    def process(self, key: Any, value: Any, ts: int) -> None:
        if value is None or (key is None and not self.left):
            self.ctx.drop("null-key-or-value")
            return
        row = None if key is None else self.table(key)
        if row is not None:
            self.forward(key, self.joiner(value, row[0]), ts)
        elif self.left:
            self.forward(key, self.joiner(value, None), ts)
