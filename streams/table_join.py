"""KTable–KTable joins on the primary key (inner, left, outer), as Kafka Streams' ``KTableKTable*Join``.

An update of either side (a deletion included) looks up the other side's current row for the same
key and emits the join result for that key, with timestamp ``max(update ts, other row's ts)``, or
the update's own timestamp when the other side has no row. ``joiner(left, right)`` always gets
the left table's value first. A side is *preserved* if the join keeps its rows without a partner:
the left side of left and outer joins, the right side of outer joins. Per update:

* the other side has no row: a preserved side emits ``joiner(new, None)``, or a tombstone if the
  update deleted a row it had, or nothing if it had no row; a side that is not preserved emits
  nothing (no result existed before, none exists now).
* the other side has a row: ``joiner(new, other)``; a deletion emits ``joiner(None, other)`` if the
  other side is preserved and a tombstone otherwise (even when this side had no row, as Kafka
  Streams does).

Whether the update deleted a row is the table source's ``PreviousRow`` (Kafka Streams' "old
value"); an input without a store of its own is materialized by its join processor instead.
"""

from __future__ import annotations

from typing import Any

from streams.processor import Processor, TaskContext
from streams.stream_join import LEFT, ValueJoiner
from streams.table import PreviousRow, previous_row

PRESERVED = {"inner": (False, False), "left": (True, False), "outer": (True, True)}


class TableTableJoin(Processor):
    """One input of a table–table join; ``stores`` are the left and right tables' stores.

    ``owned`` means this processor materializes its input itself (the input table has no store
    of its own); otherwise the table's own store already holds the update.
    """

    def __init__(self, side: int, stores: tuple[str, str], owned: bool, kind: str, joiner: ValueJoiner) -> None:
        super().__init__()
        self.side = side
        self.store_names = stores
        self.owned = owned
        self.preserved = PRESERVED[kind][side]
        self.other_preserved = PRESERVED[kind][1 - side]
        self.joiner = joiner if side == LEFT else _flipped(joiner)

    def init(self, ctx: TaskContext) -> None:
        super().init(ctx)
        self.own = ctx.store(self.store_names[self.side])
        self.other = ctx.store(self.store_names[1 - self.side]).data
        self.previous: PreviousRow | None = None if self.owned else previous_row(ctx, self.own.name)

    def process(self, key: Any, value: Any, ts: int) -> None:
        if key is None:
            self.ctx.drop("null-key-or-value")
            return
        if self.owned:
            existed = key in self.own.data
            if value is None:
                self.own.delete(key)
            else:
                self.own.put(key, (value, ts))
        else:
            # A table that publishes no previous row never forwards deletions (aggregations).
            existed = self.previous is None or self.previous.row is not None
        other = self.other.get(key)
        if other is None:
            if self.preserved and (value is not None or existed):
                self.forward(key, None if value is None else self.joiner(value, None), ts)
            return
        if other[1] > ts:
            ts = other[1]
        if value is None and not self.other_preserved:
            self.forward(key, None, ts)
        else:
            self.forward(key, self.joiner(value, other[0]), ts)


def _flipped(joiner: ValueJoiner) -> ValueJoiner:
    def flipped(right: Any, left: Any) -> Any:
        return joiner(left, right)

    return flipped
