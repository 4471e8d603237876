"""KTable–KTable joins on the primary key (inner, left, outer), as Kafka Streams' ``KTableKTable*Join``.

Each input's change looks up the other table's current row (its value getter) and emits the key's
new result at ``max(change ts, other row's ts)``. ``joiner(left, right)`` always gets the left
table's value first. Per change ``(new, old)`` of this side, with ``other`` the other side's row:

* inner: nothing without ``other``; else ``(joiner(new, other) or None, joiner(old, other) or None)``.
* the preserved side of a left join (and both sides of an outer join): without ``other``, nothing if
  ``new`` and ``old`` are both ``None``, else the results with ``None`` for the other side
  (``new``/``old`` absent stay ``None``, except in an outer join where a present ``other`` is joined
  with an absent ``new`` too).
* the other side of a left join: nothing without ``other`` (the left row); else
  ``joiner(other, new)``, ``new`` possibly ``None``.

Old results are computed only when a downstream node asks for old values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from streams.processor import Processor, TaskContext
from streams.stream_join import LEFT, ValueJoiner
from streams.table import Getter, TableOptions

INNER, LEFT_JOIN, RIGHT_JOIN, OUTER = "inner", "left", "right", "outer"


class TableTableJoin(Processor):
    """One input of a table–table join; ``mode`` is this side's Kafka Streams processor
    (``inner``, ``left`` for the left side of a left join, ``right`` for its right side, ``outer``)."""

    def __init__(
        self, side: int, mode: str, other: Callable[[TaskContext], Getter], joiner: ValueJoiner, options: TableOptions
    ) -> None:
        super().__init__()
        self.mode = mode
        self.make_getter = other
        self.joiner = joiner if side == LEFT else _flipped(joiner)
        self.options = options

    def init(self, ctx: TaskContext) -> None:
        super().init(ctx)
        self.other = self.make_getter(ctx)
        self.send_old = self.options.send_old_values

    def process(self, key: Any, value: tuple[Any, Any], ts: int) -> None:
        if key is None:
            self.ctx.drop("null-key-or-value")
            return
        new, old = value
        row = self.other(key)
        other = None if row is None else row[0]
        mode, joiner = self.mode, self.joiner
        if other is None:
            if mode in (INNER, RIGHT_JOIN) or (new is None and old is None):
                return
        else:
            ts = max(ts, row[1]) if row is not None else ts
        if mode == OUTER:
            result = joiner(new, other) if other is not None or new is not None else None
            previous = joiner(old, other) if self.send_old and (other is not None or old is not None) else None
        elif mode == RIGHT_JOIN:
            result = joiner(new, other)
            previous = joiner(old, other) if self.send_old else None
        else:
            result = None if new is None else joiner(new, other)
            previous = joiner(old, other) if self.send_old and old is not None else None
        self.forward(key, (result, previous), ts)


def _flipped(joiner: ValueJoiner) -> ValueJoiner:
    def flipped(right: Any, left: Any) -> Any:
        return joiner(left, right)

    return flipped
