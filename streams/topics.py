"""Checks source topics, sizes and creates internal topics, and enforces co-partitioning."""

from __future__ import annotations

import time

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from streams.config import StreamsConfig
from streams.topology import Topology, TopologyError

SOURCE_WAIT_S = 5.0  # how long a missing source topic is looked for before the start fails
CREATED_WAIT_S = 30.0  # how long topics this start created may take to show in the metadata


def partition_counts(admin: AdminClient, topics: list[str], timeout: float = 10.0) -> dict[str, int]:
    metadata = admin.list_topics(timeout=timeout).topics
    return {t: len(metadata[t].partitions) for t in topics if t in metadata and metadata[t].error is None}


def prepare_topics(topology: Topology, config: StreamsConfig, admin: AdminClient) -> dict[str, int]:
    """Partition counts of every topic the application reads or writes internally, after
    creating missing repartition (``<app>-<name>``), changelog (``<app>-<store>-changelog``,
    compacted) and dead-letter topics. Raises ``TopologyError`` on missing sources, and on join
    inputs with different partition counts (or an existing repartition topic of another size).

    As in Kafka Streams, a repartition topic feeding a join gets the partition count of the join's
    other inputs unless ``Repartitioned.with_number_of_partitions`` fixed one; any other takes its
    upstream's.
    """
    app = config.application_id
    binding = topology.bind(app, config.default_key_serde, config.default_value_serde)
    external = [t for t in topology.sources if t not in topology.repartition_topics]
    counts = partition_counts(admin, external)
    deadline = time.monotonic() + SOURCE_WAIT_S
    while len(counts) < len(set(external)) and time.monotonic() < deadline:
        time.sleep(0.2)  # a topic created a moment ago may not be in the broker's metadata yet
        counts = partition_counts(admin, external)
    missing = [t for t in external if t not in counts]
    if missing:
        raise TopologyError(f"source topics do not exist: {missing}")
    counts.update({ref: n for ref, n in topology.repartition_topics.items() if n is not None})

    def upstream(ref: str) -> int:
        return max([counts[t] for t in topology.upstream_sources.get(ref, ()) if t in counts] or [1])

    for group in topology.copartition_groups:
        known = [counts[t] for t in group if t in counts] or [upstream(t) for t in group]
        for ref in group:
            counts.setdefault(ref, max(known))
    for ref in topology.repartition_topics:
        counts.setdefault(ref, upstream(ref))
    for group in topology.copartition_groups:
        sizes = {binding(t): counts[t] for t in sorted(group)}
        if len(set(sizes.values())) > 1:
            raise TopologyError(
                f"join inputs are not co-partitioned (partition counts differ): {sizes}; one key would be on "
                "different partitions. Give the inputs the same number of partitions (for a repartition topic: "
                "Repartitioned.with_number_of_partitions)"
            )
    tasks = max(counts.values())
    wanted_topics: dict[str, tuple[int, dict[str, str]]] = {}
    for ref in topology.repartition_topics:
        # Kept regardless of record timestamps; the application purges what it has committed.
        wanted_topics[binding(ref)] = (counts[ref], {"retention.ms": "-1"})
    for store in topology.stores:
        wanted_topics[topology.changelog_topic(app, store)] = (tasks, {"cleanup.policy": "compact"})
    if config.dlq_topic:
        wanted_topics[config.dlq_topic] = (1, {})
    existing = partition_counts(admin, list(wanted_topics))
    for ref in topology.repartition_topics:
        name = binding(ref)
        if name in existing and existing[name] != counts[ref]:
            raise TopologyError(f"repartition topic {name!r} exists with {existing[name]} partitions, but this "
                                f"topology needs {counts[ref]}; delete it (its records were consumed) or keep the "
                                "partition counts")
    create = [
        NewTopic(name, num_partitions=n, replication_factor=config.replication_factor, config=topic_config)
        for name, (n, topic_config) in wanted_topics.items()
        if name not in existing
    ]
    if create:
        for _name, future in admin.create_topics(create, operation_timeout=30).items():
            try:
                future.result()
            except KafkaException as exc:
                if exc.args[0].name() != "TOPIC_ALREADY_EXISTS":
                    raise
        # A subscription made before a new topic reaches the metadata leaves it unassigned until the
        # next refresh (minutes): a join would wait for that input and never see it.
        names = [topic.topic for topic in create]
        deadline = time.monotonic() + CREATED_WAIT_S
        while len(partition_counts(admin, names)) < len(names):
            if time.monotonic() > deadline:
                raise TopologyError(f"internal topics created but not in the metadata after {CREATED_WAIT_S:.0f} s: "
                                    f"{sorted(set(names) - set(partition_counts(admin, names)))}")
            time.sleep(0.1)
    result = {binding(t): n for t, n in counts.items()}
    result.update({name: n for name, (n, _) in wanted_topics.items()})
    result.update(existing)
    return result
