"""``StreamsBuilder``: the entry point of the DSL."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from streams.processor import Processor
from streams.serdes import Deserializer
from streams.source_sink import Source, TimestampExtractor
from streams.table import TableSource
from streams.topology import NodeSpec, Resolve, Topology, TopologyError

if TYPE_CHECKING:
    from streams.kstream import KStream
    from streams.ktable import KTable


class StreamsBuilder:
    """Collects processor nodes while the DSL is used; ``build()`` returns the ``Topology``."""

    def __init__(self) -> None:
        self.topology = Topology()
        self._counter = 0

    def stream(
        self,
        topic: str,
        key_deserializer: Deserializer | None = None,
        value_deserializer: Deserializer | None = None,
        *,
        timestamp_extractor: TimestampExtractor | None = None,
    ) -> KStream:
        """Records of ``topic``; event time is the record timestamp or ``extractor(key, value, ts)``."""
        from streams.kstream import KStream

        node = self.add_source(topic, key_deserializer, value_deserializer, timestamp_extractor)
        return KStream(self, node, frozenset({topic}))

    def table(
        self,
        topic: str,
        key_deserializer: Deserializer | None = None,
        value_deserializer: Deserializer | None = None,
        *,
        name: str | None = None,
        timestamp_extractor: TimestampExtractor | None = None,
    ) -> KTable:
        """``topic`` read as a changelog: latest value per key, ``None`` deletes."""
        from streams.ktable import KTable

        source = self.add_source(topic, key_deserializer, value_deserializer, timestamp_extractor)
        store = self.store_name(name, "table")
        node = self.add_node("table", lambda r: TableSource(store), [source], stores=(store,))
        return KTable(self, node, frozenset({topic}), store)

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
    ) -> str:
        if topic in self.topology.sources:
            raise TopologyError(f"topic {topic!r} is already a source of this topology")
        node = self.add_node(
            "source", lambda r: Source(r(topic), key_deserializer, value_deserializer, extractor), []
        )
        self.topology.sources[topic] = node
        return node

    def add_node(
        self, kind: str, factory: Callable[[Resolve], Processor], parents: Iterable[str], stores: tuple[str, ...] = ()
    ) -> str:
        self._counter += 1
        name = f"{kind}-{self._counter:04d}"
        self.topology.nodes[name] = NodeSpec(name, factory, list(parents), stores)
        return name

    def store_name(self, name: str | None, kind: str) -> str:
        """A user-given store name, or a generated one (name stores you need to keep across versions)."""
        if name is None:
            name = f"{kind}-{self._counter + 1:04d}-store"
        if name in self.topology.stores:
            raise TopologyError(f"store {name!r} already exists")
        self.topology.stores.append(name)
        return name

    def internal_name(self, name: str | None, kind: str) -> str:
        return name if name is not None else f"{kind}-{self._counter + 1:04d}"
