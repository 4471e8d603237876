"""The files a dev KRaft node runs from: ``server.properties`` and a log4j2 config."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"

LOG4J2 = """\
status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = OUT
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.state.name = state.change.logger
logger.state.level = WARN
"""


@dataclass(frozen=True)
class NodeSpec:
    """One combined broker+controller node: its id, ports and folders."""

    node_id: int
    port: int
    controller_port: int
    directory: Path
    secured_port: int | None = None  # the SASL_SSL listener's, when the cluster has one

    @property
    def properties_file(self) -> Path:
        return self.directory / "server.properties"

    @property
    def log_file(self) -> Path:
        return self.directory / "server.log"

    @property
    def data_dir(self) -> Path:
        return self.directory / "data"


def new_cluster_id() -> str:
    """A random cluster id in Kafka's own form (URL-safe base64 of a UUID, not starting with '-')."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


def server_properties(
    node: NodeSpec, nodes: list[NodeSpec], extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The ``server.properties`` of ``node`` in a cluster of ``nodes`` (static KRaft quorum);
    with a ``secured_port``, a ``SASL_SSL`` listener there too (its settings come in ``extra``)."""
    count = len(nodes)
    replication = str(min(3, count))
    min_isr = str(min(2, count))
    props = {
        "process.roles": "broker,controller",
        "node.id": str(node.node_id),
        "controller.quorum.voters": ",".join(
            f"{n.node_id}@{HOST}:{n.controller_port}" for n in nodes
        ),
        "listeners": f"PLAINTEXT://{HOST}:{node.port},CONTROLLER://{HOST}:{node.controller_port}",
        "advertised.listeners": f"PLAINTEXT://{HOST}:{node.port}",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "log.dirs": str(node.data_dir),
        "num.partitions": "1",
        "offsets.topic.replication.factor": replication,
        "offsets.topic.num.partitions": "5",
        "transaction.state.log.replication.factor": replication,
        "transaction.state.log.min.isr": min_isr,
        "transaction.state.log.num.partitions": "5",
        "share.coordinator.state.topic.replication.factor": replication,
        "share.coordinator.state.topic.min.isr": min_isr,
        "group.initial.rebalance.delay.ms": "0",
        "auto.create.topics.enable": "true",
        "num.network.threads": "2",
        "num.io.threads": "4",
        "log.retention.check.interval.ms": "300000",
    }
    if node.secured_port is not None:
        props["listeners"] += f",SASL_SSL://{HOST}:{node.secured_port}"
        props["advertised.listeners"] += f",SASL_SSL://{HOST}:{node.secured_port}"
    props.update(extra or {})
    return props


def write_properties(path: Path, props: Mapping[str, str]) -> None:
    """Write ``props`` as a Java properties file."""
    path.write_text("".join(f"{key}={value}\n" for key, value in props.items()))
