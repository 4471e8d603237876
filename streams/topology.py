"""A built topology: processor node specs, sources, stores and internal topics.

The same ``Topology`` is instantiated once per task. Internal topic and store names are relative,
and serdes left unset mean the application's defaults: ``bind`` fixes both for one application
(or the test driver): ``<application.id>-<name>-repartition``, ``<application.id>-<store>-changelog``,
``default.key.serde`` / ``default.value.serde``, and each store's codec. Binding also refuses joins
whose inputs would not place one key on one partition.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from streams.codec import CODECS, KEY_VALUE, StoreCodec
from streams.processor import Processor, TaskContext
from streams.serdes import Deserializer, Serde, Serdes, describe, same_encoding
from streams.source_sink import Source


class TopologyError(Exception):
    """The topology is invalid or does not fit the topics it runs against."""


@dataclass(frozen=True)
class StoreSpec:
    """A store's layout (``streams.codec``) and serdes; ``None`` serdes are the application's defaults."""

    layout: str = KEY_VALUE
    key_serde: Serde | None = None
    value_serde: Serde | None = None


class Binding:
    """A topology bound to an application: real topic names (call it with a reference), default
    serdes, and one codec per store."""

    def __init__(self, topology: Topology, application_id: str, key_serde: Serde, value_serde: Serde) -> None:
        self.application_id = application_id
        self.key_serde = key_serde
        self.value_serde = value_serde
        self._internal = topology.repartition_topics
        self.codecs: dict[str, StoreCodec] = {
            name: CODECS[spec.layout](
                name, topology.changelog_topic(application_id, name), spec.key_serde or key_serde,
                spec.value_serde or value_serde,
            )
            for name, spec in topology.stores.items()
        }

    def __call__(self, ref: str) -> str:
        """Topic references to real names: repartition topics get the application prefix."""
        return f"{self.application_id}-{ref}" if ref in self._internal else ref


Resolve = Callable[[str], str]


@dataclass
class NodeSpec:
    name: str
    factory: Callable[[Binding], Processor]
    parents: list[str]
    stores: tuple[str, ...] = ()


@dataclass
class Topology:
    nodes: dict[str, NodeSpec] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    stores: dict[str, StoreSpec] = field(default_factory=dict)
    repartition_topics: dict[str, int | None] = field(default_factory=dict)
    copartition_groups: list[set[str]] = field(default_factory=list)
    upstream_sources: dict[str, set[str]] = field(default_factory=dict)
    key_deserializers: dict[str, Deserializer | None] = field(default_factory=dict)

    def bind(self, application_id: str, key_serde: Serde | None = None, value_serde: Serde | None = None) -> Binding:
        """Fix names, default serdes (string keys, JSON values unless given) and store codecs;
        ``TopologyError`` if a join's inputs would put one key on different partitions."""
        binding = Binding(self, application_id, key_serde or Serdes.string(), value_serde or Serdes.json())
        self.check_key_serdes(binding)
        return binding

    def check_key_serdes(self, binding: Binding) -> None:
        """Every input of a join must write its keys as the others do: the partition is murmur2 of
        the key bytes, so one key written two ways lands on two partitions and never joins."""
        for group in self.copartition_groups:
            readers = {t: self.key_deserializers.get(t) or binding.key_serde.deserializer for t in sorted(group)}
            first = next(iter(readers.values()))
            if all(same_encoding(first, other) for other in readers.values()):
                continue
            external = [t for t in readers if t not in self.repartition_topics]
            internal = [t for t in readers if t in self.repartition_topics]
            lines = [f"  {binding(t)!r}: keys read with {describe(d)}" for t, d in readers.items()]
            hint = "read every input's keys with the same deserializer object"
            if external and internal:
                reader = readers[external[0]]
                serde = describe(reader) if Serdes.name_of(reader) else f"Serde(<serializer>, {describe(reader)})"
                hint = (f"write the repartition topic with the key serde of {external[0]!r}: "
                        f".repartition(Repartitioned.with_(key_serde={serde})) before the join "
                        f"(group_by: Grouped.with_(key_serde={serde})), or make it default.key.serde")
            raise TopologyError(
                "join inputs would place one key on different partitions (their keys are written differently):\n"
                + "\n".join(lines) + f"\n{hint}"
            )

    def changelog_topic(self, application_id: str, store: str) -> str:
        return f"{application_id}-{store}-changelog"

    def instantiate(self, ctx: TaskContext, binding: Binding) -> tuple[dict[str, Source], list[Processor]]:
        """Build and initialise one task's processors; returns its sources by real topic and all nodes."""
        processors = {name: spec.factory(binding) for name, spec in self.nodes.items()}
        children: dict[str, list[Processor]] = {name: [] for name in self.nodes}
        for name, spec in self.nodes.items():
            for parent in spec.parents:
                children[parent].append(processors[name])
        for name, processor in processors.items():
            processor.connect(children[name])
        for processor in processors.values():
            processor.init(ctx)
        sources: dict[str, Source] = {}
        for ref, node in self.sources.items():
            source = processors[node]
            assert isinstance(source, Source)
            sources[binding(ref)] = source
        return sources, list(processors.values())

    def describe(self) -> str:
        """One line per node: ``name <- parents [stores]``."""
        lines = [f"source {topic} -> {node}" for topic, node in self.sources.items()]
        for spec in self.nodes.values():
            stores = f" [{', '.join(spec.stores)}]" if spec.stores else ""
            lines.append(f"{spec.name} <- {', '.join(spec.parents) or '-'}{stores}")
        return "\n".join(lines)
