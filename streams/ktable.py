"""``KTable``: a changelog stream read as the latest value per key."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from streams import stateless
from streams.emit import EmitStrategy, Suppressed
from streams.table import TableFilter, TableMapValues
from streams.topology import TopologyError

if TYPE_CHECKING:
    from streams.builder import StreamsBuilder
    from streams.kstream import KStream


class KTable:
    """Updates flow downstream as ``(key, value)`` records; ``None`` values are deletions.

    ``store`` names the materialized state (for stream–table joins and the test driver);
    ``emit`` is set for windowed aggregations and makes ``suppress``/``final`` possible.
    """

    def __init__(self, builder: StreamsBuilder, node: str, sources: frozenset[str], store: str | None) -> None:
        self.builder = builder
        self.node = node
        self.sources = sources
        self.store = store
        self.emit: EmitStrategy | None = None

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

    def suppress(self, suppressed: Suppressed) -> KTable:
        """Windowed aggregations only: emit one final result per window once it closes.

        The final result is taken from the aggregation's own durable store when the window
        closes (as Kafka Streams' ``emitStrategy(onWindowClose())``), so it survives crashes
        and is emitted exactly once under ``exactly_once_v2``. It switches the aggregation itself
        to final emission and returns this table: every consumer of it sees final results only.
        """
        if self.emit is None:
            raise TopologyError("suppress(until_window_closes) applies to windowed aggregations only")
        self.emit.final = True
        self.emit.idle_close_ms = suppressed.idle_close_ms
        return self

    def final(self, idle_close_ms: int | None = None) -> KTable:
        """Shorthand for ``suppress(Suppressed.until_window_closes(idle_close_ms))``."""
        return self.suppress(Suppressed.until_window_closes(idle_close_ms))

    def _then(self, kind: str, factory: Callable[[], Any]) -> KTable:
        node = self.builder.add_node(kind, lambda r: factory(), [self.node])
        return KTable(self.builder, node, self.sources, None)
