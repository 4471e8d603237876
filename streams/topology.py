"""A built topology: processor node specs, sources, stores and internal topics.

The same ``Topology`` is instantiated once per task. Internal topic and store names are relative;
``<application.id>-<name>-repartition`` and ``<application.id>-<store>-changelog`` are fixed
only when an application (or the test driver) binds the topology to its id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from streams.processor import Processor, TaskContext
from streams.source_sink import Source


class TopologyError(Exception):
    """The topology is invalid or does not fit the topics it runs against."""


Resolve = Callable[[str], str]


@dataclass
class NodeSpec:
    name: str
    factory: Callable[[Resolve], Processor]
    parents: list[str]
    stores: tuple[str, ...] = ()


@dataclass
class Topology:
    nodes: dict[str, NodeSpec] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    stores: list[str] = field(default_factory=list)
    repartition_topics: dict[str, int | None] = field(default_factory=dict)
    copartition_groups: list[set[str]] = field(default_factory=list)
    upstream_sources: dict[str, set[str]] = field(default_factory=dict)

    def resolve(self, application_id: str) -> Resolve:
        """Topic references to real names: repartition topics get the application prefix."""
        internal = self.repartition_topics

        def resolve(ref: str) -> str:
            return f"{application_id}-{ref}" if ref in internal else ref

        return resolve

    def changelog_topic(self, application_id: str, store: str) -> str:
        return f"{application_id}-{store}-changelog"

    def instantiate(self, ctx: TaskContext, resolve: Resolve) -> tuple[dict[str, Source], list[Processor]]:
        """Build and initialise one task's processors; returns its sources by real topic and all nodes."""
        processors = {name: spec.factory(resolve) for name, spec in self.nodes.items()}
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
            sources[resolve(ref)] = source
        return sources, list(processors.values())

    def describe(self) -> str:
        """One line per node: ``name <- parents [stores]``."""
        lines = [f"source {topic} -> {node}" for topic, node in self.sources.items()]
        for spec in self.nodes.values():
            stores = f" [{', '.join(spec.stores)}]" if spec.stores else ""
            lines.append(f"{spec.name} <- {', '.join(spec.parents) or '-'}{stores}")
        return "\n".join(lines)
