"""``KGroupedTable``: a table re-keyed by ``KTable.group_by``, aggregated with an adder and a subtractor."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from streams.aggregate import Initializer
from streams.codec import KEY_VALUE
from streams.options import Grouped, Materialized
from streams.serdes import Serde, Serdes
from streams.table import TableOptions, store_getter
from streams.table_aggregate import TableAggregate, TableAggregator, TableReduce, TableReducer

if TYPE_CHECKING:
    from streams.kstream import KStream
    from streams.ktable import KTable


def _add_one(key: Any, value: Any, count: int) -> int:
    return count + 1


def _subtract_one(key: Any, value: Any, count: int) -> int:
    return count - 1


class KGroupedTable:
    """Changes of a table, re-keyed and partitioned by group (``stream`` reads the repartition topic).

    Stores are written with ``materialized``'s serdes if given, else the ``Grouped`` ones (keys;
    values of ``reduce``), else the application's defaults; ``count`` stores longs.
    """

    def __init__(self, stream: KStream, grouped: Grouped) -> None:
        self.stream = stream
        self.builder = stream.builder
        self.grouped = grouped

    def _table(
        self, kind: str, name: str | None, factory: Callable[[str, TableOptions], Any],
        materialized: Materialized | None, value_serde: Serde | None = None,
    ) -> KTable:
        from streams.ktable import KTable

        store = self.builder.store_name(name, kind, KEY_VALUE, materialized, self.grouped.key_serde, value_serde)
        options = TableOptions()
        node = self.builder.add_node(kind, lambda r: factory(store, options), [self.stream.node], (store,))
        return KTable(self.builder, node, self.stream.sources, store, getter=lambda: store_getter(store), options=options)

    def count(self, name: str | None = None, materialized: Materialized | None = None) -> KTable:
        """Rows per group: +1 for a row joining the group, −1 for one leaving it (0 stays, as in Kafka Streams)."""
        return self._table(
            "table-count", name,
            lambda store, options: TableAggregate(store, int, _add_one, _subtract_one, options),
            materialized, Serdes.long(),
        )

    def reduce(
        self, adder: TableReducer, subtractor: TableReducer, name: str | None = None,
        materialized: Materialized | None = None,
    ) -> KTable:
        """``adder(aggregate, value)`` for a row joining the group, ``subtractor(aggregate, value)`` for one leaving."""
        return self._table(
            "table-reduce", name, lambda store, options: TableReduce(store, adder, subtractor, options),
            materialized, self.grouped.value_serde,
        )

    def aggregate(
        self, initializer: Initializer, adder: TableAggregator, subtractor: TableAggregator, name: str | None = None,
        materialized: Materialized | None = None,
    ) -> KTable:
        """``adder(key, value, aggregate)`` / ``subtractor(key, value, aggregate)``, from ``initializer()``."""
        return self._table(
            "table-aggregate", name,
            lambda store, options: TableAggregate(store, initializer, adder, subtractor, options), materialized,
        )
