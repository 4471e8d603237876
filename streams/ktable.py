"""``KTable``: a changelog stream read as the latest value per key."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from streams import stateless
from streams.codec import SUPPRESS
from streams.emit import Suppressed
from streams.stream_join import LEFT, RIGHT, ValueJoiner
from streams.suppress import Suppress
from streams.table import TableFilter, TableMapValues
from streams.table_join import TableTableJoin
from streams.topology import TopologyError

if TYPE_CHECKING:
    from streams.builder import StreamsBuilder
    from streams.kstream import KStream


class KTable:
    """Updates flow downstream as ``(key, value)`` records; ``None`` values are deletions.

    ``store`` names the materialized state (for joins and the test driver; a table–table join
    materializes an input without one, e.g. a ``filter`` or ``map_values`` result).
    ``window_close_ms`` is set on windowed aggregations (and tables derived from them): how long
    after its end a window closes (grace, or gap + grace for sessions), which ``suppress`` needs.
    """

    def __init__(self, builder: StreamsBuilder, node: str, sources: frozenset[str], store: str | None) -> None:
        self.builder = builder
        self.node = node
        self.sources = sources
        self.store = store
        self.window_close_ms: int | None = None
        self.per_key_time = False

    def to_stream(self, key_mapper: Callable[[Any, Any], Any] | None = None) -> KStream:
        """The table's update stream; ``key_mapper(key, value)`` may e.g. unwrap ``Windowed`` keys."""
        from streams.kstream import KStream

        node = self.builder.add_node("to-stream", lambda r: stateless.PassThrough(), [self.node])
        stream = KStream(self.builder, node, self.sources)
        return stream if key_mapper is None else stream.select_key(key_mapper)

    def filter(self, predicate: Callable[[Any, Any], bool]) -> KTable:
        """Rows failing ``predicate(key, value)`` turn into deletions (not materialized)."""
        return self._then("table-filter", lambda: TableFilter(predicate))

    def filter_not(self, predicate: Callable[[Any, Any], bool]) -> KTable:
        return self._then("table-filter-not", lambda: TableFilter(predicate, negate=True))

    def map_values(self, mapper: Callable[[Any], Any]) -> KTable:
        return self._then("table-map-values", lambda: TableMapValues(mapper))

    def suppress(self, suppressed: Suppressed, *, name: str | None = None) -> KTable:
        """Windowed tables only: a table of one final result per window, emitted once it closes.

        As Kafka Streams' ``suppress(untilWindowCloses(...))``: a node after this table buffers its
        updates (in a changelogged store, ``name`` fixes it) and emits each window's last one once
        ``streamTime >= end + grace`` (``gap + grace`` for sessions), dropping tombstones. This table
        itself goes on emitting every update to its other consumers.
        """
        if self.window_close_ms is None:
            raise TopologyError("suppress(until_window_closes) applies to windowed aggregations only")
        builder = self.builder
        upstream = builder.topology.stores.get(self.store) if self.store is not None else None
        key_serde, value_serde = (upstream.key_serde, upstream.value_serde) if upstream else (None, None)
        store = builder.store_name(name, "suppress", SUPPRESS, key_serde=key_serde, value_serde=value_serde)
        duration, idle, per_key = self.window_close_ms, suppressed.idle_close_ms, self.per_key_time
        node = builder.add_node("suppress", lambda r: Suppress(store, duration, idle, per_key), [self.node], (store,))
        table = KTable(builder, node, self.sources, None)
        table.window_close_ms = self.window_close_ms
        return table

    def final(self, idle_close_ms: int | None = None) -> KTable:
        """Shorthand for ``suppress(Suppressed.until_window_closes(idle_close_ms))``."""
        return self.suppress(Suppressed.until_window_closes(idle_close_ms))

    def join(self, other: KTable, joiner: ValueJoiner, *, name: str | None = None) -> KTable:
        """Inner join on the key: ``joiner(this_value, other_value)`` while both tables have the key.

        Updates of either side trigger; ``name`` fixes the join's store names across versions.
        """
        return self._join(other, joiner, "inner", name)

    def left_join(self, other: KTable, joiner: ValueJoiner, *, name: str | None = None) -> KTable:
        """Left join: every key of this table, ``joiner(this_value, other_value or None)``."""
        return self._join(other, joiner, "left", name)

    def outer_join(self, other: KTable, joiner: ValueJoiner, *, name: str | None = None) -> KTable:
        """Outer join: every key of either table, ``None`` for the side without a row."""
        return self._join(other, joiner, "outer", name)

    def _join(self, other: KTable, joiner: ValueJoiner, kind: str, name: str | None) -> KTable:
        """Both inputs are co-partitioned; one without a key–value store is materialized by the join."""
        if other.builder is not self.builder:
            raise TopologyError("table-table joins need both tables from the same StreamsBuilder")
        builder = self.builder
        builder.topology.copartition_groups.append(set(self.sources | other.sources))
        join_name = builder.internal_name(name, "table-join")
        left_store, left_owned = self._join_store(f"{join_name}-this")
        right_store, right_owned = other._join_store(f"{join_name}-other")
        stores = (left_store, right_store)
        left_node = builder.add_node(
            "table-join-this", lambda r: TableTableJoin(LEFT, stores, left_owned, kind, joiner), [self.node], stores
        )
        right_node = builder.add_node(
            "table-join-other", lambda r: TableTableJoin(RIGHT, stores, right_owned, kind, joiner), [other.node], stores
        )
        node = builder.add_node("table-join-merge", lambda r: stateless.PassThrough(), [left_node, right_node])
        return KTable(builder, node, self.sources | other.sources, None)

    def _join_store(self, name: str) -> tuple[str, bool]:
        """This table's ``key -> (value, timestamp)`` store, or a new one the join writes (``True``).

        Windowed aggregations keep their stores by window, not by the key they forward.
        """
        if self.store is not None and self.window_close_ms is None:
            return self.store, False
        return self.builder.store_name(name, "table-join"), True

    def _then(self, kind: str, factory: Callable[[], Any]) -> KTable:
        node = self.builder.add_node(kind, lambda r: factory(), [self.node])
        table = KTable(self.builder, node, self.sources, None)
        table.window_close_ms, table.per_key_time = self.window_close_ms, self.per_key_time
        return table
