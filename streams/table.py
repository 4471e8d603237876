"""KTable processors: a topic read as a changelog, table filter/map_values, and stream–table joins.

Table stores hold ``key -> (value, timestamp)``; a ``None`` value deletes the key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from streams.processor import Processor, TaskContext


class PreviousRow:
    """The row (``(value, timestamp)`` or ``None``) that the record being forwarded replaced.

    Kafka Streams' "old value": a table–table join needs it to tell the deletion of a row from a
    tombstone for a key that had none. Each task's table source publishes one per store.
    """

    __slots__ = ("row",)

    def __init__(self) -> None:
        self.row: tuple[Any, int] | None = None


def previous_row(ctx: TaskContext, store_name: str) -> PreviousRow | None:
    """The ``PreviousRow`` published for ``store_name`` by the processor writing it, if any.

    Processors are initialised parents first, so a table's children find it from their ``init``.
    """
    return ctx.shared.get(_previous_key(store_name))


def _previous_key(store_name: str) -> str:
    return f"{store_name}:previous"


class TableSource(Processor):
    """Upserts every record into the table's store (tombstones delete) and forwards the change."""

    def __init__(self, store_name: str) -> None:
        super().__init__()
        self.store_name = store_name

    def init(self, ctx: TaskContext) -> None:
        super().init(ctx)
        self.store = ctx.store(self.store_name)
        self.previous = ctx.shared[_previous_key(self.store_name)] = PreviousRow()

    def process(self, key: Any, value: Any, ts: int) -> None:
        if key is None:
            self.ctx.drop("null-key-or-value")
            return
        self.previous.row = self.store.data.get(key)
        if value is None:
            self.store.delete(key)
        else:
            self.store.put(key, (value, ts))
        self.forward(key, value, ts)


class TableFilter(Processor):
    """Rows failing the predicate become deletions downstream."""

    def __init__(self, predicate: Callable[[Any, Any], bool], negate: bool = False) -> None:
        super().__init__()
        self.predicate = predicate
        self.negate = negate

    def process(self, key: Any, value: Any, ts: int) -> None:
        keep = value is not None and bool(self.predicate(key, value)) is not self.negate
        self.forward(key, value if keep else None, ts)


class TableMapValues(Processor):
    def __init__(self, mapper: Callable[[Any], Any]) -> None:
        super().__init__()
        self.mapper = mapper

    def process(self, key: Any, value: Any, ts: int) -> None:
        self.forward(key, None if value is None else self.mapper(value), ts)


class StreamTableJoin(Processor):
    """Stream side of a stream–table join: looks the key up; table updates never trigger output."""

    def __init__(self, store_name: str, joiner: Callable[[Any, Any], Any], left: bool) -> None:
        super().__init__()
        self.store_name = store_name
        self.joiner = joiner
        self.left = left

    def init(self, ctx: TaskContext) -> None:
        super().init(ctx)
        self.table = ctx.store(self.store_name).data

    def process(self, key: Any, value: Any, ts: int) -> None:
        if value is None or (key is None and not self.left):
            self.ctx.drop("null-key-or-value")
            return
        row = None if key is None else self.table.get(key)
        if row is not None:
            self.forward(key, self.joiner(value, row[0]), ts)
        elif self.left:
            self.forward(key, self.joiner(value, None), ts)
