"""``KTable``: a changelog stream read as the latest value per key."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from streams import stateless
from streams.change_serde import change_deserializer, change_serializer
from streams.codec import SUPPRESS
from streams.emit import Suppressed
from streams.options import Grouped
from streams.processor import TaskContext
from streams.source_sink import Sink
from streams.stream_join import LEFT, RIGHT, ValueJoiner
from streams.suppress import Suppress
from streams.table import Getter, Row, TableFilter, TableMapValues, TableOptions, ToStream
from streams.table_aggregate import GroupByMap
from streams.table_join import INNER, LEFT_JOIN, OUTER, RIGHT_JOIN, TableTableJoin
from streams.topology import Binding, TopologyError

if TYPE_CHECKING:
    from streams.builder import StreamsBuilder
    from streams.grouped_table import KGroupedTable
    from streams.kstream import KStream

GetterFactory = Callable[[TaskContext], Getter]
"""Builds, in a task, the lookup of a table's current row per key."""


class OldValues(Protocol):
    def enable_sending_old_values(self, force: bool) -> bool: ...


class KTable:
    """Updates flow downstream as changes ``(key, (new, old))``; ``new`` of ``None`` is a deletion.

    ``store`` names the table's own state, if it has one (the test driver reads it). ``getter``
    returns, when the topology is built, the ``GetterFactory`` of the table's current rows (Kafka
    Streams' value getter supplier): joins use it. ``window_close_ms`` is set on windowed aggregations (and tables derived from
    them): how long after its end a window closes (grace, or gap + grace for sessions), which
    ``suppress`` needs. ``options.send_old_values`` is switched on while building when a downstream
    node needs old values (``enable_sending_old_values``).
    """

    def __init__(
        self,
        builder: StreamsBuilder,
        node: str,
        sources: frozenset[str],
        store: str | None,
        *,
        getter: Callable[[], GetterFactory] | None = None,
        options: TableOptions | None = None,
        parent: OldValues | None = None,
        materialized: bool = True,
    ) -> None:
        self.builder = builder
        self.node = node
        self.sources = sources
        self.store = store
        self.getter = getter
        self.options = options or TableOptions()
        self.parent = parent
        self.materialized = materialized
        self.window_close_ms: int | None = None
        self.per_key_time = False

    def enable_sending_old_values(self, force: bool) -> bool:
        """Ask this table to send old values (Kafka Streams' rule): a source table does so only if it
        is materialized (named) or ``force``; a derived table if its parent does; aggregations always."""
        if self.options.send_old_values:
            return True
        if self.parent is None:
            if not (self.materialized or force):
                return False
            self.materialized = True
        elif not self.parent.enable_sending_old_values(force):
            return False
        self.options.send_old_values = True
        return True

    def value_getter(self) -> GetterFactory:
        """The lookup of this table's rows; a source table becomes materialized (as in Kafka Streams)."""
        if self.getter is None:
            raise TopologyError("this table cannot be looked up (join the table it was derived from instead)")
        if self.parent is None:
            self.materialized = True
        return self.getter()

    def to_stream(self, key_mapper: Callable[[Any, Any], Any] | None = None) -> KStream:
        """The table's update stream; ``key_mapper(key, value)`` may e.g. unwrap ``Windowed`` keys."""
        from streams.kstream import KStream

        node = self.builder.add_node("to-stream", lambda r: ToStream(), [self.node])
        stream = KStream(self.builder, node, self.sources)
        return stream if key_mapper is None else stream.select_key(key_mapper)

    def filter(self, predicate: Callable[[Any, Any], bool]) -> KTable:
        """Rows failing ``predicate(key, value)`` turn into deletions (not materialized)."""
        return self._filter(predicate, False)

    def filter_not(self, predicate: Callable[[Any, Any], bool]) -> KTable:
        return self._filter(predicate, True)

    def _filter(self, predicate: Callable[[Any, Any], bool], negate: bool) -> KTable:
        def getter() -> GetterFactory:
            parent = self.value_getter()

            def factory(ctx: TaskContext) -> Getter:
                get = parent(ctx)

                def filtered(key: Any) -> Row | None:
                    row = get(key)
                    return row if row is not None and bool(predicate(key, row[0])) is not negate else None

                return filtered

            return factory

        options = TableOptions()
        table = self._then("table-filter", lambda: TableFilter(predicate, options, negate), options, getter)
        if self.enable_sending_old_values(False):  # as KTableFilter: skip changes that stay filtered out
            options.send_old_values = True
        return table

    def map_values(self, mapper: Callable[[Any], Any]) -> KTable:
        def getter() -> GetterFactory:
            parent = self.value_getter()

            def factory(ctx: TaskContext) -> Getter:
                get = parent(ctx)

                def mapped(key: Any) -> Row | None:
                    row = get(key)
                    return None if row is None else (mapper(row[0]), row[1])

                return mapped

            return factory

        options = TableOptions()
        return self._then("table-map-values", lambda: TableMapValues(mapper, options), options, getter)

    def group_by(self, selector: Callable[[Any, Any], tuple[Any, Any]], grouped: Grouped | None = None) -> KGroupedTable:
        """Re-key rows by ``selector(key, value) -> (group key, group value)`` for ``count``/``reduce``/``aggregate``.

        As Kafka Streams' ``KTable.groupBy``: the changes go through ``<application.id>-<name>-repartition``
        written with ``grouped``'s serdes (default: the application's), values in Kafka Streams' change
        layout (``streams.change_serde``); a row moving between groups is retracted from the old
        group before it is added to the new one.
        """
        from streams.grouped_table import KGroupedTable
        from streams.kstream import KStream

        builder = self.builder
        options = grouped or Grouped()
        self.enable_sending_old_values(True)
        node = builder.add_node("table-group-by", lambda r: GroupByMap(selector), [self.node])
        topic = f"{builder.internal_name(options.name, 'repartition')}-repartition"
        if topic in builder.topology.repartition_topics:
            raise TopologyError(f"repartition topic {topic!r} already exists")
        builder.topology.repartition_topics[topic] = None
        builder.topology.upstream_sources[topic] = set(self.sources)
        key_ser, key_de = options.key_serde or (None, None)
        value_ser, value_de = options.value_serde or (None, None)

        def sink(b: Binding) -> Sink:
            values = change_serializer(value_ser or b.value_serde.serializer)
            return Sink(b(topic), key_ser or b.key_serde.serializer, values)

        builder.add_node("sink", sink, [node])
        source = builder.add_source(topic, key_de, value_de, None, change_deserializer)
        stream = KStream(builder, source, frozenset({topic}), False, options.key_serde, options.value_serde)
        return KGroupedTable(stream, options)

    def suppress(self, suppressed: Suppressed, *, name: str | None = None) -> KTable:
        """Windowed tables only: a table of one final result per window, emitted once it closes.

        As Kafka Streams' ``suppress(untilWindowCloses(...))``: a node after this table buffers its
        updates (in a changelogged store: ``name``, else ``<aggregation store>-suppress``, so a named
        aggregation keeps its buffer across versions of the topology) and emits each window's last one once
        ``streamTime >= end + grace`` (``gap + grace`` for sessions), dropping tombstones. This table
        itself goes on emitting every update to its other consumers.
        """
        if self.window_close_ms is None:
            raise TopologyError("suppress(until_window_closes) applies to windowed aggregations only")
        builder = self.builder
        upstream = builder.topology.stores.get(self.store) if self.store is not None else None
        key_serde, value_serde = (upstream.key_serde, upstream.value_serde) if upstream else (None, None)
        if name is None and self.store is not None:
            name = f"{self.store}-suppress"  # as stable as the aggregation's own store name
        store = builder.store_name(name, "suppress", SUPPRESS, key_serde=key_serde, value_serde=value_serde)
        duration, idle, per_key = self.window_close_ms, suppressed.idle_close_ms, self.per_key_time
        node = builder.add_node("suppress", lambda r: Suppress(store, duration, idle, per_key), [self.node], (store,))
        table = KTable(builder, node, self.sources, None, parent=self)
        table.window_close_ms = self.window_close_ms
        return table

    def final(self, idle_close_ms: int | None = None, *, name: str | None = None) -> KTable:
        """Shorthand for ``suppress(Suppressed.until_window_closes(idle_close_ms), name=name)``."""
        return self.suppress(Suppressed.until_window_closes(idle_close_ms), name=name)

    def join(self, other: KTable, joiner: ValueJoiner) -> KTable:
        """Inner join on the key: ``joiner(this_value, other_value)`` while both tables have the key.

        Updates of either side trigger.
        """
        return self._join(other, joiner, False, False)

    def left_join(self, other: KTable, joiner: ValueJoiner) -> KTable:
        """Left join: every key of this table, ``joiner(this_value, other_value or None)``."""
        return self._join(other, joiner, True, False)

    def outer_join(self, other: KTable, joiner: ValueJoiner) -> KTable:
        """Outer join: every key of either table, ``None`` for the side without a row."""
        return self._join(other, joiner, True, True)

    def _join(self, other: KTable, joiner: ValueJoiner, left_outer: bool, right_outer: bool) -> KTable:
        """As Kafka Streams' ``KTableImpl.doJoin``: both inputs co-partitioned, looked up through their getters."""
        if other.builder is not self.builder:
            raise TopologyError("table-table joins need both tables from the same StreamsBuilder")
        builder = self.builder
        builder.topology.copartition_groups.append(set(self.sources | other.sources))
        if left_outer:
            self.enable_sending_old_values(True)
        if right_outer:
            other.enable_sending_old_values(True)
        this_getter, other_getter = self.value_getter(), other.value_getter()
        modes = (OUTER, OUTER) if right_outer else (LEFT_JOIN, RIGHT_JOIN) if left_outer else (INNER, INNER)
        options = TableOptions()
        left_node = builder.add_node(
            "table-join-this", lambda r: TableTableJoin(LEFT, modes[0], other_getter, joiner, options), [self.node]
        )
        right_node = builder.add_node(
            "table-join-other", lambda r: TableTableJoin(RIGHT, modes[1], this_getter, joiner, options), [other.node]
        )
        node = builder.add_node("table-join-merge", lambda r: stateless.PassThrough(), [left_node, right_node])

        def factory(ctx: TaskContext) -> Getter:
            get_left, get_right = this_getter(ctx), other_getter(ctx)

            def joined(key: Any) -> Row | None:
                left, right = get_left(key), get_right(key)
                if left is None and (not right_outer or right is None):
                    return None
                if right is None and not left_outer:
                    return None
                value = joiner(None if left is None else left[0], None if right is None else right[0])
                return value, max(-1 if left is None else left[1], -1 if right is None else right[1])

            return joined

        return KTable(builder, node, self.sources | other.sources, None, getter=lambda: factory, options=options,
                      parent=_JoinParent(self, other))

    def _then(
        self, kind: str, factory: Callable[[], Any], options: TableOptions, getter: Callable[[], GetterFactory] | None
    ) -> KTable:
        node = self.builder.add_node(kind, lambda r: factory(), [self.node])
        table = KTable(self.builder, node, self.sources, None, getter=getter, options=options, parent=self)
        table.window_close_ms, table.per_key_time = self.window_close_ms, self.per_key_time
        return table


class _JoinParent:
    """A join result asks both its inputs for old values (Kafka Streams forces them materialized)."""

    def __init__(self, left: KTable, right: KTable) -> None:
        self.left, self.right = left, right

    def enable_sending_old_values(self, force: bool) -> bool:
        self.left.enable_sending_old_values(True)
        self.right.enable_sending_old_values(True)
        return True
