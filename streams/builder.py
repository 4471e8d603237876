"""``StreamsBuilder``: the entry point of the DSL."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from streams.codec import KEY_VALUE
from streams.options import Materialized
from streams.processor import Processor
from streams.serdes import Deserializer, Serde, Serdes
from streams.source_sink import Source, TimestampExtractor
from streams.stateless import NullKeyFilter
from streams.table import TableOptions, TableSource, store_getter
from streams.topology import Binding, NodeSpec, StoreSpec, Topology, TopologyError

if TYPE_CHECKING:
    from streams.kstream import KStream
    from streams.ktable import KTable


class StreamsBuilder:
    """Collects processor nodes while the DSL is used; ``build()`` returns the ``Topology``."""

    def __init__(self) -> None:
        self.topology = Topology()
        self._counter = 0
        self.repartitions: dict[str, tuple[str, NullKeyFilter]] = {}
        """Repartition source node -> (the node feeding its topic, its null-key filter)."""

    def stream(
        self,
        topic: str,
        key_deserializer: Deserializer | None = None,
        value_deserializer: Deserializer | None = None,
        *,
        timestamp_extractor: TimestampExtractor | None = None,
    ) -> KStream:
        """Records of ``topic``; event time is the record timestamp or ``extractor(key, value, ts)``.

        Deserializers left out are those of ``default.key.serde`` / ``default.value.serde``.
        """
        from streams.kstream import KStream

        node = self.add_source(topic, key_deserializer, value_deserializer, timestamp_extractor)
        return KStream(self, node, frozenset({topic}), False, Serdes.reading(key_deserializer),
                       Serdes.reading(value_deserializer))

    def table(
        self,
        topic: str,
        key_deserializer: Deserializer | None = None,
        value_deserializer: Deserializer | None = None,
        *,
        name: str | None = None,
        materialized: Materialized | None = None,
        timestamp_extractor: TimestampExtractor | None = None,
    ) -> KTable:
        """``topic`` read as a changelog: latest value per key, ``None`` deletes.

        The table's store is written with ``materialized``'s serdes, else the built-in serdes the
        deserializers belong to, else the application's defaults. Naming the table (``name``, or
        ``Materialized.as_(name)``) materializes it as Kafka Streams' ``Materialized.as(name)`` does:
        it then sends old values to a ``filter``, which skips rows that stay filtered out.
        """
        from streams.ktable import KTable

        source = self.add_source(topic, key_deserializer, value_deserializer, timestamp_extractor)
        store = self.store_name(name, "table", KEY_VALUE, materialized, Serdes.reading(key_deserializer),
                                Serdes.reading(value_deserializer))
        options = TableOptions()
        node = self.add_node("table", lambda r: TableSource(store, options), [source], stores=(store,))
        named = name is not None or (materialized is not None and materialized.name is not None)
        return KTable(self, node, frozenset({topic}), store, getter=lambda: store_getter(store), options=options,
                      materialized=named)

    def keep_null_keys_upstream(self, node: str) -> None:
        """A left/outer join below ``node``: every repartition above it keeps null keys (KIP-962)."""
        seen: set[str] = set()
        pending = [node]
        while pending:
            current = pending.pop()
            if current in seen:
                continue
            seen.add(current)
            repartition = self.repartitions.get(current)
            if repartition is not None:
                upstream, null_keys = repartition
                null_keys.drop = False
                pending.append(upstream)
            pending.extend(self.topology.nodes[current].parents)

    def build(self) -> Topology:
        if not self.topology.sources:
            raise TopologyError("the topology has no source; call builder.stream() or builder.table()")
        return self.topology

    def add_source(
        self,
        topic: str,
        key_deserializer: Deserializer | None,
        value_deserializer: Deserializer | None,
        extractor: TimestampExtractor | None,
        value_layout: Callable[[Deserializer], Deserializer] | None = None,
    ) -> str:
        """A source node; ``value_layout`` wraps the value deserializer (a repartitioned table's changes)."""
        if topic in self.topology.sources:
            raise TopologyError(f"topic {topic!r} is already a source of this topology")

        def source(b: Binding) -> Source:
            values = value_deserializer or b.value_serde.deserializer
            return Source(b(topic), key_deserializer or b.key_serde.deserializer,
                          values if value_layout is None else value_layout(values), extractor)

        node = self.add_node("source", source, [])
        self.topology.sources[topic] = node
        self.topology.key_deserializers[topic] = key_deserializer
        return node

    def add_node(
        self, kind: str, factory: Callable[[Binding], Processor], parents: Iterable[str], stores: tuple[str, ...] = ()
    ) -> str:
        self._counter += 1
        name = f"{kind}-{self._counter:04d}"
        self.topology.nodes[name] = NodeSpec(name, factory, list(parents), stores)
        return name

    def store_name(
        self, name: str | None, kind: str, layout: str = KEY_VALUE, materialized: Materialized | None = None,
        key_serde: Serde | None = None, value_serde: Serde | None = None,
    ) -> str:
        """Register a store: a user-given name, or a generated one (name stores you need to keep
        across versions), in ``layout`` (``streams.codec``) with ``materialized``'s serdes, else
        ``key_serde`` / ``value_serde``, else the application's defaults."""
        if materialized is not None and materialized.name is not None:
            if name is not None and name != materialized.name:
                raise TopologyError(f"store named both {name!r} and {materialized.name!r}")
            name = materialized.name
        if name is None:
            name = f"{kind}-{self._counter + 1:04d}-store"
        if name in self.topology.stores:
            raise TopologyError(f"store {name!r} already exists")
        if materialized is not None:
            key_serde = materialized.key_serde or key_serde
            value_serde = materialized.value_serde or value_serde
        self.topology.stores[name] = StoreSpec(layout, key_serde, value_serde)
        return name

    def internal_name(self, name: str | None, kind: str) -> str:
        return name if name is not None else f"{kind}-{self._counter + 1:04d}"
