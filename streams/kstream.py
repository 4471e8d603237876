"""``KStream``: an unbounded stream of key–value records, and its branching helper."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from streams import stateless
from streams.codec import JOIN
from streams.options import Grouped, Repartitioned
from streams.serdes import Serde, Serializer
from streams.source_sink import Sink
from streams.stream_join import LEFT, RIGHT, JoinSide, ValueJoiner
from streams.table import StreamTableJoin
from streams.topology import Binding, TopologyError
from streams.windows import JoinWindows

if TYPE_CHECKING:
    from streams.builder import StreamsBuilder
    from streams.grouped import KGroupedStream
    from streams.ktable import KTable

Predicate = Callable[[Any, Any], bool]


class KStream:
    """Operators return new streams; nothing runs until the topology is started or driven.

    ``key_changed`` marks streams whose key was rewritten (``map``, ``select_key``, ``flat_map``):
    grouping or joining them first repartitions through an internal topic, as in Kafka Streams.
    ``key_serde`` / ``value_serde`` are the serdes known to fit the records (a built-in source
    deserializer's, a repartition's), until an operator changes the key or value; repartition
    topics and stores use them where no serde is given, else the application's defaults.
    """

    def __init__(
        self, builder: StreamsBuilder, node: str, sources: frozenset[str], key_changed: bool = False,
        key_serde: Serde | None = None, value_serde: Serde | None = None,
    ) -> None:
        self.builder = builder
        self.node = node
        self.sources = sources
        self.key_changed = key_changed
        self.key_serde = key_serde
        self.value_serde = value_serde

    def _then(
        self, kind: str, factory: Callable[[], Any], key_changed: bool | None = None, value_changed: bool = False
    ) -> KStream:
        node = self.builder.add_node(kind, lambda r: factory(), [self.node])
        changed = self.key_changed if key_changed is None else key_changed
        return KStream(self.builder, node, self.sources, changed, None if key_changed else self.key_serde,
                       None if value_changed else self.value_serde)

    def filter(self, predicate: Predicate) -> KStream:
        """Keep records where ``predicate(key, value)`` is true."""
        return self._then("filter", lambda: stateless.Filter(predicate))

    def filter_not(self, predicate: Predicate) -> KStream:
        """Drop records where ``predicate(key, value)`` is true."""
        return self._then("filter-not", lambda: stateless.FilterNot(predicate))

    def map(self, mapper: Callable[[Any, Any], tuple[Any, Any]]) -> KStream:
        """``mapper(key, value) -> (new_key, new_value)``; marks the key as changed."""
        return self._then("map", lambda: stateless.Map(mapper), key_changed=True, value_changed=True)

    def map_values(self, mapper: Callable[[Any], Any]) -> KStream:
        """``mapper(value) -> new_value``; the key (and partitioning) is kept."""
        return self._then("map-values", lambda: stateless.MapValues(mapper), value_changed=True)

    def select_key(self, selector: Callable[[Any, Any], Any]) -> KStream:
        """``selector(key, value) -> new_key``; marks the key as changed."""
        return self._then("select-key", lambda: stateless.SelectKey(selector), key_changed=True)

    def flat_map(self, mapper: Callable[[Any, Any], Iterable[tuple[Any, Any]]]) -> KStream:
        """``mapper(key, value) -> iterable of (key, value)``; marks the key as changed."""
        return self._then("flat-map", lambda: stateless.FlatMap(mapper), key_changed=True, value_changed=True)

    def flat_map_values(self, mapper: Callable[[Any], Iterable[Any]]) -> KStream:
        return self._then("flat-map-values", lambda: stateless.FlatMapValues(mapper), value_changed=True)

    def peek(self, action: Callable[[Any, Any], None]) -> KStream:
        """Call ``action(key, value)`` for its side effect and pass the record on."""
        return self._then("peek", lambda: stateless.Peek(action))

    def merge(self, other: KStream) -> KStream:
        """Both streams' records in one stream (arrival order)."""
        node = self.builder.add_node("merge", lambda r: stateless.PassThrough(), [self.node, other.node])
        return KStream(self.builder, node, self.sources | other.sources, self.key_changed or other.key_changed,
                       _common(self.key_serde, other.key_serde), _common(self.value_serde, other.value_serde))

    def split(self) -> BranchedKStream:
        """Route each record to the first branch whose predicate matches."""
        return BranchedKStream(self)

    def to(
        self, topic: str, key_serializer: Serializer | None = None, value_serializer: Serializer | None = None
    ) -> None:
        """Write to ``topic`` (serializers left out: the application's default serdes); the
        partition is murmur2 of the key bytes, as Java's default partitioner picks it."""

        def sink(b: Binding) -> Sink:
            return Sink(b(topic), key_serializer or b.key_serde.serializer, value_serializer or b.value_serde.serializer)

        self.builder.add_node("sink", sink, [self.node])

    def repartition(
        self, key_selector: Callable[[Any, Any], Any] | None = None, repartitioned: Repartitioned | None = None
    ) -> KStream:
        """Re-key (optionally) and route through ``<application.id>-<name>-repartition``.

        The topic is written with ``repartitioned``'s serdes, else the stream's known ones, else the
        application's defaults; its key serde decides the partition, so give the key serde of a
        topic you will join with. As in Kafka Streams, records with a null key are dropped on the
        way, unless a left or outer join downstream wants them (KIP-962).
        """
        options = repartitioned or Repartitioned()
        stream = self if key_selector is None else self.select_key(key_selector)
        topic = f"{self.builder.internal_name(options.name, 'repartition')}-repartition"
        if topic in self.builder.topology.repartition_topics:
            raise TopologyError(f"repartition topic {topic!r} already exists")
        key_serde = options.key_serde or stream.key_serde
        value_serde = options.value_serde or stream.value_serde
        key_ser, key_de = key_serde or (None, None)
        value_ser, value_de = value_serde or (None, None)
        self.builder.topology.repartition_topics[topic] = options.num_partitions
        self.builder.topology.upstream_sources[topic] = set(stream.sources)
        null_keys = stateless.NullKeyFilter()
        filtered = stream._then("repartition-filter", lambda: stateless.KeyFilter(null_keys))
        filtered.to(topic, key_ser, value_ser)
        node = self.builder.add_source(topic, key_de, value_de, None)
        self.builder.repartitions[node] = (stream.node, null_keys)
        return KStream(self.builder, node, frozenset({topic}), False, key_serde, value_serde)

    def _repartitioned(self, grouped: Grouped | None = None) -> KStream:
        if not self.key_changed:
            return self
        options = grouped or Grouped()
        return self.repartition(None, Repartitioned(options.name, None, options.key_serde, options.value_serde))

    def group_by_key(self, grouped: Grouped | None = None) -> KGroupedStream:
        """Group by the current key (repartitioning first, with ``grouped``'s name and serdes, if the
        key was changed); stores of the aggregations use ``grouped``'s serdes unless materialized otherwise."""
        from streams.grouped import KGroupedStream

        return KGroupedStream(self._repartitioned(grouped), grouped)

    def group_by(self, selector: Callable[[Any, Any], Any], grouped: Grouped | None = None) -> KGroupedStream:
        """Group by ``selector(key, value)``, always through a repartition topic written with ``grouped``'s serdes."""
        from streams.grouped import KGroupedStream

        options = grouped or Grouped()
        repartitioned = Repartitioned(options.name, None, options.key_serde, options.value_serde)
        return KGroupedStream(self.repartition(selector, repartitioned), grouped)

    def join(
        self, other: KStream | KTable, joiner: ValueJoiner, windows: JoinWindows | None = None, *, name: str | None = None
    ) -> KStream:
        """Inner join: with a ``KStream`` (needs ``JoinWindows``) or a ``KTable`` (stream-triggered).

        ``joiner(this_value, other_value)``; ``name`` fixes the join's store names across versions.
        """
        return self._join(other, joiner, windows, "inner", name)

    def left_join(
        self, other: KStream | KTable, joiner: ValueJoiner, windows: JoinWindows | None = None, *, name: str | None = None
    ) -> KStream:
        """Left join: unmatched stream records get ``joiner(value, None)`` (after window close for streams)."""
        return self._join(other, joiner, windows, "left", name)

    def outer_join(
        self, other: KStream, joiner: ValueJoiner, windows: JoinWindows, *, name: str | None = None
    ) -> KStream:
        """Outer stream–stream join: unmatched records of either side are emitted after window close."""
        return self._join(other, joiner, windows, "outer", name)

    def _join(
        self, other: KStream | KTable, joiner: ValueJoiner, windows: JoinWindows | None, kind: str, name: str | None
    ) -> KStream:
        from streams.ktable import KTable

        left = self._repartitioned()
        builder = self.builder
        if isinstance(other, KTable):
            if windows is not None:
                raise TopologyError("stream-table joins take no JoinWindows")
            if kind == "outer":
                raise TopologyError("stream-table joins are inner or left")
            builder.topology.copartition_groups.append(set(left.sources | other.sources))
            if kind == "left":
                builder.keep_null_keys_upstream(left.node)
            getter = other.value_getter()
            node = builder.add_node(
                "stream-table-join", lambda r: StreamTableJoin(getter, joiner, kind == "left"), [left.node]
            )
            return KStream(builder, node, left.sources, False, left.key_serde)
        if windows is None:
            raise TopologyError("stream-stream joins need JoinWindows")
        windows.require_grace()
        right = other._repartitioned()
        builder.topology.copartition_groups.append(set(left.sources | right.sources))
        if kind != "inner":
            builder.keep_null_keys_upstream(left.node)
            builder.keep_null_keys_upstream(right.node)
        join_name = builder.internal_name(name, "join")
        key_serde = left.key_serde or right.key_serde
        stores = (
            builder.store_name(f"{join_name}-this", "join", JOIN, key_serde=key_serde, value_serde=left.value_serde),
            builder.store_name(f"{join_name}-other", "join", JOIN, key_serde=key_serde, value_serde=right.value_serde),
        )
        left_node = builder.add_node(
            "join-this", lambda r: JoinSide(join_name, LEFT, stores, windows, kind, joiner), [left.node], stores
        )
        right_node = builder.add_node(
            "join-other", lambda r: JoinSide(join_name, RIGHT, stores, windows, kind, joiner), [right.node], stores
        )
        node = builder.add_node("join-merge", lambda r: stateless.PassThrough(), [left_node, right_node])
        return KStream(builder, node, left.sources | right.sources, False, key_serde)


class BranchedKStream:
    """``stream.split().branch(pred, "name")...default_branch("rest")`` -> ``{name: KStream}``."""

    def __init__(self, stream: KStream) -> None:
        self.stream = stream
        self.predicates: list[Predicate | None] = []
        predicates = self.predicates
        self.node = stream.builder.add_node("split", lambda r: stateless.Branch(list(predicates)), [stream.node])
        self.branches: dict[str, KStream] = {}

    def branch(self, predicate: Predicate, name: str | None = None) -> BranchedKStream:
        self._add(predicate, name)
        return self

    def default_branch(self, name: str | None = None) -> dict[str, KStream]:
        """Records matching no predicate go to this branch; returns every branch by name."""
        self._add(None, name)
        return dict(self.branches)

    def no_default_branch(self) -> dict[str, KStream]:
        return dict(self.branches)

    def _add(self, predicate: Predicate | None, name: str | None) -> None:
        name = name if name is not None else str(len(self.predicates))
        if name in self.branches:
            raise TopologyError(f"branch {name!r} already exists")
        self.predicates.append(predicate)
        stream = self.stream
        node = stream.builder.add_node("branch", lambda r: stateless.PassThrough(), [self.node])
        self.branches[name] = KStream(
            stream.builder, node, stream.sources, stream.key_changed, stream.key_serde, stream.value_serde
        )


def _common(a: Serde | None, b: Serde | None) -> Serde | None:
    return a if a == b else None
