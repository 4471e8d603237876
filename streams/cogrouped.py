"""``CogroupedKStream``: several grouped streams aggregated into one table, each with its own aggregator.

As Kafka Streams' ``KGroupedStream.cogroup``: every input updates the same per-key aggregate (one
store, one initializer) with its own ``aggregator(key, value, aggregate)``; each update is emitted.
The inputs must be co-partitioned (each is repartitioned first if its key changed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from streams import stateless
from streams.aggregate import Aggregate, Aggregator, Initializer
from streams.codec import KEY_VALUE
from streams.options import Materialized
from streams.table import TableOptions, store_getter

if TYPE_CHECKING:
    from streams.grouped import KGroupedStream
    from streams.ktable import KTable


class CogroupedKStream:
    def __init__(self, grouped: KGroupedStream, aggregator: Aggregator) -> None:
        self.builder = grouped.builder
        self.inputs: list[tuple[KGroupedStream, Aggregator]] = [(grouped, aggregator)]

    def cogroup(self, grouped: KGroupedStream, aggregator: Aggregator) -> CogroupedKStream:
        """Add another grouped stream, aggregated into the same table by ``aggregator``."""
        if grouped.builder is not self.builder:
            raise ValueError("cogrouped streams must come from the same StreamsBuilder")
        self.inputs.append((grouped, aggregator))
        return self

    def aggregate(
        self, initializer: Initializer, name: str | None = None, materialized: Materialized | None = None
    ) -> KTable:
        """The table of per-key aggregates, starting from ``initializer()`` (stored with ``materialized``'s
        serdes, else the first stream's key serde and the application's default value serde)."""
        from streams.ktable import KTable

        builder = self.builder
        first = self.inputs[0][0]
        store = builder.store_name(name, "cogroup", KEY_VALUE, materialized, first.key_serde)
        options = TableOptions()
        sources = frozenset().union(*(grouped.stream.sources for grouped, _ in self.inputs))
        builder.topology.copartition_groups.append(set(sources))

        def aggregating(aggregator: Aggregator) -> Callable[[Any], Aggregate]:
            return lambda binding: Aggregate(store, initializer, aggregator, options)

        nodes = [
            builder.add_node("cogroup-aggregate", aggregating(aggregator), [grouped.stream.node], (store,))
            for grouped, aggregator in self.inputs
        ]
        node = builder.add_node("cogroup-merge", lambda r: stateless.PassThrough(), nodes)
        return KTable(builder, node, sources, store, getter=lambda: store_getter(store), options=options)
