"""``KafkaStreams`` configuration, with Kafka Streams' key names."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streams.serdes import Serde, Serdes, as_serde

CONNECTION_PREFIXES = ("security.", "sasl.", "ssl.")
AT_LEAST_ONCE = "at_least_once"
EXACTLY_ONCE_V2 = "exactly_once_v2"


@dataclass
class StreamsConfig:
    """Parsed settings; keys prefixed ``consumer.`` / ``producer.`` / ``admin.`` pass through to that
    librdkafka client, and the connection's security settings (``security.*``, ``sasl.*``, ``ssl.*``)
    to every client, as Kafka Streams passes unprefixed client settings."""

    application_id: str
    bootstrap_servers: str
    processing_guarantee: str = AT_LEAST_ONCE
    state_dir: Path = Path(tempfile.gettempdir()) / "schemahub-streams"
    commit_interval_ms: int = 30_000
    replication_factor: int = -1
    dlq_topic: str | None = None
    exception_handler: str = "continue"
    max_batch_records: int = 2_000
    max_task_idle_ms: int = 0
    default_key_serde: Serde = field(default_factory=Serdes.string)
    default_value_serde: Serde = field(default_factory=Serdes.json)
    consumer: dict[str, Any] = field(default_factory=dict)
    producer: dict[str, Any] = field(default_factory=dict)
    admin: dict[str, Any] = field(default_factory=dict)
    connection: dict[str, Any] = field(default_factory=dict)  # security.*, sasl.*, ssl.*: every client

    def client(self, own: dict[str, Any] | None = None) -> dict[str, Any]:
        """A client's librdkafka settings: the bootstrap servers and connection settings, then ``own``."""
        return {"bootstrap.servers": self.bootstrap_servers, **self.connection, **(own or {})}

    @property
    def exactly_once(self) -> bool:
        return self.processing_guarantee == EXACTLY_ONCE_V2

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> StreamsConfig:
        """Accepts ``application.id``, ``bootstrap.servers``, ``processing.guarantee``, ``state.dir``,
        ``commit.interval.ms`` (default 30 000, or 100 under ``exactly_once_v2``),
        ``replication.factor``, ``errors.deadletterqueue.topic.name`` (default
        ``<application.id>-dlq``), ``processing.exception.handler`` (``continue``/``fail``),
        ``max.batch.records``, ``max.task.idle.ms`` (``streams.partition_group``: 0 by default, ``-1``
        never waits for a joined input that is behind), ``default.key.serde`` (default ``string``)
        and ``default.value.serde`` (default ``json``): a ``Serde`` or a built-in name.
        ``security.protocol``, ``sasl.*`` and ``ssl.*`` go to every client (a secured cluster).
        ``producer.partitioner`` may only be murmur2 (Java's default partitioner, which co-partitioning relies on).
        """
        raw = dict(raw)
        consumer = {k[len("consumer.") :]: raw.pop(k) for k in list(raw) if k.startswith("consumer.")}
        producer = {k[len("producer.") :]: raw.pop(k) for k in list(raw) if k.startswith("producer.")}
        admin = {k[len("admin.") :]: raw.pop(k) for k in list(raw) if k.startswith("admin.")}
        connection = {k: raw.pop(k) for k in list(raw) if k.startswith(CONNECTION_PREFIXES)}
        try:
            app_id = raw.pop("application.id")
            servers = raw.pop("bootstrap.servers")
        except KeyError as exc:
            raise ValueError(f"missing required config {exc.args[0]!r}") from None
        partitioner = producer.get("partitioner", "murmur2_random")
        if partitioner not in ("murmur2_random", "murmur2"):
            raise ValueError(f"producer.partitioner {partitioner!r} would place keys where Java's default partitioner "
                             "does not, so joins would miss records; leave it unset (murmur2_random)")
        key_serde, value_serde = default_serdes(raw)
        guarantee = raw.pop("processing.guarantee", AT_LEAST_ONCE)
        if guarantee not in (AT_LEAST_ONCE, EXACTLY_ONCE_V2):
            raise ValueError(f"processing.guarantee must be {AT_LEAST_ONCE!r} or {EXACTLY_ONCE_V2!r}")
        config = cls(
            application_id=app_id,
            bootstrap_servers=servers,
            processing_guarantee=guarantee,
            commit_interval_ms=int(raw.pop("commit.interval.ms", 100 if guarantee == EXACTLY_ONCE_V2 else 30_000)),
            replication_factor=int(raw.pop("replication.factor", -1)),
            dlq_topic=raw.pop("errors.deadletterqueue.topic.name", f"{app_id}-dlq"),
            exception_handler=raw.pop("processing.exception.handler", "continue"),
            max_batch_records=int(raw.pop("max.batch.records", 2_000)),
            max_task_idle_ms=int(raw.pop("max.task.idle.ms", 0)),
            default_key_serde=key_serde,
            default_value_serde=value_serde,
            consumer=consumer,
            producer=producer,
            admin=admin,
            connection=connection,
        )
        if "state.dir" in raw:
            config.state_dir = Path(raw.pop("state.dir"))
        if raw:
            raise ValueError(f"unknown config keys: {sorted(raw)}")
        return config


def default_serdes(raw: dict[str, Any]) -> tuple[Serde, Serde]:
    """Pop ``default.key.serde`` (string keys unless given) and ``default.value.serde`` (JSON values)."""
    return as_serde(raw.pop("default.key.serde", "string")), as_serde(raw.pop("default.value.serde", "json"))
